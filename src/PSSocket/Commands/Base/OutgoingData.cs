namespace PSSocket.Commands
{
    /// <summary>
    /// Turns what a user gives Send-SocketData or Invoke-UdpSend into bytes: text, bytes, a char, a
    /// number, a stream, a file, or a secret (SecureString, PSCredential's password). Anything else
    /// is refused rather than sent as its type name.
    /// </summary>
    internal static class OutgoingData
    {
        /// <summary>The largest stream or file read whole into one datagram.</summary>
        private const int MaxDatagram = 65_535;

        public static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;

        /// <summary>The secret a value carries, or null when it is not one.</summary>
        public static SecureString? SecretOf(object? raw) => raw switch
        {
            SecureString s => s,
            PSCredential c => c.Password,
            _ => null,
        };

        /// <summary>True for what Encode turns into bytes in memory (not a stream or file).</summary>
        public static bool IsInMemory(object? raw) => raw is PSCredential || Payload.CanSend(raw);

        /// <summary>True for a stream or file, whose bytes are read rather than encoded.</summary>
        public static bool IsStream(object? raw) => raw is Stream or FileInfo;

        /// <summary>Null when the value can be sent; else the InvalidArgument error to write instead.</summary>
        public static ErrorRecord? Check(object? raw, int position)
        {
            if (IsInMemory(raw) || IsStream(raw))
            {
                return null;
            }

            string where = position > 0 ? $" (item {position})" : "";
            return ErrorRecords.From(Payload.Refused(raw, where, "text, bytes, a char, a number, a stream, a file (Get-Item), a SecureString or a PSCredential (its password)"), raw);
        }

        /// <summary>
        /// The items of a -Data value: a byte[] or char[] is one item, an array holding only bytes
        /// (what a function returning bytes yields) is one byte[], any other list is one item per element.
        /// </summary>
        public static IEnumerable<object?> Items(object? raw)
        {
            if (raw is not IList list || raw is byte[] or char[])
            {
                yield return raw;
                yield break;
            }

            var bytes = new byte[list.Count];
            bool allBytes = list.Count > 0;
            for (int i = 0; i < list.Count && allBytes; i++)
            {
                if (Unwrap(list[i]) is byte b)
                {
                    bytes[i] = b;
                }
                else
                {
                    allBytes = false;
                }
            }

            if (allBytes)
            {
                yield return bytes;
                yield break;
            }

            foreach (var item in list)
            {
                yield return Unwrap(item);
            }
        }

        /// <summary>
        /// The bytes of an in-memory item (the engine's <see cref="Payload"/> decides them), with the
        /// terminator appended when one is given. A PSCredential sends its password; a secret is
        /// decoded only into the returned array, which SendSecretAsync clears.
        /// </summary>
        public static byte[] Encode(object? raw, Encoding encoding, string? terminator) =>
            Payload.Encode(SecretOf(raw) ?? raw, encoding, terminator);

        /// <summary>
        /// The bytes of any sendable item as one datagram: a stream or file is read whole (up to the
        /// largest datagram), the rest is encoded. Opening a file may fail with IOException and friends.
        /// </summary>
        public static byte[] Datagram(object? raw, Encoding encoding, string? terminator)
        {
            switch (raw)
            {
                case FileInfo file:
                    using (var stream = OpenRead(file.FullName))
                    {
                        return ReadWhole(stream, file.FullName, encoding, terminator);
                    }

                case Stream stream:
                    return ReadWhole(stream, "the stream", encoding, terminator);
                default:
                    return Encode(raw, encoding, terminator);
            }
        }

        /// <summary>Opens a file to send, sequential and shared for reading.</summary>
        public static FileStream OpenRead(string path) =>
            new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);

        private static byte[] ReadWhole(Stream stream, string what, Encoding encoding, string? terminator)
        {
            using var copy = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                copy.Write(buffer, 0, n);
                if (copy.Length > MaxDatagram)
                {
                    throw new PSSocketException(SocketErrorKind.DatagramTooLarge,
                        $"{what} holds more than {MaxDatagram} bytes, more than one datagram can carry; nothing was sent. Split it into several datagrams.",
                        target: what);
                }
            }

            if (terminator is not null)
            {
                var nl = encoding.GetBytes(terminator);
                copy.Write(nl, 0, nl.Length);
            }

            return copy.ToArray();
        }

        /// <summary>What Verbose and Debug may say about a payload: its bytes, unless it is a secret.</summary>
        public static string Describe(object? raw, byte[] bytes, bool debug) =>
            SecretOf(raw) is not null ? $"a secret ({bytes.Length} bytes, not shown)"
            : debug ? $"{bytes.Length} bytes: {Hex.Preview(bytes)}"
            : $"{bytes.Length} bytes";
    }
}

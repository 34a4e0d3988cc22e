using System.Numerics;
using System.Security;

namespace PSSocket.Net
{
    /// <summary>
    /// What a value means on the wire, decided once for Send-SocketData, Invoke-UdpSend and
    /// conversation steps alike: text (a string, char[] or char, a number as invariant text) is
    /// encoded with the session's encoding, bytes (byte[] or one byte) go as they are, and a
    /// SecureString is a secret decoded only into the returned array. Anything else is refused
    /// with InvalidArgument rather than sent as its type name.
    /// </summary>
    public static class Payload
    {
        /// <summary>True when <see cref="Encode"/> turns the value into bytes.</summary>
        public static bool CanSend(object? value) =>
            value is null or string or byte[] or char[] or char or byte or SecureString || IsNumber(value);

        /// <summary>True for a value sent as bytes as they are (no line terminator by default in a conversation).</summary>
        public static bool IsBytes(object? value) => value is byte[] or byte;

        /// <summary>The value as one of text (string), bytes (byte[]) or a secret (SecureString).</summary>
        /// <exception cref="PSSocketException">InvalidArgument when the value cannot be sent.</exception>
        public static object Normalize(object? value) => value switch
        {
            null => string.Empty,
            string or byte[] or SecureString => value,
            char[] chars => new string(chars),
            char c => c.ToString(),
            byte b => new[] { b },
            _ when IsNumber(value) => ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
            _ => throw Refused(value),
        };

        /// <summary>
        /// The bytes of a value, with the terminator (encoded) appended when one is given. A
        /// secret is decoded only into the returned array: hand it to SendSecretAsync, which
        /// clears it.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument when the value cannot be sent.</exception>
        public static byte[] Encode(object? value, Encoding encoding, string? terminator)
        {
            if (encoding is null)
            {
                throw new ArgumentNullException(nameof(encoding));
            }

            byte[] body;
            switch (Normalize(value))
            {
                case SecureString secret:
                    return SecretText.Encode(secret, encoding, terminator);
                case byte[] bytes:
                    body = bytes;
                    break;
                case var text:
                    return encoding.GetBytes(terminator is null ? (string)text : (string)text + terminator);
            }

            if (terminator is null)
            {
                return body;
            }

            var nl = encoding.GetBytes(terminator);
            var all = new byte[body.Length + nl.Length];
            Buffer.BlockCopy(body, 0, all, 0, body.Length);
            Buffer.BlockCopy(nl, 0, all, body.Length, nl.Length);
            return all;
        }

        /// <summary>The InvalidArgument a value that cannot be sent gets; accepts lists what the caller takes.</summary>
        public static PSSocketException Refused(object? value, string where = "", string accepts = "text, bytes, a char, a number or a SecureString") =>
            new(SocketErrorKind.InvalidArgument,
                $"Cannot send a {value?.GetType().FullName ?? "null"}{where}: give {accepts}. Nothing was sent for this item; convert it first, e.g. with ConvertTo-Json or Out-String.",
                target: value);

        private static bool IsNumber(object? value) =>
            value is sbyte or short or ushort or int or uint or long or ulong or float or double or decimal or BigInteger;
    }
}

namespace PSSocket.Net
{
    /// <summary>
    /// Reads what a service says first on an open port (SSH, SMTP, FTP, POP3, IMAP greet the client):
    /// up to <see cref="MaxBytes"/> bytes within a short timeout of its own, shown escaped (control
    /// characters and bytes outside printable ASCII as \r, \n, \xNN) so nothing a peer sends can drive
    /// the terminal. Services that wait for the client get a probe first: redis (6379) a PING, or what
    /// the caller names for every port.
    /// </summary>
    internal static class PortBannerProbe
    {
        /// <summary>The most bytes read from one service.</summary>
        public const int MaxBytes = 512;

        /// <summary>The most characters the escaped banner keeps.</summary>
        public const int MaxShown = 300;

        /// <summary>The bytes to send first: the caller's probe (empty: none), else the port's own (redis PING), else none.</summary>
        public static byte[]? ProbeFor(int port, string? custom)
        {
            if (custom is not null)
            {
                return custom.Length == 0 ? null : Encoding.UTF8.GetBytes(custom);
            }

            return port == 6379 ? Encoding.ASCII.GetBytes("PING\r\n") : null;
        }

        /// <summary>
        /// Sends the probe (if any) and reads until a line ends, <see cref="MaxBytes"/> arrive, the peer
        /// closes or the timeout passes. Returns the escaped text, or null when nothing came.
        /// </summary>
        /// <exception cref="OperationCanceledException">when the token is cancelled.</exception>
        public static async Task<string?> ReadAsync(Stream stream, byte[]? probe, TimeSpan timeout, CancellationToken token)
        {
            var deadline = Deadline.After(timeout);
            var buffer = new byte[MaxBytes];
            int count = 0;
            try
            {
                if (probe is not null)
                {
                    var send = stream.WriteAsync(probe, 0, probe.Length, token);
                    if (!await deadline.WaitAsync(send, token).ConfigureAwait(false))
                    {
                        Observe(send);
                        return null;
                    }

                    await send.ConfigureAwait(false);
                }

                while (count < buffer.Length)
                {
                    var read = stream.ReadAsync(buffer, count, buffer.Length - count, token);
                    if (!await deadline.WaitAsync(read, token).ConfigureAwait(false))
                    {
                        // The caller closes the socket, which ends the read.
                        Observe(read);
                        break;
                    }

                    int n = await read.ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    count += n;
                    if (Array.IndexOf(buffer, (byte)'\n', 0, count) >= 0)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or NotSupportedException)
            {
                // Reset or closed by the peer: what arrived before is the banner.
            }

            return count == 0 ? null : Escape(buffer, count);
        }

        /// <summary>The bytes as text: printable ASCII as is, the line end at the end dropped, everything else escaped.</summary>
        public static string Escape(byte[] bytes, int count)
        {
            while (count > 0 && (bytes[count - 1] == '\n' || bytes[count - 1] == '\r'))
            {
                count--;
            }

            var sb = new StringBuilder(count + 16);
            for (int i = 0; i < count && sb.Length < MaxShown; i++)
            {
                TextEncoding.AppendByte(sb, bytes[i], "X2");
            }

            return sb.Length > MaxShown ? sb.ToString(0, MaxShown) : sb.ToString();
        }

        private static void Observe(Task task) => _ = task.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }
}

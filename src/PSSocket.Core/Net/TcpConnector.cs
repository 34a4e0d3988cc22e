namespace PSSocket.Net
{
    /// <summary>How to open a TCP connection.</summary>
    public sealed class TcpConnectOptions
    {
        /// <summary>Bounds resolution and every connect attempt together.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Restricts to IPv4 or IPv6; Unspecified tries every address.</summary>
        public AddressFamily AddressFamily { get; set; } = AddressFamily.Unspecified;

        /// <summary>Disables Nagle's algorithm.</summary>
        public bool NoDelay { get; set; }

        /// <summary>Turns on TCP keep-alive, so a vanished peer is noticed.</summary>
        public bool KeepAlive { get; set; }

        /// <summary>Called before each attempt with the address tried (for Verbose).</summary>
        public Action<IPEndPoint>? OnAttempt { get; set; }
    }

    /// <summary>Connects to a host, trying each of its addresses in turn.</summary>
    public static class TcpConnector
    {
        /// <summary>Returns a connected socket or throws PSSocketException with the last failure.</summary>
        public static async Task<Socket> ConnectAsync(string host, int port, TcpConnectOptions options, CancellationToken token)
        {
            Endpoints.CheckRemotePort(port);
            var deadline = Deadline.After(options.Timeout);
            var family = options.AddressFamily == AddressFamily.Unspecified ? (AddressFamily?)null : options.AddressFamily;
            var addresses = await Endpoints.ResolveAsync(host, family, deadline, token).ConfigureAwait(false);
            PSSocketException? last = null;
            foreach (var address in addresses)
            {
                var endpoint = new IPEndPoint(address, port);
                options.OnAttempt?.Invoke(endpoint);
                try
                {
                    return await ConnectOneAsync(endpoint, options, deadline, token, host).ConfigureAwait(false);
                }
                catch (PSSocketException ex) when (ex.Kind != SocketErrorKind.ConnectionTimedOut || !deadline.Expired)
                {
                    last = ex;
                }

                if (deadline.Expired)
                {
                    break;
                }
            }

            throw last ?? new PSSocketException(SocketErrorKind.ConnectionTimedOut, $"Connecting to {host}:{port} timed out.", target: $"{host}:{port}");
        }

        /// <summary>One attempt at one address.</summary>
        public static async Task<Socket> ConnectOneAsync(IPEndPoint endpoint, TcpConnectOptions options, Deadline deadline, CancellationToken token, string? hostForMessages = null)
        {
            // ::ffff:a.b.c.d is an IPv4 host: an IPv4 socket reaches it on every platform.
            endpoint = Endpoints.Unmap(endpoint ?? throw new ArgumentNullException(nameof(endpoint)));
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            string target = hostForMessages is null || IPAddress.TryParse(hostForMessages, out _)
                ? Endpoints.Format(endpoint)
                : $"{hostForMessages} ({Endpoints.Format(endpoint)})";
            try
            {
                socket.NoDelay = options.NoDelay;
                if (options.KeepAlive)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                }

                var connect = socket.ConnectAsync(endpoint);
                bool done;
                try
                {
                    done = await deadline.WaitAsync(connect, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Abandon(connect);
                    throw;
                }

                if (!done)
                {
                    Abandon(connect);
                    throw new PSSocketException(SocketErrorKind.ConnectionTimedOut,
                        $"Connecting to {target} timed out: no answer (the port may be filtered by a firewall, or the host is down).",
                        socketError: SocketError.TimedOut, target: Endpoints.Format(endpoint));
                }

                await connect.ConfigureAwait(false);
                var result = socket;
                socket = null;
                return result;
            }
            catch (SocketException ex)
            {
                throw PSSocketException.From(ex, $"Connecting to {target} failed", Endpoints.Format(endpoint));
            }
            finally
            {
                socket?.Dispose();
            }
        }

        /// <summary>Turns off Nagle's algorithm on a TCP socket; other families (Unix) have none to turn off.</summary>
        internal static void SendAtOnce(Socket socket)
        {
            if (socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            {
                socket.NoDelay = true;
            }
        }

        private static void Abandon(Task connect) => _ = connect.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }
}

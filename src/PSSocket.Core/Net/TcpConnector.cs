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
            // Asked before the first await: a cmdlet's thread blocks on this task whichever thread
            // resolves the name, so the connect may wait on the thread that gets there.
            bool callerWaits = WaitingThread.IsMarked;
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
                    return await ConnectOneAsync(endpoint, options, deadline, host, callerWaits, token).ConfigureAwait(false);
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
        public static Task<Socket> ConnectOneAsync(IPEndPoint endpoint, TcpConnectOptions options, Deadline deadline, CancellationToken token, string? hostForMessages = null) =>
            ConnectOneAsync(endpoint, options, deadline, hostForMessages, WaitingThread.IsMarked, token);

        private static async Task<Socket> ConnectOneAsync(IPEndPoint endpoint, TcpConnectOptions options, Deadline deadline, string? hostForMessages, bool callerWaits, CancellationToken token)
        {
            // ::ffff:a.b.c.d is an IPv4 host: an IPv4 socket reaches it on every platform.
            endpoint = Endpoints.Unmap(endpoint ?? throw new ArgumentNullException(nameof(endpoint)));
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (options.NoDelay)
                {
                    socket.NoDelay = true;
                }

                if (options.KeepAlive)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                }

                bool done = callerWaits && !PlatformRules.IsWindows
                    ? ConnectHere(socket, endpoint, deadline, token)
                    : await ConnectAsync(socket, endpoint, deadline, token).ConfigureAwait(false);
                if (!done)
                {
                    throw TimedOut(Describe(endpoint, hostForMessages), endpoint);
                }

                var result = socket;
                socket = null;
                return result;
            }
            catch (SocketException ex)
            {
                throw PSSocketException.From(ex, $"Connecting to {Describe(endpoint, hostForMessages)} failed", Endpoints.Format(endpoint));
            }
            finally
            {
                socket?.Dispose();
            }
        }

        /// <summary>The target as messages name it (built only for a message): the host name with its address, or the address alone.</summary>
        private static string Describe(IPEndPoint endpoint, string? host) =>
            host is null || IPAddress.TryParse(host, out _) ? Endpoints.Format(endpoint) : $"{host} ({Endpoints.Format(endpoint)})";

        /// <summary>Connects asynchronously; false when the deadline passed first (the attempt is abandoned).</summary>
        private static async Task<bool> ConnectAsync(Socket socket, IPEndPoint endpoint, Deadline deadline, CancellationToken token)
        {
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
                return false;
            }

            await connect.ConfigureAwait(false);
            return true;
        }

        /// <summary>
        /// Connects on the calling thread, which blocks anyway (a cmdlet's): a non-blocking connect,
        /// then Poll for writable (success or failure) in slices, so the deadline and Ctrl+C are
        /// seen within one. No thread-pool hop and no timer per connect (a piped batch of targets
        /// opens about as fast as blocking TcpClient connects), and the socket is never handed to
        /// the runtime's event loop: on Linux and macOS an async connect registers it there for
        /// good, and every segment that arrives afterwards wakes that loop and a pool thread
        /// although nobody waits on them. Windows keeps the async connect (its completion ports
        /// have no such cost). False when the deadline passed first.
        /// </summary>
        private static bool ConnectHere(Socket socket, IPEndPoint endpoint, Deadline deadline, CancellationToken token)
        {
            socket.Blocking = false;
            try
            {
                socket.Connect(endpoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                while (true)
                {
                    token.ThrowIfCancellationRequested();
                    int slice = WaitingThread.NextSlice(deadline);
                    if (slice == 0)
                    {
                        return false;
                    }

                    if (socket.Poll(slice, SelectMode.SelectWrite) || socket.Poll(0, SelectMode.SelectError))
                    {
                        break;
                    }
                }
            }

            // Writable means finished, either way: the socket's pending error says which.
            var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            // NetworkStream takes only blocking sockets; Connected records the finished connect.
            socket.Blocking = true;
            return socket.Connected;
        }

        private static PSSocketException TimedOut(string target, IPEndPoint endpoint) =>
            new(SocketErrorKind.ConnectionTimedOut,
                $"Connecting to {target} timed out: no answer (the port may be filtered by a firewall, or the host is down).",
                socketError: SocketError.TimedOut, target: Endpoints.Format(endpoint));

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

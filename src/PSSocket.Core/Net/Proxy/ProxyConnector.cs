namespace PSSocket.Net.Proxy
{
    /// <summary>Opens a TCP connection to a target through a SOCKS or HTTP CONNECT proxy.</summary>
    public static class ProxyConnector
    {
        /// <summary>
        /// Connects through the proxy within the timeout and returns the socket with the tunnel
        /// standing: what is sent on it reaches the target. A credential given here replaces the
        /// proxy URI's user:password.
        /// </summary>
        /// <exception cref="PSSocketException">
        /// ProxyUnreachable, ProxyAuthenticationFailed, ProxyTargetRefused, ProxyTargetUnreachable,
        /// ProxyTtlExpired, ProxyNotAllowed, ProxyError; ConnectionTimedOut when the proxy did not
        /// answer in time; HostNotFound when a name resolved here (socks5://, socks4://) does not resolve.
        /// </exception>
        public static Task<Socket> ConnectAsync(ProxyEndpoint proxy, NetworkCredential? credential, string host, int port, TimeSpan timeout, CancellationToken token) =>
            ConnectAsync(proxy, credential, host, port, new TcpConnectOptions { Timeout = timeout }, token);

        /// <summary>
        /// As the other overload, with the options of a direct connection: Timeout bounds the whole
        /// (proxy connect, handshake, local name resolution); AddressFamily applies to names resolved
        /// here; NoDelay and KeepAlive apply to the socket; OnAttempt sees each proxy address tried.
        /// </summary>
        public static async Task<Socket> ConnectAsync(ProxyEndpoint proxy, NetworkCredential? credential, string host, int port, TcpConnectOptions options, CancellationToken token)
        {
            if (proxy is null)
            {
                throw new ArgumentNullException(nameof(proxy));
            }

            Endpoints.CheckRemotePort(port);
            TargetEntry.CheckHostCharacters(host);
            if (credential is not null)
            {
                proxy = proxy.WithCredential(credential);
            }

            var deadline = Deadline.After(options.Timeout);
            string target = (host ?? "").Trim();
            if (target.StartsWith("[", StringComparison.Ordinal) && target.EndsWith("]", StringComparison.Ordinal))
            {
                target = target.Substring(1, target.Length - 2);
            }

            if (target.Length == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The computer name is empty.", target: host);
            }

            if (proxy.ResolvesTargetName || IPAddress.TryParse(target, out _))
            {
                return await TunnelAsync(proxy, target, port, options, deadline, token).ConfigureAwait(false);
            }

            AddressFamily? family = proxy.Kind == ProxyKind.Socks4 ? AddressFamily.InterNetwork
                : options.AddressFamily == AddressFamily.Unspecified ? null : options.AddressFamily;
            var addresses = await Endpoints.ResolveAsync(target, family, deadline, token).ConfigureAwait(false);
            PSSocketException? last = null;
            foreach (var address in addresses)
            {
                try
                {
                    return await TunnelAsync(proxy, address.ToString(), port, options, deadline, token).ConfigureAwait(false);
                }
                catch (PSSocketException ex) when (ex.Kind is SocketErrorKind.ProxyTargetRefused or SocketErrorKind.ProxyTargetUnreachable && !deadline.Expired)
                {
                    last = ex;
                }
            }

            throw last ?? new PSSocketException(SocketErrorKind.HostNotFound, $"'{target}' resolved to no address.", target: target);
        }

        private static async Task<Socket> TunnelAsync(ProxyEndpoint proxy, string host, int port, TcpConnectOptions options, Deadline deadline, CancellationToken token)
        {
            var handshake = ProxyHandshake.For(proxy, host, port);
            byte[] first = handshake.Start();
            Socket? socket = await ConnectToProxyAsync(proxy, options, deadline, token).ConfigureAwait(false);
            try
            {
                await SendAsync(socket, first, proxy, handshake.Target, deadline, token).ConfigureAwait(false);
                while (!handshake.IsDone)
                {
                    byte[] reply = await ReceiveExactlyAsync(socket, handshake.BytesWanted, proxy, handshake.Target, deadline, token).ConfigureAwait(false);
                    byte[]? next = handshake.Feed(reply);
                    if (next is not null)
                    {
                        await SendAsync(socket, next, proxy, handshake.Target, deadline, token).ConfigureAwait(false);
                    }
                }

                var result = socket;
                socket = null;
                return result;
            }
            finally
            {
                socket?.Dispose();
            }
        }

        private static async Task<Socket> ConnectToProxyAsync(ProxyEndpoint proxy, TcpConnectOptions options, Deadline deadline, CancellationToken token)
        {
            if (deadline.Expired)
            {
                throw TimedOut(proxy, null);
            }

            var direct = new TcpConnectOptions
            {
                Timeout = deadline.IsInfinite ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Math.Max(deadline.Remaining.Ticks, TimeSpan.TicksPerMillisecond)),
                NoDelay = options.NoDelay,
                KeepAlive = options.KeepAlive,
                OnAttempt = options.OnAttempt,
            };
            try
            {
                return await TcpConnector.ConnectAsync(proxy.Host, proxy.Port, direct, token).ConfigureAwait(false);
            }
            catch (PSSocketException ex) when (ex.Kind != SocketErrorKind.InvalidArgument)
            {
                throw new PSSocketException(SocketErrorKind.ProxyUnreachable, $"The proxy {proxy} could not be reached. {ex.Message}", ex, ex.SocketError, proxy.ToString());
            }
        }

        private static async Task SendAsync(Socket socket, byte[] data, ProxyEndpoint proxy, string target, Deadline deadline, CancellationToken token)
        {
            int sent = 0;
            while (sent < data.Length)
            {
                sent += await Io(socket.SendAsync(new ArraySegment<byte>(data, sent, data.Length - sent), SocketFlags.None), proxy, target, deadline, token).ConfigureAwait(false);
            }
        }

        private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, ProxyEndpoint proxy, string target, Deadline deadline, CancellationToken token)
        {
            var buffer = new byte[count];
            int got = 0;
            while (got < count)
            {
                int n = await Io(socket.ReceiveAsync(new ArraySegment<byte>(buffer, got, count - got), SocketFlags.None), proxy, target, deadline, token).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new PSSocketException(SocketErrorKind.ProxyError,
                        $"Through proxy {proxy}, connecting to {target} failed: the proxy closed the connection before it answered (it may refuse clients like this one, or want credentials).", target: target);
                }

                got += n;
            }

            return buffer;
        }

        private static async Task<int> Io(Task<int> io, ProxyEndpoint proxy, string target, Deadline deadline, CancellationToken token)
        {
            bool done;
            try
            {
                done = await deadline.WaitAsync(io, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Observe(io);
                throw;
            }

            if (!done)
            {
                Observe(io);
                throw TimedOut(proxy, target);
            }

            try
            {
                return await io.ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new PSSocketException(SocketErrorKind.ProxyError,
                    $"Through proxy {proxy}, connecting to {target} failed: the connection to the proxy broke during the handshake ({ex.Message}).", ex, ex.SocketErrorCode, target);
            }
        }

        private static PSSocketException TimedOut(ProxyEndpoint proxy, string? target) =>
            new(SocketErrorKind.ConnectionTimedOut,
                target is null
                    ? $"Connecting through proxy {proxy} timed out before the proxy was reached."
                    : $"Connecting to {target} through proxy {proxy} timed out: the proxy did not answer in time (the target may be filtered, or the proxy slow).",
                socketError: SocketError.TimedOut, target: target ?? proxy.ToString());

        private static void Observe(Task io) => _ = io.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }
}

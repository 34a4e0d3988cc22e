namespace PSSocket
{
    /// <summary>
    /// A listening TCP socket. An accept that times out stays pending, so a client that
    /// connects just after is handed to the next Wait-TcpConnection instead of being lost.
    /// </summary>
    public class TcpListenerSession : SocketSession
    {
        private readonly SemaphoreSlim _acceptLock = new(1, 1);
        private Task<Socket>? _pendingAccept;

        /// <summary>Binds and listens.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied.</exception>
        public TcpListenerSession(IPAddress address, int port, int backlog = 512, SessionKind kind = SessionKind.TcpListener)
            : base(kind)
        {
            if (port is < 0 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {port} is outside 0-65535.", target: port);
            }

            Socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    Socket.DualMode = true;
                }

                PlatformRules.ClaimExclusively(Socket);
                Socket.Bind(new IPEndPoint(address, port));
                Socket.Listen(backlog <= 0 ? 512 : backlog);
            }
            catch (SocketException ex)
            {
                Socket.Dispose();
                throw PSSocketException.From(ex, $"Listening on {Endpoints.Format(new IPEndPoint(address, port))} failed", $"{address}:{port}");
            }

            LocalEndPoint = Socket.LocalEndPoint;
        }

        /// <summary>Takes over a socket that already listens (a Unix socket).</summary>
        protected TcpListenerSession(Socket listening, SessionKind kind)
            : base(kind)
        {
            Socket = listening ?? throw new ArgumentNullException(nameof(listening));
            LocalEndPoint = listening.LocalEndPoint;
        }

        /// <summary>The listening socket.</summary>
        public Socket Socket { get; }

        /// <summary>The port the listener is bound to (the chosen one when 0 was asked for).</summary>
        public int Port => (LocalEndPoint as IPEndPoint)?.Port ?? 0;

        /// <summary>Clients accepted so far.</summary>
        public int AcceptedCount => _accepted;

        private int _accepted;

        /// <inheritdoc />
        protected override SessionState CurrentState => SessionState.Listening;

        /// <summary>Accepts the next client, or throws AcceptTimeout at the deadline.</summary>
        public async Task<Socket> AcceptAsync(Deadline deadline, CancellationToken token)
        {
            ThrowIfClosed();
            if (!await _acceptLock.WaitAsync(deadline.Remaining, token).ConfigureAwait(false))
            {
                throw AcceptTimeoutError();
            }

            try
            {
                _pendingAccept ??= Socket.AcceptAsync();
                if (!await deadline.WaitAsync(_pendingAccept, token).ConfigureAwait(false))
                {
                    throw AcceptTimeoutError();
                }

                var accept = _pendingAccept;
                _pendingAccept = null;
                try
                {
                    var client = await accept.ConfigureAwait(false);
                    Interlocked.Increment(ref _accepted);
                    Touch();
                    return client;
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    ThrowIfClosed();
                    throw ex is SocketException se ? PSSocketException.From(se, $"Accepting on {this} failed", this) : new PSSocketException(SocketErrorKind.SessionClosed, "The listener was closed.", ex, target: this);
                }
            }
            finally
            {
                _acceptLock.Release();
            }
        }

        /// <summary>
        /// Accepts the next client and wraps it as a session; a TLS listener also runs the
        /// server handshake, bounded by the same deadline and token.
        /// </summary>
        public virtual async Task<TcpSession> AcceptSessionAsync(Deadline deadline, CancellationToken token)
        {
            var socket = await AcceptAsync(deadline, token).ConfigureAwait(false);
            return CreateAcceptedSession(socket);
        }

        /// <summary>
        /// Wraps an accepted socket as a session carrying the listener's Encoding and NewLine.
        /// Subclasses (TLS) override this to wrap the stream.
        /// </summary>
        public virtual TcpSession CreateAcceptedSession(Socket socket) =>
            new(socket) { Encoding = Encoding, NewLine = NewLine };

        /// <summary>The AcceptTimeout error: nobody connected in time; the listener stays open.</summary>
        protected PSSocketException AcceptTimeoutError() =>
            new(SocketErrorKind.AcceptTimeout, $"No client connected to listener {this} ({Endpoints.Format(LocalEndPoint)}) within the timeout. The listener is still open.", target: this);

        /// <inheritdoc />
        protected override void OnClose()
        {
            Socket.Close(0);
            _pendingAccept?.ContinueWith(t =>
            {
                if (t.Status == TaskStatus.RanToCompletion)
                {
                    t.Result.Dispose();
                }

                return t.Exception;
            }, TaskScheduler.Default);
        }
    }
}

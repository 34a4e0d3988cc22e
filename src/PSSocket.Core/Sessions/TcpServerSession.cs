using System.Security.Cryptography.X509Certificates;

namespace PSSocket
{
    /// <summary>
    /// Start-SocketServer's TCP kind: each accepted client becomes a registered
    /// <see cref="ServerClientSession"/> handed to the handler in one of ThrottleLimit slots, and is
    /// closed and removed when the handler ends. A client with no byte either way for
    /// <see cref="IdleTimeout"/>, or served longer than <see cref="ClientTimeout"/>, is closed and its
    /// handler stopped. With a certificate, TLS handshakes run beside the slots (at most
    /// <see cref="MaxPendingHandshakes"/> at once, each within <see cref="HandshakeTimeout"/>), so
    /// silent connections cannot hold the slots script blocks need.
    /// </summary>
    public sealed class TcpServerSession : SocketServerSession
    {
        /// <summary>How long a client may send and receive nothing unless told otherwise.</summary>
        public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(60);

        /// <summary>How long a TLS handshake may take unless told otherwise.</summary>
        public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

        /// <summary>How many TLS clients may be accepted and not yet served at once unless told otherwise.</summary>
        public const int DefaultMaxPendingHandshakes = TlsAcceptAhead.DefaultMaxPending;

        private readonly ConcurrentDictionary<ClientWork, bool> _clients = new();
        private TlsAcceptAhead? _ahead;
        private IServerClientHandler? _handler;

        /// <summary>Binds and listens; call <see cref="Start"/> to serve.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public TcpServerSession(IPAddress address, int port, int throttleLimit, ISessionRegistry registry, TlsServerOptions? tls = null, int backlog = 512)
            : base(SessionKind.TcpServer, Bind(address, port, SocketType.Stream, backlog), throttleLimit, registry)
        {
            Tls = tls;
        }

        /// <summary>Serves a socket that already listens (a Unix socket from <see cref="UnixSockets.Listen"/>); call <see cref="Start"/> to serve.</summary>
        public TcpServerSession(Socket listening, int throttleLimit, ISessionRegistry registry, TlsServerOptions? tls = null)
            : base(SessionKind.TcpServer, listening, throttleLimit, registry)
        {
            Tls = tls;
        }

        /// <summary>The TLS settings when accepted connections are wrapped in TLS.</summary>
        internal TlsServerOptions? Tls { get; }

        /// <summary>The server certificate when accepted connections are wrapped in TLS.</summary>
        public X509Certificate2? Certificate => Tls?.Certificate;

        /// <inheritdoc />
        public override bool IsTls => Tls is not null;

        /// <summary>Whether clients must present a valid certificate.</summary>
        public bool RequireClientCertificate => Tls?.RequireClientCertificate == true;

        /// <summary>Disposes the certificate once the server has stopped (it was loaded from a file for this server).</summary>
        public bool DisposeCertificateOnClose { get; set; }

        /// <summary>No byte either way for this long closes the client (zero: never). Set before <see cref="Start"/>.</summary>
        public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

        /// <summary>The longest a client may be served (zero: no limit). Set before <see cref="Start"/>.</summary>
        public TimeSpan ClientTimeout { get; set; }

        /// <summary>How long a TLS handshake may take. Set before <see cref="Start"/>.</summary>
        public TimeSpan HandshakeTimeout { get; set; } = DefaultHandshakeTimeout;

        /// <summary>How many TLS clients may be accepted and not yet in a slot at once (handshaking or waiting; past it the oldest unfinished handshake is closed to make room). Set before <see cref="Start"/>.</summary>
        public int MaxPendingHandshakes { get; set; } = DefaultMaxPendingHandshakes;

        /// <summary>Starts serving with the handler; the server owns (and disposes) it from here.</summary>
        public void Start(IServerClientHandler handler)
        {
            if (Interlocked.CompareExchange(ref _handler, handler ?? throw new ArgumentNullException(nameof(handler)), null) is not null)
            {
                throw new InvalidOperationException("The server is already started.");
            }

            if (Tls is not null)
            {
                _ahead = new TlsAcceptAhead(AcceptOrNullAsync, socket => NewSession(socket), Tls, HandshakeTimeout, MaxPendingHandshakes, RecordHandshakeFailure);
                _ahead.Start();
            }

            if (IdleTimeout > TimeSpan.Zero || ClientTimeout > TimeSpan.Zero)
            {
                _ = Task.Run(WatchLoopAsync);
            }

            StartServing();
        }

        /// <inheritdoc />
        protected override bool IsServingThread => _handler?.IsServingThread == true;

        /// <inheritdoc />
        protected override async Task<ServerWork?> NextAsync(CancellationToken token)
        {
            if (_ahead is not null)
            {
                var handshaken = await _ahead.TakeAsync(Deadline.Infinite, token).ConfigureAwait(false);
                return handshaken?.Session is ServerClientSession session ? new ClientWork(this, session) : null;
            }

            var socket = await AcceptOrNullAsync(token).ConfigureAwait(false);
            if (socket is null)
            {
                return null;
            }

            if (ResetBeforeData(socket))
            {
                RecordReset(socket);
                return null;
            }

            return new ClientWork(this, NewSession(socket));
        }

        private ServerClientSession NewSession(Socket socket)
        {
            TcpConnector.SendAtOnce(socket);
            return new ServerClientSession(socket, null, this) { Encoding = Encoding, NewLine = NewLine };
        }

        /// <summary>
        /// A client that connected and reset before sending anything (a scanner, a flood) is
        /// recorded as failed without a script block run. Readable with nothing to read is either
        /// end of stream (still served: the protocol may be server-first) or the reset.
        /// </summary>
        private static bool ResetBeforeData(Socket socket)
        {
            try
            {
                if (!socket.Poll(0, SelectMode.SelectRead) || socket.Available > 0)
                {
                    return false;
                }

                socket.Receive(new byte[1], 0, 1, SocketFlags.Peek);
                return false;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted)
            {
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        private void RecordReset(Socket socket)
        {
            EndPoint? remote = null;
            try
            {
                remote = socket.RemoteEndPoint;
            }
            catch (SocketException)
            {
                // Already gone; the record has no endpoint.
            }

            socket.Dispose();
            const string reason = "Reset by the client before any data";
            var error = new PSSocketException(SocketErrorKind.ConnectionReset, $"{Endpoints.Format(remote)} reset the connection before sending any data; the script block did not run.", socketError: System.Net.Sockets.SocketError.ConnectionReset, target: remote);
            RecordRefused(new ServerClientRecord(this, remote, DateTime.Now, TimeSpan.Zero, new ServerHandlerResult(null, new object[] { error }, threw: true), reason), reset: true);
        }

        // ---- TLS handshakes beside the slots (TlsAcceptAhead) ---------------------------------

        private void RecordHandshakeFailure(TlsRefusal refusal)
        {
            if (!Stopping)
            {
                // A client gone before its first byte is a probe (ClientsReset), not a failed handshake.
                RecordRefused(new ServerClientRecord(this, refusal.Remote, refusal.Started, refusal.Elapsed, new ServerHandlerResult(null, new object[] { refusal.Error }, threw: true), refusal.Reason), reset: refusal.Probe);
            }
        }

        /// <inheritdoc />
        protected override void OnStopAccepting() => _ahead?.Stop("The server was stopped");

        // ---- timeouts --------------------------------------------------------------------------

        private async Task WatchLoopAsync()
        {
            var smallest = IdleTimeout > TimeSpan.Zero && (ClientTimeout <= TimeSpan.Zero || IdleTimeout < ClientTimeout) ? IdleTimeout : ClientTimeout;
            var period = IdleCheckPeriod(smallest);
            while (!ClientsToken.IsCancellationRequested)
            {
                await DelayQuietly(period, ClientsToken).ConfigureAwait(false);
                // The monotonic clock decides: a wall-clock step must not close every client at once.
                foreach (var client in _clients.Keys)
                {
                    if (ClientTimeout > TimeSpan.Zero && client.Served > ClientTimeout)
                    {
                        client.TimeOut($"Closed by the server: served for longer than the client timeout ({ClientTimeout.TotalSeconds:0.###} s)");
                    }
                    else if (IdleTimeout > TimeSpan.Zero && client.Session.IdleFor > IdleTimeout && !client.Session.HasUnreadInput)
                    {
                        client.TimeOut($"Closed by the server: no data either way for the idle timeout ({IdleTimeout.TotalSeconds:0.###} s)");
                    }
                }
            }
        }

        /// <inheritdoc />
        protected override void InterruptStuck() => _handler?.Interrupt();

        /// <inheritdoc />
        protected override void ReleaseResources()
        {
            _handler?.Dispose();
            if (DisposeCertificateOnClose)
            {
                Tls?.Certificate.Dispose();
            }
        }

        private sealed class ClientWork : ServerWork, IDisposable
        {
            private readonly TcpServerSession _server;
            private readonly CancellationTokenSource _cts = new();
            private readonly ActivityClock _served = new();
            private string? _timedOut;

            public ClientWork(TcpServerSession server, ServerClientSession session)
            {
                _server = server;
                Session = session;
                Client = session.RemoteEndPoint;
            }

            public ServerClientSession Session { get; }

            public DateTime StartedAt { get; private set; } = DateTime.Now;

            /// <summary>How long the client has been served, on the monotonic clock.</summary>
            public TimeSpan Served => _served.Since;

            public override EndPoint? Client { get; }

            public override async Task<ServerClientRecord> RunAsync(CancellationToken token)
            {
                StartedAt = DateTime.Now;
                _served.Touch();
                var clock = Stopwatch.StartNew();
                ServerHandlerResult result;
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _cts.Token);
                try
                {
                    _server.Enlist(Session);
                    Session.Touch();
                    _server._clients[this] = true;
                    linked.Token.ThrowIfCancellationRequested();
                    result = await _server._handler!.HandleAsync(Session, linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The handler reports script errors in its result; this is setup failing (a closed socket).
                    result = new ServerHandlerResult(null, new object[] { ex }, threw: true);
                }
                finally
                {
                    _server._clients.TryRemove(this, out _);
                    Session.Close("The server's script block for this client ended");
                    Dispose();
                }

                if (_timedOut is { } reason)
                {
                    var errors = new System.Collections.Generic.List<object>(result.Errors)
                    {
                        new PSSocketException(SocketErrorKind.ReceiveTimeout, $"{reason}; the client {Endpoints.Format(Client)} was disconnected.", target: Client),
                    };
                    result = new ServerHandlerResult(result.Output, errors, threw: true, estimatedBytes: result.EstimatedBytes + 256);
                }

                if (!result.Threw && Session.SocketError is { } broken && broken != System.Net.Sockets.SocketError.Success)
                {
                    // The script block ended without a terminating error, but the connection broke under it
                    // (a reset, a broken pipe): the client was not served to the end, so the record says failed.
                    var errors = new System.Collections.Generic.List<object>(result.Errors);
                    if (errors.Count == 0)
                    {
                        errors.Add(new PSSocketException(PSSocketException.Classify(broken), $"The connection with {Endpoints.Format(Client)} broke while the script block served it: {Session.CloseReason}", socketError: broken, target: Client));
                    }

                    result = new ServerHandlerResult(result.Output, errors, threw: true, estimatedBytes: result.EstimatedBytes + 256);
                }

                return new ServerClientRecord(_server, Client, StartedAt, clock.Elapsed, result, Session.CloseReason, Session.Id);
            }

            public void TimeOut(string reason)
            {
                if (Interlocked.CompareExchange(ref _timedOut, reason, null) is not null)
                {
                    return;
                }

                Session.Close(reason);
                try
                {
                    _cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The client ended meanwhile.
                }
            }

            public override void Interrupt(string reason) => Session.Close(reason);

            public void Dispose() => _cts.Dispose();

            public override string Describe() => $"session {Session} ({Endpoints.Format(Client)})";
        }
    }
}

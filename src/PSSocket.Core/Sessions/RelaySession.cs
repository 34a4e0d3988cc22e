using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using PSSocket.Net.Proxy;

namespace PSSocket
{
    /// <summary>
    /// Start-SocketRelay: a port forward on the throttled server base. Each accepted client is
    /// connected to the target and bytes are copied both ways, in order, until both sides have
    /// closed; a side that closes its sending half has that half-close passed on (shutdown, after
    /// a TLS close_notify on a TLS side), so request/response protocols that end a request with a
    /// half-close work through the relay. Either side may speak TLS (<see cref="ClientTls"/>,
    /// <see cref="TargetTls"/>) and the target may be reached through a proxy; the handshakes are
    /// the ones every TCP session uses, so failures carry the same kinds as Connect-TcpSocket's.
    /// </summary>
    public sealed class RelaySession : SocketServerSession
    {
        private long _toTarget;
        private long _fromTarget;
        private SessionTranscript? _transcript;
        private TlsAcceptAhead? _ahead;

        /// <summary>Binds and listens; call <see cref="Start"/> to relay.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public RelaySession(IPAddress address, int port, string targetHost, int targetPort, int throttleLimit, ISessionRegistry registry, int backlog = 512)
            : this(BindRelay(address, port, SocketType.Stream, backlog, targetHost, targetPort), targetHost, targetPort, throttleLimit, registry)
        {
        }

        /// <summary>Relays the clients of a socket that already listens (a Unix socket) to a TCP target; call <see cref="Start"/> to relay. The relay takes the socket over (closed if an argument is wrong).</summary>
        public RelaySession(Socket listening, string targetHost, int targetPort, int throttleLimit, ISessionRegistry registry)
            : base(SessionKind.Relay, TakeForRelay(listening, targetHost, targetPort), throttleLimit, registry)
        {
            TargetHost = targetHost;
            TargetPort = targetPort;
            RemoteEndPoint = new DnsEndPoint(targetHost, targetPort);
        }

        /// <summary>Relays the clients of a listening socket (TCP or Unix) to a Unix socket; call <see cref="Start"/> to relay.</summary>
        public RelaySession(Socket listening, UnixSocketEndPoint target, int throttleLimit, ISessionRegistry registry)
            : base(SessionKind.Relay, listening, throttleLimit, registry)
        {
            TargetUnixSocket = target ?? throw new ArgumentNullException(nameof(target));
            TargetHost = target.ToString();
            RemoteEndPoint = target;
        }

        /// <summary>The host clients are relayed to (the socket path, for a Unix target).</summary>
        public string TargetHost { get; }

        /// <summary>The port clients are relayed to (0 for a Unix target).</summary>
        public int TargetPort { get; }

        /// <summary>The Unix socket clients are relayed to, or null for a TCP target.</summary>
        public UnixSocketEndPoint? TargetUnixSocket { get; }

        /// <summary>The target as messages show it: host:port, or the socket path.</summary>
        private string Target => TargetUnixSocket is null ? $"{TargetHost}:{TargetPort}" : TargetHost;

        /// <summary>How long connecting to the target (through the proxy, with the TLS handshake) may take for each client.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>How long a client's TLS handshake may take when the relay terminates TLS.</summary>
        public TimeSpan HandshakeTimeout { get; set; } = TcpServerSession.DefaultHandshakeTimeout;

        /// <summary>
        /// How long a relayed connection may carry no byte either way before the relay closes both
        /// sides, so silent clients cannot hold the slots for ever: 60 seconds unless told
        /// otherwise, as the servers; zero never closes an idle connection. Set before <see cref="Start"/>.
        /// </summary>
        public TimeSpan IdleTimeout { get; set; } = TcpServerSession.DefaultIdleTimeout;

        /// <summary>TLS on the listening side: each client's handshake is answered with this certificate before the target is connected. Set before <see cref="Start"/>.</summary>
        public TlsServerOptions? ClientTls { get; set; }

        /// <summary>TLS to the target, validated against <see cref="TlsClientOptions.ServerName"/> (the target host when empty). Set before <see cref="Start"/>.</summary>
        public TlsClientOptions? TargetTls { get; set; }

        /// <summary>The proxy the target is reached through (its password is never shown), or null for a direct connection. Set before <see cref="Start"/>.</summary>
        public ProxyEndpoint? Proxy { get; set; }

        /// <summary>True when the relay terminates TLS on its listening side.</summary>
        public override bool IsTls => ClientTls is not null;

        /// <summary>Whether clients must present a certificate that validates (the relay terminates TLS and asks for one).</summary>
        public bool RequireClientCertificate => ClientTls?.RequireClientCertificate ?? false;

        /// <summary>The certificate clients are answered with when the relay terminates TLS.</summary>
        public X509Certificate2? Certificate => ClientTls?.Certificate;

        /// <summary>True when the relay speaks TLS to the target.</summary>
        public bool UseTls => TargetTls is not null;

        /// <summary>The file every relayed client's traffic is recorded to, or null.</summary>
        public string? TranscriptPath => _transcript?.Path;

        /// <summary>Disposes the listening certificate when the relay ends (it was loaded from a file for this relay).</summary>
        public bool DisposeCertificateOnClose { get; set; }

        /// <summary>Disposes the client certificate presented to the target when the relay ends (it was loaded from a file for this relay).</summary>
        public bool DisposeClientCertificateOnClose { get; set; }

        /// <summary>The certificate the relay presents to a TLS target that asks for one, or null.</summary>
        public X509Certificate2? ClientCertificate => TargetTls?.ClientCertificate;

        /// <summary>Bytes copied from clients to the target.</summary>
        public long BytesToTarget => Interlocked.Read(ref _toTarget);

        /// <summary>Bytes copied from the target back to clients.</summary>
        public long BytesFromTarget => Interlocked.Read(ref _fromTarget);

        /// <summary>
        /// Records every relayed client's traffic to a file (created readable by its owner only):
        /// each record names its client; "&gt;&gt;" is toward the target, "&lt;&lt;" back from it.
        /// Call before <see cref="Start"/>.
        /// </summary>
        /// <exception cref="PSSocketException">NoClobber when the file exists and noClobber is set.</exception>
        public void StartTranscript(string path, bool noClobber, TranscriptFormat format)
        {
            var transcript = new SessionTranscript(path, Encoding, append: false, noClobber, format);
            transcript.Note($"Transcript of relay {this} {Endpoints.Format(LocalEndPoint)} -> {Target}; >> toward the target, << back from it");
            Interlocked.Exchange(ref _transcript, transcript)?.Dispose();
        }

        /// <summary>Starts relaying; with <see cref="ClientTls"/>, the clients' handshakes run beside the relaying slots.</summary>
        /// <exception cref="PSSocketException">InvalidArgument when the target is the relay's own listening endpoint, or a relay loop.</exception>
        public void Start()
        {
            if (Proxy is null)
            {
                RelayLoops.CheckNotItself(this, LocalEndPoint, TargetHost, TargetPort);
            }

            if (ClientTls is not null)
            {
                _ahead = new TlsAcceptAhead(AcceptOrNullAsync, socket => new TcpSession(socket), ClientTls, HandshakeTimeout, TcpServerSession.DefaultMaxPendingHandshakes, RecordHandshakeFailure);
            }

            StartServing();
            _ahead?.Start();
        }

        /// <inheritdoc />
        protected override async Task<ServerWork?> NextAsync(CancellationToken token)
        {
            if (_ahead is not null)
            {
                var handshaken = await _ahead.TakeAsync(Deadline.Infinite, token).ConfigureAwait(false);
                return handshaken?.Session is { } session ? new RelayWork(this, new RelaySide(session)) : null;
            }

            var socket = await AcceptOrNullAsync(token).ConfigureAwait(false);
            if (socket is null)
            {
                return null;
            }

            TcpConnector.SendAtOnce(socket);
            return new RelayWork(this, new RelaySide(socket));
        }

        private void RecordHandshakeFailure(TlsRefusal refusal)
        {
            if (!Stopping)
            {
                // Gone before its first byte (a port probe): counted in ClientsReset; no target is connected for any refused client.
                var result = new ServerHandlerResult(null, new object[] { refusal.Error }, threw: true);
                RecordRefused(new ServerClientRecord(this, refusal.Remote, refusal.Started, refusal.Elapsed, result, refusal.Reason), reset: refusal.Probe);
            }
        }

        /// <inheritdoc />
        protected override void OnStopAccepting() => _ahead?.Stop("The relay was stopped");

        /// <inheritdoc />
        protected override void ReleaseResources()
        {
            RelayLoops.ForgetRelay(this);
            if (Interlocked.Exchange(ref _transcript, null) is { } transcript)
            {
                transcript.Note("Relay stopped");
                transcript.Dispose();
            }

            if (DisposeCertificateOnClose)
            {
                ClientTls?.Certificate.Dispose();
            }

            if (DisposeClientCertificateOnClose)
            {
                TargetTls?.ClientCertificate?.Dispose();
            }
        }

        private async Task<Socket> ConnectTargetAsync(CancellationToken token)
        {
            if (TargetUnixSocket is not null)
            {
                return await UnixSockets.ConnectAsync(TargetUnixSocket, datagram: false, Deadline.After(ConnectTimeout), token).ConfigureAwait(false);
            }

            var options = new TcpConnectOptions { Timeout = ConnectTimeout, NoDelay = true };
            return Proxy is null
                ? await TcpConnector.ConnectAsync(TargetHost, TargetPort, options, token).ConfigureAwait(false)
                : await ProxyConnector.ConnectAsync(Proxy, null, TargetHost, TargetPort, options, token).ConfigureAwait(false);
        }

        private TlsClientOptions TargetTlsFor() =>
            TargetTls!.ForServer(string.IsNullOrEmpty(TargetTls.ServerName) ? TargetHost : TargetTls.ServerName);

        private sealed class RelayWork : ServerWork
        {
            // How long a TLS client may stay silent after its handshake before the target is connected
            // anyway (protocols where the server speaks first); a client that ends sooner is a probe.
            private static readonly TimeSpan s_probeWindow = TimeSpan.FromMilliseconds(500);

            private readonly RelaySession _relay;
            private readonly RelaySide _client;
            private RelaySide? _target;
            private ISessionObserver? _log;
            private long _up;
            private long _down;
            private readonly ActivityClock _activity = new();
            private int _idled;
            private int _ended;
            private bool _probe;
            private IPEndPoint? _noted;
            private Task<int>? _firstRead;
            private volatile SplicedRelay? _splice;
            private volatile bool _stopping;

            public RelayWork(RelaySession relay, RelaySide client)
            {
                _relay = relay;
                _client = client;
                Client = client.RemoteEndPoint;
            }

            public override EndPoint? Client { get; }

            public override async Task<ServerClientRecord> RunAsync(CancellationToken token)
            {
                var started = DateTime.Now;
                var clock = Stopwatch.StartNew();
                Exception? failure = null;
                string reason = "Both sides closed";
                string client = Endpoints.Format(Client);
                var transcript = _relay._transcript;
                try
                {
                    using (token.Register(() => Interrupt("The relay was stopped")))
                    {
                        RelayLoops.CheckNotLoop(Client, $"{_relay} -> {_relay.TargetHost}:{_relay.TargetPort}");

                        byte[]? firstBuffer = null;
                        if (_relay.ClientTls is not null)
                        {
                            // A TLS client that ends right after its handshake (Test-TcpPort -Tls) is a probe: no target for it.
                            firstBuffer = ChunkPool.Rent();
                            var firstRead = _client.ReadAsync(firstBuffer);
                            _firstRead = firstRead;
                            await Task.WhenAny(firstRead, Task.Delay(s_probeWindow, token)).ConfigureAwait(false);
                            if (firstRead.IsCompleted && (firstRead.IsFaulted || firstRead.Result == 0))
                            {
                                _probe = true;
                                ChunkPool.Return(firstBuffer);
                                throw new PSSocketException(SocketErrorKind.ConnectionReset, $"{client} ended its TLS session without sending data (a port probe): no target connection was made.", firstRead.Exception?.GetBaseException(), target: Client);
                            }
                        }

                        var target = new RelaySide(await _relay.ConnectTargetAsync(token).ConfigureAwait(false));
                        _target = target;
                        _noted = RelayLoops.Note(target.LocalEndPoint);

                        // Again now: the relay that connected to this one may have noted its connection only after this one accepted it.
                        RelayLoops.CheckNotLoop(Client, $"{_relay} -> {_relay.TargetHost}:{_relay.TargetPort}");
                        if (token.IsCancellationRequested)
                        {
                            target.Abort();
                        }

                        if (_relay.TargetTls is not null)
                        {
                            var tls = _relay.TargetTlsFor();
                            await target.StartTlsAsync(s => s.StartTlsAsClientAsync(tls, Deadline.After(_relay.ConnectTimeout), token), _relay.TargetHost).ConfigureAwait(false);
                        }

                        if (transcript is not null)
                        {
                            _log = transcript.ForSource(client);
                            transcript.Note($"{client} connected; relayed to {_relay.Target}");
                        }

                        _activity.Touch();
                        var (up, down) = _log is null && firstBuffer is null && SplicedRelay.TryCreate(_client.BareSocket, target.BareSocket) is { } splice
                            ? StartSplicing(splice, target)
                            : (PumpAsync(_client, target, toTarget: true, _firstRead, firstBuffer), PumpAsync(target, _client, toTarget: false));
                        using var pumping = new CancellationTokenSource();
                        var watch = _relay.IdleTimeout > TimeSpan.Zero ? WatchIdleAsync(_relay.IdleTimeout, pumping.Token) : Task.CompletedTask;
                        try
                        {
                            var first = await Task.WhenAny(up, down).ConfigureAwait(false);
                            if (first.IsFaulted)
                            {
                                // A reset on one side ends the other too: nothing more can arrive in order.
                                Interrupt("Reset");
                            }

                            await Task.WhenAll(up, down).ConfigureAwait(false);
                        }
                        finally
                        {
                            pumping.Cancel();
                            await watch.ConfigureAwait(false);
                        }

                        if (Volatile.Read(ref _idled) == 1)
                        {
                            // Both pumps saw the idle shutdown as an end of stream; the record says why.
                            throw new TimeoutException("idle");
                        }
                    }
                }
                catch (Exception) when (Volatile.Read(ref _ended) == 2 && Volatile.Read(ref _idled) == 0)
                {
                    // Both directions ended before the stop (or a reset) reached the sockets: the client was served.
                }
                catch (Exception ex) when (Volatile.Read(ref _idled) == 1)
                {
                    reason = $"Idle: no byte either way for the idle timeout ({_relay.IdleTimeout.TotalSeconds:0.###} s)";
                    failure = new PSSocketException(SocketErrorKind.ReceiveTimeout, $"{client} and {_relay.Target} sent no byte either way for {_relay.IdleTimeout.TotalSeconds:0.###} s (-IdleTimeout); the relay closed both sides.", ex, target: Client);
                }
                catch (Exception ex)
                {
                    failure = (ex as SocketException ?? ex.InnerException as SocketException) is { } se ? PSSocketException.From(se, $"Relaying {client}", Client) : ex;
                    reason = token.IsCancellationRequested ? "The relay was stopped" : failure.Message;
                }
                finally
                {
                    RelayLoops.ForgetConnection(_noted);
                    _splice?.Dispose();
                    _client.Close(reason);
                    _target?.Close(reason);
                    _ = _firstRead?.ContinueWith(t => t.Exception, TaskScheduler.Default);
                }

                var summary = $"{client} -> {_relay.Target}: {_up} bytes to the target, {_down} bytes back";
                if (_log is not null)
                {
                    transcript!.Note($"{client} ended ({reason}): {_up} bytes to the target, {_down} bytes back");
                }

                var result = new ServerHandlerResult(new object[] { summary }, failure is null ? null : new object[] { failure }, threw: failure is not null);
                return new ServerClientRecord(_relay, Client, started, clock.Elapsed, result, reason);
            }

            /// <summary>Copies one direction until its source ends; <paramref name="pending"/> is a first read already started into <paramref name="buffer"/>.</summary>
            private async Task PumpAsync(RelaySide from, RelaySide to, bool toTarget, Task<int>? pending = null, byte[]? buffer = null)
            {
                buffer ??= ChunkPool.Rent();
                try
                {
                    while (true)
                    {
                        int n = pending is null ? await from.ReadAsync(buffer).ConfigureAwait(false) : await pending.ConfigureAwait(false);
                        pending = null;
                        if (n == 0)
                        {
                            Interlocked.Increment(ref _ended);
                            // Half-close passed on: the other side reads end of stream and may still answer.
                            await to.EndSendingAsync().ConfigureAwait(false);
                            return;
                        }

                        _log?.OnData(toTarget ? DataDirection.Sent : DataDirection.Received, buffer, 0, n, redacted: false);
                        await to.WriteAsync(buffer, n).ConfigureAwait(false);
                        Relayed(toTarget, n);
                    }
                }
                finally
                {
                    ChunkPool.Return(buffer);
                }
            }

            /// <summary>Counts n bytes passed on (written to the other side) in one direction.</summary>
            private void Relayed(bool toTarget, int n)
            {
                _activity.Touch();
                if (toTarget)
                {
                    Interlocked.Add(ref _up, n);
                    Interlocked.Add(ref _relay._toTarget, n);
                    _relay.CountReceived(n);
                }
                else
                {
                    Interlocked.Add(ref _down, n);
                    Interlocked.Add(ref _relay._fromTarget, n);
                    _relay.CountSent(n);
                }
            }

            /// <summary>Both directions moved by the kernel (<see cref="SplicedRelay"/>), each ending as <see cref="PumpAsync"/> does.</summary>
            private (Task Up, Task Down) StartSplicing(SplicedRelay splice, RelaySide target)
            {
                var up = SpliceAsync(splice, 0, _client, target, toTarget: true);
                var down = SpliceAsync(splice, 1, target, _client, toTarget: false);
                _splice = splice;
                if (_stopping)
                {
                    splice.Stop();
                }

                return (up, down);
            }

            private async Task SpliceAsync(SplicedRelay splice, int direction, RelaySide from, RelaySide to, bool toTarget)
            {
                await splice.PumpAsync(direction, from.BareSocket!, to.BareSocket!, n =>
                {
                    from.CountRelayed(n, 0);
                    to.CountRelayed(0, n);
                    Relayed(toTarget, n);
                }).ConfigureAwait(false);
                Interlocked.Increment(ref _ended);
                await to.EndSendingAsync().ConfigureAwait(false);
            }

            /// <summary>Closes both sides once no byte has been relayed either way for the idle timeout; ends when the pumps do.</summary>
            private async Task WatchIdleAsync(TimeSpan idle, CancellationToken done)
            {
                var period = IdleCheckPeriod(idle);
                while (!done.IsCancellationRequested)
                {
                    await DelayQuietly(period, done).ConfigureAwait(false);
                    if (!done.IsCancellationRequested && _activity.Since > idle)
                    {
                        // A graceful end (FIN both ways), not the reset an abort sends: each peer reads end of stream.
                        Volatile.Write(ref _idled, 1);
                        _client.EndBoth();
                        _target?.EndBoth();
                        return;
                    }
                }
            }

            public override bool GoneBeforeData => _probe;

            public override void Interrupt(string reason)
            {
                // Spliced directions end first: the sockets close once no thread uses them.
                _stopping = true;
                _splice?.Stop();
                _client.Abort();
                _target?.Abort();
            }
        }
    }
}

namespace PSSocket
{
    /// <summary>
    /// Start-SocketRelay -Udp: a datagram port forward on the server base, shaped like a NAT. Each
    /// distinct sender (address and port) gets a mapping: a UDP socket of its own connected to the
    /// target. A datagram from the sender leaves through its mapping as one datagram; each datagram
    /// the target sends to that socket goes back to the sender, one for one, from the relay's
    /// listening port. A mapping with no traffic either way for <see cref="IdleTimeout"/> expires and
    /// its socket is closed; the sender's next datagram opens a new one. At most ThrottleLimit
    /// mappings live at once: datagrams from further senders are refused and counted, never queued.
    /// </summary>
    /// <remarks>
    /// Mappings are the server's clients: ClientsAccepted counts the mappings opened, ClientsActive
    /// the live ones, and each mapping leaves a record when it ends. The relay does not serve by
    /// slots: one loop reads the listening socket and hands each datagram to its mapping at once,
    /// so a full relay still relays for the senders it maps.
    /// </remarks>
    public sealed class UdpRelaySession : SocketServerSession
    {
        /// <summary>How long a mapping lives without traffic unless <see cref="IdleTimeout"/> says otherwise.</summary>
        public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(60);

        // The largest UDP payload plus one: a datagram is never cut.
        private const int BufferSize = 65536;

        private readonly ConcurrentDictionary<IPEndPoint, Mapping> _mappings = new();
        private TimeSpan _idleTimeout = DefaultIdleTimeout;
        private SessionTranscript? _transcript;
        private long _toTarget;
        private long _fromTarget;
        private long _datagramsToTarget;
        private long _datagramsFromTarget;
        private long _refused;
        private long _dropped;

        /// <summary>Binds the listening UDP socket; call <see cref="StartAsync"/> to relay.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public UdpRelaySession(IPAddress address, int port, string targetHost, int targetPort, int throttleLimit, ISessionRegistry registry)
            : base(SessionKind.Relay, BindRelay(address, port, SocketType.Dgram, 0, targetHost, targetPort), throttleLimit, registry)
        {
            TargetHost = targetHost;
            TargetPort = targetPort;
            RemoteEndPoint = new DnsEndPoint(targetHost, targetPort);
            UdpSession.TryEnlargeReceiveBuffer(ListenSocket);
        }

        /// <summary>The host datagrams are relayed to.</summary>
        public string TargetHost { get; }

        /// <summary>The port datagrams are relayed to.</summary>
        public int TargetPort { get; }

        /// <summary>The target's address, resolved once when the relay starts.</summary>
        public IPEndPoint? TargetEndPoint { get; private set; }

        /// <summary>How long a mapping may see no datagram either way before it expires and its socket is closed (default 60 s).</summary>
        public TimeSpan IdleTimeout
        {
            get => _idleTimeout;
            set => _idleTimeout = value > TimeSpan.Zero ? value : throw new PSSocketException(SocketErrorKind.InvalidArgument, "The idle timeout of a UDP relay must be more than 0: mappings that never expire would fill ThrottleLimit for good.", target: value);
        }

        /// <summary>Senders mapped now (each with a socket of its own towards the target).</summary>
        public int MappingsActive => _mappings.Count;

        /// <summary>Bytes relayed from senders to the target.</summary>
        public long BytesToTarget => Interlocked.Read(ref _toTarget);

        /// <summary>Bytes relayed from the target back to senders.</summary>
        public long BytesFromTarget => Interlocked.Read(ref _fromTarget);

        /// <summary>Datagrams relayed from senders to the target.</summary>
        public long DatagramsToTarget => Interlocked.Read(ref _datagramsToTarget);

        /// <summary>Datagrams relayed from the target back to senders.</summary>
        public long DatagramsFromTarget => Interlocked.Read(ref _datagramsFromTarget);

        /// <summary>Datagrams from new senders that arrived while ThrottleLimit mappings were live: not relayed.</summary>
        public long DatagramsRefused => Interlocked.Read(ref _refused);

        /// <summary>Datagrams the system would not send on (either way), for example while the target reported port unreachable.</summary>
        public long DatagramsDropped => Interlocked.Read(ref _dropped);

        /// <summary>The last error the target's side reported and the relay survived (for example port unreachable).</summary>
        public string? LastTargetError { get; private set; }

        /// <summary>The file every datagram relayed is recorded to (Start-SocketRelay -TranscriptPath), or null.</summary>
        public string? TranscriptPath => _transcript?.Path;

        /// <summary>
        /// Records every datagram relayed to a file (created readable by its owner only), one record
        /// per datagram under its sender; "&gt;&gt;" is toward the target, "&lt;&lt;" back from it.
        /// Call before <see cref="StartAsync"/>.
        /// </summary>
        /// <exception cref="PSSocketException">NoClobber when the file exists and noClobber is set.</exception>
        public void StartTranscript(string path, bool noClobber, TranscriptFormat format)
        {
            var transcript = new SessionTranscript(path, Encoding, append: false, noClobber, format);
            transcript.Note($"Transcript of UDP relay {this} {Endpoints.Format(LocalEndPoint)} -> {TargetHost}:{TargetPort}; >> toward the target, << back from it");
            Interlocked.Exchange(ref _transcript, transcript)?.Dispose();
        }

        /// <summary>Resolves the target and starts relaying.</summary>
        /// <exception cref="PSSocketException">HostNotFound, or what resolving the target reported.</exception>
        public async Task StartAsync(Deadline deadline, CancellationToken token)
        {
            var addresses = await Endpoints.ResolveAsync(TargetHost, null, deadline, token).ConfigureAwait(false);
            TargetEndPoint = new IPEndPoint(addresses[0], TargetPort);
            RelayLoops.CheckNotItself(this, LocalEndPoint, TargetHost, TargetPort);
            StartServing();
            _ = Task.Run(ExpireLoopAsync, CancellationToken.None);
        }

        /// <inheritdoc />
        protected override Task<ServerWork?> NextAsync(CancellationToken token) =>
            throw new NotSupportedException("The UDP relay reads its listening socket in its own loop.");

        /// <inheritdoc />
        protected override async Task RunAsync()
        {
            var buffer = new byte[BufferSize];
            while (!Stopping)
            {
                SocketReceiveFromResult? got;
                try
                {
                    got = await ReceiveDatagramAsync(buffer, AcceptToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (got is not { } datagram)
                {
                    continue;
                }

                CountReceived(datagram.ReceivedBytes);
                await ForwardAsync((IPEndPoint)datagram.RemoteEndPoint, buffer, datagram.ReceivedBytes).ConfigureAwait(false);
            }
        }

        private async Task ForwardAsync(IPEndPoint sender, byte[] buffer, int length)
        {
            // Two tries: the first may meet a mapping that expired meanwhile, or the ICMP error an
            // earlier datagram drew, which the system reports on the next send instead of sending.
            for (int attempt = 0; attempt < 2; attempt++)
            {
                var mapping = MappingFor(sender);
                if (mapping is null)
                {
                    return;
                }

                try
                {
                    await mapping.SendToTargetAsync(buffer, length).ConfigureAwait(false);
                    return;
                }
                catch (ObjectDisposedException)
                {
                    Unmap(sender, mapping);
                }
                catch (SocketException ex)
                {
                    LastTargetError = $"{Endpoints.Format(TargetEndPoint)}: {ex.Message}";
                }
            }

            Interlocked.Increment(ref _dropped);
        }

        private Mapping? MappingFor(IPEndPoint sender)
        {
            if (_mappings.TryGetValue(sender, out var mapping) && !mapping.Ended)
            {
                return mapping;
            }

            if (mapping is not null)
            {
                Unmap(sender, mapping);
            }

            // Only this loop adds mappings, so the count cannot grow between the check and the add.
            if (_mappings.Count >= ThrottleLimit)
            {
                Interlocked.Increment(ref _refused);
                return null;
            }

            try
            {
                mapping = new Mapping(this, sender);
            }
            catch (SocketException ex)
            {
                var client = Endpoints.Unmap(sender);
                var failure = PSSocketException.From(ex, $"Opening a socket from {Endpoints.Format(client)} towards {Endpoints.Format(TargetEndPoint)}", client);
                RecordRefused(new ServerClientRecord(this, client, DateTime.Now, TimeSpan.Zero, new ServerHandlerResult(null, new object[] { failure }, threw: true), failure.Message));
                LastTargetError = failure.Message;
                Interlocked.Increment(ref _dropped);
                return null;
            }

            _mappings[sender] = mapping;
            Serve(mapping, releasesSlot: false);
            return mapping;
        }

        // Removes the sender's mapping only if it is still this one (a newer one stays).
        private bool Unmap(IPEndPoint sender, Mapping mapping) =>
            ((ICollection<KeyValuePair<IPEndPoint, Mapping>>)_mappings).Remove(new KeyValuePair<IPEndPoint, Mapping>(sender, mapping));

        private async Task ExpireLoopAsync()
        {
            var period = IdleCheckPeriod(IdleTimeout);
            while (!Stopping)
            {
                await DelayQuietly(period, AcceptToken).ConfigureAwait(false);
                foreach (var pair in _mappings)
                {
                    if (pair.Value.IdleFor > IdleTimeout && Unmap(pair.Key, pair.Value))
                    {
                        pair.Value.Interrupt($"Expired: no datagram either way for the idle timeout ({IdleTimeout.TotalSeconds:0.###} s)");
                    }
                }
            }
        }

        /// <inheritdoc />
        protected override void ReleaseResources()
        {
            RelayLoops.ForgetRelay(this);
            if (Interlocked.Exchange(ref _transcript, null) is { } transcript)
            {
                transcript.Note("Relay stopped");
                transcript.Dispose();
            }
        }

        /// <inheritdoc />
        protected override void OnStopAccepting()
        {
            foreach (var pair in _mappings)
            {
                if (Unmap(pair.Key, pair.Value))
                {
                    pair.Value.Interrupt("The relay was stopped");
                }
            }
        }

        /// <summary>One sender's mapping: its own socket connected to the target, and the loop that carries the target's datagrams back.</summary>
        private sealed class Mapping : ServerWork, IDisposable
        {
            // Every mapping peeks into it; nobody reads what lands there.
            private static readonly byte[] s_peekByte = new byte[1];

            private readonly UdpRelaySession _relay;
            private readonly IPEndPoint _sender;
            private readonly Socket _socket;
            private readonly ISessionObserver? _log;
            private readonly ActivityClock _activity = new();
            private string? _endReason;
            private long _up;
            private long _upBytes;
            private long _down;
            private long _downBytes;

            /// <exception cref="SocketException">The system refused the socket or the target address.</exception>
            public Mapping(UdpRelaySession relay, IPEndPoint sender)
            {
                _relay = relay;
                _sender = sender;
                Client = Endpoints.Unmap(sender);
                var target = relay.TargetEndPoint!;
                _socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    UdpSession.TryEnlargeReceiveBuffer(_socket);
                    _socket.Connect(target);
                }
                catch
                {
                    _socket.Dispose();
                    throw;
                }

                if (relay._transcript is { } transcript)
                {
                    string client = Endpoints.Format(Client);
                    _log = transcript.ForSource(client);
                    transcript.Note($"{client} mapped; relayed from {Endpoints.Format(_socket.LocalEndPoint)} to {Endpoints.Format(target)}");
                }
            }

            public override EndPoint? Client { get; }

            public bool Ended => Volatile.Read(ref _endReason) is not null;

            public TimeSpan IdleFor => _activity.Since;

            public async Task SendToTargetAsync(byte[] buffer, int length)
            {
                int sent = await _socket.SendAsync(new ArraySegment<byte>(buffer, 0, length), SocketFlags.None).ConfigureAwait(false);
                _log?.OnData(DataDirection.Sent, buffer, 0, sent, redacted: false);
                _activity.Touch();
                Interlocked.Increment(ref _up);
                Interlocked.Add(ref _upBytes, sent);
                Interlocked.Increment(ref _relay._datagramsToTarget);
                Interlocked.Add(ref _relay._toTarget, sent);
            }

            public override async Task<ServerClientRecord> RunAsync(CancellationToken token)
            {
                var started = DateTime.Now;
                var clock = Stopwatch.StartNew();
                Exception? failure = null;
                using (token.Register(() => Interrupt("The relay was stopped")))
                {
                    while (!Ended)
                    {
                        int n;
                        byte[] buffer;
                        try
                        {
                            // Waits with a one-byte peek, and takes a 64 KiB chunk only once a datagram
                            // is there: an idle mapping holds no buffer (16,000 senders cost 16,000
                            // chunks before), and a datagram is still never cut.
                            await WaitForDatagramAsync().ConfigureAwait(false);
                            buffer = ChunkPool.Rent();
                            n = _socket.Receive(buffer, 0, buffer.Length, SocketFlags.None);
                        }
                        catch (Exception ex) when (ex is ObjectDisposedException || (ex is SocketException && Ended))
                        {
                            break;
                        }
                        catch (SocketException ex) when (DatagramSession.IsTransient(ex.SocketErrorCode))
                        {
                            // Port unreachable (or the like) for an earlier datagram: the target may
                            // listen again later, and the mapping stays until it expires.
                            _relay.LastTargetError = $"{Endpoints.Format(_relay.TargetEndPoint)}: {ex.Message}";
                            continue;
                        }
                        catch (SocketException ex)
                        {
                            failure = PSSocketException.From(ex, $"Relaying datagrams from {Endpoints.Format(_relay.TargetEndPoint)} to {Endpoints.Format(Client)}", Client);
                            Interrupt(failure.Message);
                            break;
                        }

                        try
                        {
                            if (!await ReplyAsync(buffer, n).ConfigureAwait(false))
                            {
                                break;
                            }
                        }
                        finally
                        {
                            ChunkPool.Return(buffer);
                        }
                    }
                }

                string counts = $"{Interlocked.Read(ref _up)} datagrams ({Interlocked.Read(ref _upBytes)} bytes) to the target, {Interlocked.Read(ref _down)} datagrams ({Interlocked.Read(ref _downBytes)} bytes) back";
                var output = new object[] { $"{Endpoints.Format(Client)} -> {Endpoints.Format(_relay.TargetEndPoint)}: {counts}" };
                if (_log is not null)
                {
                    _relay._transcript?.Note($"{Endpoints.Format(Client)} ended ({Volatile.Read(ref _endReason)}): {counts}");
                }

                var result = new ServerHandlerResult(output, failure is null ? null : new object[] { failure }, threw: failure is not null);
                return new ServerClientRecord(_relay, Client, started, clock.Elapsed, result, Volatile.Read(ref _endReason));
            }

            private async Task WaitForDatagramAsync()
            {
                try
                {
                    await _socket.ReceiveAsync(new ArraySegment<byte>(s_peekByte), SocketFlags.Peek).ConfigureAwait(false);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.MessageSize)
                {
                    // Windows reports a datagram longer than the peek this way; it is still there.
                }
            }

            /// <summary>Passes a datagram from the target back to the sender; false once the relay is stopped.</summary>
            private async Task<bool> ReplyAsync(byte[] buffer, int n)
            {
                _activity.Touch();
                try
                {
                    await _relay.ListenSocket.SendToAsync(new ArraySegment<byte>(buffer, 0, n), SocketFlags.None, _sender).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    Interrupt("The relay was stopped");
                    return false;
                }
                catch (SocketException ex)
                {
                    _relay.LastAcceptError = $"Replying to {Endpoints.Format(Client)}: {ex.Message}";
                    Interlocked.Increment(ref _relay._dropped);
                    return true;
                }

                _log?.OnData(DataDirection.Received, buffer, 0, n, redacted: false);
                Interlocked.Increment(ref _down);
                Interlocked.Add(ref _downBytes, n);
                Interlocked.Increment(ref _relay._datagramsFromTarget);
                Interlocked.Add(ref _relay._fromTarget, n);
                _relay.CountSent(n);
                return true;
            }

            public override void Interrupt(string reason)
            {
                if (Interlocked.CompareExchange(ref _endReason, reason, null) is null)
                {
                    _relay.Unmap(_sender, this);
                }

                _socket.Dispose();
            }

            public void Dispose() => Interrupt("Closed");
        }
    }
}

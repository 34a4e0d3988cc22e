namespace PSSocket.Sessions
{
    /// <summary>
    /// The one TLS accept-ahead of every TLS listening surface (New-TcpListener -Certificate,
    /// Start-SocketServer -Certificate, Start-SocketRelay -Certificate): it accepts in the
    /// background and runs each client's handshake beside whatever serves clients, so a silent
    /// connection holds neither a serving slot nor a waiting caller. At most
    /// <see cref="MaxPending"/> clients are accepted and not yet taken; when that many are still
    /// handshaking, the oldest handshake is closed to make room (a flood of silent connections
    /// pushes out its own oldest, never a client that has finished its handshake), and when that
    /// many have finished and wait to be taken, accepting pauses and the rest wait in the kernel.
    /// It also decides, in one place, that a client left before its first byte (a port probe):
    /// such a client is counted in <see cref="ClientsReset"/> and never handed out. Once stopped,
    /// whoever completes a handshake closes what it would have queued, by construction: the
    /// queue takes nothing after <see cref="Stop"/>.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Its semaphores have no wait handle and its token source no timer: nothing to release, and a late handshake may still touch them after the owner closed.")]
    internal sealed class TlsAcceptAhead
    {
        /// <summary>How many clients may be accepted and not yet taken unless told otherwise.</summary>
        public const int DefaultMaxPending = 256;

        private readonly Func<CancellationToken, Task<Socket?>> _accept;
        private readonly Func<Socket, TcpSession> _newSession;
        private readonly TlsServerOptions _tls;
        private readonly Action<TlsRefusal>? _refused;
        private readonly object _gate = new();
        private readonly LinkedList<Handshake> _handshaking = new();
        private readonly Queue<TlsAccepted> _ready = new();
        private readonly SemaphoreSlim _readyCount = new(0);
        private readonly SemaphoreSlim _taken = new(0);
        private readonly CancellationTokenSource _stop = new();
        private volatile bool _stopped;
        private int _started;
        private int _reset;
        private int _pushedOut;

        /// <summary>
        /// Accepts with <paramref name="accept"/> (null: nothing this time), wraps each socket with
        /// <paramref name="newSession"/> and handshakes with <paramref name="tls"/>. Failed
        /// handshakes go to <paramref name="refused"/> when given (servers record them), else they
        /// are queued for <see cref="TakeAsync"/> like clients (a listener's wait reports them).
        /// </summary>
        public TlsAcceptAhead(Func<CancellationToken, Task<Socket?>> accept, Func<Socket, TcpSession> newSession, TlsServerOptions tls, TimeSpan handshakeTimeout, int maxPending, Action<TlsRefusal>? refused)
        {
            _accept = accept ?? throw new ArgumentNullException(nameof(accept));
            _newSession = newSession ?? throw new ArgumentNullException(nameof(newSession));
            _tls = tls ?? throw new ArgumentNullException(nameof(tls));
            HandshakeTimeout = handshakeTimeout;
            MaxPending = Math.Max(1, maxPending);
            _refused = refused;
        }

        /// <summary>How long one handshake may take.</summary>
        public TimeSpan HandshakeTimeout { get; }

        /// <summary>How many clients may be accepted and not yet taken (handshaking, or done and waiting).</summary>
        public int MaxPending { get; }

        /// <summary>Clients that closed or reset before their first byte (port probes): never handed out.</summary>
        public int ClientsReset => Volatile.Read(ref _reset);

        /// <summary>Handshakes closed to make room for a newer client while <see cref="MaxPending"/> were pending.</summary>
        public int PushedOut => Volatile.Read(ref _pushedOut);

        /// <summary>Starts accepting (once; later calls do nothing).</summary>
        public void Start()
        {
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                _ = Task.Run(AcceptLoopAsync);
            }
        }

        /// <summary>The next client whose handshake completed (or, without a refusal callback, failed); null at the deadline.</summary>
        public async Task<TlsAccepted?> TakeAsync(Deadline deadline, CancellationToken token)
        {
            if (!await _readyCount.WaitAsync(deadline.Remaining, token).ConfigureAwait(false))
            {
                return null;
            }

            TlsAccepted? taken;
            lock (_gate)
            {
                taken = _ready.Count > 0 ? _ready.Dequeue() : null;
            }

            _taken.Release();
            return taken;
        }

        /// <summary>
        /// Stops accepting and closes every client not yet taken; a handshake that completes later
        /// closes its own client (it can no longer be queued).
        /// </summary>
        public void Stop(string reason)
        {
            TlsAccepted[] waiting;
            Handshake[] running;
            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }

                _stopped = true;
                waiting = _ready.ToArray();
                _ready.Clear();
                running = new Handshake[_handshaking.Count];
                _handshaking.CopyTo(running, 0);
                _handshaking.Clear();
            }

            _stop.Cancel();
            foreach (var accepted in waiting)
            {
                accepted.Session?.Close(reason);
            }

            foreach (var handshake in running)
            {
                handshake.Session.Close(reason);
            }

            // Wakes a taker that waits; it finds nothing and its caller sees the stop.
            _readyCount.Release();
        }

        private async Task AcceptLoopAsync()
        {
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                Socket? socket;
                try
                {
                    await RoomAsync(token).ConfigureAwait(false);
                    socket = await _accept(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (socket is null)
                {
                    continue;
                }

                var handshake = new Handshake(_newSession(socket));
                Handshake? pushedOut = null;
                lock (_gate)
                {
                    if (!_stopped)
                    {
                        if (_handshaking.Count + _ready.Count >= MaxPending && _handshaking.First is { } oldest)
                        {
                            pushedOut = oldest.Value;
                            _handshaking.RemoveFirst();
                            pushedOut.Node = null;
                            pushedOut.PushedOut = true;
                        }

                        handshake.Node = _handshaking.AddLast(handshake);
                    }
                }

                if (handshake.Node is null)
                {
                    handshake.Session.Close("The listener was stopped");
                    return;
                }

                if (pushedOut is not null)
                {
                    Interlocked.Increment(ref _pushedOut);
                    pushedOut.Session.Close($"Closed to make room: {MaxPending} TLS clients were pending and this handshake was the oldest");
                }

                _ = Task.Run(() => HandshakeAsync(handshake, token));
            }
        }

        /// <summary>Waits while every pending client has finished its handshake and waits to be taken (none can be pushed out).</summary>
        private async Task RoomAsync(CancellationToken token)
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_ready.Count < MaxPending)
                    {
                        return;
                    }
                }

                await _taken.WaitAsync(token).ConfigureAwait(false);
            }
        }

        private async Task HandshakeAsync(Handshake handshake, CancellationToken token)
        {
            var session = handshake.Session;
            var remote = session.RemoteEndPoint;
            var started = DateTime.Now;
            var clock = Stopwatch.StartNew();
            Exception? failure = null;
            try
            {
                await session.StartTlsAsServerAsync(_tls, Deadline.After(HandshakeTimeout), token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex;
                session.Close("TLS handshake failed");
            }

            bool probe = failure is not null && TcpSession.ClosedBeforeHandshake(failure);
            if (failure is not null && handshake.PushedOut && !probe)
            {
                failure = new PSSocketException(SocketErrorKind.ConnectionTimedOut,
                    $"The TLS handshake with {Endpoints.Format(remote)} was closed unfinished after {clock.Elapsed.TotalSeconds:0.#} s to make room for a newer client ({MaxPending} were pending).", failure, target: remote);
            }

            if (probe)
            {
                Interlocked.Increment(ref _reset);
            }

            if (failure is PSSocketException { Kind: SocketErrorKind.AuthenticationFailed } refused && TlsDiagnostics.ForServer(refused.Message) is { } words && words != refused.Message)
            {
                // Advice for whoever runs this end: the client's side of it is not this operator's to change.
                failure = new PSSocketException(refused.Kind, words, refused.InnerException, refused.SocketError, refused.Target);
            }

            var accepted = failure is null ? new TlsAccepted(session, null) : new TlsAccepted(null, failure as PSSocketException
                ?? new PSSocketException(SocketErrorKind.AuthenticationFailed, $"The TLS handshake with {Endpoints.Format(remote)} failed: {TlsDiagnostics.ForServer(failure.Message)}", failure, target: session));
            bool queued = false;
            lock (_gate)
            {
                if (handshake.Node is { } node)
                {
                    _handshaking.Remove(node);
                    handshake.Node = null;
                }

                // A listener's waits report failed handshakes, not probes nor the silent ones pushed out.
                if (!_stopped && (failure is null || (_refused is null && !probe && !handshake.PushedOut)))
                {
                    _ready.Enqueue(accepted);
                    queued = true;
                }
            }

            if (queued)
            {
                _readyCount.Release();
                return;
            }

            if (failure is null)
            {
                // Stopped meanwhile: nobody will take it, so it is closed here.
                session.Close("The listener was stopped");
                return;
            }

            if (!_stopped && _refused is not null)
            {
                // The record outlives the session: it keeps the words and the address, not the
                // failed session (its buffers and streams) that the error named as its target.
                var error = new PSSocketException((failure as PSSocketException)?.Kind ?? SocketErrorKind.AuthenticationFailed, failure.Message, socketError: (failure as PSSocketException)?.SocketError ?? System.Net.Sockets.SocketError.Success, target: remote);
                _refused(new TlsRefusal(remote, started, clock.Elapsed, error, probe, probe ? "Closed by the client before any data" : TlsDiagnostics.ForServer(session.CloseReason ?? "TLS handshake failed")));
            }
        }

        private sealed class Handshake
        {
            public Handshake(TcpSession session) => Session = session;

            public TcpSession Session { get; }

            /// <summary>Its place among the handshaking, while it is there (under the gate).</summary>
            public LinkedListNode<Handshake>? Node { get; set; }

            public bool PushedOut { get; set; }
        }
    }

    /// <summary>A client taken from <see cref="TlsAcceptAhead"/>: its session, or why its handshake failed.</summary>
    internal sealed class TlsAccepted
    {
        public TlsAccepted(TcpSession? session, PSSocketException? error)
        {
            Session = session;
            Error = error;
        }

        public TcpSession? Session { get; }

        public PSSocketException? Error { get; }
    }

    /// <summary>A client whose TLS handshake failed, for a server's record.</summary>
    internal sealed class TlsRefusal
    {
        public TlsRefusal(EndPoint? remote, DateTime started, TimeSpan elapsed, Exception error, bool probe, string reason)
        {
            Remote = remote;
            Started = started;
            Elapsed = elapsed;
            Error = error;
            Probe = probe;
            Reason = reason;
        }

        public EndPoint? Remote { get; }

        public DateTime Started { get; }

        public TimeSpan Elapsed { get; }

        public Exception Error { get; }

        /// <summary>Gone before its first byte (a port probe): counted in ClientsReset, not as a failure.</summary>
        public bool Probe { get; }

        public string Reason { get; }
    }
}

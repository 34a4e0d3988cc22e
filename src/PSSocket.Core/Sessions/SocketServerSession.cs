namespace PSSocket
{
    /// <summary>
    /// The throttled server every kind shares (Start-SocketServer's TCP and UDP servers,
    /// Start-SocketRelay): one loop takes a slot out of ThrottleLimit, asks the kind for the next
    /// piece of work (an accepted client, a datagram) and runs it beside the loop; clients past
    /// the limit wait in the kernel (accept backlog, socket buffer) instead of being dropped. What
    /// each piece of work produced is kept as a <see cref="ServerClientRecord"/>, capped by count
    /// and by size. Closing never blocks its caller: the clients are stopped in the background and
    /// <see cref="Completion"/> tells when they are done.
    /// </summary>
    public abstract partial class SocketServerSession : SocketSession
    {
        /// <summary>How many unread client records are kept unless <see cref="MaxRecords"/> says otherwise.</summary>
        public const int DefaultMaxRecords = 10000;

        /// <summary>How many bytes of unread client records (estimated) are kept unless <see cref="MaxRecordBytes"/> says otherwise.</summary>
        public const long DefaultMaxRecordBytes = 64L * 1024 * 1024;

        /// <summary>How long closing lets stopped clients end before it gives up on them and releases the rest.</summary>
        public static readonly TimeSpan TeardownWait = TimeSpan.FromSeconds(10);

        private readonly SemaphoreSlim _slots;
        private readonly CancellationTokenSource _acceptCts = new();
        private readonly CancellationTokenSource _clientsCts = new();
        private readonly ConcurrentDictionary<int, ServingClient> _serving = new();
        private readonly object _recordLock = new();
        private readonly Queue<ServerClientRecord> _records = new();
        private readonly TaskCompletionSource<bool> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _teardownStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource<bool> _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _loop = Task.CompletedTask;
        private int _started;
        private int _servingSeq;
        private int _accepted;
        private int _active;
        private int _failed;
        private int _reset;
        private long _recordsDropped;
        private long _recordBytesDropped;
        private long _recordBytes;
        private long _recordSequence;
        private volatile bool _stopping;
        private volatile bool _keepListed;

        /// <summary>Takes over a bound (and for TCP listening) socket.</summary>
        protected SocketServerSession(SessionKind kind, Socket socket, int throttleLimit, ISessionRegistry registry)
            : base(kind)
        {
            ListenSocket = socket ?? throw new ArgumentNullException(nameof(socket));
            if (registry is null || throttleLimit < 1)
            {
                // The socket was bound for this server: a bad argument must not leave it listening.
                socket.Dispose();
                throw registry is null
                    ? new ArgumentNullException(nameof(registry))
                    : new PSSocketException(SocketErrorKind.InvalidArgument, $"ThrottleLimit {throttleLimit} must be at least 1.", target: throttleLimit);
            }

            Registry = registry;
            ThrottleLimit = throttleLimit;
            _slots = new SemaphoreSlim(throttleLimit, throttleLimit);
            LocalEndPoint = socket.LocalEndPoint;
        }

        /// <summary>Binds a socket of the type for the server (and listens, for a stream socket).</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        protected static Socket Bind(IPAddress address, int port, SocketType type, int backlog)
        {
            if (address is null)
            {
                throw new ArgumentNullException(nameof(address));
            }

            if (port is < 0 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {port} is outside 0-65535.", target: port);
            }

            var socket = new Socket(address.AddressFamily, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                PlatformRules.ClaimExclusively(socket);
                socket.Bind(new IPEndPoint(address, port));
                if (type == SocketType.Stream)
                {
                    socket.Listen(backlog <= 0 ? 512 : backlog);
                }
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw PSSocketException.From(ex, $"Listening on {Endpoints.Format(new IPEndPoint(address, port))} failed", $"{address}:{port}");
            }

            return socket;
        }

        /// <summary>A listening TCP socket for a server or relay that takes one (the relay to a Unix socket).</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public static Socket ListenTcp(IPAddress address, int port, int backlog = 512) => Bind(address, port, SocketType.Stream, backlog);

        /// <summary>
        /// Checks a relay's target, then binds: arguments are checked before anything is bound, so
        /// a bad one leaves no listener behind.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument for the target; the failures of <see cref="Bind"/>.</exception>
        protected static Socket BindRelay(IPAddress address, int port, SocketType type, int backlog, string targetHost, int targetPort)
        {
            CheckRelayTarget(targetHost, targetPort);
            return Bind(address, port, type, backlog);
        }

        /// <summary>Checks a relay's target for a socket the relay takes over; a bad target closes the socket, so nothing is left listening.</summary>
        protected static Socket TakeForRelay(Socket socket, string targetHost, int targetPort)
        {
            try
            {
                CheckRelayTarget(targetHost, targetPort);
            }
            catch
            {
                socket?.Dispose();
                throw;
            }

            return socket;
        }

        private static void CheckRelayTarget(string targetHost, int targetPort)
        {
            if (targetHost is null)
            {
                throw new ArgumentNullException(nameof(targetHost));
            }

            if (string.IsNullOrWhiteSpace(targetHost))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The target host name is empty.", target: targetHost);
            }

            Endpoints.CheckRemotePort(targetPort);
        }

        /// <summary>The bound socket the server accepts or receives on.</summary>
        protected Socket ListenSocket { get; }

        /// <summary>Where the server and its clients' own sessions are listed; each leaves it when it closes.</summary>
        protected ISessionRegistry Registry { get; }

        /// <summary>
        /// Lists the server in its registry under the name: the one way a server is registered. When
        /// the name is taken (DuplicateSessionName) the caller closes the server.
        /// </summary>
        /// <exception cref="PSSocketException">DuplicateSessionName.</exception>
        public void Register(string? name) => Registry.Register(this, name);

        /// <summary>
        /// Lists a client's session while it is served. The server stops a client by closing it;
        /// the session then leaves the registry, whoever closed it (the server, its script block, a user).
        /// </summary>
        protected void Enlist(SocketSession client)
        {
            Registry.Register(client);
            client.WhenClosed(Registry.Unregister);
        }

        /// <summary>Cancelled when the server closes: every client's work stops.</summary>
        protected CancellationToken ClientsToken => _clientsCts.Token;

        /// <summary>Cancelled when the server stops accepting.</summary>
        protected CancellationToken AcceptToken => _acceptCts.Token;

        /// <summary>True once the server stops accepting.</summary>
        protected bool Stopping => _stopping;

        /// <summary>The port the server is bound to (the chosen one when 0 was asked for).</summary>
        public int Port => (LocalEndPoint as IPEndPoint)?.Port ?? 0;

        /// <summary>How many clients (datagrams, for UDP) are served at once; the rest wait.</summary>
        public int ThrottleLimit { get; }

        /// <summary>How many unread client records are kept; older ones are dropped (and counted) past this.</summary>
        public int MaxRecords { get; set; } = DefaultMaxRecords;

        /// <summary>How many bytes of unread client records (estimated from their output and errors) are kept; older ones are dropped (and counted) past this.</summary>
        public long MaxRecordBytes { get; set; } = DefaultMaxRecordBytes;

        /// <summary>Clients accepted (datagrams received, for UDP) so far.</summary>
        public int ClientsAccepted => Volatile.Read(ref _accepted);

        /// <summary>Clients being served now.</summary>
        public int ClientsActive => Volatile.Read(ref _active);

        /// <summary>Clients whose work failed: the script block threw, the TLS handshake failed, or the client was closed for a timeout.</summary>
        public int ClientsFailed => Volatile.Read(ref _failed);

        /// <summary>Clients that connected and went away (reset, or with TLS closed) before sending anything (scanners, floods, port probes): recorded as failed, never served, not counted in ClientsFailed.</summary>
        public int ClientsReset => Volatile.Read(ref _reset);

        /// <summary>Client records dropped unread because more than <see cref="MaxRecords"/> or <see cref="MaxRecordBytes"/> were waiting.</summary>
        public long RecordsDropped => Interlocked.Read(ref _recordsDropped);

        /// <summary>The estimated size of the records counted in <see cref="RecordsDropped"/>.</summary>
        public long RecordBytesDropped => Interlocked.Read(ref _recordBytesDropped);

        /// <summary>Client records waiting to be read with Receive-SocketServerOutput.</summary>
        public override int Available
        {
            get
            {
                lock (_recordLock)
                {
                    return _records.Count;
                }
            }
        }

        /// <summary>The last error the accept loop survived (for example running out of file descriptors).</summary>
        public string? LastAcceptError { get; protected set; }

        /// <summary>Completes once the server has stopped, every client has ended (or was given up on) and everything it held is released.</summary>
        public Task Completion => _completed.Task;

        /// <inheritdoc />
        protected override SessionState CurrentState => _stopping ? ClosedState : SessionState.Listening;

        /// <inheritdoc />
        protected override SessionState ClosedState => _keepListed ? SessionState.Stopped : SessionState.Closed;

        /// <summary>Starts the serving loop; a second call is refused.</summary>
        protected void StartServing()
        {
            if (Interlocked.Exchange(ref _started, 1) != 0)
            {
                throw new InvalidOperationException("The server is already started.");
            }

            ThrowIfClosed();
            _loop = Task.Run(RunAsync);
        }

        // ---- serving -------------------------------------------------------------------------

        /// <summary>
        /// The next piece of work, taken once a slot is free: an accepted client, a received
        /// datagram. Null when there is nothing to serve this time (a failure the loop survives).
        /// Throws OperationCanceledException (or anything) once the server is stopping.
        /// </summary>
        protected abstract Task<ServerWork?> NextAsync(CancellationToken token);

        /// <summary>The serving loop; kinds that do not serve by slots (the UDP relay) replace it.</summary>
        protected virtual async Task RunAsync()
        {
            var token = _acceptCts.Token;
            while (!_stopping)
            {
                // Take a slot before accepting: clients past the limit stay with the kernel.
                try
                {
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                ServerWork? work;
                try
                {
                    work = await NextAsync(token).ConfigureAwait(false);
                }
                catch (Exception) when (_stopping)
                {
                    _slots.Release();
                    return;
                }

                if (work is null || _stopping)
                {
                    _slots.Release();
                    work?.Abandon();
                    continue;
                }

                Serve(work, releasesSlot: true);
            }
        }

        /// <summary>Runs a piece of work beside the loop, counts it and keeps its record.</summary>
        protected void Serve(ServerWork work, bool releasesSlot)
        {
            if (work is null)
            {
                throw new ArgumentNullException(nameof(work));
            }

            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref _active);
            Touch();
            int key = Interlocked.Increment(ref _servingSeq);
            var entry = new ServingClient(work);
            _serving[key] = entry;
            entry.Task = Task.Run(async () =>
            {
                ServerClientRecord record;
                try
                {
                    record = await work.RunAsync(_clientsCts.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The kinds turn their failures into records; this is a bug's last line of defence.
                    record = new ServerClientRecord(this, work.Client, DateTime.Now, TimeSpan.Zero, new ServerHandlerResult(null, new object[] { ex }, threw: true), ex.Message);
                }

                Finish(key, record, releasesSlot, work.GoneBeforeData);
            });
        }

        /// <summary>
        /// Records a client that was refused before any work ran: a TLS handshake that failed
        /// (counted in ClientsFailed) or a reset before any data (counted in ClientsReset: a
        /// scanner's probe is no failure of the service).
        /// </summary>
        protected void RecordRefused(ServerClientRecord record, bool reset = false)
        {
            if (record is null)
            {
                throw new ArgumentNullException(nameof(record));
            }

            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref reset ? ref _reset : ref _failed);
            AddRecord(record);
            Signal();
        }

        private void Finish(int key, ServerClientRecord record, bool releasesSlot, bool goneBeforeData)
        {
            _serving.TryRemove(key, out _);
            if (goneBeforeData)
            {
                Interlocked.Increment(ref _reset);
            }
            else if (!record.Succeeded)
            {
                Interlocked.Increment(ref _failed);
            }

            AddRecord(record);
            Interlocked.Decrement(ref _active);
            if (releasesSlot)
            {
                _slots.Release();
            }

            Signal();
        }

        internal void AddRecord(ServerClientRecord record)
        {
            lock (_recordLock)
            {
                record.Sequence = ++_recordSequence;
                _records.Enqueue(record);
                _recordBytes += record.EstimatedBytes;

                // The newest record always stays, however large: it is the one a reader looks for.
                while (_records.Count > 1 && (_records.Count > MaxRecords || _recordBytes > MaxRecordBytes))
                {
                    var old = _records.Dequeue();
                    _recordBytes -= old.EstimatedBytes;
                    _recordsDropped++;
                    _recordBytesDropped += old.EstimatedBytes;
                }
            }
        }

        /// <summary>Wakes everyone waiting for records.</summary>
        protected void Signal()
        {
            var previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
            previous.TrySetResult(true);
        }

        /// <summary>How often to look for clients idle longer than the timeout: a quarter of it, between 50 ms and 1 s.</summary>
        internal static TimeSpan IdleCheckPeriod(TimeSpan timeout) =>
            TimeSpan.FromTicks(Math.Min(Math.Max(timeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks), TimeSpan.FromSeconds(1).Ticks));

        /// <summary>Waits a little without throwing when the server stops meanwhile.</summary>
        protected static async Task DelayQuietly(TimeSpan delay, CancellationToken token)
        {
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping: the loop checks and ends.
            }
        }

        /// <summary>
        /// The next client on the (TCP) listening socket, or null after a failure the loop survives
        /// (EMFILE and friends: the clients being served go on, and accepting is retried shortly).
        /// Throws OperationCanceledException once the server is stopping.
        /// </summary>
        protected async Task<Socket?> AcceptOrNullAsync(CancellationToken token)
        {
            try
            {
                return await ListenSocket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                if (Stopping)
                {
                    throw new OperationCanceledException(token);
                }

                LastAcceptError = ex.Message;
                await DelayQuietly(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                return null;
            }
        }

        /// <summary>
        /// The next datagram on the (UDP) listening socket, or null after a failure the loop
        /// survives: an ICMP error for an earlier reply surfaces here on some systems. Throws
        /// OperationCanceledException once the server is stopping.
        /// </summary>
        protected async Task<SocketReceiveFromResult?> ReceiveDatagramAsync(byte[] buffer, CancellationToken token)
        {
            var any = ListenSocket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
            try
            {
                return await ListenSocket.ReceiveFromAsync(new ArraySegment<byte>(buffer), SocketFlags.None, any).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                if (Stopping)
                {
                    throw new OperationCanceledException(token);
                }

                LastAcceptError = ex.Message;
                if (ex is not SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset })
                {
                    await DelayQuietly(TimeSpan.FromMilliseconds(50), token).ConfigureAwait(false);
                }

                return null;
            }
        }

        private sealed class ServingClient
        {
            public ServingClient(ServerWork work) => Work = work;

            public ServerWork Work { get; }

            public Task? Task { get; set; }
        }
    }
}

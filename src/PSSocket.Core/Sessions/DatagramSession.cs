namespace PSSocket
{
    /// <summary>
    /// A message socket (UDP or raw) whose background loop moves every arriving datagram into a
    /// bounded queue. When the queue is full the datagram is counted in DroppedDatagrams rather
    /// than lost silently. Cmdlets drain the queue from the pipeline thread.
    /// </summary>
    public abstract class DatagramSession : SocketSession
    {
        /// <summary>How many datagrams the queue holds unless told otherwise.</summary>
        public const int DefaultQueueLimit = 10_000;

        /// <summary>The most bytes the queue holds whatever QueueLimit says (64 MiB), so a flood cannot exhaust memory.</summary>
        public const long MaxQueueBytes = 64L * 1024 * 1024;

        private readonly object _queueLock = new();
        private readonly Queue<SocketDatagram> _queue = new();
        private long _queuedBytes;
        private TaskCompletionSource<bool>? _signal;
        private int _queueLimit = DefaultQueueLimit;
        private long _dropped;
        private long _datagramsReceived;
        private long _datagramsSent;
        private PSSocketException? _fault;
        private Task? _loop;
        private volatile IPEndPoint? _lastSender;

        /// <summary>Takes ownership of a created (and bound) socket.</summary>
        protected DatagramSession(SessionKind kind, Socket socket)
            : base(kind)
        {
            Socket = socket ?? throw new ArgumentNullException(nameof(socket));
        }

        /// <summary>The underlying socket.</summary>
        public Socket Socket { get; }

        /// <summary>The most datagrams kept waiting to be read; what arrives beyond it is counted in DroppedDatagrams.</summary>
        public int QueueLimit
        {
            get => _queueLimit;
            set => _queueLimit = value >= 1 ? value : throw new PSSocketException(SocketErrorKind.InvalidArgument, "QueueLimit must be at least 1.", target: value);
        }

        /// <summary>Datagrams that arrived while the queue was full and were discarded.</summary>
        public long DroppedDatagrams => Interlocked.Read(ref _dropped);

        /// <summary>Datagrams taken off the socket, dropped ones included.</summary>
        public long DatagramsReceived => Interlocked.Read(ref _datagramsReceived);

        /// <summary>Datagrams sent.</summary>
        public long DatagramsSent => Interlocked.Read(ref _datagramsSent);

        /// <summary>Datagrams queued and not yet read.</summary>
        public override int Available
        {
            get
            {
                lock (_queueLock)
                {
                    return _queue.Count;
                }
            }
        }

        /// <summary>The sender of the datagram read last: where a reply goes when no destination is given.</summary>
        public IPEndPoint? LastSender => _lastSender;

        /// <summary>True when the socket is connected to a default remote (it then only talks to that peer).</summary>
        public bool IsConnected => RemoteEndPoint is not null;

        /// <summary>The last error the OS reported while receiving that did not stop the session (e.g. port unreachable).</summary>
        public SocketError? LastReceiveError { get; private set; }

        /// <inheritdoc />
        protected override SessionState CurrentState => _fault is not null ? SessionState.Faulted : SessionState.Open;

        /// <summary>The largest payload one datagram may carry to a destination of this family.</summary>
        protected abstract int MaxPayload(AddressFamily family);

        /// <summary>Wraps received bytes as the session's datagram type.</summary>
        protected abstract SocketDatagram CreateDatagram(byte[] bytes, EndPoint from);

        /// <summary>Starts the background receive loop; subclasses call it once the socket is bound.</summary>
        protected void StartReceiving()
        {
            LocalEndPoint = Socket.LocalEndPoint;
            _loop ??= Task.Run(ReceiveLoopAsync);
        }

        /// <summary>Connects the socket to a default remote: sends without a destination go there and only its datagrams are received.</summary>
        public void Connect(IPEndPoint remote)
        {
            ThrowIfClosed();
            if (remote is null)
            {
                throw new ArgumentNullException(nameof(remote));
            }

            remote = Adapt(remote);
            try
            {
                Socket.Connect(remote);
            }
            catch (SocketException ex)
            {
                throw PSSocketException.From(ex, $"Setting the default remote of session {this} to {Endpoints.Format(remote)} failed", this);
            }

            RemoteEndPoint = Endpoints.Unmap(remote);
            LocalEndPoint = Socket.LocalEndPoint;
        }

        // ---- receiving -----------------------------------------------------------------------

        private async Task ReceiveLoopAsync()
        {
            var buffer = new byte[65536];
            EndPoint any = Socket.AddressFamily switch
            {
                AddressFamily.InterNetworkV6 => new IPEndPoint(IPAddress.IPv6Any, 0),
                AddressFamily.Unix => LocalEndPoint ?? RemoteEndPoint!,
                _ => new IPEndPoint(IPAddress.Any, 0),
            };
            while (!IsClosed)
            {
                SocketReceiveFromResult r;
                try
                {
                    r = await Socket.ReceiveFromAsync(new ArraySegment<byte>(buffer), SocketFlags.None, any).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (SocketException) when (IsClosed)
                {
                    return;
                }
                catch (SocketException ex) when (IsTransient(ex.SocketErrorCode))
                {
                    // ICMP errors for earlier sends (port unreachable and the like) surface on the
                    // next receive; they say nothing about this socket, which goes on working.
                    LastReceiveError = ex.SocketErrorCode;
                    continue;
                }
                catch (SocketException ex)
                {
                    _fault = PSSocketException.From(ex, $"Receiving on session {this} failed", this);
                    SocketError = ex.SocketErrorCode;
                    SetReason(_fault.Message);
                    Wake();
                    return;
                }

                var bytes = new byte[r.ReceivedBytes];
                Buffer.BlockCopy(buffer, 0, bytes, 0, bytes.Length);
                // A connected Unix socket hears only its peer, which may be unnamed: the peer's path is shown.
                var from = r.RemoteEndPoint is IPEndPoint ip ? Endpoints.Unmap(ip) : RemoteEndPoint ?? r.RemoteEndPoint;
                Enqueue(CreateDatagram(bytes, from));
            }
        }

        /// <summary>Errors a datagram socket reports for earlier traffic (ICMP) or a passing condition: the socket goes on working.</summary>
        internal static bool IsTransient(SocketError e) => e is System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionRefused
            or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable or System.Net.Sockets.SocketError.MessageSize
            or System.Net.Sockets.SocketError.TimedOut or System.Net.Sockets.SocketError.Interrupted or System.Net.Sockets.SocketError.WouldBlock;

        /// <summary>Adds a datagram to the queue, or counts it as dropped when the queue is full.</summary>
        internal void Enqueue(SocketDatagram datagram)
        {
            Interlocked.Increment(ref _datagramsReceived);
            CountReceived(datagram.Length);
            TaskCompletionSource<bool>? signal = null;
            lock (_queueLock)
            {
                if (_queue.Count >= _queueLimit || _queuedBytes + datagram.Length > MaxQueueBytes)
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }

                _queue.Enqueue(datagram);
                _queuedBytes += datagram.Length;
                signal = _signal;
                _signal = null;
            }

            signal?.TrySetResult(true);
        }

        private void Wake()
        {
            TaskCompletionSource<bool>? signal;
            lock (_queueLock)
            {
                signal = _signal;
                _signal = null;
            }

            signal?.TrySetResult(true);
        }

        /// <summary>Takes the next queued datagram without waiting, or returns null.</summary>
        public SocketDatagram? TryReceive()
        {
            lock (_queueLock)
            {
                return DequeueLocked();
            }
        }

        private SocketDatagram? DequeueLocked()
        {
            if (_queue.Count == 0)
            {
                return null;
            }

            var d = _queue.Dequeue();
            _queuedBytes -= d.Length;
            d.Stamp(Encoding, Id);
            _lastSender = d.RemoteEndPoint as IPEndPoint ?? _lastSender;
            return d;
        }

        /// <summary>
        /// The next datagram, waiting until the deadline for one to arrive. A timeout or Ctrl+C takes
        /// nothing off the queue, so no datagram is ever lost between calls.
        /// </summary>
        /// <exception cref="PSSocketException">ReceiveTimeout, SessionClosed, or the fault that stopped the receive loop.</exception>
        public async Task<SocketDatagram> ReceiveAsync(Deadline deadline, CancellationToken token)
        {
            while (true)
            {
                Task signal;
                lock (_queueLock)
                {
                    var d = DequeueLocked();
                    if (d is not null)
                    {
                        return d;
                    }

                    ThrowIfClosed();
                    if (_fault is not null)
                    {
                        throw _fault;
                    }

                    _signal ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    signal = _signal.Task;
                }

                if (!await deadline.WaitAsync(signal, token).ConfigureAwait(false))
                {
                    throw ReceiveTimeout();
                }
            }
        }

        /// <summary>The timeout failure, naming an ICMP error the OS reported meanwhile.</summary>
        protected virtual PSSocketException ReceiveTimeout() =>
            new(SocketErrorKind.ReceiveTimeout,
                $"No datagram arrived on session {this} ({Endpoints.Format(LocalEndPoint)}) within the timeout.{UnreachableHint} The session is still open.", target: this);

        /// <summary>A sentence about an ICMP error the OS reported while receiving (with a leading space), or "".</summary>
        public string UnreachableHint => LastReceiveError switch
        {
            System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.ConnectionReset =>
                " The remote host reported port unreachable: nothing listens on that port.",
            System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable =>
                " The network reported the remote host unreachable.",
            _ => "",
        };

        // ---- sending -------------------------------------------------------------------------

        /// <summary>Where a send without a destination goes: the default remote, else the sender of the datagram read last.</summary>
        public EndPoint? DefaultDestination => RemoteEndPoint ?? _lastSender;

        /// <summary>Throws DatagramTooLarge when the payload cannot fit one datagram to that family.</summary>
        public void CheckSize(int length, AddressFamily family)
        {
            int max = MaxPayload(family);
            if (length > max)
            {
                throw new PSSocketException(SocketErrorKind.DatagramTooLarge,
                    $"A datagram of {length} bytes is larger than {(family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} allows here ({max} bytes); nothing was sent. Split the data into several datagrams.",
                    target: length);
            }
        }

        /// <summary>
        /// Sends one datagram to the destination, or (null) to the default remote, else to the sender
        /// of the datagram read last.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument without a destination, DatagramTooLarge, SendTimeout, or what the OS reported.</exception>
        public async Task SendAsync(byte[] data, IPEndPoint? destination, Deadline deadline, CancellationToken token)
        {
            if (data is null)
            {
                throw new ArgumentNullException(nameof(data));
            }

            ThrowIfClosed();
            var to = destination ?? DefaultDestination ?? throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"Session {this} has no destination to send to: give -RemoteEndPoint, set a default remote, or receive a datagram first to reply to its sender.", target: this);
            CheckSize(data.Length, to.AddressFamily);
            var remote = RemoteEndPoint;
            bool connected = remote is not null;
            if (connected && destination is not null && !Endpoints.Unmap(destination).Equals(remote))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"Session {this} is connected to {Endpoints.Format(remote)} and only talks to it; open another session to send to {Endpoints.Format(destination)}.", target: destination);
            }

            Task<int> send;
            try
            {
                var segment = new ArraySegment<byte>(data);
                send = connected ? Socket.SendAsync(segment, SocketFlags.None) : Socket.SendToAsync(segment, SocketFlags.None, Adapt((IPEndPoint)to));
                if (!await deadline.WaitAsync(send, token).ConfigureAwait(false))
                {
                    _ = send.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    throw new PSSocketException(SocketErrorKind.SendTimeout, $"The system did not take the datagram for {Endpoints.Format(to)} within the timeout.", target: to);
                }

                await send.ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw SendFailed(ex, to);
            }
            catch (ObjectDisposedException ex)
            {
                ThrowIfClosed();
                throw new PSSocketException(SocketErrorKind.SessionClosed, $"Session {this} was closed while sending.", ex, target: this);
            }

            Interlocked.Increment(ref _datagramsSent);
            CountSent(data.Length);
        }

        /// <summary>Turns a send failure into a sentence that says what to do.</summary>
        protected virtual PSSocketException SendFailed(SocketException ex, EndPoint destination) =>
            PSSocketException.From(ex, $"Sending a datagram to {Endpoints.Format(destination)} failed", destination);

        /// <summary>Makes the destination fit the socket's family (IPv4 on a dual-mode socket) or says why it cannot.</summary>
        protected IPEndPoint Adapt(IPEndPoint to)
        {
            var family = Socket.AddressFamily;
            if (to.AddressFamily == family)
            {
                return to;
            }

            if (family == AddressFamily.InterNetworkV6 && Socket.DualMode && to.AddressFamily == AddressFamily.InterNetwork)
            {
                return new IPEndPoint(to.Address.MapToIPv6(), to.Port);
            }

            if (family == AddressFamily.InterNetwork && to.AddressFamily == AddressFamily.InterNetworkV6 && to.Address.IsIPv4MappedToIPv6)
            {
                return new IPEndPoint(to.Address.MapToIPv4(), to.Port);
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"Session {this} is bound to an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address ({Endpoints.Format(LocalEndPoint)}) and cannot reach {Endpoints.Format(to)}. Bind the session with -Address Any (both families) or an address of the other family.",
                target: to);
        }

        /// <summary>Resolves a host to one address the session can reach (preferring its own family).</summary>
        public async Task<IPAddress> ResolveAsync(string host, Deadline deadline, CancellationToken token)
        {
            var addresses = await Endpoints.ResolveAsync(host, null, deadline, token).ConfigureAwait(false);
            foreach (var a in addresses)
            {
                if (a.AddressFamily == Socket.AddressFamily)
                {
                    return a;
                }
            }

            // Adapt() maps IPv4 onto a dual-mode socket, or explains why the family cannot be reached.
            return addresses[0];
        }

        /// <summary>
        /// Turns what a user typed into a destination: an IPEndPoint or IPAddress as is, or text
        /// "host:port", "[v6]:port", "host" (then defaultPort is needed; raw sockets pass 0).
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument without a port, HostNotFound.</exception>
        public async Task<IPEndPoint> ResolveEndPointAsync(object value, int? defaultPort, Deadline deadline, CancellationToken token)
        {
            switch (value)
            {
                case IPEndPoint ep:
                    return ep;
                case IPAddress ip when defaultPort is int p0:
                    return new IPEndPoint(ip, p0);
                case DnsEndPoint dns:
                    return new IPEndPoint(await ResolveAsync(dns.Host, deadline, token).ConfigureAwait(false), dns.Port);
            }

            string text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            var (host, port) = Endpoints.SplitHostPort(text);
            int finalPort = port ?? defaultPort ?? throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{Endpoints.Shorten(text)}' has no port; write host:port (IPv6: [address]:port).", target: value);
            if (defaultPort is null)
            {
                Endpoints.CheckRemotePort(finalPort);
            }

            return new IPEndPoint(await ResolveAsync(host, deadline, token).ConfigureAwait(false), finalPort);
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            Socket.Close();
            Wake();
        }
    }
}

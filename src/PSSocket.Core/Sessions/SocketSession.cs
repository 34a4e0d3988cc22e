namespace PSSocket
{
    /// <summary>
    /// A socket the session manager holds between pipeline calls. Subclasses own the socket; this
    /// base owns identity, counters and the close-once bookkeeping.
    /// </summary>
    public abstract class SocketSession : IDisposable
    {
        private Encoding _encoding = TextEncoding.Utf8NoBom;
        private LineEnding _newLine = LineEnding.Lf;

        /// <summary>Initialises the common state.</summary>
        protected SocketSession(SessionKind kind)
        {
            Kind = kind;
            CreatedAt = DateTime.Now;
            Ledger = new SessionLedger(CreatedAt);
        }

        /// <summary>Closed or not and why, bytes each way, last activity: what the session's I/O records.</summary>
        internal SessionLedger Ledger { get; }

        /// <summary>The registry's id, unique in this process.</summary>
        public int Id { get; internal set; }

        /// <summary>An optional name, unique among live sessions.</summary>
        public string? Name { get; internal set; }

        /// <summary>What kind of socket this is.</summary>
        public SessionKind Kind { get; }

        /// <summary>Where the session is in its life.</summary>
        public SessionState State => Ledger.IsClosed ? ClosedState : CurrentState;

        /// <summary>The state once closed locally (Closed; a stopped server says Stopped).</summary>
        protected virtual SessionState ClosedState => SessionState.Closed;

        /// <summary>The state while not closed locally: facts the session has recorded, no I/O.</summary>
        protected abstract SessionState CurrentState { get; }

        /// <summary>
        /// Brings <see cref="State"/> up to date without waiting (a TCP session notices a peer
        /// close or reset no read has seen yet). Cmdlets call it where a user expects fresh state.
        /// </summary>
        public virtual void RefreshState()
        {
        }

        /// <summary>The local address and port.</summary>
        public EndPoint? LocalEndPoint { get; protected set; }

        /// <summary>The peer's address and port, where there is one.</summary>
        public EndPoint? RemoteEndPoint { get; protected set; }

        /// <summary>How text is encoded and decoded; UTF-8 without BOM unless set.</summary>
        public Encoding Encoding
        {
            get => _encoding;
            set => _encoding = value ?? throw new ArgumentNullException(nameof(value));
        }

        /// <summary>What -Line appends when sending and what ends a line when receiving; text converts to it ("`r`n", "Any").</summary>
        public LineEnding NewLine
        {
            get => _newLine;
            set => _newLine = value ?? throw new ArgumentNullException(nameof(value));
        }

        /// <summary>What -Line appends when sending: the NewLine's text ("\r\n" when NewLine is Any).</summary>
        public string LineTerminator => _newLine.Text;

        /// <summary>Whether the stream is encrypted with TLS.</summary>
        public virtual bool IsTls => false;

        /// <summary>Bytes written to the socket.</summary>
        public long BytesSent => Ledger.BytesSent;

        /// <summary>Bytes read from the socket.</summary>
        public long BytesReceived => Ledger.BytesReceived;

        /// <summary>Bytes (or datagrams, for datagram sessions) received and not yet read by a cmdlet.</summary>
        public virtual int Available => 0;

        /// <summary>When the session was created.</summary>
        public DateTime CreatedAt { get; }

        /// <summary>When data last moved either way.</summary>
        public DateTime LastActivityAt => Ledger.LastActivityAt;

        /// <summary>Why the session closed or faulted; the first reason wins.</summary>
        public string? CloseReason => Ledger.Reason;

        /// <summary>The operating system error that faulted the session, if any.</summary>
        public SocketError? SocketError
        {
            get => Ledger.SocketError;
            protected set => Ledger.SocketError = value;
        }

        /// <summary>The device type (a profile name, see Get-DeviceProfile) Invoke-DeviceCommand uses on this session unless told otherwise; null: generic.</summary>
        public string? DeviceType { get; set; }

        /// <summary>True once closed locally.</summary>
        public bool IsClosed => Ledger.IsClosed;

        internal void CountSent(long n) => Ledger.CountSent(n);

        internal void CountReceived(long n) => Ledger.CountReceived(n);

        internal void Touch() => Ledger.Touch();

        /// <summary>How long no data moved either way, on the monotonic clock (what idle timeouts decide on; LastActivityAt is for showing).</summary>
        internal TimeSpan IdleFor => Ledger.IdleFor;

        /// <summary>Records why the session faulted without closing it (buffered data stays readable).</summary>
        protected void SetReason(string reason) => Ledger.SetReason(reason);

        /// <summary>Closes the socket once; later calls do nothing. The first reason is kept.</summary>
        public void Close(string reason = "Closed by the user")
        {
            if (Ledger.TryClose(reason))
            {
                OnClose();
                Ledger.TakeWhenClosed()?.Invoke();
            }
        }

        /// <summary>
        /// Runs the action once the session has closed (at once when it already has): what must follow
        /// a close, whoever closes it (a server's registry letting a client go).
        /// </summary>
        internal void WhenClosed(Action<SocketSession> action)
        {
            if (!Ledger.AddWhenClosed(() => action(this)))
            {
                action(this);
            }
        }

        /// <summary>Releases the socket and whatever else the session holds.</summary>
        protected abstract void OnClose();

        /// <summary>Throws SessionClosed if the session was closed locally.</summary>
        protected void ThrowIfClosed() => Ledger.ThrowIfClosed(this);

        /// <inheritdoc />
        public void Dispose()
        {
            Close("Disposed");
            GC.SuppressFinalize(this);
        }

        /// <inheritdoc />
        public override string ToString() => Name is null ? $"#{Id}" : $"#{Id} '{Name}'";
    }
}

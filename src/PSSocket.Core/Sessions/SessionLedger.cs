namespace PSSocket.Sessions
{
    /// <summary>
    /// The facts a session shows, recorded by whoever does its I/O: whether it is closed and why
    /// (the first reason wins), the operating system error that faulted it, bytes each way and
    /// when data last moved. A <see cref="Connection"/> writes a stream session's ledger as it
    /// reads and writes; datagram sessions and servers write their own. Thread-safe.
    /// </summary>
    internal sealed class SessionLedger
    {
        private readonly object _closeLock = new();
        private readonly ActivityClock _activity = new();
        private Action? _whenClosed;
        private long _bytesSent;
        private long _bytesReceived;
        private long _lastActivityTicks;
        private volatile bool _closed;
        private string? _reason;

        public SessionLedger(DateTime createdAt) => _lastActivityTicks = createdAt.Ticks;

        public bool IsClosed => _closed;

        /// <summary>Why the session closed or faulted; the first reason wins.</summary>
        public string? Reason => _reason;

        /// <summary>The operating system error that faulted the session, if any.</summary>
        public SocketError? SocketError { get; set; }

        public long BytesSent => Interlocked.Read(ref _bytesSent);

        public long BytesReceived => Interlocked.Read(ref _bytesReceived);

        /// <summary>When data last moved either way (wall clock, for showing).</summary>
        public DateTime LastActivityAt => new(Interlocked.Read(ref _lastActivityTicks), DateTimeKind.Local);

        /// <summary>How long no data moved either way, on the monotonic clock (what idle timeouts decide on).</summary>
        public TimeSpan IdleFor => _activity.Since;

        public void CountSent(long n)
        {
            Interlocked.Add(ref _bytesSent, n);
            Touch();
        }

        public void CountReceived(long n)
        {
            Interlocked.Add(ref _bytesReceived, n);
            Touch();
        }

        public void Touch()
        {
            Interlocked.Exchange(ref _lastActivityTicks, DateTime.Now.Ticks);
            _activity.Touch();
        }

        /// <summary>Records why the session ended or faulted without closing it (buffered data stays readable).</summary>
        public void SetReason(string reason)
        {
            lock (_closeLock)
            {
                _reason ??= reason;
            }
        }

        /// <summary>Records a fault: its error and, if none was recorded first, its message as the reason.</summary>
        public void RecordFault(PSSocketException fault, SocketError error)
        {
            SocketError = error;
            SetReason(fault.Message);
        }

        /// <summary>Marks the session closed; true only for the first call, which is the one that releases what it holds.</summary>
        public bool TryClose(string reason)
        {
            lock (_closeLock)
            {
                if (_closed)
                {
                    return false;
                }

                _closed = true;
                _reason ??= reason;
                return true;
            }
        }

        /// <summary>Keeps an action to run once the session has closed; false when it has already (the caller runs it then).</summary>
        public bool AddWhenClosed(Action action)
        {
            lock (_closeLock)
            {
                if (_closed)
                {
                    return false;
                }

                _whenClosed += action;
                return true;
            }
        }

        /// <summary>The actions kept for the close, handed out once (by the call that closed).</summary>
        public Action? TakeWhenClosed() => Interlocked.Exchange(ref _whenClosed, null);

        /// <summary>Throws SessionClosed naming the session if it was closed locally.</summary>
        public void ThrowIfClosed(object session)
        {
            if (_closed)
            {
                throw new PSSocketException(SocketErrorKind.SessionClosed, $"Session {session} is closed ({_reason}).", target: session);
            }
        }
    }
}

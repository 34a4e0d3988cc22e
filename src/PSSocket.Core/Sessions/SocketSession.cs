using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using PSSocket.Net;
using PSSocket.Sessions;

namespace PSSocket
{
    /// <summary>
    /// A socket the session manager holds between pipeline calls. Subclasses own the socket; this
    /// base owns identity, counters and the close-once bookkeeping.
    /// </summary>
    public abstract class SocketSession : IDisposable
    {
        private readonly object _closeLock = new();
        private long _bytesSent;
        private long _bytesReceived;
        private long _lastActivityTicks;
        private readonly ActivityClock _activity = new();
        private Encoding _encoding = TextEncoding.Utf8NoBom;
        private LineEnding _newLine = LineEnding.Lf;
        private volatile bool _closed;
        private string? _closeReason;

        /// <summary>Initialises the common state.</summary>
        protected SocketSession(SessionKind kind)
        {
            Kind = kind;
            CreatedAt = DateTime.Now;
            _lastActivityTicks = CreatedAt.Ticks;
        }

        /// <summary>The registry's id, unique in this process.</summary>
        public int Id { get; internal set; }

        /// <summary>An optional name, unique among live sessions.</summary>
        public string? Name { get; internal set; }

        /// <summary>What kind of socket this is.</summary>
        public SessionKind Kind { get; }

        /// <summary>Where the session is in its life.</summary>
        public SessionState State => _closed ? ClosedState : CurrentState;

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
        public long BytesSent => Interlocked.Read(ref _bytesSent);

        /// <summary>Bytes read from the socket.</summary>
        public long BytesReceived => Interlocked.Read(ref _bytesReceived);

        /// <summary>Bytes (or datagrams, for datagram sessions) received and not yet read by a cmdlet.</summary>
        public virtual int Available => 0;

        /// <summary>When the session was created.</summary>
        public DateTime CreatedAt { get; }

        /// <summary>When data last moved either way.</summary>
        public DateTime LastActivityAt => new(Interlocked.Read(ref _lastActivityTicks), DateTimeKind.Local);

        /// <summary>Why the session closed or faulted; the first reason wins.</summary>
        public string? CloseReason => _closeReason;

        /// <summary>The operating system error that faulted the session, if any.</summary>
        public SocketError? SocketError { get; protected set; }

        /// <summary>The device type (a profile name, see Get-DeviceProfile) Invoke-DeviceCommand uses on this session unless told otherwise; null: generic.</summary>
        public string? DeviceType { get; set; }

        /// <summary>True once closed locally.</summary>
        public bool IsClosed => _closed;

        internal void CountSent(long n)
        {
            Interlocked.Add(ref _bytesSent, n);
            Touch();
        }

        internal void CountReceived(long n)
        {
            Interlocked.Add(ref _bytesReceived, n);
            Touch();
        }

        internal void Touch()
        {
            Interlocked.Exchange(ref _lastActivityTicks, DateTime.Now.Ticks);
            _activity.Touch();
        }

        /// <summary>How long no data moved either way, on the monotonic clock (what idle timeouts decide on; LastActivityAt is for showing).</summary>
        internal TimeSpan IdleFor => _activity.Since;

        /// <summary>Records why the session faulted without closing it (buffered data stays readable).</summary>
        protected void SetReason(string reason)
        {
            lock (_closeLock)
            {
                _closeReason ??= reason;
            }
        }

        /// <summary>Closes the socket once; later calls do nothing. The first reason is kept.</summary>
        public void Close(string reason = "Closed by the user")
        {
            lock (_closeLock)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                _closeReason ??= reason;
            }

            OnClose();
        }

        /// <summary>Releases the socket and whatever else the session holds.</summary>
        protected abstract void OnClose();

        /// <summary>Throws SessionClosed if the session was closed locally.</summary>
        protected void ThrowIfClosed()
        {
            if (_closed)
            {
                throw new PSSocketException(SocketErrorKind.SessionClosed, $"Session {this} is closed ({_closeReason}).", target: this);
            }
        }

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

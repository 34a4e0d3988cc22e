using System.Text.RegularExpressions;

namespace PSSocket
{
    /// <summary>
    /// A connected TCP stream (client or accepted). Sends are serialized and receives are
    /// serialized, so two runspaces can share a session without corrupting it. A read that
    /// times out or is cancelled stays pending and its bytes land in the buffer later: nothing
    /// is ever dropped between calls. The bytes move through the session's one
    /// <see cref="Connection"/>; each receive mode is a stop rule (Framing.cs) that its one
    /// receive loop feeds.
    /// </summary>
    public partial class TcpSession : SocketSession
    {
        /// <summary>What Receive-SocketData may buffer in one call unless told otherwise.</summary>
        public const int DefaultMaxBytes = 16 * 1024 * 1024;

        private readonly Connection _connection;
        private (Encoding Encoding, LineEnding NewLine, byte[] Terminator, byte[]? Cr)? _lineTerminators;

        /// <summary>Wraps a connected socket (and the stream over it, when the caller made one).</summary>
        public TcpSession(Socket socket, Stream? stream = null)
            : this(socket, stream, SessionKind.Tcp)
        {
        }

        /// <summary>Wraps a connected stream socket of another family (a Unix socket) with the same machinery.</summary>
        protected TcpSession(Socket socket, Stream? stream, SessionKind kind)
            : base(kind)
        {
            Socket = socket ?? throw new ArgumentNullException(nameof(socket));
            _connection = new Connection(this, socket, stream);
            LocalEndPoint = socket.LocalEndPoint;
            RemoteEndPoint = socket.RemoteEndPoint;
        }

        /// <summary>
        /// A stream session with no socket of its own (an SSH shell channel): the stream's reads
        /// return 0 at its end and throw IOException when it fails; receives, framing, transcripts
        /// and observers work as over TCP. The subclass closes what lies under the stream.
        /// </summary>
        protected TcpSession(SessionKind kind, Stream stream, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
            : base(kind)
        {
            _connection = new Connection(this, null, stream ?? throw new ArgumentNullException(nameof(stream)));
            LocalEndPoint = localEndPoint;
            RemoteEndPoint = remoteEndPoint;
        }

        /// <summary>The underlying socket, or null for a session over a stream with no socket of its own (an SSH channel).</summary>
        public Socket? Socket { get; }

        /// <inheritdoc />
        protected override SessionState CurrentState => _connection.State;

        /// <summary>
        /// Notices a peer close or reset that no read has seen yet, without waiting and only
        /// while no receive runs, so State shows RemoteClosed or Faulted right after the last data
        /// was taken. Data it happens to read lands in the buffer like any other.
        /// </summary>
        public override void RefreshState() => _connection.Refresh();

        /// <inheritdoc />
        public override int Available => _connection.Available;

        /// <summary>
        /// Whether the peer sent bytes nobody has read yet, buffered here or still in the kernel: a
        /// server client with input waiting is not idle, its script block is only slow to read it.
        /// </summary>
        internal bool HasUnreadInput => _connection.HasUnreadInput;

        /// <summary>The size of the receive buffer's array (for tests of the memory bound).</summary>
        internal int BufferCapacity => _connection.BufferCapacity;

        /// <summary>When true, text read with Receive-SocketData (and matched by conversations) has ANSI/VT escape sequences and backspace overstrikes removed.</summary>
        public bool StripAnsi { get; set; }

        /// <summary>The proxy this session was tunnelled through (its password is never shown), or null for a direct connection.</summary>
        public Net.Proxy.ProxyEndpoint? Proxy { get; set; }

        /// <summary>The one connection the session's bytes move through.</summary>
        internal Connection Connection => _connection;

        /// <summary>True once telnet option handling wraps the stream.</summary>
        public bool IsTelnet => _connection.Telnet is not null;

        /// <summary>The telnet layer, when the session speaks telnet.</summary>
        internal TelnetStream? Telnet => _connection.Telnet;

        /// <summary>True when the telnet peer said it echoes what it receives (WILL ECHO), so a terminal must not echo too.</summary>
        public bool TelnetRemoteEcho => Telnet is { RemoteEcho: true };

        /// <summary>True when the peer echoes what it receives (a telnet server that said WILL ECHO, an SSH terminal), so an interactive terminal sends keys as typed and does not echo them itself.</summary>
        public virtual bool RemoteEchoes => TelnetRemoteEcho;

        /// <summary>The file this session's traffic is recorded to, or null.</summary>
        public string? TranscriptPath => _connection.TranscriptPath;

        /// <summary>
        /// Puts a telnet layer over the stream (after TLS, if any). Call before the first
        /// receive: negotiation already buffered as plain data would not be decoded.
        /// </summary>
        public void EnableTelnet(TelnetOptions? options = null) => _connection.LayerTelnet(options);

        // ---- observers -------------------------------------------------------------------------

        /// <summary>Adds an observer that sees every byte sent and received from now on.</summary>
        public void AddObserver(ISessionObserver observer) => _connection.AddObserver(observer);

        /// <summary>Removes an observer; true if it was there.</summary>
        public bool RemoveObserver(ISessionObserver observer) => _connection.RemoveObserver(observer);

        /// <summary>Starts recording both directions to a file; fails if a transcript is already running.</summary>
        public SessionTranscript StartTranscript(string path, bool append, bool noClobber = false, TranscriptFormat format = TranscriptFormat.Text)
        {
            return _connection.StartTranscript(
                () =>
                {
                    var transcript = new SessionTranscript(path, Encoding, append, noClobber, format);
                    transcript.Note($"Transcript of session {this} {Endpoints.Format(LocalEndPoint)} -> {Endpoints.Format(RemoteEndPoint)}");
                    return transcript;
                },
                running => new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {this} is already recording to '{running}'; stop that transcript first.", target: this));
        }

        /// <summary>Stops the running transcript and closes its file; returns its path, or null if none ran.</summary>
        public string? StopTranscript() => _connection.StopTranscript();

        /// <summary>Records why the session ended without closing it (an SSH shell that exited).</summary>
        internal void RecordReason(string reason) => SetReason(reason);

        /// <summary>The last (up to) count bytes buffered and not yet read, without consuming them.</summary>
        public byte[] PeekBufferedTail(int count) => _connection.PeekBufferedTail(count);

        // ---- sending ---------------------------------------------------------------------------

        /// <summary>Writes bytes; the deadline bounds how long the peer may refuse to take them.</summary>
        public Task SendAsync(byte[] data, int offset, int count, Deadline deadline, CancellationToken token) =>
            SendAsync(data, offset, count, redacted: false, deadline, token);

        /// <summary>Writes bytes; when redacted is true, observers (transcripts) are told a secret went, not what it was.</summary>
        public Task SendAsync(byte[] data, int offset, int count, bool redacted, Deadline deadline, CancellationToken token) =>
            SendAsync(data, offset, count, redacted, null, deadline, token);

        /// <summary>
        /// Sends a secret (observers are told a secret went, not what it was) and clears the array
        /// once no write holds it any more, which after a timeout or Ctrl+C can be later than this
        /// call: the caller hands the array over and must not touch it again.
        /// </summary>
        public Task SendSecretAsync(byte[] secret, Deadline deadline, CancellationToken token)
        {
            if (secret is null)
            {
                throw new ArgumentNullException(nameof(secret));
            }

            return SendAsync(secret, 0, secret.Length, redacted: true, _ => Array.Clear(secret, 0, secret.Length), deadline, token);
        }

        /// <summary>
        /// Writes bytes. A write still in flight when the deadline passes (or the token is
        /// cancelled) keeps going and keeps data: released is called once no write holds data any
        /// more, with true when the bytes went to the stream and false when they never did, so a
        /// caller reuses or clears its array only then.
        /// </summary>
        internal Task SendAsync(byte[] data, int offset, int count, bool redacted, Action<bool>? released, Deadline deadline, CancellationToken token) =>
            _connection.SendAsync(data, offset, count, redacted, released, deadline, token);

        /// <summary>
        /// Copies a stream to the socket in chunks with constant memory. The timeout applies to
        /// each chunk (how long the peer may stall), not to the whole transfer.
        /// </summary>
        public Task<long> SendStreamAsync(Stream source, TimeSpan stallTimeout, CancellationToken token, Action<long>? progress = null) =>
            _connection.SendStreamAsync(source, stallTimeout, progress, token);

        /// <summary>Shuts down our sending side (the peer sees end of stream); receiving goes on.</summary>
        public void ShutdownSend()
        {
            if (!_connection.ShutdownSend())
            {
                OnShutdownSend();
            }
        }

        /// <summary>Ends the sending side of a session with no socket (an SSH channel sends EOF); nothing by default.</summary>
        protected virtual void OnShutdownSend()
        {
        }

        // ---- receiving -------------------------------------------------------------------------

        /// <summary>Whatever is buffered, or else what arrives first; waits until the deadline for at least one byte.</summary>
        public Task<byte[]> ReceiveAvailableAsync(int maxBytes, Encoding? wholeCharsOf, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(new AvailableFrame(maxBytes, wholeCharsOf), maxBytes, deadline, token);

        /// <summary>Exactly count bytes.</summary>
        public Task<byte[]> ReceiveCountAsync(int count, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(new CountFrame(count), int.MaxValue, deadline, token);

        /// <summary>Everything up to and including the delimiter. Bytes after the delimiter stay buffered.</summary>
        public Task<byte[]> ReceiveUntilAsync(byte[] delimiter, int maxBytes, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(new DelimiterFrame(delimiter), maxBytes, deadline, token);

        /// <summary>
        /// One line without its terminator. A line ends at the session NewLine; when NewLine is
        /// "\n" or "\r\n", either ends a line (a trailing "\r" is removed).
        /// </summary>
        public async Task<byte[]> ReceiveLineAsync(Encoding encoding, int maxBytes, Deadline deadline, CancellationToken token)
        {
            if (NewLine.EndsAtAnyBreak && IsAsciiCompatible(encoding))
            {
                return await _connection.ReceiveAsync(new AnyLineFrame(), maxBytes, deadline, token).ConfigureAwait(false);
            }

            var (terminator, cr) = LineTerminators(encoding);
            return await _connection.ReceiveAsync(new LineFrame(terminator, cr), maxBytes, deadline, token).ConfigureAwait(false);
        }

        /// <summary>The encoded line terminator (and the "\r" to strip), cached per encoding and NewLine.</summary>
        private (byte[] Terminator, byte[]? Cr) LineTerminators(Encoding encoding)
        {
            var nl = NewLine;
            if (_lineTerminators is { } c && ReferenceEquals(c.Encoding, encoding) && ReferenceEquals(c.NewLine, nl))
            {
                return (c.Terminator, c.Cr);
            }

            // Any in an encoding that is not ASCII-compatible (UTF-16): lines end at "\n", a "\r" before it dropped.
            string terminator = nl.IsAny ? "\n" : nl.Text;
            bool lf = terminator == "\n" || terminator == "\r\n";
            var delimiter = encoding.GetBytes(lf ? "\n" : terminator);
            var cr = lf ? encoding.GetBytes("\r") : null;
            _lineTerminators = (encoding, nl, delimiter, cr);
            return (delimiter, cr);
        }

        private static bool IsAsciiCompatible(Encoding encoding)
        {
            var bytes = encoding.GetBytes("\r\n");
            return bytes.Length == 2 && bytes[0] == (byte)'\r' && bytes[1] == (byte)'\n';
        }

        /// <summary>
        /// Text up to the end of the first match of the pattern. Bytes after the match stay
        /// buffered. Returns the consumed text and the match.
        /// </summary>
        public Task<(string Text, Match Match)> ReceivePatternAsync(Regex pattern, Encoding encoding, int maxBytes, Deadline deadline, CancellationToken token) =>
            ReceivePatternAsync(pattern, encoding, false, maxBytes, deadline, token);

        /// <summary>
        /// Like <see cref="ReceivePatternAsync(Regex, Encoding, int, Deadline, CancellationToken)"/>;
        /// with stripAnsi the pattern is matched against the text with escape sequences and
        /// backspace overstrikes removed, and the returned text is that clean text.
        /// </summary>
        public async Task<(string Text, Match Match)> ReceivePatternAsync(Regex pattern, Encoding encoding, bool stripAnsi, int maxBytes, Deadline deadline, CancellationToken token)
        {
            var receipt = await ReceiveMatchAsync(pattern, encoding, stripAnsi, maxBytes, deadline, token).ConfigureAwait(false);
            return (receipt.Text, receipt.Match);
        }

        /// <summary>A pattern receive that also gives the bytes it consumed, as they arrived.</summary>
        internal Task<PatternReceipt> ReceiveMatchAsync(Regex pattern, Encoding encoding, bool stripAnsi, int maxBytes, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(new PatternFrame(pattern, encoding, stripAnsi, maxBytes, this), maxBytes, deadline, token);

        /// <summary>Everything until the peer closes its side.</summary>
        public Task<byte[]> ReceiveToEndAsync(int maxBytes, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(new ToEndFrame(), maxBytes, deadline, token);

        /// <summary>
        /// Streams received bytes into destination with constant memory: count bytes, or until
        /// the peer closes (count null). The stall timeout bounds each wait for more data.
        /// </summary>
        public Task<long> ReceiveToStreamAsync(Stream destination, long? count, TimeSpan stallTimeout, CancellationToken token, Action<long>? progress = null) =>
            _connection.ReceiveToStreamAsync(destination, count, stallTimeout, progress, token);

        /// <summary>Runs a stop rule of the engine's own (a device command's) through the one receive loop.</summary>
        internal Task<T> ReceiveRuleAsync<T>(FrameRule<T> rule, int maxBytes, Deadline deadline, CancellationToken token) =>
            _connection.ReceiveAsync(rule, maxBytes, deadline, token);

        /// <summary>The last (up to 200) bytes buffered, decoded and escaped, for messages; null when nothing is buffered.</summary>
        internal string? DescribeBufferedTail() => _connection.DescribeBufferedTail();

        /// <inheritdoc />
        protected override void OnClose()
        {
            _connection.Release();
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>
    /// A connected TCP stream (client or accepted). Sends are serialized and receives are
    /// serialized, so two runspaces can share a session without corrupting it. A read that
    /// times out or is cancelled stays pending and its bytes land in the buffer later: nothing
    /// is ever dropped between calls.
    /// </summary>
    public partial class TcpSession : SocketSession
    {
        /// <summary>What Receive-SocketData may buffer in one call unless told otherwise.</summary>
        public const int DefaultMaxBytes = 16 * 1024 * 1024;

        private readonly SemaphoreSlim _receiveLock = new(1, 1);
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private readonly ReceiveBuffer _buffer = new();
        private Stream _stream;
        private Task<int>? _pendingRead;
        private byte[]? _readChunk;
        private Task? _pendingWrite;
        private bool _eof;
        private PSSocketException? _fault;
        private readonly object _observerLock = new();
        private ISessionObserver[] _observers = Array.Empty<ISessionObserver>();
        private SessionTranscript? _transcript;
        private bool _swallowLf;

        /// <summary>Wraps a connected socket.</summary>
        public TcpSession(Socket socket, Stream? stream = null)
            : base(SessionKind.Tcp)
        {
            Socket = socket ?? throw new ArgumentNullException(nameof(socket));
            _stream = stream ?? new NetworkStream(socket, ownsSocket: true);
            LocalEndPoint = socket.LocalEndPoint;
            RemoteEndPoint = socket.RemoteEndPoint;
        }

        /// <summary>The underlying socket.</summary>
        public Socket Socket { get; }

        /// <summary>The stream data moves through (a TLS stream once encrypted).</summary>
        internal Stream Stream => _stream;

        /// <inheritdoc />
        protected override SessionState CurrentState
        {
            get
            {
                if (_fault is null && !_eof)
                {
                    ProbeRemote();
                }

                return _fault is not null ? SessionState.Faulted : _eof ? SessionState.RemoteClosed : SessionState.Open;
            }
        }

        /// <summary>
        /// Notices a peer close or reset that no read has seen yet (so State shows RemoteClosed
        /// or Faulted right after the last data was taken), without waiting and only while no
        /// receive runs. Data it happens to read lands in the buffer like any other.
        /// </summary>
        private void ProbeRemote()
        {
            if (IsClosed || !_receiveLock.Wait(0))
            {
                return;
            }

            try
            {
                if (_pendingRead is null)
                {
                    if (_stream is not NetworkStream || !Socket.Poll(0, SelectMode.SelectRead) || Socket.Available > 0)
                    {
                        return;
                    }

                    // Readable with nothing to read: end of stream or an error, either completes at once.
                    StartRead();
                }

                if (_pendingRead!.IsCompleted)
                {
                    CompletePendingRead();
                }
            }
            catch (Exception ex) when (ex is PSSocketException or SocketException or ObjectDisposedException)
            {
                // A fault is recorded in _fault by CompletePendingRead; a closed socket shows as Closed.
            }
            finally
            {
                _receiveLock.Release();
            }
        }

        /// <inheritdoc />
        public override int Available => _buffer.Count;

        /// <summary>True once the peer has closed its sending side.</summary>
        public bool RemoteClosedSeen => _eof;

        /// <summary>When true, text read with Receive-SocketData (and matched by conversations) has ANSI/VT escape sequences and backspace overstrikes removed.</summary>
        public bool StripAnsi { get; set; }

        /// <summary>The proxy this session was tunnelled through (its password is never shown), or null for a direct connection.</summary>
        public Net.Proxy.ProxyEndpoint? Proxy { get; internal set; }

        /// <summary>True once telnet option handling wraps the stream.</summary>
        public bool IsTelnet => _stream is TelnetStream;

        /// <summary>The telnet layer, when the session speaks telnet.</summary>
        internal TelnetStream? Telnet => _stream as TelnetStream;

        /// <summary>The file this session's traffic is recorded to, or null.</summary>
        public string? TranscriptPath => _transcript?.Path;

        /// <summary>
        /// Puts a telnet layer over the stream (after TLS, if any). Call before the first
        /// receive: negotiation already buffered as plain data would not be decoded.
        /// </summary>
        public void EnableTelnet(TelnetOptions? options = null)
        {
            ThrowIfClosed();
            if (_stream is TelnetStream)
            {
                return;
            }

            if (_pendingRead is not null || _buffer.Count > 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {this} has already received data; telnet must be enabled before the first receive.", target: this);
            }

            _stream = new TelnetStream(_stream, options);
        }

        /// <summary>Adds an observer that sees every byte sent and received from now on.</summary>
        public void AddObserver(ISessionObserver observer)
        {
            lock (_observerLock)
            {
                var next = new ISessionObserver[_observers.Length + 1];
                Array.Copy(_observers, next, _observers.Length);
                next[_observers.Length] = observer ?? throw new ArgumentNullException(nameof(observer));
                _observers = next;
            }
        }

        /// <summary>Removes an observer; true if it was there.</summary>
        public bool RemoveObserver(ISessionObserver observer)
        {
            lock (_observerLock)
            {
                int at = Array.IndexOf(_observers, observer);
                if (at < 0)
                {
                    return false;
                }

                var next = new ISessionObserver[_observers.Length - 1];
                Array.Copy(_observers, 0, next, 0, at);
                Array.Copy(_observers, at + 1, next, at, _observers.Length - at - 1);
                _observers = next;
                return true;
            }
        }

        /// <summary>Starts recording both directions to a file; fails if a transcript is already running.</summary>
        public SessionTranscript StartTranscript(string path, bool append)
        {
            ThrowIfClosed();
            lock (_observerLock)
            {
                if (_transcript is not null)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {this} is already recording to '{_transcript.Path}'; stop that transcript first.", target: this);
                }

                var transcript = new SessionTranscript(path, Encoding, append);
                transcript.Note($"Transcript of session {this} {Endpoints.Format(LocalEndPoint)} -> {Endpoints.Format(RemoteEndPoint)}");
                _transcript = transcript;
                AddObserver(transcript);
                return transcript;
            }
        }

        /// <summary>Stops the running transcript and closes its file; returns its path, or null if none ran.</summary>
        public string? StopTranscript()
        {
            SessionTranscript? transcript;
            lock (_observerLock)
            {
                transcript = _transcript;
                if (transcript is null)
                {
                    return null;
                }

                _transcript = null;
                RemoveObserver(transcript);
            }

            transcript.Note("Transcript stopped");
            transcript.Dispose();
            return transcript.Path;
        }

        private void Notify(DataDirection direction, byte[] data, int offset, int count, bool redacted)
        {
            foreach (var observer in _observers)
            {
                try
                {
                    observer.OnData(direction, data, offset, count, redacted);
                }
                catch (IOException)
                {
                    // A full disk must not break the conversation; the transcript just misses a record.
                }
            }
        }

        /// <summary>The last (up to) count bytes buffered and not yet read, without consuming them.</summary>
        public byte[] PeekBufferedTail(int count)
        {
            var seg = _buffer.Segment;
            int n = Math.Min(count, seg.Count);
            var tail = new byte[n];
            Buffer.BlockCopy(seg.Array!, seg.Offset + seg.Count - n, tail, 0, n);
            return tail;
        }

        /// <summary>Replaces the stream (for TLS upgrade); the caller holds both locks.</summary>
        internal void ReplaceStream(Stream stream) => _stream = stream;

        /// <summary>Runs an action while holding both the send and the receive lock.</summary>
        internal async Task<T> ExclusiveAsync<T>(Func<Task<T>> action, Deadline deadline, CancellationToken token)
        {
            await AcquireAsync(_receiveLock, deadline, SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            try
            {
                await AcquireAsync(_sendLock, deadline, SocketErrorKind.SendTimeout, token).ConfigureAwait(false);
                try
                {
                    if (_pendingRead is { IsCompleted: true })
                    {
                        CompletePendingRead();
                    }

                    if (_pendingRead is not null)
                    {
                        throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {this} has a read in progress; receive what is pending first.", target: this);
                    }

                    return await action().ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            finally
            {
                _receiveLock.Release();
            }
        }

        // ---- sending -------------------------------------------------------------------------

        /// <summary>Writes bytes; the deadline bounds how long the peer may refuse to take them.</summary>
        public Task SendAsync(byte[] data, int offset, int count, Deadline deadline, CancellationToken token) =>
            SendAsync(data, offset, count, redacted: false, deadline, token);

        /// <summary>Writes bytes; when redacted is true, observers (transcripts) are told a secret went, not what it was.</summary>
        public async Task SendAsync(byte[] data, int offset, int count, bool redacted, Deadline deadline, CancellationToken token)
        {
            await AcquireAsync(_sendLock, deadline, SocketErrorKind.SendTimeout, token).ConfigureAwait(false);
            try
            {
                await WriteLockedAsync(data, offset, count, deadline, token, redacted).ConfigureAwait(false);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>
        /// Copies a stream to the socket in chunks with constant memory. The timeout applies to
        /// each chunk (how long the peer may stall), not to the whole transfer.
        /// </summary>
        public async Task<long> SendStreamAsync(Stream source, TimeSpan stallTimeout, CancellationToken token, Action<long>? progress = null)
        {
            await AcquireAsync(_sendLock, Deadline.After(stallTimeout), SocketErrorKind.SendTimeout, token).ConfigureAwait(false);
            var chunk = new byte[256 * 1024];
            long total = 0;
            try
            {
                int n;
                bool syncSource = source is FileStream { IsAsync: false } or MemoryStream;
                while ((n = syncSource ? source.Read(chunk, 0, chunk.Length) : await source.ReadAsync(chunk, 0, chunk.Length, token).ConfigureAwait(false)) > 0)
                {
                    await WriteLockedAsync(chunk, 0, n, Deadline.After(stallTimeout), token).ConfigureAwait(false);
                    total += n;
                    progress?.Invoke(total);
                }
            }
            finally
            {
                _sendLock.Release();
            }

            return total;
        }

        private async Task WriteLockedAsync(byte[] data, int offset, int count, Deadline deadline, CancellationToken token, bool redacted = false)
        {
            ThrowIfClosed();
            if (_pendingWrite is not null)
            {
                await FinishPendingWriteAsync(deadline, token).ConfigureAwait(false);
            }

            if (count == 0)
            {
                return;
            }

            Task write;
            try
            {
                write = _stream.WriteAsync(data, offset, count, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw Faulted(ex, "Sending");
            }

            // A write that outlives its deadline keeps going; the next send waits for it first,
            // so bytes are never reordered or half-dropped.
            _pendingWrite = write;
            await FinishPendingWriteAsync(deadline, token).ConfigureAwait(false);
            CountSent(count);
            Notify(DataDirection.Sent, data, offset, count, redacted);
        }

        private async Task FinishPendingWriteAsync(Deadline deadline, CancellationToken token)
        {
            var write = _pendingWrite!;
            if (!await deadline.WaitAsync(write, token).ConfigureAwait(false))
            {
                throw new PSSocketException(SocketErrorKind.SendTimeout,
                    $"The peer of session {this} did not take the data within the timeout (it is not reading). The data stays queued; the session is still open.", target: this);
            }

            _pendingWrite = null;
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw Faulted(ex, "Sending");
            }
        }

        /// <summary>Shuts down our sending side (the peer sees end of stream); receiving goes on.</summary>
        public void ShutdownSend()
        {
            ThrowIfClosed();
            SendTlsCloseNotify();
            Socket.Shutdown(SocketShutdown.Send);
        }

        // ---- receiving -----------------------------------------------------------------------

        /// <summary>Whatever is buffered, or else what arrives first; waits until the deadline for at least one byte.</summary>
        public Task<byte[]> ReceiveAvailableAsync(int maxBytes, Encoding? wholeCharsOf, Deadline deadline, CancellationToken token) =>
            ReceiveCoreAsync(deadline, () =>
            {
                if (_buffer.Count == 0)
                {
                    return null;
                }

                DrainSocketWithoutWaiting(maxBytes);
                int n = Math.Min(_buffer.Count, maxBytes);
                if (wholeCharsOf is not null && !_eof)
                {
                    int whole = TextEncoding.CompleteLength(wholeCharsOf, View, n);
                    if (whole == 0)
                    {
                        return null;
                    }

                    n = whole;
                }

                return _buffer.Take(n);
            }, int.MaxValue, null, false, token);

        /// <summary>Exactly count bytes.</summary>
        public Task<byte[]> ReceiveCountAsync(int count, Deadline deadline, CancellationToken token) =>
            ReceiveCoreAsync(deadline, () => _buffer.Count >= count ? _buffer.Take(count) : null, int.MaxValue, count, false, token);

        /// <summary>
        /// Everything up to and including the delimiter; returns the data and the delimiter's
        /// length. Bytes after the delimiter stay buffered.
        /// </summary>
        public Task<byte[]> ReceiveUntilAsync(byte[] delimiter, int maxBytes, Deadline deadline, CancellationToken token)
        {
            if (delimiter is null || delimiter.Length == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The delimiter is empty.");
            }

            int scanned = 0;
            return ReceiveCoreAsync(deadline, () =>
            {
                int at = _buffer.IndexOf(delimiter, scanned);
                if (at < 0)
                {
                    scanned = Math.Max(0, _buffer.Count - delimiter.Length + 1);
                    return null;
                }

                return _buffer.Take(at + delimiter.Length);
            }, maxBytes, null, false, token);
        }

        /// <summary>
        /// One line without its terminator. A line ends at the session NewLine; when NewLine is
        /// "\n" or "\r\n", either ends a line (a trailing "\r" is removed).
        /// </summary>
        public async Task<byte[]> ReceiveLineAsync(Encoding encoding, int maxBytes, Deadline deadline, CancellationToken token)
        {
            if ((NewLine == "\r" || NewLine == AnyNewLine) && IsAsciiCompatible(encoding))
            {
                return await ReceiveAnyLineAsync(maxBytes, deadline, token).ConfigureAwait(false);
            }

            var (delimiter, cr) = LineDelimiters(encoding);
            var data = await ReceiveUntilAsync(delimiter, maxBytes, deadline, token).ConfigureAwait(false);
            int len = data.Length - delimiter.Length;
            if (cr is not null)
            {
                if (len >= cr.Length && EndsWith(data, len, cr))
                {
                    len -= cr.Length;
                }
            }

            if (len == data.Length)
            {
                return data;
            }

            var line = new byte[len];
            Buffer.BlockCopy(data, 0, line, 0, len);
            return line;
        }

        private (Encoding Encoding, string NewLine, byte[] Delimiter, byte[]? Cr)? _lineDelimiters;

        /// <summary>The encoded line terminator (and the "\r" to strip), cached per encoding and NewLine.</summary>
        private (byte[] Delimiter, byte[]? Cr) LineDelimiters(Encoding encoding)
        {
            string nl = NewLine;
            if (_lineDelimiters is { } c && ReferenceEquals(c.Encoding, encoding) && ReferenceEquals(c.NewLine, nl))
            {
                return (c.Delimiter, c.Cr);
            }

            string terminator = nl == AnyNewLine ? "\n" : nl;
            bool lf = terminator == "\n" || terminator == "\r\n";
            var delimiter = encoding.GetBytes(lf ? "\n" : terminator);
            var cr = lf ? encoding.GetBytes("\r") : null;
            _lineDelimiters = (encoding, nl, delimiter, cr);
            return (delimiter, cr);
        }

        private static bool IsAsciiCompatible(Encoding encoding)
        {
            var bytes = encoding.GetBytes("\r\n");
            return bytes.Length == 2 && bytes[0] == (byte)'\r' && bytes[1] == (byte)'\n';
        }

        /// <summary>
        /// One line ended by "\r\n", "\n" or a bare "\r". A "\r" that is the last byte buffered
        /// ends the line at once; a "\n" that then follows is dropped by the next line read.
        /// </summary>
        private Task<byte[]> ReceiveAnyLineAsync(int maxBytes, Deadline deadline, CancellationToken token)
        {
            int scanned = 0;
            return ReceiveCoreAsync(deadline, () =>
            {
                if (_swallowLf && _buffer.Count > 0)
                {
                    _swallowLf = false;
                    if (_buffer[0] == (byte)'\n')
                    {
                        _buffer.Skip(1);
                    }
                }

                for (int i = scanned; i < _buffer.Count; i++)
                {
                    byte b = _buffer[i];
                    if (b != (byte)'\r' && b != (byte)'\n')
                    {
                        continue;
                    }

                    var line = _buffer.Take(i);
                    _buffer.Skip(1);
                    if (b == (byte)'\r')
                    {
                        if (_buffer.Count > 0)
                        {
                            if (_buffer[0] == (byte)'\n')
                            {
                                _buffer.Skip(1);
                            }
                        }
                        else
                        {
                            _swallowLf = true;
                        }
                    }

                    return line;
                }

                scanned = _buffer.Count;
                if (_eof && _buffer.Count > 0)
                {
                    // The last line of a stream may lack its terminator.
                    return _buffer.Take(_buffer.Count);
                }

                return null;
            }, maxBytes, null, false, token);
        }

        private static bool EndsWith(byte[] data, int end, byte[] suffix)
        {
            for (int i = 0; i < suffix.Length; i++)
            {
                if (data[end - suffix.Length + i] != suffix[i])
                {
                    return false;
                }
            }

            return true;
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
            string? text = null;
            Match? match = null;
            // Nothing is taken from the buffer until the match, so what was decoded on an earlier
            // pass stays valid and only the new bytes are decoded: linear in what arrives.
            var decoded = new DecodedPrefix(encoding);
            await ReceiveCoreAsync(deadline, () =>
            {
                if (_buffer.Count == 0)
                {
                    return null;
                }

                // Every attempt matches from the start of the buffer, so attempt once per burst
                // that has arrived, not once per 64 KiB chunk: a fast sender without a match would
                // otherwise cost time quadratic in -MaxBytes.
                DrainSocketWithoutWaiting(maxBytes);
                decoded.Extend(_buffer.Segment);
                string haystack = decoded.Text.ToString();
                List<int>? cleanEnds = null;
                if (stripAnsi)
                {
                    cleanEnds = new List<int>(haystack.Length);
                    haystack = AnsiText.Strip(haystack, cleanEnds);
                }

                Match m;
                try
                {
                    m = pattern.Match(haystack);
                }
                catch (RegexMatchTimeoutException ex)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"The pattern '{Endpoints.Shorten(pattern.ToString())}' took longer than {ex.MatchTimeout.TotalSeconds:0.#} s to match {haystack.Length} characters on session {this}; simplify it. The data stays buffered.",
                        ex, target: this);
                }

                if (!m.Success)
                {
                    return null;
                }

                int charEnd = m.Index + m.Length;
                int rawCharEnd = cleanEnds is null || charEnd == 0 ? charEnd : cleanEnds[charEnd - 1];
                int bytes = rawCharEnd == 0 ? 0 : decoded.ByteEnds[rawCharEnd - 1];
                _buffer.Skip(bytes);
                text = haystack.Substring(0, charEnd);
                match = m;
                return Array.Empty<byte>();
            }, maxBytes, null, false, token).ConfigureAwait(false);
            return (text!, match!);
        }

        /// <summary>
        /// The buffered bytes decoded so far, with the byte offset just after each char. Bytes of
        /// an incomplete trailing character produce no char yet, so a match never includes them
        /// and they stay buffered.
        /// </summary>
        private sealed class DecodedPrefix
        {
            private readonly Decoder _decoder;
            private readonly char[] _one = new char[4];
            private int _bytes;

            public DecodedPrefix(Encoding encoding) => _decoder = encoding.GetDecoder();

            public StringBuilder Text { get; } = new();

            public System.Collections.Generic.List<int> ByteEnds { get; } = new();

            public void Extend(ArraySegment<byte> data)
            {
                for (; _bytes < data.Count; _bytes++)
                {
                    int produced = _decoder.GetChars(data.Array!, data.Offset + _bytes, 1, _one, 0, flush: false);
                    for (int c = 0; c < produced; c++)
                    {
                        Text.Append(_one[c]);
                        ByteEnds.Add(_bytes + 1);
                    }
                }
            }
        }

        /// <summary>Everything until the peer closes its side.</summary>
        public Task<byte[]> ReceiveToEndAsync(int maxBytes, Deadline deadline, CancellationToken token) =>
            ReceiveCoreAsync(deadline, () => _eof ? _buffer.Take(_buffer.Count) : null, maxBytes, null, true, token);

        /// <summary>
        /// Streams received bytes into destination with constant memory: count bytes, or until
        /// the peer closes (count null). The deadline bounds each wait for more data.
        /// </summary>
        public async Task<long> ReceiveToStreamAsync(Stream destination, long? count, TimeSpan stallTimeout, CancellationToken token, Action<long>? progress = null)
        {
            await AcquireAsync(_receiveLock, Deadline.After(stallTimeout), SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            long written = 0;
            byte[]? bulkChunk = null;
            try
            {
                while (count is null || written < count)
                {
                    if (_buffer.Count > 0)
                    {
                        int n = (int)Math.Min(_buffer.Count, (count ?? long.MaxValue) - written);
                        var seg = _buffer.Segment;
                        WriteTo(destination, seg.Array!, seg.Offset, n);
                        _buffer.Skip(n);
                        written += n;
                        progress?.Invoke(written);
                        continue;
                    }

                    if (_eof)
                    {
                        if (count is null)
                        {
                            break;
                        }

                        throw new PSSocketException(SocketErrorKind.RemoteClosed,
                            $"The peer of session {this} closed the connection after {written} of {count} bytes.", target: this);
                    }

                    ThrowIfFaulted();
                    ThrowIfClosed();
                    if (_pendingRead is null)
                    {
                        // Bulk transfers read 256 KiB at a time: a quarter of the system calls.
                        bulkChunk ??= new byte[4 * ChunkPool.ChunkSize];
                        _readChunk = bulkChunk;
                        _pendingRead = StartReadTask();
                    }

                    if (!await Deadline.After(stallTimeout).WaitAsync(_pendingRead, token).ConfigureAwait(false))
                    {
                        throw new PSSocketException(SocketErrorKind.ReceiveTimeout,
                            $"Nothing arrived on session {this} within the timeout after {written}{(count is null ? "" : $" of {count}")} bytes. The session is still open.",
                            target: this);
                    }

                    // Straight from the read chunk to the destination: no copy through the buffer.
                    int got = TakePendingRead();
                    int use = (int)Math.Min(got, (count ?? long.MaxValue) - written);
                    WriteTo(destination, _readChunk!, 0, use);
                    _buffer.Append(_readChunk!, use, got - use);
                    ReleaseChunk();
                    if (use > 0)
                    {
                        written += use;
                        progress?.Invoke(written);
                    }
                }
            }
            finally
            {
                _receiveLock.Release();
            }

            return written;
        }

        /// <summary>
        /// The one receive loop: take if the stop point is buffered, else fill, until the
        /// deadline, end of stream or the limit.
        /// </summary>
        private async Task<byte[]> ReceiveCoreAsync(Deadline deadline, Func<byte[]?> tryTake, int maxBytes, int? needBytes, bool endIsSuccess, CancellationToken token)
        {
            await AcquireAsync(_receiveLock, deadline, SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    var taken = tryTake();
                    if (taken is not null)
                    {
                        return taken;
                    }

                    if (_eof && !endIsSuccess)
                    {
                        throw new PSSocketException(SocketErrorKind.RemoteClosed,
                            _buffer.Count == 0
                                ? $"The peer of session {this} has closed the connection and nothing is left to read."
                                : $"The peer of session {this} closed the connection before the stop point; {_buffer.Count} bytes stay buffered (read them with -ToEnd or -Count).",
                            target: this);
                    }

                    ThrowIfFaulted();
                    if (_buffer.Count >= maxBytes)
                    {
                        throw new PSSocketException(SocketErrorKind.ReceiveLimitExceeded,
                            $"Session {this} has buffered {_buffer.Count} bytes without reaching the stop point, which is the -MaxBytes limit ({maxBytes}). The data stays buffered: read it with -Count, or raise -MaxBytes.",
                            target: this);
                    }

                    if (!await FillAsync(deadline, token).ConfigureAwait(false))
                    {
                        string got = needBytes is int need ? $" ({_buffer.Count} of {need} bytes arrived)" : _buffer.Count > 0 ? $" ({_buffer.Count} bytes arrived and stay buffered)" : "";
                        throw new PSSocketException(SocketErrorKind.ReceiveTimeout,
                            $"Nothing that completes the read arrived on session {this} within the timeout{got}. The session is still open.",
                            target: this);
                    }
                }
            }
            finally
            {
                _receiveLock.Release();
            }
        }

        private ReceiveBufferView View => new(_buffer.Segment.Array!, _buffer.Segment.Offset);

        /// <summary>Moves bytes the kernel already holds into the buffer without waiting.</summary>
        private void DrainSocketWithoutWaiting(int limit)
        {
            while (_buffer.Count < limit && !_eof && _fault is null)
            {
                if (_pendingRead is not null)
                {
                    if (!_pendingRead.IsCompleted)
                    {
                        return;
                    }

                    try
                    {
                        CompletePendingRead();
                    }
                    catch (PSSocketException) when (_fault is not null)
                    {
                        // The fault is recorded; what is buffered is returned first and the next read reports it.
                        return;
                    }

                    continue;
                }

                bool ready;
                try
                {
                    // Over TLS a started read may wait for the rest of a record; it then stays pending
                    // like any other read, so this still returns at once.
                    ready = Socket.Available > 0 && (_stream is NetworkStream || _ssl is not null);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                if (!ready)
                {
                    return;
                }

                StartRead();
            }
        }

        /// <summary>Waits for one read to complete. False on timeout (the read stays pending).</summary>
        private async Task<bool> FillAsync(Deadline deadline, CancellationToken token)
        {
            ThrowIfClosed();
            if (_pendingRead is null && _stream is NetworkStream && CallerWaits.OnThisThread)
            {
                return FillSynchronously(deadline, token);
            }

            if (_pendingRead is null)
            {
                StartRead();
            }

            if (!await deadline.WaitAsync(_pendingRead!, token).ConfigureAwait(false))
            {
                return false;
            }

            CompletePendingRead();
            return true;
        }

        /// <summary>
        /// Plain TCP waits on the calling thread with Poll in short slices: no thread-pool hop per
        /// read (line round trips get several times faster), and cancellation is still seen
        /// within a slice. A timeout here leaves no read pending, so nothing can be lost.
        /// </summary>
        private bool FillSynchronously(Deadline deadline, CancellationToken token)
        {
            const int SliceMicroseconds = 50_000;
            while (true)
            {
                token.ThrowIfCancellationRequested();
                ThrowIfClosed();
                var remaining = deadline.Remaining;
                if (remaining == TimeSpan.Zero)
                {
                    return false;
                }

                int slice = remaining == Timeout.InfiniteTimeSpan
                    ? SliceMicroseconds
                    : (int)Math.Max(1, Math.Min(SliceMicroseconds, remaining.Ticks / 10));
                bool ready;
                try
                {
                    ready = Socket.Poll(slice, SelectMode.SelectRead);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    ThrowIfClosed();
                    throw Faulted(ex, "Receiving");
                }

                if (ready)
                {
                    break;
                }
            }

            _readChunk ??= ChunkPool.Rent();
            int n;
            try
            {
                n = _stream.Read(_readChunk, 0, _readChunk.Length);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                _readChunk = null;
                ThrowIfClosed();
                throw Faulted(ex, "Receiving");
            }

            OnReadCompleted(n);
            _buffer.Append(_readChunk!, 0, n);
            ReleaseChunk();
            return true;
        }

        private void StartRead() => _pendingRead = StartReadTask();

        private Task<int> StartReadTask()
        {
            _readChunk ??= ChunkPool.Rent();
            try
            {
                return _stream.ReadAsync(_readChunk, 0, _readChunk.Length, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                return Task.FromException<int>(ex);
            }
        }

        /// <summary>Collects the finished read: its bytes stay in the read chunk; 0 means end of stream.</summary>
        private int TakePendingRead()
        {
            var read = _pendingRead!;
            _pendingRead = null;
            int n;
            try
            {
                n = read.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                _readChunk = null;
                ThrowIfClosed();
                throw Faulted(ex, "Receiving");
            }

            OnReadCompleted(n);
            return n;
        }

        private void OnReadCompleted(int n)
        {
            if (n == 0 && IsClosed)
            {
                // Our own shutdown ends the read too: that is a local close, not the peer's.
                _readChunk = null;
                ThrowIfClosed();
            }

            if (n == 0)
            {
                _eof = true;
                SetReason("The peer closed the connection");
            }
            else
            {
                CountReceived(n);
                Notify(DataDirection.Received, _readChunk!, 0, n, false);
            }
        }

        private void CompletePendingRead()
        {
            int n = TakePendingRead();
            _buffer.Append(_readChunk!, 0, n);
            ReleaseChunk();
        }

        private void ReleaseChunk()
        {
            if (_readChunk is not null)
            {
                ChunkPool.Return(_readChunk);
                _readChunk = null;
            }
        }

        /// <summary>Synchronous writes for plain files: their async path only adds a thread hop.</summary>
        private static void WriteTo(Stream destination, byte[] data, int offset, int count)
        {
            if (count > 0)
            {
                destination.Write(data, offset, count);
            }
        }

        private void ThrowIfFaulted()
        {
            if (_fault is not null)
            {
                throw _fault;
            }
        }

        private PSSocketException Faulted(Exception ex, string doing)
        {
            ThrowIfClosed();
            var socketEx = ex as SocketException ?? ex.InnerException as SocketException;
            var error = socketEx?.SocketErrorCode ?? System.Net.Sockets.SocketError.ConnectionReset;
            SocketError = error;
            var fault = new PSSocketException(
                PSSocketException.Classify(error) is var k && k == SocketErrorKind.SocketError ? SocketErrorKind.ConnectionReset : k,
                $"{doing} on session {this} failed: {socketEx?.Message ?? Describe(ex)}. Data already buffered can still be read.",
                ex, error, this);
            SetReason(fault.Message);
            _fault ??= fault;
            return fault;
        }

        private async Task AcquireAsync(SemaphoreSlim gate, Deadline deadline, SocketErrorKind onTimeout, CancellationToken token)
        {
            ThrowIfClosed();
            if (gate.Wait(0, CancellationToken.None))
            {
                return;
            }

            var remaining = deadline.Remaining;
            if (!await gate.WaitAsync(remaining, token).ConfigureAwait(false))
            {
                throw new PSSocketException(onTimeout, $"Session {this} is busy with another {(onTimeout == SocketErrorKind.SendTimeout ? "send" : "receive")} that did not finish within the timeout.", target: this);
            }
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            SendTlsCloseNotify();
            // A graceful close: data still in the kernel's send buffer reaches the peer before
            // the FIN (Close(0) would reset the connection and drop it).
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                SetReason($"Shutdown: {ex.Message}");
            }

            _stream.Dispose();
            Socket.Dispose();
            StopTranscript();
        }
    }
}

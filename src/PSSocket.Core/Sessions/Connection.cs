using System.Net.Security;

namespace PSSocket.Sessions
{
    /// <summary>
    /// One connected byte stream and everything that moves bytes over it: the socket (or a duplex
    /// stream with no socket of its own, an SSH channel) and the layers over it (TLS, telnet), the
    /// receive buffer, the send and receive locks, the one read and the one write that may be in
    /// flight, the facts reads and writes record (peer closed, fault, bytes each way, in the
    /// session's <see cref="SessionLedger"/>), the observers and the transcript. Its surface is
    /// small: receive with a frame rule (the bytes the rule consumed, nothing more), send, upgrade
    /// to TLS, close with a reason. Nothing outside it takes its locks or touches its buffer.
    /// </summary>
    /// <remarks>
    /// There is one read path: a read is started, and whoever holds the receive lock (a cmdlet's
    /// thread waiting with Poll, or an awaiting task) completes it into the buffer. A read that
    /// outlives its caller's deadline stays pending and its bytes land in the buffer later: nothing
    /// is ever dropped between calls. The files: this one (the stream stack, state, observers,
    /// close), Connection.Receive.cs (the receive loop), Connection.Reads.cs (completing reads into
    /// the buffer), Connection.Send.cs (writes), Connection.Upgrade.cs (TLS in place).
    /// </remarks>
    internal sealed partial class Connection : IDisposable
    {
        /// <summary>How much of what is buffered a receive timeout shows.</summary>
        internal const int TailBytes = 200;

        private readonly SocketSession _owner;
        private readonly SessionLedger _ledger;
        private readonly Stream _plain;
        private readonly ReceiveBuffer _buffer = new();
        private readonly SemaphoreSlim _receiveLock = new(1, 1);
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private readonly SessionObservers _observers = new();
        private Stream _stream;
        private bool _encrypted;
        private int _released;

        /// <summary>A connection over stream (or a NetworkStream owning socket, when stream is null) for the session that shows it.</summary>
        public Connection(SocketSession owner, Socket? socket, Stream? stream)
        {
            _owner = owner ?? throw new ArgumentNullException(nameof(owner));
            _ledger = owner.Ledger;
            Socket = socket;
            _plain = _stream = stream ?? new NetworkStream(socket ?? throw new ArgumentNullException(nameof(socket)), ownsSocket: true);
        }

        /// <summary>The socket under the stream, or null for a stream with no socket of its own (an SSH channel).</summary>
        public Socket? Socket { get; }

        /// <summary>The top of the stream stack (the SslStream once TLS is started, the telnet layer over it).</summary>
        public Stream Stream => _stream;

        /// <summary>The TLS layer, once TLS is started.</summary>
        public SslStream? Tls { get; private set; }

        /// <summary>The telnet layer, when the connection speaks telnet.</summary>
        public TelnetStream? Telnet => _stream as TelnetStream;

        /// <summary>What the connection has recorded, without I/O: Open, RemoteClosed or Faulted.</summary>
        public SessionState State => _fault is not null ? SessionState.Faulted : _remoteClosed ? SessionState.RemoteClosed : SessionState.Open;

        /// <summary>Bytes received and not yet taken by a receive.</summary>
        public int Available => _buffer.Count;

        /// <summary>The size of the receive buffer's array (for tests of the memory bound).</summary>
        public int BufferCapacity => _buffer.Capacity;

        /// <summary>Whether the peer sent bytes nobody has read yet, buffered here or still in the kernel.</summary>
        public bool HasUnreadInput
        {
            get
            {
                if (_buffer.Count > 0)
                {
                    return true;
                }

                try
                {
                    return Socket is { Available: > 0 };
                }
                catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
                {
                    return false;
                }
            }
        }

        /// <summary>Still the stream the connection started with, straight over a socket: reads may wait on the socket itself.</summary>
        private bool IsPlain => Socket is not null && ReferenceEquals(_stream, _plain);

        /// <summary>Puts a telnet layer over the stream (after TLS, if any), before the first receive.</summary>
        public void LayerTelnet(TelnetOptions? options)
        {
            _ledger.ThrowIfClosed(_owner);
            if (Telnet is not null)
            {
                return;
            }

            if (_pendingRead is not null || _buffer.Count > 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {_owner} has already received data; telnet must be enabled before the first receive.", target: _owner);
            }

            _stream = new TelnetStream(_stream, options);
        }

        // ---- observers -------------------------------------------------------------------------

        /// <summary>The file the traffic is recorded to, or null.</summary>
        public string? TranscriptPath => _observers.TranscriptPath;

        public void AddObserver(ISessionObserver observer) => _observers.Add(observer);

        public bool RemoveObserver(ISessionObserver observer) => _observers.Remove(observer);

        public SessionTranscript StartTranscript(Func<SessionTranscript> open, Func<string, Exception> busy)
        {
            _ledger.ThrowIfClosed(_owner);
            return _observers.StartTranscript(open, busy);
        }

        public string? StopTranscript() => _observers.StopTranscript();

        // ---- what is buffered ------------------------------------------------------------------

        /// <summary>The last (up to) count bytes buffered and not yet read, without consuming them.</summary>
        public byte[] PeekBufferedTail(int count)
        {
            var seg = _buffer.Segment;
            int n = Math.Min(count, seg.Count);
            var tail = new byte[n];
            Buffer.BlockCopy(seg.Array!, seg.Offset + seg.Count - n, tail, 0, n);
            return tail;
        }

        /// <summary>The last (up to 200) bytes buffered, decoded and escaped, for messages; null when nothing is buffered.</summary>
        public string? DescribeBufferedTail()
        {
            var tail = PeekBufferedTail(TailBytes);
            return tail.Length == 0 ? null : $"Last {tail.Length} bytes received: \"{SessionTranscript.Escape(_owner.Encoding.GetString(tail))}\"";
        }

        /// <summary>A timeout in words for messages.</summary>
        internal static string Describe(TimeSpan timeout) =>
            timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan
                ? "the timeout"
                : $"the timeout of {timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";

        // ---- locks -----------------------------------------------------------------------------

        private async Task AcquireAsync(SemaphoreSlim gate, Deadline deadline, SocketErrorKind onTimeout, CancellationToken token)
        {
            _ledger.ThrowIfClosed(_owner);
            if (gate.Wait(0, CancellationToken.None))
            {
                return;
            }

            var remaining = deadline.Remaining;
            if (!await gate.WaitAsync(remaining, token).ConfigureAwait(false))
            {
                throw new PSSocketException(onTimeout, $"Session {_owner} is busy with another {(onTimeout == SocketErrorKind.SendTimeout ? "send" : "receive")} that did not finish within the timeout.", target: _owner);
            }
        }

        /// <summary>Runs an action while holding both the send and the receive lock, with no read in flight.</summary>
        private async Task<T> ExclusiveAsync<T>(Func<Task<T>> action, Deadline deadline, CancellationToken token)
        {
            await AcquireAsync(_receiveLock, deadline, SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            try
            {
                await AcquireAsync(_sendLock, deadline, SocketErrorKind.SendTimeout, token).ConfigureAwait(false);
                try
                {
                    CollectFinishedRead();
                    if (_pendingRead is not null)
                    {
                        throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {_owner} has a read in progress; receive what is pending first.", target: _owner);
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

        // ---- ending ----------------------------------------------------------------------------

        /// <summary>
        /// Shuts down our sending side (the peer sees end of stream, after a TLS close_notify);
        /// receiving goes on. False when there is no socket to shut down (the owner ends an SSH
        /// channel its own way).
        /// </summary>
        public bool ShutdownSend()
        {
            _ledger.ThrowIfClosed(_owner);
            SendTlsCloseNotify();
            if (Socket is null)
            {
                return false;
            }

            Socket.Shutdown(SocketShutdown.Send);
            return true;
        }

        /// <summary>
        /// Closes the session this connection belongs to, whoever asks (a fault path, a relay, a
        /// server letting a client go): there is one close, the session's, and it runs the
        /// session's own clean-up (certificates loaded for it, what waits for its close) and then
        /// <see cref="Release"/>. The first reason recorded (here or before) is the one the session shows.
        /// </summary>
        public void Close(string reason) => _owner.Close(reason);

        /// <summary>
        /// Releases what the connection holds, once, gracefully: close_notify on TLS, then a
        /// shutdown so data still in the kernel's send buffer reaches the peer before the FIN
        /// (Close(0) would reset the connection and drop it), then the stream stack and the
        /// transcript. Only the session's close calls it (the session is marked closed first).
        /// </summary>
        internal void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
            {
                return;
            }

            SendTlsCloseNotify();
            try
            {
                Socket?.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                _ledger.SetReason($"Shutdown: {ex.Message}");
            }

            _stream.Dispose();
            Socket?.Dispose();
            StopTranscript();
        }

        /// <inheritdoc />
        public void Dispose() => Close("Disposed");
    }
}

using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket.Sessions
{
    /// <summary>
    /// The moving parts under a <see cref="TcpSession"/>: the socket and the stream data goes
    /// through, the receive buffer, the one read and the one write that may be in flight, and the
    /// facts reads have recorded (peer closed, fault). There is one read path: a read is started,
    /// and whoever holds the receive lock (a cmdlet's thread waiting with Poll, or an awaiting
    /// task) completes it into the buffer. A read that outlives its caller's deadline stays
    /// pending and its bytes land in the buffer later: nothing is ever dropped.
    /// </summary>
    internal sealed class TcpTransport
    {
        private readonly TcpSession _owner;
        private readonly Stream _plain;
        private Stream _stream;
        private bool _encrypted;
        private Task<int>? _pendingRead;
        private Task<int>? _watchedRead;
        private byte[]? _readChunk;
        private Task? _pendingWrite;
        private volatile bool _remoteClosed;
        private volatile PSSocketException? _fault;

        public TcpTransport(TcpSession owner, Socket? socket, Stream stream)
        {
            _owner = owner;
            Socket = socket;
            _plain = _stream = stream;
        }

        /// <summary>The socket under the stream, or null for a stream with no socket of its own (an SSH channel).</summary>
        public Socket? Socket { get; }

        /// <summary>The stream data moves through (TLS and telnet layers included).</summary>
        public Stream Stream => _stream;

        /// <summary>Bytes received and not yet taken by a receive.</summary>
        public ReceiveBuffer Buffer { get; } = new();

        /// <summary>Held by whoever reads (receives, state refreshes, the TLS upgrade).</summary>
        public SemaphoreSlim ReceiveLock { get; } = new(1, 1);

        /// <summary>Held by whoever writes.</summary>
        public SemaphoreSlim SendLock { get; } = new(1, 1);

        /// <summary>A read has seen the end of the peer's stream.</summary>
        public bool RemoteClosed => _remoteClosed;

        /// <summary>The failure a read or write has recorded, if any.</summary>
        public PSSocketException? Fault => _fault;

        public bool HasPendingRead => _pendingRead is not null;

        public bool IsWriting => _pendingWrite is { IsCompleted: false };

        public bool HasPendingWrite => _pendingWrite is not null;

        /// <summary>Still the stream the session started with, straight over a socket: reads may wait on the socket itself.</summary>
        private bool IsPlain => Socket is not null && ReferenceEquals(_stream, _plain);

        /// <summary>Puts a layer (TLS, telnet) over the stream; the caller holds the locks or no read ran yet.</summary>
        public void Layer(Stream stream, bool encrypted)
        {
            _stream = stream;
            _encrypted |= encrypted;
        }

        // ---- reading ---------------------------------------------------------------------------

        /// <summary>
        /// Waits for one read to complete into the buffer, reading at most room bytes when it
        /// starts one. False on timeout (the read stays pending).
        /// </summary>
        public async Task<bool> FillAsync(int room, Deadline deadline, CancellationToken token)
        {
            _owner.EnsureOpen();
            if (_pendingRead is null && IsPlain && CallerWaits.OnThisThread)
            {
                return FillOnThisThread(room, deadline, token);
            }

            if (_pendingRead is null)
            {
                StartRead(room);
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
        private bool FillOnThisThread(int room, Deadline deadline, CancellationToken token)
        {
            const int SliceMicroseconds = 50_000;
            while (true)
            {
                token.ThrowIfCancellationRequested();
                _owner.EnsureOpen();
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
                    ready = Socket!.Poll(slice, SelectMode.SelectRead);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    throw Failed(ex, "Receiving");
                }

                if (ready)
                {
                    break;
                }
            }

            ReadReadySocket(room);
            return true;
        }

        /// <summary>
        /// Reads a plain socket that is readable (data, end of stream or an error is there) on the
        /// calling thread, so it never blocks. The result is there when this returns: on .NET
        /// Framework and Mono a ReadAsync would finish later, through BeginRead on the thread pool,
        /// and "what is already there" would miss what was there. The caller holds the receive lock
        /// and no read is pending.
        /// </summary>
        private void ReadReadySocket(int room)
        {
            _readChunk ??= ChunkPool.Rent();
            int n;
            try
            {
                n = _stream.Read(_readChunk, 0, ReadSize(_readChunk, room));
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                _readChunk = null;
                throw Failed(ex, "Receiving");
            }

            OnReadCompleted(n);
            Buffer.Append(_readChunk!, 0, n);
            ReleaseChunk();
        }

        /// <summary>Moves bytes the kernel already holds into the buffer without waiting, up to limit buffered.</summary>
        public void DrainWithoutWaiting(int limit)
        {
            while (Buffer.Count < limit && !_remoteClosed && _fault is null)
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
                    // like any other read, so this still returns at once. A stream with no socket
                    // (an SSH channel) cannot be asked: a read is started and left pending if empty.
                    ready = Socket is null || (Socket.Available > 0 && (IsPlain || _encrypted));
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                if (!ready)
                {
                    return;
                }

                if (!IsPlain)
                {
                    StartRead(limit - Buffer.Count);
                    continue;
                }

                try
                {
                    ReadReadySocket(limit - Buffer.Count);
                }
                catch (PSSocketException) when (_fault is not null)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Records a peer close or reset that no read has seen yet, without waiting and only while
        /// no receive runs: collects reads that have finished, and when the socket is readable
        /// with nothing to read (end of stream or an error) starts one. A read that does not
        /// finish at once (on .NET Framework a NetworkStream read completes later, through
        /// BeginRead) records what it found when it finishes. Data read lands in the buffer.
        /// </summary>
        public void Refresh()
        {
            if (_owner.IsClosed || _remoteClosed || _fault is not null || !ReceiveLock.Wait(0))
            {
                return;
            }

            try
            {
                bool started = false;
                while (!_remoteClosed && _fault is null)
                {
                    if (_pendingRead is null)
                    {
                        if (Socket is null && !started)
                        {
                            // A stream with no socket to poll (an SSH channel): one read, left pending when empty.
                            started = true;
                            StartRead(ChunkPool.ChunkSize);
                            continue;
                        }

                        if (!IsPlain || !Socket!.Poll(0, SelectMode.SelectRead) || Socket.Available > 0)
                        {
                            return;
                        }

                        // Readable with nothing to read: the end of stream or an error, seen now.
                        ReadReadySocket(ChunkPool.ChunkSize);
                        continue;
                    }

                    if (!_pendingRead!.IsCompleted)
                    {
                        RecordWhenFinished(_pendingRead);
                        return;
                    }

                    CompletePendingRead();
                }
            }
            catch (Exception ex) when (ex is PSSocketException or SocketException or ObjectDisposedException)
            {
                // A fault is recorded by CompletePendingRead; a closed socket shows as Closed.
            }
            finally
            {
                ReceiveLock.Release();
            }
        }

        /// <summary>Records end of stream or a failure of a read nobody waits for; its bytes (if any) stay for the next receive.</summary>
        private void RecordWhenFinished(Task<int> read)
        {
            if (ReferenceEquals(_watchedRead, read))
            {
                return;
            }

            _watchedRead = read;
            _ = read.ContinueWith(
                t =>
                {
                    if (_owner.IsClosed)
                    {
                        return;
                    }

                    if (t.Status == TaskStatus.RanToCompletion && t.Result == 0)
                    {
                        MarkRemoteClosed();
                    }
                    else if (t.Exception?.GetBaseException() is { } ex && ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
                    {
                        Record(ex, "Receiving");
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        /// <summary>Moves the bytes of a read that has finished into the buffer.</summary>
        public void CollectFinishedRead()
        {
            if (_pendingRead is { IsCompleted: true })
            {
                CompletePendingRead();
            }
        }

        private void StartRead(int room)
        {
            _readChunk ??= ChunkPool.Rent();
            _pendingRead = StartReadInto(_readChunk, ReadSize(_readChunk, room));
        }

        private static int ReadSize(byte[] chunk, int room) => Math.Max(1, Math.Min(chunk.Length, room));

        private Task<int> StartReadInto(byte[] chunk, int count)
        {
            try
            {
                return _stream.ReadAsync(chunk, 0, count, CancellationToken.None);
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
                throw Failed(ex, "Receiving");
            }

            OnReadCompleted(n);
            return n;
        }

        private void OnReadCompleted(int n)
        {
            if (n == 0 && _owner.IsClosed)
            {
                // Our own shutdown ends the read too: that is a local close, not the peer's.
                _readChunk = null;
                _owner.EnsureOpen();
            }

            if (n == 0)
            {
                MarkRemoteClosed();
            }
            else
            {
                _owner.OnReceived(_readChunk!, n);
            }
        }

        private void MarkRemoteClosed()
        {
            _remoteClosed = true;
            _owner.RecordReason("The peer closed the connection");
        }

        private void CompletePendingRead()
        {
            int n = TakePendingRead();
            Buffer.Append(_readChunk!, 0, n);
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

        /// <summary>
        /// Streams received bytes into destination with constant memory: count bytes, or until
        /// the peer closes (count null). The stall timeout bounds each wait for more data. The
        /// caller holds the receive lock.
        /// </summary>
        public async Task<long> CopyToAsync(Stream destination, long? count, TimeSpan stallTimeout, Action<long>? progress, CancellationToken token)
        {
            long written = 0;
            byte[]? bulkChunk = null;
            while (count is null || written < count)
            {
                if (Buffer.Count > 0)
                {
                    int n = (int)Math.Min(Buffer.Count, (count ?? long.MaxValue) - written);
                    var seg = Buffer.Segment;
                    WriteTo(destination, seg.Array!, seg.Offset, n);
                    Buffer.Skip(n);
                    written += n;
                    progress?.Invoke(written);
                    continue;
                }

                if (_remoteClosed)
                {
                    if (count is null)
                    {
                        break;
                    }

                    throw new PSSocketException(SocketErrorKind.RemoteClosed,
                        $"The peer of session {_owner} closed the connection after {written} of {count} bytes.", target: _owner);
                }

                ThrowIfFaulted();
                _owner.EnsureOpen();
                if (_pendingRead is null)
                {
                    // Bulk transfers read 256 KiB at a time: a quarter of the system calls.
                    bulkChunk ??= new byte[4 * ChunkPool.ChunkSize];
                    _readChunk = bulkChunk;
                    _pendingRead = StartReadInto(bulkChunk, bulkChunk.Length);
                }

                if (!await Deadline.After(stallTimeout).WaitAsync(_pendingRead, token).ConfigureAwait(false))
                {
                    throw new PSSocketException(SocketErrorKind.ReceiveTimeout,
                        $"Nothing arrived on session {_owner} within {Describe(stallTimeout)} after {written}{(count is null ? "" : $" of {count}")} bytes. The session is still open.",
                        target: _owner);
                }

                // Straight from the read chunk to the destination: no copy through the buffer.
                int got = TakePendingRead();
                int from = Buffer.LineEndingRest(_readChunk!, 0, got);
                int use = (int)Math.Min(got - from, (count ?? long.MaxValue) - written);
                WriteTo(destination, _readChunk!, from, use);
                Buffer.Append(_readChunk!, from + use, got - from - use);
                ReleaseChunk();
                if (use > 0)
                {
                    written += use;
                    progress?.Invoke(written);
                }
            }

            return written;
        }

        /// <summary>Synchronous writes for plain files: their async path only adds a thread hop.</summary>
        private static void WriteTo(Stream destination, byte[] data, int offset, int count)
        {
            if (count > 0)
            {
                destination.Write(data, offset, count);
            }
        }

        internal static string Describe(TimeSpan timeout) =>
            timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan
                ? "the timeout"
                : $"the timeout of {timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";

        // ---- writing ---------------------------------------------------------------------------

        /// <summary>
        /// Hands bytes to the stream once the write before them has finished; the caller holds the
        /// send lock and then waits with <see cref="FinishPendingWriteAsync"/>. The write holds data
        /// until it finishes, which may be after the caller's deadline: released is called once,
        /// when no write holds data any more, with true when the bytes went to the stream (the
        /// write finished, well or not) and false when they were never handed to it (the earlier
        /// write was not taken in time, the caller was cancelled, the session is closed).
        /// </summary>
        public async Task BeginWriteAsync(byte[] data, int offset, int count, Action<bool>? released, Deadline deadline, CancellationToken token)
        {
            Task write;
            try
            {
                _owner.EnsureOpen();
                if (_pendingWrite is not null)
                {
                    await FinishPendingWriteAsync(deadline, token, notSent: count).ConfigureAwait(false);
                }

                if (count == 0)
                {
                    released?.Invoke(false);
                    return;
                }

                try
                {
                    write = _stream.WriteAsync(data, offset, count, CancellationToken.None);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    throw Failed(ex, "Sending");
                }
            }
            catch
            {
                released?.Invoke(false);
                throw;
            }

            // A write that outlives its deadline keeps going and keeps data; the next send waits
            // for it first, so bytes are never reordered or half-dropped.
            _pendingWrite = write;
            if (released is not null)
            {
                _ = write.ContinueWith(_ => released(true), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        /// <summary>
        /// Waits for the write in flight. On timeout it keeps going (its bytes stay queued and go
        /// out in order); notSent is how many bytes of the caller's own send were therefore not
        /// handed to the stream, for the message.
        /// </summary>
        public async Task FinishPendingWriteAsync(Deadline deadline, CancellationToken token, int notSent = 0)
        {
            var write = _pendingWrite;
            if (write is null)
            {
                return;
            }

            if (!await deadline.WaitAsync(write, token).ConfigureAwait(false))
            {
                string fate = notSent > 0
                    ? $"none of the {notSent} bytes of this send went (earlier data still waits for the peer)"
                    : "the data stays queued and goes out in order when the peer reads";
                throw new PSSocketException(SocketErrorKind.SendTimeout,
                    $"The peer of session {_owner} did not take the data within {Describe(deadline.Duration)} (it is not reading): {fate}. The session is still open.", target: _owner);
            }

            _pendingWrite = null;
            try
            {
                await write.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw Failed(ex, "Sending");
            }
        }

        // ---- faults ----------------------------------------------------------------------------

        public void ThrowIfFaulted()
        {
            if (_fault is { } fault)
            {
                throw fault;
            }
        }

        /// <summary>The exception to throw for a failed read or write (SessionClosed when we closed it ourselves); the first fault is kept.</summary>
        private PSSocketException Failed(Exception ex, string doing)
        {
            _owner.EnsureOpen();
            return Record(ex, doing);
        }

        private PSSocketException Record(Exception ex, string doing)
        {
            var socketEx = ex as SocketException ?? ex.InnerException as SocketException;
            var error = socketEx?.SocketErrorCode ?? SocketError.ConnectionReset;
            var kind = PSSocketException.Classify(error);
            var fault = new PSSocketException(
                kind == SocketErrorKind.SocketError ? SocketErrorKind.ConnectionReset : kind,
                $"{doing} on session {_owner} failed: {socketEx?.Message ?? TcpSession.Describe(ex)}. Data already buffered can still be read.",
                ex, error, _owner);
            _owner.RecordFault(fault, error);
            _fault ??= fault;
            return fault;
        }
    }
}

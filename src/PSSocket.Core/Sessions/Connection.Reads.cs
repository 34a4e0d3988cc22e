namespace PSSocket.Sessions
{
    /// <summary>
    /// Completing reads into the buffer: on the caller's thread with Poll (plain TCP, a cmdlet
    /// waiting) or by awaiting the stream; draining what the kernel holds; noticing a peer close
    /// no read has seen; and recording faults.
    /// </summary>
    internal sealed partial class Connection
    {
        private Task<int>? _pendingRead;
        private Task<int>? _watchedRead;
        private byte[]? _readChunk;
        private volatile bool _remoteClosed;
        private volatile PSSocketException? _fault;
        private Tuple<string, string>? _faultCause; // what was being done when the first fault came, and the system's words for it

        /// <summary>A read has seen the end of the peer's stream.</summary>
        public bool RemoteClosed => _remoteClosed;

        /// <summary>The failure a read or write has recorded, if any.</summary>
        public PSSocketException? Fault => _fault;

        /// <summary>
        /// Waits for one read to complete into the buffer, reading at most room bytes when it
        /// starts one. False on timeout (the read stays pending).
        /// </summary>
        private async Task<bool> FillAsync(int room, Deadline deadline, CancellationToken token)
        {
            _ledger.ThrowIfClosed(_owner);
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
            while (true)
            {
                token.ThrowIfCancellationRequested();
                _ledger.ThrowIfClosed(_owner);
                int slice = WaitingThread.NextSlice(deadline);
                if (slice == 0)
                {
                    return false;
                }

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
            _buffer.Append(_readChunk!, 0, n);
            ReleaseChunk();
        }

        /// <summary>Moves bytes the kernel already holds into the buffer without waiting, up to limit buffered.</summary>
        private void DrainWithoutWaiting(int limit)
        {
            while (_buffer.Count < limit && !_remoteClosed && _fault is null)
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
                    StartRead(limit - _buffer.Count);
                    continue;
                }

                try
                {
                    ReadReadySocket(limit - _buffer.Count);
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
            if (_ledger.IsClosed || _remoteClosed || _fault is not null || !_receiveLock.Wait(0))
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
                _receiveLock.Release();
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
                    if (_ledger.IsClosed)
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
        private void CollectFinishedRead()
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
            if (n == 0 && _ledger.IsClosed)
            {
                // Our own shutdown ends the read too: that is a local close, not the peer's.
                _readChunk = null;
                _ledger.ThrowIfClosed(_owner);
            }

            if (n == 0)
            {
                MarkRemoteClosed();
            }
            else
            {
                _ledger.CountReceived(n);
                _observers.Notify(DataDirection.Received, _readChunk!, 0, n, false);
            }
        }

        private void MarkRemoteClosed()
        {
            _remoteClosed = true;
            _ledger.SetReason("The peer closed the connection");
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

        // ---- faults ----------------------------------------------------------------------------

        /// <summary>
        /// Throws the recorded fault, worded for the operation now asked for: a receive after a send
        /// broke the connection says that receiving failed and why ("an earlier send failed: Broken
        /// pipe"), not "Sending ... failed".
        /// </summary>
        private void ThrowIfFaulted(string doing = "Receiving")
        {
            if (_fault is not { } fault)
            {
                return;
            }

            if (Volatile.Read(ref _faultCause) is not { } cause || cause.Item1 == doing)
            {
                throw fault;
            }

            throw new PSSocketException(fault.Kind,
                $"{doing} on session {_owner} failed: the connection was already broken (an earlier {(cause.Item1 == "Sending" ? "send" : cause.Item1.ToLowerInvariant())} failed: {cause.Item2}). Data already buffered can still be read.",
                fault, fault.SocketError, _owner);
        }

        /// <summary>The exception to throw for a failed read or write (SessionClosed when we closed it ourselves); the first fault is kept.</summary>
        private PSSocketException Failed(Exception ex, string doing)
        {
            _ledger.ThrowIfClosed(_owner);
            return Record(ex, doing);
        }

        private PSSocketException Record(Exception ex, string doing)
        {
            var socketEx = ex as SocketException ?? ex.InnerException as SocketException;
            var error = socketEx?.SocketErrorCode ?? SocketError.ConnectionReset;
            var kind = PSSocketException.Classify(error);
            string detail = socketEx?.Message ?? TlsDiagnostics.Describe(ex);
            var fault = new PSSocketException(
                kind == SocketErrorKind.SocketError ? SocketErrorKind.ConnectionReset : kind,
                $"{doing} on session {_owner} failed: {detail}. Data already buffered can still be read.",
                ex, error, _owner);
            _ledger.RecordFault(fault, error);
            if (Interlocked.CompareExchange(ref _faultCause, Tuple.Create(doing, detail), null) is null)
            {
                _fault ??= fault;
            }

            return fault;
        }
    }
}

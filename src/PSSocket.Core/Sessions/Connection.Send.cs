namespace PSSocket.Sessions
{
    /// <summary>
    /// Sending: one write in flight, in order. A write that outlives its caller's deadline keeps
    /// going and keeps its data; the next send waits for it first, so bytes are never reordered,
    /// doubled or half-dropped, and a caller's array is released only when no write holds it.
    /// </summary>
    internal sealed partial class Connection
    {
        private Task? _pendingWrite;

        /// <summary>A write is in flight (TLS close_notify must not interleave with it).</summary>
        private bool IsWriting => _pendingWrite is { IsCompleted: false };

        /// <summary>
        /// Writes bytes. A write still in flight when the deadline passes (or the token is
        /// cancelled) keeps going and keeps data: released is called once no write holds data any
        /// more, with true when the bytes went to the stream and false when they never did, so a
        /// caller reuses or clears its array only then.
        /// </summary>
        public async Task SendAsync(byte[] data, int offset, int count, bool redacted, Action<bool>? released, Deadline deadline, CancellationToken token)
        {
            try
            {
                await AcquireAsync(_sendLock, deadline, SocketErrorKind.SendTimeout, token).ConfigureAwait(false);
            }
            catch
            {
                released?.Invoke(false);
                throw;
            }

            try
            {
                await WriteLockedAsync(data, offset, count, deadline, token, redacted, released).ConfigureAwait(false);
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
        public async Task<long> SendStreamAsync(Stream source, TimeSpan stallTimeout, Action<long>? progress, CancellationToken token)
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

        private async Task WriteLockedAsync(byte[] data, int offset, int count, Deadline deadline, CancellationToken token, bool redacted = false, Action<bool>? released = null)
        {
            if (redacted && count > 0)
            {
                // A secret is recorded before it is handed over: its buffer is cleared once written,
                // and the transcript needs its bytes to keep the peer's echo of it out.
                _observers.Notify(DataDirection.Sent, data, offset, count, redacted);
            }

            await BeginWriteAsync(data, offset, count, released, deadline, token).ConfigureAwait(false);
            if (count > 0)
            {
                // Counted and recorded when handed to the stream, in wire order: a write that
                // outlives the deadline still goes out.
                _ledger.CountSent(count);
                if (!redacted)
                {
                    _observers.Notify(DataDirection.Sent, data, offset, count, redacted);
                }
            }

            await FinishPendingWriteAsync(deadline, token).ConfigureAwait(false);
        }

        /// <summary>
        /// Hands bytes to the stream once the write before them has finished; the caller holds the
        /// send lock and then waits with <see cref="FinishPendingWriteAsync"/>. The write holds data
        /// until it finishes, which may be after the caller's deadline: released is called once,
        /// when no write holds data any more, with true when the bytes went to the stream (the
        /// write finished, well or not) and false when they were never handed to it (the earlier
        /// write was not taken in time, the caller was cancelled, the session is closed).
        /// </summary>
        private async Task BeginWriteAsync(byte[] data, int offset, int count, Action<bool>? released, Deadline deadline, CancellationToken token)
        {
            Task write;
            try
            {
                _ledger.ThrowIfClosed(_owner);
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
        private async Task FinishPendingWriteAsync(Deadline deadline, CancellationToken token, int notSent = 0)
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
    }
}

namespace PSSocket.Sessions
{
    /// <summary>Receiving: the one loop that feeds a frame rule, and streaming to a file.</summary>
    internal sealed partial class Connection
    {
        /// <summary>
        /// The one receive loop: ask the rule, and while its stop point is not buffered, read
        /// more, until the deadline, end of stream or the limit. The rule takes exactly the bytes
        /// it consumed out of the buffer; the rest stay for the next receive.
        /// </summary>
        public async Task<T> ReceiveAsync<T>(FrameRule<T> rule, int maxBytes, Deadline deadline, CancellationToken token)
        {
            await AcquireAsync(_receiveLock, deadline, SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            _buffer.GrowthLimit = maxBytes;
            try
            {
                while (true)
                {
                    if (rule.WantsWholeBurst && _buffer.Count > 0)
                    {
                        // Attempt once per burst that has arrived, not once per read chunk.
                        DrainWithoutWaiting(maxBytes);
                    }

                    if (rule.TryTake(_buffer, _remoteClosed, out var result))
                    {
                        return result;
                    }

                    if (_remoteClosed)
                    {
                        throw new PSSocketException(SocketErrorKind.RemoteClosed,
                            _buffer.Count == 0
                                ? $"The peer of session {_owner} has closed the connection and nothing is left to read."
                                : $"The peer of session {_owner} closed the connection before the stop point; {_buffer.Count} bytes stay buffered (read them with -ToEnd or -Count).",
                            target: _owner);
                    }

                    ThrowIfFaulted();
                    if (_buffer.Count >= maxBytes)
                    {
                        throw new PSSocketException(SocketErrorKind.ReceiveLimitExceeded,
                            $"Session {_owner} has buffered {_buffer.Count} bytes without reaching the stop point, which is the -MaxBytes limit ({maxBytes}). The data stays buffered: read it with -Count, or raise -MaxBytes.",
                            target: _owner);
                    }

                    var settle = rule.Settle;
                    var remaining = deadline.Remaining;
                    bool settling = settle > TimeSpan.Zero && (remaining == Timeout.InfiniteTimeSpan || remaining > settle);
                    if (!await FillAsync(maxBytes - _buffer.Count, settling ? Deadline.After(settle) : deadline, token).ConfigureAwait(false))
                    {
                        if (settling)
                        {
                            rule.OnQuiet();
                            continue;
                        }

                        throw new PSSocketException(SocketErrorKind.ReceiveTimeout, TimeoutMessage(deadline.Duration, rule.Needs), target: _owner);
                    }
                }
            }
            finally
            {
                _buffer.GrowthLimit = int.MaxValue;
                _receiveLock.Release();
            }
        }

        /// <summary>What a receive that timed out tells the user: the timeout, what arrived, and its last bytes.</summary>
        private string TimeoutMessage(TimeSpan timeout, int? needed)
        {
            int count = _buffer.Count;
            string got = count == 0 ? "nothing arrived"
                : needed is int need ? $"{count} of {need} bytes arrived and stay buffered"
                : $"{count} bytes arrived and stay buffered";
            string tail = count == 0 ? "" : $" {DescribeBufferedTail()}.";
            return $"Nothing that completes the read arrived on session {_owner} within {Describe(timeout)}: {got}.{tail} The session is still open.";
        }

        /// <summary>
        /// Streams received bytes into destination with constant memory: count bytes, or until
        /// the peer closes (count null). The stall timeout bounds each wait for more data.
        /// </summary>
        public async Task<long> ReceiveToStreamAsync(Stream destination, long? count, TimeSpan stallTimeout, Action<long>? progress, CancellationToken token)
        {
            await AcquireAsync(_receiveLock, Deadline.After(stallTimeout), SocketErrorKind.ReceiveTimeout, token).ConfigureAwait(false);
            try
            {
                return await CopyToAsync(destination, count, stallTimeout, progress, token).ConfigureAwait(false);
            }
            finally
            {
                _receiveLock.Release();
            }
        }

        private async Task<long> CopyToAsync(Stream destination, long? count, TimeSpan stallTimeout, Action<long>? progress, CancellationToken token)
        {
            long written = 0;
            byte[]? bulkChunk = null;
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
                _ledger.ThrowIfClosed(_owner);
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
                int from = _buffer.LineEndingRest(_readChunk!, 0, got);
                int use = (int)Math.Min(got - from, (count ?? long.MaxValue) - written);
                WriteTo(destination, _readChunk!, from, use);
                _buffer.Append(_readChunk!, from + use, got - from - use);
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
    }
}

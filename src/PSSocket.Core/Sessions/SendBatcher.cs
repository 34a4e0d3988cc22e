namespace PSSocket.Sessions
{
    /// <summary>
    /// Gathers the small writes of one pipeline (`Get-Content log | Send-SocketData $s -Line`) into
    /// fewer socket writes. What is gathered goes out when 64 KiB have built up, when no new item
    /// came for a few milliseconds (a timer, so a slow producer's lines are not held back), or on
    /// Flush. One batch is in flight at a time, so order is kept; a batch's array belongs to its
    /// write until the write lets go of it (which after a timeout is later), and new items gather
    /// in another array. Nothing waits while holding the lock: the timer only starts a send, and
    /// the pipeline thread waits for it outside the lock. When the peer does not take data in
    /// time, what was handed over still goes out in order, and what was not stays here and goes
    /// next; the failure is thrown by the next Add or Flush and says which bytes are where.
    /// </summary>
    public sealed class SendBatcher : IDisposable
    {
        /// <summary>How much is gathered before it is written at once.</summary>
        public const int FlushBytes = 64 * 1024;

        private static readonly TimeSpan s_idle = TimeSpan.FromMilliseconds(5);
        private readonly TcpSession _session;
        private readonly TimeSpan _stallTimeout;
        private readonly CancellationToken _token;
        private readonly object _lock = new();
        private readonly Timer _timer;
        private MemoryStream _gathered = new();
        private MemoryStream? _spare;
        private MemoryStream? _sending;
        private Task? _inFlight;
        private Exception? _failure;
        private bool _disposed;

        /// <summary>Gathers for one session; stallTimeout bounds each write as in SendAsync.</summary>
        public SendBatcher(TcpSession session, TimeSpan stallTimeout, CancellationToken token)
        {
            _session = session ?? throw new ArgumentNullException(nameof(session));
            _stallTimeout = stallTimeout;
            _token = token;
            _timer = new Timer(_ => OnIdle(), null, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>The session written to.</summary>
        public TcpSession Session => _session;

        /// <summary>Bytes handed to the session so far (sent, or on their way in order).</summary>
        public long Written { get; private set; }

        /// <summary>Bytes gathered here and not yet handed to the session.</summary>
        public long Waiting
        {
            get
            {
                lock (_lock)
                {
                    return _gathered.Length;
                }
            }
        }

        /// <summary>Adds bytes; once 64 KiB have gathered, waits until they are written.</summary>
        public void Add(byte[] data)
        {
            if (data is null)
            {
                throw new ArgumentNullException(nameof(data));
            }

            lock (_lock)
            {
                _gathered.Write(data, 0, data.Length);
            }

            Drain(final: false);
        }

        /// <summary>Writes whatever has gathered and waits until it is written; what cannot go is dropped and named in the exception.</summary>
        public void Flush() => Drain(final: true);

        /// <summary>
        /// Sends batches until less than a batch (nothing, when final) is left, waiting outside
        /// the lock. A failure of any batch is thrown here, once.
        /// </summary>
        private void Drain(bool final)
        {
            while (true)
            {
                Task wait;
                lock (_lock)
                {
                    if (_failure is { } failure)
                    {
                        _failure = null;
                        throw Describe(failure, final);
                    }

                    if (_sending is null)
                    {
                        if (_gathered.Length == 0 || (!final && _gathered.Length < FlushBytes))
                        {
                            if (_gathered.Length > 0)
                            {
                                _timer.Change(s_idle, Timeout.InfiniteTimeSpan);
                            }

                            return;
                        }

                        StartLocked();
                        if (_sending is null)
                        {
                            continue;
                        }
                    }
                    else if (!final && _gathered.Length < FlushBytes)
                    {
                        // The timer's batch is going; this item goes with the next one.
                        return;
                    }

                    wait = _inFlight!;
                }

                // SendBatchAsync records its failure instead of throwing.
                wait.GetAwaiter().GetResult();
            }
        }

        private void OnIdle()
        {
            lock (_lock)
            {
                if (!_disposed && _sending is null && _failure is null && _gathered.Length > 0)
                {
                    StartLocked();
                }
            }
        }

        private void StartLocked()
        {
            var batch = _gathered;
            _gathered = _spare ?? new MemoryStream();
            _spare = null;
            _sending = batch;
            var task = SendBatchAsync(batch);

            // A send that finished at once has already cleared _sending (the lock is re-entrant).
            _inFlight = _sending is null ? null : task;
        }

        /// <summary>Sends one batch and records how it ended, in one place; never throws.</summary>
        private async Task SendBatchAsync(MemoryStream batch)
        {
            int n = (int)batch.Length;
            bool handed = true;
            Exception? failure = null;
            try
            {
                await _session.SendAsync(batch.GetBuffer(), 0, n, redacted: false, went =>
                {
                    if (went)
                    {
                        Recycle(batch);
                    }
                    else
                    {
                        handed = false;
                    }
                }, Deadline.After(_stallTimeout), _token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            lock (_lock)
            {
                _sending = null;
                _inFlight = null;
                if (handed)
                {
                    Written += n;
                }
                else
                {
                    // Not handed to the session: these bytes go first next time, before what gathered meanwhile.
                    var rest = _gathered;
                    rest.WriteTo(batch);
                    _gathered = batch;
                    rest.SetLength(0);
                    _spare = rest;
                }

                if (failure is not null)
                {
                    _failure ??= failure;
                }
                else if (_gathered.Length > 0 && !_disposed)
                {
                    _timer.Change(s_idle, Timeout.InfiniteTimeSpan);
                }
            }
        }

        /// <summary>The write let go of a batch whose bytes went out: its array is free for the next batch.</summary>
        private void Recycle(MemoryStream batch)
        {
            lock (_lock)
            {
                batch.SetLength(0);
                _spare ??= batch;
            }
        }

        /// <summary>A send timeout says where the pipeline's bytes are; other failures pass as they are.</summary>
        private Exception Describe(Exception failure, bool final)
        {
            if (failure is not PSSocketException { Kind: SocketErrorKind.SendTimeout })
            {
                return failure;
            }

            long waiting = _gathered.Length;
            string rest;
            if (waiting == 0)
            {
                rest = "nothing else waits";
            }
            else if (final)
            {
                rest = $"the last {waiting} bytes (from byte {Written} of this pipeline's data on) were not sent";
                _gathered.SetLength(0);
            }
            else
            {
                rest = $"{waiting} more bytes wait here and go next, in order, when the peer reads (they are not sent if the pipeline stops)";
            }

            return new PSSocketException(SocketErrorKind.SendTimeout,
                $"The peer of session {_session} did not take data within {Connection.Describe(_stallTimeout)} (it is not reading). The first {Written} bytes of this pipeline's data are sent or on their way, in order; {rest}. The session is still open.",
                failure, target: _session);
        }

        /// <summary>Stops the timer; anything not handed to the session is dropped (the pipeline was stopped).</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
            }

            _timer.Dispose();
        }
    }
}

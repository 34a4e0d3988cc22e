namespace PSSocket.Net
{
    /// <summary>
    /// The scan's scheduler: a slot per probe, held from its start until the consumer takes its
    /// result, so probes in flight plus results not yet taken never exceed the limit. The consumer
    /// hands slots back in small batches to save wake-ups; a probe that ends without a result
    /// hands its slot back at once. Slots can be withdrawn for good when the process runs short
    /// of a resource the limit did not foresee (file descriptors).
    /// </summary>
    internal sealed class ProbeSlots : IDisposable
    {
        private readonly SemaphoreSlim _free;
        private readonly int _batch;
        private int _takenSinceRelease;
        private int _withdrawn;
        private int _toWithdraw;

        public ProbeSlots(int limit)
        {
            if (limit < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(limit));
            }

            Limit = limit;
            _free = new SemaphoreSlim(limit, limit);
            _batch = Math.Max(1, Math.Min(64, limit / 8));
        }

        /// <summary>The number of slots the scan started with.</summary>
        public int Limit { get; }

        /// <summary>The slots in use now (probes in flight and results not taken) plus the ones withdrawn.</summary>
        public int InUse => Limit - _free.CurrentCount;

        /// <summary>The slots currently usable.</summary>
        public int Effective => Limit - Volatile.Read(ref _withdrawn);

        /// <summary>Waits for a free slot.</summary>
        public Task WaitAsync(CancellationToken token) => _free.WaitAsync(token);

        /// <summary>Consumer side: one result was taken; its slot goes back with the next batch.</summary>
        public void Taken()
        {
            if (++_takenSinceRelease >= _batch)
            {
                Flush();
            }
        }

        /// <summary>Consumer side: hands back every slot taken results still hold.</summary>
        public void Flush()
        {
            int n = _takenSinceRelease;
            _takenSinceRelease = 0;
            Release(n);
        }

        /// <summary>A probe ended without a result (cancelled): its slot is free again.</summary>
        public void Release(int count = 1)
        {
            while (count > 0 && Volatile.Read(ref _toWithdraw) > 0)
            {
                if (Interlocked.Decrement(ref _toWithdraw) >= 0)
                {
                    Interlocked.Increment(ref _withdrawn);
                    count--;
                }
                else
                {
                    Interlocked.Increment(ref _toWithdraw);
                }
            }

            if (count > 0)
            {
                try
                {
                    _free.Release(count);
                }
                catch (ObjectDisposedException)
                {
                    // Disposed meanwhile: nothing waits for slots.
                }
            }
        }

        /// <summary>
        /// Lowers the limit: the next <paramref name="count"/> slots handed back are kept out of use,
        /// never below one usable slot.
        /// </summary>
        public void Withdraw(int count)
        {
            while (count-- > 0)
            {
                int pending = Volatile.Read(ref _toWithdraw);
                if (Limit - Volatile.Read(ref _withdrawn) - pending <= 1)
                {
                    return;
                }

                Interlocked.Increment(ref _toWithdraw);
            }
        }

        public void Dispose() => _free.Dispose();
    }
}

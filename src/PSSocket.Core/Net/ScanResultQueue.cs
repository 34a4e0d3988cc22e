namespace PSSocket.Net
{
    /// <summary>
    /// One finished probe of a scan: its result, the failure of the whole target it reports (on the
    /// first result of a target that could not be probed, so the error is written once), and where
    /// it belongs in the order the targets and their ports were given.
    /// </summary>
    /// <typeparam name="TResult">The prober's result type.</typeparam>
    public readonly struct ScanItem<TResult>
        where TResult : class
    {
        internal ScanItem(TResult result, PSSocketException? error, long targetId, int portIndex, long addressCount)
        {
            Result = result;
            Error = error;
            TargetId = targetId;
            PortIndex = portIndex;
            AddressCount = addressCount;
        }

        /// <summary>The result row.</summary>
        public TResult Result { get; }

        /// <summary>Why the target could not be probed at all (name not found), on its first result only; else null.</summary>
        public PSSocketException? Error { get; }

        /// <summary>The number <see cref="ScanEngine{TResult}.Add"/> gave the target (0, 1, 2 ... in the order added).</summary>
        public long TargetId { get; }

        /// <summary>The index of the port in the target's port list.</summary>
        public int PortIndex { get; }

        /// <summary>How many results the target gives per port (its addresses; 1 when it could not be resolved).</summary>
        public long AddressCount { get; }
    }

    /// <summary>
    /// The results waiting for the consumer: producers never block (the scan's slots bound it) and
    /// wake the consumer only when it is waiting, so a fast sweep costs no wake-up per result.
    /// </summary>
    internal sealed class ScanResultQueue<T> : IDisposable
    {
        private readonly ConcurrentQueue<T> _items = new();
        private readonly SemaphoreSlim _wake = new(0);
        private int _waiting;
        private volatile bool _addingCompleted;

        public bool IsCompleted => _addingCompleted && _items.IsEmpty;

        public void Dispose() => _wake.Dispose();

        public void Add(T item)
        {
            _items.Enqueue(item);
            Wake();
        }

        public void CompleteAdding()
        {
            _addingCompleted = true;
            Wake();
        }

        private void Wake()
        {
            if (Volatile.Read(ref _waiting) != 0 && Interlocked.Exchange(ref _waiting, 0) != 0)
            {
                try
                {
                    _wake.Release();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed meanwhile: nobody waits.
                }
            }
        }

        /// <summary>One consumer only. False when nothing came within the wait or all is taken.</summary>
        public bool TryTake(out T item, int millisecondsTimeout, CancellationToken token)
        {
            if (_items.TryDequeue(out item!))
            {
                return true;
            }

            var deadline = Deadline.After(TimeSpan.FromMilliseconds(millisecondsTimeout));
            while (millisecondsTimeout != 0)
            {
                // Announce the wait before the last look, so an Add that misses the look sees the flag.
                Interlocked.Exchange(ref _waiting, 1);
                if (_items.TryDequeue(out item!))
                {
                    return true;
                }

                if (_addingCompleted)
                {
                    return _items.TryDequeue(out item!);
                }

                var left = deadline.Remaining;
                if (left == TimeSpan.Zero || !_wake.Wait(left, token))
                {
                    token.ThrowIfCancellationRequested();
                    return _items.TryDequeue(out item!);
                }

                if (_items.TryDequeue(out item!))
                {
                    return true;
                }
            }

            return false;
        }
    }
}

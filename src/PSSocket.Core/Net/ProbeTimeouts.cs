namespace PSSocket.Net
{
    /// <summary>Something in flight that acts when one of its deadlines passes.</summary>
    internal interface ITimedProbe
    {
        /// <summary>The deadline of <paramref name="lane"/> passed (a probe that already ended ignores it).</summary>
        void Expire(int lane);
    }

    /// <summary>
    /// The deadlines of a scan, without a timer per probe: each lane has one fixed delay (the
    /// timeout; the moment a hedged retry is due), so deadlines enter a lane in the order they fall
    /// due and one timer pops the expired heads of every lane. Probes that ended early stay queued
    /// until their deadline and ignore it.
    /// </summary>
    internal sealed class ProbeTimeouts : IDisposable
    {
        private readonly ConcurrentQueue<(long Due, ITimedProbe Probe)>[] _lanes;
        private readonly long[] _ticks;
        private readonly Timer _timer;
        private int _sweeping;

        /// <summary>Starts sweeping, one lane per delay; the timer's period is a small fraction of the shortest.</summary>
        public ProbeTimeouts(params TimeSpan[] delays)
        {
            _lanes = new ConcurrentQueue<(long, ITimedProbe)>[delays.Length];
            _ticks = new long[delays.Length];
            double shortest = double.MaxValue;
            for (int i = 0; i < delays.Length; i++)
            {
                _lanes[i] = new ConcurrentQueue<(long, ITimedProbe)>();
                _ticks[i] = (long)(delays[i].TotalSeconds * Stopwatch.Frequency);
                shortest = Math.Min(shortest, delays[i].TotalMilliseconds);
            }

            int period = (int)Math.Max(5, Math.Min(100, shortest / 20));
            _timer = new Timer(_ => Sweep(), null, period, period);
        }

        /// <summary>The delay of a lane in Stopwatch ticks.</summary>
        public long Ticks(int lane) => _ticks[lane];

        /// <summary>Watches a probe from <paramref name="start"/> (Stopwatch ticks, now or just before) in a lane.</summary>
        public void Add(int lane, ITimedProbe probe, long start) => _lanes[lane].Enqueue((start + _ticks[lane], probe));

        /// <summary>Every probe still watched in any lane (to cancel them all).</summary>
        public IEnumerable<ITimedProbe> Snapshot()
        {
            foreach (var lane in _lanes)
            {
                foreach (var entry in lane.ToArray())
                {
                    yield return entry.Probe;
                }
            }
        }

        private void Sweep()
        {
            if (Interlocked.Exchange(ref _sweeping, 1) == 1)
            {
                return;
            }

            try
            {
                long now = Stopwatch.GetTimestamp();
                for (int lane = 0; lane < _lanes.Length; lane++)
                {
                    var queue = _lanes[lane];
                    while (queue.TryPeek(out var entry) && entry.Due <= now)
                    {
                        queue.TryDequeue(out _);
                        entry.Probe.Expire(lane);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        }

        public void Dispose() => _timer.Dispose();
    }
}

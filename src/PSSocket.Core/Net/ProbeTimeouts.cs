using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;

namespace PSSocket.Net
{
    /// <summary>Something in flight that gives up when its deadline passes.</summary>
    internal interface ITimedProbe
    {
        /// <summary>Stopwatch ticks after which the probe gives up.</summary>
        long Deadline { get; }

        /// <summary>The deadline passed: give up (a probe that already ended ignores it).</summary>
        void Expire();
    }

    /// <summary>
    /// The timeout sweeper: every probe of a scan has the same timeout and is added when it starts,
    /// so deadlines arrive in queue order and one timer pops the expired head, instead of a timer
    /// per probe. Probes that ended early wait in the queue until their deadline and are skipped.
    /// </summary>
    internal sealed class ProbeTimeouts : IDisposable
    {
        private readonly ConcurrentQueue<ITimedProbe> _queue = new();
        private readonly Timer _timer;
        private int _sweeping;

        /// <summary>Starts sweeping; the timer's period is a small fraction of the timeout.</summary>
        public ProbeTimeouts(TimeSpan timeout)
        {
            Ticks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            int period = (int)Math.Max(5, Math.Min(100, timeout.TotalMilliseconds / 20));
            _timer = new Timer(_ => Sweep(), null, period, period);
        }

        /// <summary>The timeout in Stopwatch ticks.</summary>
        public long Ticks { get; }

        /// <summary>Watches a probe that started now.</summary>
        public void Add(ITimedProbe probe) => _queue.Enqueue(probe);

        /// <summary>Every probe still watched (to cancel them all).</summary>
        public ITimedProbe[] Snapshot() => _queue.ToArray();

        private void Sweep()
        {
            if (Interlocked.Exchange(ref _sweeping, 1) == 1)
            {
                return;
            }

            try
            {
                long now = Stopwatch.GetTimestamp();
                while (_queue.TryPeek(out var probe) && probe.Deadline <= now)
                {
                    _queue.TryDequeue(out _);
                    probe.Expire();
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

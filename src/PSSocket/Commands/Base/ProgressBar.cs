using System.Diagnostics;

namespace PSSocket.Commands
{
    /// <summary>
    /// One progress bar, the same for every cmdlet: nothing for quick work (before the first
    /// delay), then at most four updates a second, and a Completed record at the end if any showed.
    /// Write it from the pipeline thread only.
    /// </summary>
    internal sealed class ProgressBar
    {
        private readonly Cmdlet _cmdlet;
        private readonly ProgressRecord _record;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _nextMs;
        private bool _shown;

        /// <param name="cmdlet">The cmdlet that writes it.</param>
        /// <param name="activity">What is happening; also gives the bar its id.</param>
        /// <param name="firstAfterMs">How long work may run before a bar shows.</param>
        public ProgressBar(Cmdlet cmdlet, string activity, long firstAfterMs = 0)
        {
            _cmdlet = cmdlet;
            _record = new ProgressRecord(Math.Abs(activity.GetHashCode() % 1000) + 1, activity, "Starting");
            _nextMs = firstAfterMs;
        }

        /// <summary>Seconds since the bar was made, for rates.</summary>
        public double Seconds => Math.Max(0.001, _clock.Elapsed.TotalSeconds);

        /// <summary>Shows the status unless the last update was under 250 ms ago (or force).</summary>
        /// <param name="status">The status line.</param>
        /// <param name="done">Work done, for the percentage.</param>
        /// <param name="total">All the work, or 0 or less when unknown.</param>
        /// <param name="force">Shows it whatever the time.</param>
        public void Report(string status, long done, long total, bool force = false)
        {
            long ms = _clock.ElapsedMilliseconds;
            if (!force && ms < _nextMs)
            {
                return;
            }

            _nextMs = ms + 250;
            _record.StatusDescription = status;
            _record.PercentComplete = total > 0 ? (int)Math.Min(100, done * 100 / total) : -1;
            _cmdlet.WriteProgress(_record);
            _shown = true;
        }

        /// <summary>Removes the bar if it showed.</summary>
        public void Complete()
        {
            if (_shown)
            {
                _record.RecordType = ProgressRecordType.Completed;
                _cmdlet.WriteProgress(_record);
                _shown = false;
            }
        }
    }
}

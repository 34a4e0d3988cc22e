namespace PSSocket.Net
{
    /// <summary>
    /// When something last happened, on the monotonic clock (Stopwatch), for every idle time and
    /// duration the engine decides on: a wall-clock step (NTP, daylight saving, an administrator
    /// setting the time) never makes a client look idle for an hour. Wall-clock times are for
    /// showing (LastActivityAt, StartedAt), never for deciding. Thread-safe.
    /// </summary>
    internal sealed class ActivityClock
    {
        private long _last = Stopwatch.GetTimestamp();

        /// <summary>Records that it happened now.</summary>
        public void Touch() => Interlocked.Exchange(ref _last, Stopwatch.GetTimestamp());

        /// <summary>How long ago it last happened.</summary>
        public TimeSpan Since => TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - Interlocked.Read(ref _last)) / (double)Stopwatch.Frequency);
    }
}

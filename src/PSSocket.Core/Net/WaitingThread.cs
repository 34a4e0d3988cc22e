namespace PSSocket.Net
{
    /// <summary>
    /// Whether the current thread blocks on the engine's result anyway (a cmdlet's pipeline
    /// thread, marked through CallerWaits): work started on it may wait on the socket itself with
    /// Poll instead of handing the wait to the thread pool. Here, below the sessions, so that
    /// connects (TcpConnector) and reads (Connection) read the same mark.
    /// </summary>
    internal static class WaitingThread
    {
        [ThreadStatic]
        private static bool s_marked;

        public static bool IsMarked => s_marked;

        /// <summary>
        /// How long the next Poll on this thread may wait, in microseconds: at most 50 ms, so a
        /// cancellation or a close is seen within one slice; 0 once the deadline has passed.
        /// </summary>
        public static int NextSlice(Deadline deadline)
        {
            const int SliceMicroseconds = 50_000;
            var remaining = deadline.Remaining;
            if (remaining == TimeSpan.Zero)
            {
                return 0;
            }

            return remaining == Timeout.InfiniteTimeSpan
                ? SliceMicroseconds
                : (int)Math.Max(1, Math.Min(SliceMicroseconds, remaining.Ticks / 10));
        }

        /// <summary>Sets the mark; returns the previous one, to restore.</summary>
        public static bool Mark(bool marked)
        {
            bool previous = s_marked;
            s_marked = marked;
            return previous;
        }
    }
}

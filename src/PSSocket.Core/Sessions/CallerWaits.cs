namespace PSSocket.Sessions
{
    /// <summary>
    /// Marks the current thread as one that blocks on the engine's result anyway (a cmdlet's
    /// pipeline thread). Plain TCP reads started on such a thread wait on it directly with Poll
    /// instead of handing the wait to the thread pool: a line round trip costs one wake-up, not
    /// three. Everywhere else the engine stays fully asynchronous.
    /// </summary>
    public static class CallerWaits
    {
        [ThreadStatic]
        private static bool s_blocking;

        internal static bool OnThisThread => s_blocking;

        /// <summary>
        /// How long the next Poll on this thread may wait, in microseconds: at most 50 ms, so a
        /// cancellation or a close is seen within one slice; 0 once the deadline has passed.
        /// </summary>
        internal static int NextSlice(Deadline deadline)
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

        /// <summary>Marks this thread until the returned scope is disposed.</summary>
        public static Scope Enter()
        {
            bool previous = s_blocking;
            s_blocking = true;
            return new Scope(previous);
        }

        /// <summary>Restores the previous marking when disposed.</summary>
        public readonly struct Scope : IDisposable, IEquatable<Scope>
        {
            private readonly bool _previous;

            internal Scope(bool previous) => _previous = previous;

            /// <inheritdoc />
            public void Dispose() => s_blocking = _previous;

            /// <inheritdoc />
            public bool Equals(Scope other) => _previous == other._previous;

            /// <inheritdoc />
            public override bool Equals(object? obj) => obj is Scope other && Equals(other);

            /// <inheritdoc />
            public override int GetHashCode() => _previous.GetHashCode();

            /// <summary>Equality.</summary>
            public static bool operator ==(Scope left, Scope right) => left.Equals(right);

            /// <summary>Inequality.</summary>
            public static bool operator !=(Scope left, Scope right) => !left.Equals(right);
        }
    }
}

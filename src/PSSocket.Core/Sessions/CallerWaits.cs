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
        internal static bool OnThisThread => WaitingThread.IsMarked;

        /// <summary>Marks this thread until the returned scope is disposed.</summary>
        public static Scope Enter()
        {
            return new Scope(WaitingThread.Mark(true));
        }

        /// <summary>Restores the previous marking when disposed.</summary>
        public readonly struct Scope : IDisposable, IEquatable<Scope>
        {
            private readonly bool _previous;

            internal Scope(bool previous) => _previous = previous;

            /// <inheritdoc />
            public void Dispose() => WaitingThread.Mark(_previous);

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

namespace PSSocket.Net
{
    /// <summary>A point in time an operation must finish by; Infinite never expires.</summary>
    public readonly struct Deadline
    {
        private readonly long _endTicks;
        private readonly TimeSpan _timeout;

        private Deadline(long endTicks, TimeSpan timeout = default)
        {
            _endTicks = endTicks;
            _timeout = timeout;
        }

        /// <summary>A deadline that never passes.</summary>
        public static Deadline Infinite => new(long.MaxValue);

        /// <summary>A deadline timeout from now; zero or negative (or infinite) never passes.</summary>
        public static Deadline After(TimeSpan timeout) =>
            timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan || timeout.TotalDays > 24
                ? Infinite
                : new Deadline(Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency), timeout);

        /// <summary>A deadline from a number of seconds; zero or less means none.</summary>
        public static Deadline AfterSeconds(double seconds) =>
            seconds <= 0 || double.IsNaN(seconds) || seconds > 2_000_000 ? Infinite : After(TimeSpan.FromSeconds(seconds));

        /// <summary>The timeout the deadline was made from (Timeout.InfiniteTimeSpan when infinite), for messages.</summary>
        public TimeSpan Duration => IsInfinite ? Timeout.InfiniteTimeSpan : _timeout;

        /// <summary>True for a deadline that never passes.</summary>
        public bool IsInfinite => _endTicks == long.MaxValue;

        /// <summary>Time left, Timeout.InfiniteTimeSpan when infinite, never negative otherwise.</summary>
        public TimeSpan Remaining
        {
            get
            {
                if (IsInfinite)
                {
                    return Timeout.InfiniteTimeSpan;
                }

                long left = _endTicks - Stopwatch.GetTimestamp();
                return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / Stopwatch.Frequency);
            }
        }

        /// <summary>True once the deadline has passed.</summary>
        public bool Expired => !IsInfinite && Stopwatch.GetTimestamp() >= _endTicks;

        /// <summary>
        /// Waits for the task until the deadline or cancellation. Returns false on timeout and
        /// leaves the task running (its result is collected later, so nothing is lost).
        /// </summary>
        /// <exception cref="OperationCanceledException">when the token is cancelled first.</exception>
        public async Task<bool> WaitAsync(Task task, CancellationToken token)
        {
            if (task.IsCompleted)
            {
                return true;
            }

            token.ThrowIfCancellationRequested();
            var remaining = Remaining;
            if (remaining == TimeSpan.Zero)
            {
                return false;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            var delay = Task.Delay(remaining, cts.Token);
            var winner = await Task.WhenAny(task, delay).ConfigureAwait(false);
            cts.Cancel();
            if (winner == task)
            {
                return true;
            }

            token.ThrowIfCancellationRequested();
            return false;
        }
    }
}

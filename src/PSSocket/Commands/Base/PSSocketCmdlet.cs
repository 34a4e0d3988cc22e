namespace PSSocket.Commands
{
    /// <summary>
    /// Base of every PSSocket cmdlet: owns the CancellationTokenSource that StopProcessing
    /// (Ctrl+C) cancels, and turns engine failures into ErrorRecords.
    /// </summary>
    public abstract partial class PSSocketCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _cts = new();
        private bool? _verbose;
        private bool? _debug;

        /// <summary>Cancelled when the pipeline is stopped.</summary>
        protected CancellationToken Token => _cts.Token;

        /// <summary>True when Verbose output would be shown, so messages are only formatted then.</summary>
        protected bool VerboseOn => _verbose ??= IsStreamOn("Verbose", "VerbosePreference");

        /// <summary>True when Debug output would be shown.</summary>
        protected bool DebugOn => _debug ??= IsStreamOn("Debug", "DebugPreference");

        private bool IsStreamOn(string parameter, string preference)
        {
            if (MyInvocation.BoundParameters.TryGetValue(parameter, out var v))
            {
                return v is SwitchParameter sp ? sp.IsPresent : LanguagePrimitives.IsTrue(v);
            }

            var pref = GetVariableValue(preference);
            return pref is ActionPreference ap ? ap != ActionPreference.SilentlyContinue && ap != ActionPreference.Ignore
                : pref is not null && !string.Equals(pref.ToString(), "SilentlyContinue", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>Writes a Verbose message built only when Verbose is on.</summary>
        protected void Verbose(Func<string> message)
        {
            if (VerboseOn)
            {
                WriteVerbose(message());
            }
        }

        /// <inheritdoc />
        protected override void StopProcessing() => _cts.Cancel();

        /// <summary>Waits for engine work on the pipeline thread; Ctrl+C surfaces as PipelineStoppedException.</summary>
        protected T Run<T>(Func<CancellationToken, Task<T>> work)
        {
            try
            {
                Task<T> task;
                using (CallerWaits.Enter())
                {
                    task = work(Token);
                }

                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        /// <summary>
        /// Waits for engine work that reports a byte count, showing a progress bar from the
        /// pipeline thread (the engine reports from pool threads, which must not write).
        /// </summary>
        protected long RunWithProgress(Func<CancellationToken, Action<long>, Task<long>> work, string activity, long total)
        {
            long done = 0;
            var task = work(Token, n => Interlocked.Exchange(ref done, n));
            var bar = new ProgressBar(this, activity);
            try
            {
                while (!task.Wait(250, Token))
                {
                    long n = Interlocked.Read(ref done);
                    long rate = (long)(n / bar.Seconds);
                    bar.Report(total > 0 ? $"{Bytes(n)} of {Bytes(total)} at {Bytes(rate)}/s" : $"{Bytes(n)} at {Bytes(rate)}/s", n, total, force: true);
                }

                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                // The work sees the token at its next wait; let it finish so the caller's file or
                // stream is not disposed under it and the session's lock is free for the next command.
                try
                {
                    task.Wait(TimeSpan.FromSeconds(5));
                }
                catch (AggregateException)
                {
                    // It ended by cancellation or failure: the pipeline is stopping either way.
                }

                throw new PipelineStoppedException();
            }
            catch (AggregateException ex) when (ex.InnerException is PSSocketException inner)
            {
                throw inner;
            }
            finally
            {
                bar.Complete();
            }
        }

        /// <summary>A byte count as people read it.</summary>
        protected static string Bytes(long n) => n switch
        {
            >= 1L << 30 => $"{n / (double)(1L << 30):0.0} GiB",
            >= 1L << 20 => $"{n / (double)(1L << 20):0.0} MiB",
            >= 1L << 10 => $"{n / 1024.0:0.0} KiB",
            _ => $"{n} B",
        };

        /// <summary>Waits for engine work that has no result.</summary>
        protected void Run(Func<CancellationToken, Task> work) => Run(async t =>
        {
            await work(t).ConfigureAwait(false);
            return true;
        });

        /// <summary>Writes a non-terminating error for an engine failure.</summary>
        protected void WriteSocketError(PSSocketException ex, object? target = null) => WriteError(ErrorRecords.From(ex, target));

        /// <summary>Converts -Timeout seconds to a TimeSpan; zero or less means no limit.</summary>
        protected static TimeSpan Seconds(double seconds) =>
            seconds <= 0 || double.IsNaN(seconds) || seconds > 2_000_000 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

        /// <summary>Releases the cancellation source.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Releases the cancellation source.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (disposing)
            {
                _cts.Dispose();
            }
        }
    }
}

using System.Globalization;

namespace PSSocket.Commands
{
    /// <summary>How a port check ends and hands out its results: the engine finishes the input, drained from the engine on the pipeline thread, written in the order asked (-Quiet, -Open), with a progress bar on long scans.</summary>
    public abstract partial class PortCheckCmdlet<TResult>
    {
        /// <inheritdoc />
        protected override void EndProcessing()
        {
            var engine = _engine!;
            engine.Complete();
            try
            {
                while (!engine.IsFinished)
                {
                    Drain(100);
                }

                if (Token.IsCancellationRequested)
                {
                    throw new PipelineStoppedException();
                }

                foreach (bool verdict in _verdicts.TakeRest())
                {
                    WriteObject(verdict);
                }
            }
            finally
            {
                if (_progress is not null)
                {
                    _nextProgressMs = 0;
                    ReportProgress();
                    _progress.RecordType = ProgressRecordType.Completed;
                    WriteProgress(_progress);
                }
            }

            Verbose(() => $"{engine.Finished} probe(s) in {_clock.Elapsed.TotalSeconds:0.00} s, {engine.OpenFound} open");
        }

        private void Drain(int waitMs)
        {
            var engine = _engine!;
            int wait = waitMs;
            try
            {
                while (engine.TryTake(out var item, wait))
                {
                    wait = 0;
                    Write(item);
                    ReportProgress();
                }
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (PSSocketException ex)
            {
                // The engine itself failed (not one target: those are results): the sweep cannot go on.
                ThrowTerminatingError(ErrorRecords.From(ex));
            }

            ReportProgress();
        }

        private void Write(ScanItem<TResult> item)
        {
            if (item.Error is PSSocketException targetError)
            {
                WriteSocketError(targetError, targetError.Target);
            }

            var r = item.Result;
            OnResult(r);
            bool open = IsOpen(r);
            if (Quiet)
            {
                _verdicts.Record(item.TargetId, item.PortIndex, item.AddressCount, open);
                foreach (bool verdict in _verdicts.TakeReady())
                {
                    WriteObject(verdict);
                }
            }
            else if (!Open || open)
            {
                WriteObject(r);
            }
        }

        private void ReportProgress()
        {
            // Quick checks show no bar; long runs update it four times a second.
            long ms = _clock.ElapsedMilliseconds;
            if (ms < _nextProgressMs)
            {
                return;
            }

            _nextProgressMs = ms + 250;
            var engine = _engine!;
            long done = engine.Finished;
            long total = Math.Max(done, engine.Expected);
            double rate = done / Math.Max(0.001, ms / 1000.0);
            _progress ??= new ProgressRecord(Activity.GetHashCode() & 0xFFFF, Activity, "Starting");
            _progress.StatusDescription = string.Format(CultureInfo.CurrentCulture,
                "{0:N0} of {1:N0} probed, {2:N0} open, {3:N0}/s", done, total, engine.OpenFound, rate);
            _progress.PercentComplete = total > 0 ? (int)Math.Min(100, done * 100 / total) : -1;
            WriteProgress(_progress);
        }
    }
}

namespace PSSocket.Net
{
    /// <summary>The state of one TCP probe and of each of its connects (see PortScanner.cs).</summary>
    public sealed partial class PortScanner
    {
        /// <summary>
        /// One probe of a port: its connects in flight (the first, hedged ones, local retries) and
        /// whether it is over. Closing it (an answer, the timeout, Ctrl+C) happens once and closes
        /// the connects still in flight; they then come back aborted and are ignored.
        /// </summary>
        private sealed class ProbeRun : ITimedProbe
        {
            private readonly PortScanner _scanner;
            // 1 once the probe's timeout runs (PortScanner.WatchRun).
            public int Watched;

            private Attempt? _live;
            private bool _closed;

            public ProbeRun(PortScanner scanner, ScanProbe probe)
            {
                _scanner = scanner;
                Probe = probe;
            }

            public ScanProbe Probe { get; }

            public long Started { get; set; }

            // Connects begun that count as tries (the first and the hedged ones).
            public int Tries { get; set; }

            public bool IsClosed
            {
                get
                {
                    lock (this)
                    {
                        return _closed;
                    }
                }
            }

            public void Expire(int lane) => _scanner.OnDeadline(this, lane);

            /// <summary>The number of the next hedged try, or null when the probe is over or tried enough.</summary>
            public int? NextTry(int most)
            {
                lock (this)
                {
                    if (_closed || Tries >= most)
                    {
                        return null;
                    }

                    return Tries++;
                }
            }

            public bool Join(Attempt attempt)
            {
                lock (this)
                {
                    if (_closed)
                    {
                        return false;
                    }

                    attempt.NextLive = _live;
                    _live = attempt;
                    return true;
                }
            }

            /// <summary>The connect came back: false when the probe was closed meanwhile (its answer is moot).</summary>
            public bool Leave(Attempt attempt)
            {
                lock (this)
                {
                    if (_live == attempt)
                    {
                        _live = attempt.NextLive;
                    }
                    else
                    {
                        for (var a = _live; a is not null; a = a.NextLive)
                        {
                            if (a.NextLive == attempt)
                            {
                                a.NextLive = attempt.NextLive;
                                break;
                            }
                        }
                    }

                    return !_closed;
                }
            }

            /// <summary>Closes the probe once (true the first time) and closes its connects in flight.</summary>
            public bool Close()
            {
                Attempt? live;
                lock (this)
                {
                    if (_closed)
                    {
                        return false;
                    }

                    _closed = true;
                    live = _live;
                    _live = null;
                }

                _scanner._waiting.TryRemove(this, out _);
                for (var a = live; a is not null; a = a.NextLive)
                {
                    // Closing the socket ends its pending connect with OperationAborted; Finish then ignores it.
                    a.Socket?.Dispose();
                    if (Volatile.Read(ref a.Fd) != NoFd)
                    {
                        _scanner.CancelNative(a);
                    }
                }

                return true;
            }

            /// <summary>Ctrl+C or dispose: the probe ends without a result.</summary>
            public void Abort()
            {
                Close();
                _scanner.End(Probe, null);
            }
        }

        /// <summary>One connect of a probe.</summary>
        private sealed class Attempt
        {
            // The fast path's descriptor: NoFd, HeldFd or the descriptor (see PortScanner.Native.cs).
            public int Fd = NoFd;


            public Attempt(ProbeRun run, int tryIndex, int localRetry)
            {
                Run = run;
                Try = tryIndex;
                LocalRetry = localRetry;
            }

            public ProbeRun Run { get; }

            // Which try this connect is: 0 the first, then the hedged ones; local retries keep their try's number.
            public int Try { get; }

            public int LocalRetry { get; }

            public Socket? Socket { get; set; }

            // The fast path's key for the descriptor's epoll watch.
            public long Key { get; set; }

            public long Started { get; set; }

            public long Ended { get; set; }

            // The probe's connects in flight, a short list under the probe's lock.
            public Attempt? NextLive { get; set; }
        }
    }
}

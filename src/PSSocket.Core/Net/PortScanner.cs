namespace PSSocket.Net
{
    /// <summary>
    /// The TCP connect probe of a port scan (<see cref="ScanEngine{TResult}"/> does the targets, slots
    /// and results): a non-blocking connect per address × port, on Linux through the system calls
    /// themselves (PortScanner.Native.cs), elsewhere on pooled SocketAsyncEventArgs, with no task and
    /// no timer of its own (one sweeper, <see cref="ProbeTimeouts"/>, watches every deadline). A port that has not answered when a hedge is due is tried again with a fresh
    /// connect while the first still waits: the <see cref="ScanOptions.Retries"/> extra connects
    /// are spread evenly over the <see cref="ScanOptions.Timeout"/>, the first answer of any of them
    /// counts, and a port none of them got an answer from within the timeout is Filtered. A connect
    /// that ends with the socket connected to itself (loopback, the OS picked the probed port as the
    /// local port) is Closed; open probes are closed with a reset so a full sweep leaves nothing in
    /// TIME_WAIT. Through a proxy, with -Tls or -Banner, the open port's work continues in
    /// PortScanner.Open.cs.
    /// </summary>
    public sealed partial class PortScanner : ScanEngine<PortCheckResult>
    {
        // A probe that failed for a local, passing reason is tried again this often before it is an Error.
        private const int MaxLocalRetries = 3;

        // Out of descriptors: waits of 50 ms doubling to 1 s, about 20 s in all, for other probes to free theirs.
        private const int MaxDescriptorRetries = 25;

        // The lanes of _timeouts: the probe's timeout, and the moment its next hedged connect is due.
        private const int ExpiryLane = 0, HedgeLane = 1;

        private readonly PortScanOptions _options;
        // With a timeout: the sweeper holds every probe until its deadline.
        private readonly ProbeTimeouts? _timeouts;
        // Without one: the probes still waiting, so Ctrl+C can close them; nothing else holds them.
        private readonly ConcurrentDictionary<ProbeRun, byte> _waiting = new();
        private readonly ConcurrentQueue<SocketAsyncEventArgs> _argsPool = new();
        private readonly EventHandler<SocketAsyncEventArgs> _onConnected;

        /// <summary>Starts the engine; it probes targets as <see cref="ScanEngine{TResult}.Add"/> hands them over.</summary>
        public PortScanner(PortScanOptions options, CancellationToken token)
            : base(options, token)
        {
            _options = options;
            _onConnected = (_, e) => OnConnected(e);
            InitNative(options);
            if (options.HasTimeout)
            {
                _timeouts = options.Retries > 0
                    ? new ProbeTimeouts(options.Timeout, TimeSpan.FromTicks(options.Timeout.Ticks / (options.Retries + 1)))
                    : new ProbeTimeouts(options.Timeout);
            }
        }

        /// <inheritdoc />
        protected override PortCheckResult Unprobed(PortScanTarget target, int port, PSSocketException failure)
        {
            var result = NewResult();
            result.ComputerName = target.Host;
            result.Port = port;
            result.Status = PortStatus.Error;
            result.Service = WellKnownPorts.NameOf(port);
            result.Detail = failure.Message;
            return result;
        }

        /// <inheritdoc />
        protected override void StartProbe(ScanProbe probe)
        {
            if (_options.Proxy is not null)
            {
                Watch(probe, ProbeThroughProxyAsync(_options.Proxy, probe));
                return;
            }

            var run = new ProbeRun(this, probe) { Started = Stopwatch.GetTimestamp() };
            if (!_native)
            {
                // The fast path watches a probe only once its connect waits (most loopback probes never do).
                WatchRun(run);
            }

            run.Tries = 1;
            Connect(run, 0, 0);
        }

        /// <summary>From now on the probe's timeout runs (or, without one, Ctrl+C can find it); once per probe.</summary>
        private void WatchRun(ProbeRun run)
        {
            if (Interlocked.Exchange(ref run.Watched, 1) != 0)
            {
                return;
            }

            if (_timeouts is null)
            {
                _waiting[run] = 0;
                if (run.IsClosed)
                {
                    _waiting.TryRemove(run, out _);
                }
            }
            else
            {
                _timeouts.Add(ExpiryLane, run, run.Started);
            }
        }

        private void Connect(ProbeRun run, int tryIndex, int localRetry)
        {
            var probe = run.Probe;
            var address = probe.Address!;
            var attempt = new Attempt(run, tryIndex, localRetry);
            if (ConnectNative(attempt))
            {
                return;
            }

            try
            {
                attempt.Socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (_options.LocalEndPointFor?.Invoke(new IPEndPoint(address, probe.Port)) is IPEndPoint local)
                {
                    attempt.Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    attempt.Socket.Bind(local);
                }
            }
            catch (SocketException ex)
            {
                attempt.Socket?.Dispose();
                SocketFailed(attempt, ex.SocketErrorCode, ex.Message);
                return;
            }

            if (!run.Join(attempt))
            {
                // The probe ended (answered elsewhere, timed out, stopped) while this connect was made ready.
                attempt.Socket.Dispose();
                return;
            }

            if (!_argsPool.TryDequeue(out var args))
            {
                args = new SocketAsyncEventArgs();
                args.Completed += _onConnected;
            }

            args.UserToken = attempt;
            args.RemoteEndPoint = new IPEndPoint(address, probe.Port);
            attempt.Started = Stopwatch.GetTimestamp();
            if (localRetry == 0 && tryIndex < _options.Retries)
            {
                _timeouts?.Add(HedgeLane, run, attempt.Started);
            }

            bool pending;
            try
            {
                pending = attempt.Socket.ConnectAsync(args);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                args.SocketError = ex is SocketException se ? se.SocketErrorCode : SocketError.OperationAborted;
                pending = false;
            }

            if (!pending)
            {
                OnConnected(args);
            }
            else if (Token.IsCancellationRequested)
            {
                run.Abort();
            }
        }

        /// <summary>The probe's socket could not be made or bound: tried again when the reason passes, else an Error row.</summary>
        private void SocketFailed(Attempt attempt, SocketError error, string? message = null)
        {
            message ??= new SocketException((int)error).Message;
            if (!TryRetryLocal(attempt, error))
            {
                Settle(attempt.Run, Result(attempt.Run.Probe, attempt, PortStatus.Error, answered: false,
                    error == SocketError.TooManyOpenSockets
                        ? "Out of sockets (file descriptors): lower -ThrottleLimit. " + message
                        : "Could not create the probe socket: " + message));
            }
        }

        // On an I/O completion thread (or the starting one): an exception must not escape.
        private void OnConnected(SocketAsyncEventArgs args)
        {
            var attempt = (Attempt)args.UserToken!;
            var error = args.SocketError;
            attempt.Ended = Stopwatch.GetTimestamp();
            args.UserToken = null;
            args.RemoteEndPoint = null;
            _argsPool.Enqueue(args);
            try
            {
                Finish(attempt, error, new ProbeSocket(attempt.Socket!));
            }
            catch (Exception ex)
            {
                attempt.Socket?.Dispose();
                Fail(attempt.Run.Probe, ex);
            }
        }

        private void Finish(Attempt attempt, SocketError error, ProbeSocket socket)
        {
            var run = attempt.Run;
            var probe = run.Probe;
            if (!run.Leave(attempt) || (Token.IsCancellationRequested && error == SocketError.OperationAborted))
            {
                // Another connect of the probe answered first, its time is up, or the scan stopped.
                socket.Dispose();
                if (Token.IsCancellationRequested)
                {
                    End(probe, null);
                }

                return;
            }

            switch (error)
            {
                case SocketError.Success:
                    break;
                case SocketError.ConnectionRefused:
                    socket.Dispose();
                    Settle(run, Result(probe, attempt, PortStatus.Closed, answered: true, "Connection refused."));
                    return;
                case SocketError.TimedOut:
                case SocketError.HostUnreachable:
                case SocketError.NetworkUnreachable:
                case SocketError.HostDown:
                case SocketError.AccessDenied:
                    socket.Dispose();
                    Settle(run, Result(probe, attempt, PortStatus.Filtered, answered: false, Describe(error)));
                    return;
                default:
                    socket.Dispose();
                    if (!TryRetryLocal(attempt, error))
                    {
                        Settle(run, Result(probe, attempt, PortStatus.Error, answered: false, Describe(error)));
                    }

                    return;
            }

            if (socket.IsSelfConnect())
            {
                socket.CloseAbortive();
                Settle(run, Result(probe, attempt, PortStatus.Closed, answered: true,
                    "Connection refused (the connect reached its own socket: the OS picked the probed port as the local port)."));
                return;
            }

            if (!run.Close())
            {
                socket.CloseAbortive();
                return;
            }

            CountOpen();
            string? again = attempt.Try > 0 ? $"Answered on try {attempt.Try + 1}." : null;
            if (_options.Tls)
            {
                Watch(probe, InspectTlsAsync(socket.Socket, probe, Result(probe, attempt, PortStatus.Open, answered: true, again)));
            }
            else if (_options.Banner)
            {
                Watch(probe, ReadBannerAsync(socket.Socket, probe, Result(probe, attempt, PortStatus.Open, answered: true, again)));
            }
            else
            {
                socket.CloseAbortive();
                End(probe, Result(probe, attempt, PortStatus.Open, answered: true, again));
            }
        }

        // A deadline of the probe, on the sweeper's thread: the timeout, or the next hedged connect.
        private void OnDeadline(ProbeRun run, int lane)
        {
            try
            {
                if (lane == ExpiryLane)
                {
                    if (run.IsClosed)
                    {
                        return;
                    }

                    Settle(run, Result(run.Probe, null, PortStatus.Filtered, answered: false,
                        $"No answer within {_options.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s{Tries(run.Tries)}."));
                }
                else if (!Token.IsCancellationRequested && !IsDisposed && run.NextTry(_options.Retries + 1) is int next)
                {
                    Connect(run, next, 0);
                }
            }
            catch (Exception ex)
            {
                Fail(run.Probe, ex);
            }
        }

        /// <summary>The probe's answer: the first one counts; the probe's other connects are closed.</summary>
        private void Settle(ProbeRun run, PortCheckResult result)
        {
            if (run.Close())
            {
                End(run.Probe, result);
            }
        }

        /// <summary>
        /// A probe that failed for a local, passing reason (no ephemeral port free at that
        /// instant, no buffer space) is tried again a few times before it is reported as Error:
        /// it says nothing about the target. Out of descriptors (EMFILE) is not passing: the scan
        /// lowers its bound on probes in flight for good and the probe waits, longer each time,
        /// for other probes to free theirs.
        /// </summary>
        private bool TryRetryLocal(Attempt attempt, SocketError error)
        {
            bool outOfDescriptors = error == SocketError.TooManyOpenSockets;
            bool passing = outOfDescriptors || error is SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse
                or SocketError.NoBufferSpaceAvailable or SocketError.TryAgain;
            int maxRetries = outOfDescriptors ? MaxDescriptorRetries : MaxLocalRetries;
            if (!passing || attempt.LocalRetry >= maxRetries || Token.IsCancellationRequested || IsDisposed)
            {
                return false;
            }

            int delay = 20 * (attempt.LocalRetry + 1);
            if (outOfDescriptors)
            {
                Slots.Withdraw(Math.Max(1, Slots.InUse / 8));
                delay = Math.Min(1000, 50 << Math.Min(5, attempt.LocalRetry));
            }

            var run = attempt.Run;
            _ = Task.Delay(delay, Token).ContinueWith(
                t =>
                {
                    try
                    {
                        if (t.IsCanceled)
                        {
                            End(run.Probe, null);
                        }
                        else if (!run.IsClosed)
                        {
                            Connect(run, attempt.Try, attempt.LocalRetry + 1);
                        }
                    }
                    catch (Exception ex)
                    {
                        Fail(run.Probe, ex);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return true;
        }

        /// <inheritdoc />
        protected override void AbortAll()
        {
            if (_timeouts is not null)
            {
                foreach (var run in _timeouts.Snapshot())
                {
                    ((ProbeRun)run).Abort();
                }
            }

            foreach (var run in _waiting.Keys)
            {
                run.Abort();
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing && !IsDisposed)
            {
                _timeouts?.Dispose();
                base.Dispose(disposing);
                _waiter?.Dispose();
                CloseSpares();
                foreach (var args in _argsPool.ToArray())
                {
                    args.Dispose();
                }

                return;
            }

            base.Dispose(disposing);
        }

        private static string Tries(int tries) =>
            tries <= 1 ? "" : $" ({tries.ToString(CultureInfo.InvariantCulture)} tries)";
    }
}

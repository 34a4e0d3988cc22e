namespace PSSocket.Net
{
    /// <summary>
    /// A port scan without its probe: targets are expanded (<see cref="ScanTargets"/>), every
    /// address × port becomes one probe started under a slot (<see cref="ProbeSlots"/>), and every
    /// probe ends with exactly one typed result in a queue (<see cref="ScanItem{TResult}"/>) that the
    /// caller takes from its own thread, in completion order. A subclass supplies the probe (TCP
    /// connect, UDP datagram) and the result row of a target that could not be probed.
    /// </summary>
    /// <typeparam name="TResult">The result row type.</typeparam>
    public abstract class ScanEngine<TResult> : IDisposable
        where TResult : class
    {
        private readonly CancellationTokenSource _cts;
        private readonly ScanTargets _targets;
        private readonly ScanResultQueue<ScanItem<TResult>> _output = new();
        private readonly ConcurrentQueue<(PortScanTarget Target, long Id)> _queued = new();
        private readonly SemaphoreSlim _targetSignal = new(0);
        private readonly Task _pump;
        private CancellationTokenRegistration? _stopRegistration;
        private int _active = 1;
        private int _queuedTargets;
        private long _nextTargetId;
        private volatile bool _completed;
        private volatile bool _disposed;
        private Exception? _fault;
        private long _expected;
        private long _finished;
        private long _open;

        /// <summary>Starts the engine; it probes targets as <see cref="Add"/> hands them over.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for a ThrottleLimit below 1.</exception>
        protected ScanEngine(ScanOptions options, CancellationToken token)
        {
            Options = options ?? throw new ArgumentNullException(nameof(options));
            if (options.ThrottleLimit < 1)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.", target: options.ThrottleLimit);
            }

            if (options.Retries < 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "Retries must be 0 or more.", target: options.Retries);
            }

            _cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            Token = _cts.Token;
            _targets = new ScanTargets(options, Token);
            int limit = options.ThrottleLimit;
            if (options.LimitByDescriptors && DescriptorLimit.ProbeBudget() is int budget && budget / options.SocketsPerProbe < limit)
            {
                // Every probe in flight holds its sockets: past the descriptor limit sockets fail, and so does the runtime.
                limit = Math.Max(1, budget / options.SocketsPerProbe);
            }

            Slots = new ProbeSlots(limit);
            _pump = Task.Run(PumpAsync, CancellationToken.None);
        }

        /// <summary>The scan's options.</summary>
        protected ScanOptions Options { get; }

        /// <summary>Cancelled by the caller's token or by <see cref="Dispose()"/>.</summary>
        protected CancellationToken Token { get; }

        /// <summary>True once disposed.</summary>
        protected bool IsDisposed => _disposed;

        internal ProbeSlots Slots { get; }

        /// <summary>The bound on probes in flight: the ThrottleLimit, or less where the process may open fewer descriptors.</summary>
        public int EffectiveThrottleLimit => Slots.Limit;

        /// <summary>The bound on probes in flight now: lower than <see cref="EffectiveThrottleLimit"/> after the process ran out of descriptors.</summary>
        public int CurrentThrottleLimit => Slots.Effective;

        /// <summary>Probes (started, plus ports of targets that could not be probed) expected so far; grows as names resolve.</summary>
        public long Expected => Interlocked.Read(ref _expected);

        /// <summary>Results produced so far.</summary>
        public long Finished => Interlocked.Read(ref _finished);

        /// <summary>Open ports found so far.</summary>
        public long OpenFound => Interlocked.Read(ref _open);

        /// <summary>Targets handed over and not yet started.</summary>
        public int QueuedTargets => Volatile.Read(ref _queuedTargets);

        /// <summary>True once every result has been taken after <see cref="Complete"/>; never after cancellation, so the caller's next take throws.</summary>
        public bool IsFinished => _output.IsCompleted && !Token.IsCancellationRequested;

        /// <summary>Queues a target; a name starts resolving at once. Checks ranges here, so misuse throws to the caller.</summary>
        /// <returns>The target's number (0, 1, 2 ... in the order added), which its results carry.</returns>
        /// <exception cref="PSSocketException">RangeTooLarge or InvalidArgument (range of the wrong address family).</exception>
        /// <exception cref="InvalidOperationException">after <see cref="Complete"/>.</exception>
        public long Add(PortScanTarget target)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (_completed)
            {
                throw new InvalidOperationException("Complete() was called; no more targets can be added.");
            }

            _targets.Begin(target);
            // Registered here, not in the constructor: by now the subclass is fully built.
            _stopRegistration ??= Token.Register(AbortAll);
            long id = _nextTargetId++;
            Interlocked.Increment(ref _queuedTargets);
            _queued.Enqueue((target, id));
            _targetSignal.Release();
            return id;
        }

        /// <summary>No more targets: the results end after the last queued probe finishes.</summary>
        public void Complete()
        {
            if (!_completed)
            {
                _completed = true;
                _targetSignal.Release();
            }
        }

        /// <summary>Takes the next result within the wait. False on timeout or when finished.</summary>
        /// <remarks>One consumer thread only. Slots are handed back in small batches to save wake-ups.</remarks>
        /// <exception cref="OperationCanceledException">when the token is cancelled.</exception>
        /// <exception cref="PSSocketException">when the engine itself failed (not a target: those are results).</exception>
        public bool TryTake(out ScanItem<TResult> item, int millisecondsTimeout)
        {
            Token.ThrowIfCancellationRequested();
            if (_output.TryTake(out item, 0, Token))
            {
                Slots.Taken();
                return true;
            }

            Slots.Flush();
            if (millisecondsTimeout != 0 && _output.TryTake(out item, millisecondsTimeout, Token))
            {
                Slots.Taken();
                return true;
            }

            if (_output.IsCompleted && _fault is Exception fault)
            {
                throw new PSSocketException(SocketErrorKind.SocketError, "The port scan stopped: " + fault.Message, fault);
            }

            return false;
        }

        /// <summary>
        /// Starts one probe; it ends with <see cref="End"/>, once. A probe that throws, here or in
        /// a task handed to <see cref="Watch"/>, ends as an Error row (see <see cref="Fail"/>): the
        /// scan goes on and still ends.
        /// </summary>
        protected abstract void StartProbe(ScanProbe probe);

        /// <summary>The result row for one port of a target that could not be probed.</summary>
        protected abstract TResult Unprobed(PortScanTarget target, int port, PSSocketException failure);

        /// <summary>Closes every probe in flight (cancellation, dispose).</summary>
        protected abstract void AbortAll();

        /// <summary>Counts an open port for <see cref="OpenFound"/>.</summary>
        protected void CountOpen() => Interlocked.Increment(ref _open);

        /// <summary>
        /// The one end of every probe: its result is queued for the caller (with an error the caller
        /// writes beside it, such as a failure of the scan's proxy), or with no result (cancelled) its
        /// slot is free again. Only the first call for a probe counts.
        /// </summary>
        protected void End(ScanProbe probe, TResult? result, PSSocketException? error = null)
        {
            if (probe is null)
            {
                throw new ArgumentNullException(nameof(probe));
            }

            if (Interlocked.Exchange(ref probe.Ended, 1) != 0)
            {
                return;
            }

            if (result is null)
            {
                if (!_disposed)
                {
                    Slots.Release();
                }

                ReleaseActive();
                return;
            }

            Enqueue(new ScanItem<TResult>(result, error, probe.TargetId, probe.PortIndex, probe.AddressCount));
        }

        /// <summary>
        /// A probe that failed in a way it did not foresee ends as an Error row saying so, or
        /// without one when the scan was stopped.
        /// </summary>
        protected void Fail(ScanProbe probe, Exception error)
        {
            if (probe is null)
            {
                throw new ArgumentNullException(nameof(probe));
            }

            if (error is OperationCanceledException && Token.IsCancellationRequested)
            {
                End(probe, null);
                return;
            }

            var failure = new PSSocketException(SocketErrorKind.SocketError,
                $"The probe of port {probe.Port} failed: {error?.Message}", error, target: probe.Label);
            End(probe, Unprobed(probe.Target, probe.Port, failure));
        }

        /// <summary>
        /// Watches the asynchronous part of a probe, which ends it with <see cref="End"/>: when the
        /// work throws, or finishes without having ended the probe, the probe ends as
        /// <see cref="Fail"/> says, so no probe is left holding its slot.
        /// </summary>
        protected void Watch(ScanProbe probe, Task work)
        {
            if (work is null)
            {
                throw new ArgumentNullException(nameof(work));
            }

            work.ContinueWith(
                (t, state) =>
                {
                    var p = (ScanProbe)state!;
                    if (t.Status != TaskStatus.RanToCompletion)
                    {
                        Fail(p, t.Exception?.GetBaseException() ?? new OperationCanceledException());
                    }
                    else if (Volatile.Read(ref p.Ended) == 0)
                    {
                        Fail(p, new InvalidOperationException("The probe finished without a result."));
                    }
                },
                probe,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        /// <summary>Something broke the engine itself: the scan stops and the caller's next take says why.</summary>
        protected void Fault(Exception error)
        {
            _fault ??= error;
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile.
            }
        }

        private void Enqueue(ScanItem<TResult> item)
        {
            Interlocked.Increment(ref _finished);
            if (!_disposed)
            {
                try
                {
                    // Bounded: a slot was taken for this item before its probe started.
                    _output.Add(item);
                }
                catch (ObjectDisposedException)
                {
                    // Disposed while the probe ran: nobody takes results any more.
                }
            }

            ReleaseActive();
        }

        private void ReleaseActive()
        {
            if (Interlocked.Decrement(ref _active) == 0 && !_disposed)
            {
                try
                {
                    _output.CompleteAdding();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed meanwhile.
                }
            }
        }

        private async Task PumpAsync()
        {
            try
            {
                while (true)
                {
                    await _targetSignal.WaitAsync(Token).ConfigureAwait(false);
                    if (_queued.TryDequeue(out var next))
                    {
                        await RunTargetAsync(next.Target, next.Id).ConfigureAwait(false);
                        Interlocked.Decrement(ref _queuedTargets);
                    }
                    else if (_completed)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                // Stopped: AbortAll closes what is in flight.
            }
            catch (Exception ex)
            {
                _fault ??= ex;
            }
            finally
            {
                ReleaseActive();
            }
        }

        private async Task RunTargetAsync(PortScanTarget target, long id)
        {
            var expanded = await _targets.ExpandAsync(target).ConfigureAwait(false);
            int[] ports = target.Ports;
            if (expanded.Error is PSSocketException error)
            {
                Interlocked.Add(ref _expected, ports.Length);
                for (int i = 0; i < ports.Length; i++)
                {
                    await Slots.WaitAsync(Token).ConfigureAwait(false);
                    Interlocked.Increment(ref _active);
                    Enqueue(new ScanItem<TResult>(Unprobed(target, ports[i], error), i == 0 ? error : null, id, i, 1));
                }

                return;
            }

            Interlocked.Add(ref _expected, expanded.Count * ports.Length);
            if (expanded.ResolvedRemotely)
            {
                for (int i = 0; i < ports.Length; i++)
                {
                    await Slots.WaitAsync(Token).ConfigureAwait(false);
                    Start(new ScanProbe(target, target.Host, null, ports[i], id, i, 1));
                }

                return;
            }

            foreach (var address in expanded.Addresses)
            {
                string label = expanded.LabelFor(address);
                for (int i = 0; i < ports.Length; i++)
                {
                    await Slots.WaitAsync(Token).ConfigureAwait(false);
                    Start(new ScanProbe(target, label, address, ports[i], id, i, expanded.Count));
                }
            }
        }

        private void Start(ScanProbe probe)
        {
            Interlocked.Increment(ref _active);
            try
            {
                StartProbe(probe);
            }
            catch (Exception ex)
            {
                Fail(probe, ex);
            }
        }

        /// <summary>Stops probing, closes every probe in flight and releases the engine.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Releases the engine; a subclass releases its own resources, then calls this.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (_disposed || !disposing)
            {
                return;
            }

            _cts.Cancel();
            _disposed = true;
            AbortAll();
            _stopRegistration?.Dispose();
            _cts.Dispose();
            _output.Dispose();
            Slots.Dispose();
        }
    }

    /// <summary>One address × port to probe, and where its result belongs.</summary>
    public sealed class ScanProbe
    {
        // 0 until the probe ended (ScanEngine.End), then 1.
        internal int Ended;

        internal ScanProbe(PortScanTarget target, string label, IPAddress? address, int port, long targetId, int portIndex, long addressCount)
        {
            Target = target;
            Label = label;
            Address = address;
            Port = port;
            TargetId = targetId;
            PortIndex = portIndex;
            AddressCount = addressCount;
        }

        /// <summary>The target the probe belongs to.</summary>
        public PortScanTarget Target { get; }

        /// <summary>The ComputerName the result carries (the name as given, or the address of a range).</summary>
        public string Label { get; }

        /// <summary>
        /// The address to probe; null when the name is not resolved here but travels to the proxy as
        /// it is (<see cref="ScanOptions.ResolveNamesRemotely"/>): <see cref="Label"/> is that name.
        /// </summary>
        public IPAddress? Address { get; }

        /// <summary>The port to probe.</summary>
        public int Port { get; }

        /// <summary>The target's number.</summary>
        public long TargetId { get; }

        /// <summary>The port's index in the target's list.</summary>
        public int PortIndex { get; }

        /// <summary>How many addresses the target expanded to.</summary>
        public long AddressCount { get; }
    }
}

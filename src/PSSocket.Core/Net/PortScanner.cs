using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket.Net
{
    /// <summary>How <see cref="PortScanner"/> probes.</summary>
    public sealed class PortScanOptions
    {
        /// <summary>The default bound on probes in flight.</summary>
        public const int DefaultThrottleLimit = 1000;

        /// <summary>The most addresses one range may expand to without <see cref="AllowLargeRanges"/>.</summary>
        public const int DefaultMaxRangeAddresses = 4096;

        /// <summary>How long a connect may wait for an answer before the port counts as Filtered; zero or less: no limit of ours.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>How many probes may be in flight (and finished but not yet taken) at once.</summary>
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <summary>Restricts names to IPv4 or IPv6 addresses; Unspecified probes every address.</summary>
        public AddressFamily AddressFamily { get; set; } = AddressFamily.Unspecified;

        /// <summary>Probes only the first address a name resolves to.</summary>
        public bool FirstAddress { get; set; }

        /// <summary>Runs a TLS handshake on every open port and records the certificate.</summary>
        public bool Tls { get; set; }

        /// <summary>Lets ranges expand up to 2^<see cref="Cidr.MaxHostBits"/> addresses.</summary>
        public bool AllowLargeRanges { get; set; }

        /// <summary>How long resolving one name may take.</summary>
        public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Tests only: the local endpoint a probe binds before connecting, or null.</summary>
        internal Func<IPEndPoint, IPEndPoint?>? LocalEndPointFor { get; set; }
    }

    /// <summary>
    /// Probes target × port with non-blocking connects. At most ThrottleLimit probes are in flight or
    /// waiting to be taken; results are taken with <see cref="TryTake"/> in completion order, so the
    /// caller streams them from its own thread. A connect that ends with the socket connected to itself
    /// (loopback, the OS picked the probed port as the local port) is Closed; open probes are closed
    /// with a reset so a full sweep leaves nothing in TIME_WAIT.
    /// </summary>
    public sealed class PortScanner : IDisposable
    {
        private const int Pending = 0, Done = 1, TimedOut = 2, Cancelled = 3;

        private readonly PortScanOptions _options;
        private readonly CancellationTokenSource _cts;
        private readonly CancellationToken _token;
        private readonly SemaphoreSlim _slots;
        private readonly ResultQueue _output = new();
        private readonly int _releaseBatch;
        private int _takenSinceRelease;
        private readonly ConcurrentQueue<PortScanTarget> _targets = new();
        private readonly SemaphoreSlim _targetSignal = new(0);
        // With a timeout: every attempt in start order, until its deadline passes (the sweeper's queue).
        private readonly ConcurrentQueue<Attempt> _inFlight = new();
        // Without one: the attempts still waiting, so Ctrl+C can close them; nothing else holds them.
        private readonly ConcurrentDictionary<Attempt, byte> _waiting = new();
        private readonly ConcurrentQueue<SocketAsyncEventArgs> _argsPool = new();
        private readonly ConcurrentDictionary<PortScanTarget, Task<IPAddress[]>> _lookups = new();
        private readonly Timer? _sweeper;
        private readonly long _timeoutTicks;
        private readonly Task _pump;
        private int _active = 1;
        private int _queuedTargets;
        private int _sweeping;
        private volatile bool _completed;
        private volatile bool _disposed;
        private Exception? _fault;
        private long _expected;
        private long _finished;
        private long _open;

        /// <summary>Starts the engine; it probes targets as <see cref="Add"/> hands them over.</summary>
        public PortScanner(PortScanOptions options, CancellationToken token)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (options.ThrottleLimit < 1)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "ThrottleLimit must be at least 1.", target: options.ThrottleLimit);
            }

            _cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            _token = _cts.Token;
            _slots = new SemaphoreSlim(options.ThrottleLimit, options.ThrottleLimit);
            _releaseBatch = Math.Max(1, Math.Min(64, options.ThrottleLimit / 8));
            bool hasTimeout = options.Timeout > TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan;
            _timeoutTicks = hasTimeout ? (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            if (hasTimeout)
            {
                int period = (int)Math.Max(5, Math.Min(100, options.Timeout.TotalMilliseconds / 20));
                _sweeper = new Timer(_ => Sweep(), null, period, period);
            }

            _token.Register(AbortAll);
            _pump = Task.Run(PumpAsync, CancellationToken.None);
        }

        /// <summary>Probes (connects started plus ports of unresolvable names) expected so far; grows as names resolve.</summary>
        public long Expected => Interlocked.Read(ref _expected);

        /// <summary>Results produced so far.</summary>
        public long Finished => Interlocked.Read(ref _finished);

        /// <summary>Open ports found so far.</summary>
        public long OpenFound => Interlocked.Read(ref _open);

        /// <summary>Targets handed over and not yet started.</summary>
        public int QueuedTargets => Volatile.Read(ref _queuedTargets);

        /// <summary>True once every result has been taken after <see cref="Complete"/>; never after cancellation, so the caller's next take throws.</summary>
        public bool IsFinished => _output.IsCompleted && !_token.IsCancellationRequested;

        /// <summary>Queues a target; a name starts resolving at once. Checks ranges here, so misuse throws to the caller.</summary>
        /// <exception cref="PSSocketException">RangeTooLarge or InvalidArgument (range of the wrong address family).</exception>
        public void Add(PortScanTarget target)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (_completed)
            {
                throw new InvalidOperationException("Complete() was called; no more targets can be added.");
            }

            if (target.Range is Cidr range)
            {
                var family = _options.AddressFamily;
                if (family != AddressFamily.Unspecified && family != range.AddressFamily)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"{range} is an {(range.AddressFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} range but only {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} was asked for.", target: target.Host);
                }

                if (range.Count > PortScanOptions.DefaultMaxRangeAddresses && !_options.AllowLargeRanges)
                {
                    throw new PSSocketException(SocketErrorKind.RangeTooLarge,
                        $"{range} holds {range.Count.ToString("N0", CultureInfo.InvariantCulture)} addresses; more than {PortScanOptions.DefaultMaxRangeAddresses.ToString("N0", CultureInfo.InvariantCulture)} needs -Force.", target: target.Host);
                }

                if (range.HostBits > Cidr.MaxHostBits)
                {
                    _ = range.Enumerate();
                }
            }
            else if (target.Literal is null)
            {
                var family = _options.AddressFamily == AddressFamily.Unspecified ? (AddressFamily?)null : _options.AddressFamily;
                var lookup = Endpoints.ResolveAsync(target.Host, family, Deadline.After(_options.ResolveTimeout), _token);
                _ = lookup.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                _lookups[target] = lookup;
            }

            Interlocked.Increment(ref _queuedTargets);
            _targets.Enqueue(target);
            _targetSignal.Release();
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

        /// <summary>
        /// Takes the next result (a <see cref="PortCheckResult"/>, or a <see cref="PSSocketException"/> for a
        /// target that could not be probed) within the wait. False on timeout or when finished.
        /// </summary>
        /// <remarks>One consumer thread only. Slots are handed back in small batches to save wake-ups.</remarks>
        /// <exception cref="OperationCanceledException">when the token is cancelled.</exception>
        public bool TryTake(out object? item, int millisecondsTimeout)
        {
            _token.ThrowIfCancellationRequested();
            if (_output.TryTake(out item, 0, _token))
            {
                Taken();
                return true;
            }

            ReturnSlots();
            if (millisecondsTimeout != 0 && _output.TryTake(out item, millisecondsTimeout, _token))
            {
                Taken();
                return true;
            }

            if (_output.IsCompleted && _fault is Exception fault)
            {
                throw new InvalidOperationException("The port scan failed: " + fault.Message, fault);
            }

            return false;
        }

        private void Taken()
        {
            if (++_takenSinceRelease >= _releaseBatch)
            {
                ReturnSlots();
            }
        }

        private void ReturnSlots()
        {
            if (_takenSinceRelease > 0)
            {
                _slots.Release(_takenSinceRelease);
                _takenSinceRelease = 0;
            }
        }

        /// <summary>Takes results until the scan is finished (for tests and simple callers).</summary>
        public IEnumerable<object> TakeAll()
        {
            while (!IsFinished)
            {
                if (TryTake(out var item, 100) && item is not null)
                {
                    yield return item;
                }
            }
        }

        private async Task PumpAsync()
        {
            try
            {
                while (true)
                {
                    await _targetSignal.WaitAsync(_token).ConfigureAwait(false);
                    if (_targets.TryDequeue(out var target))
                    {
                        await RunTargetAsync(target).ConfigureAwait(false);
                        Interlocked.Decrement(ref _queuedTargets);
                    }
                    else if (_completed)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (_token.IsCancellationRequested)
            {
                // Stopped: AbortAll closes what is in flight.
            }
            catch (Exception ex)
            {
                _fault = ex;
            }
            finally
            {
                ReleaseActive();
            }
        }

        private async Task RunTargetAsync(PortScanTarget target)
        {
            int[] ports = target.Ports;
            IEnumerable<IPAddress> addresses;
            bool labelIsAddress = false;
            if (target.Range is Cidr range)
            {
                addresses = range.Enumerate();
                labelIsAddress = true;
                Interlocked.Add(ref _expected, (long)range.Count * ports.Length);
            }
            else if (target.Literal is IPAddress literal)
            {
                if (_options.AddressFamily != AddressFamily.Unspecified && literal.AddressFamily != _options.AddressFamily)
                {
                    await FailTargetAsync(target, new PSSocketException(SocketErrorKind.HostNotFound,
                        $"{literal} is not an {(_options.AddressFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address.", target: target.Host)).ConfigureAwait(false);
                    return;
                }

                addresses = new[] { literal };
                Interlocked.Add(ref _expected, ports.Length);
            }
            else
            {
                IPAddress[] resolved;
                _lookups.TryRemove(target, out var lookup);
                try
                {
                    resolved = await lookup!.ConfigureAwait(false);
                }
                catch (PSSocketException ex)
                {
                    await FailTargetAsync(target, ex).ConfigureAwait(false);
                    return;
                }

                if (_options.FirstAddress && resolved.Length > 1)
                {
                    resolved = new[] { resolved[0] };
                }

                addresses = resolved;
                Interlocked.Add(ref _expected, (long)resolved.Length * ports.Length);
            }

            foreach (var address in addresses)
            {
                string label = labelIsAddress ? address.ToString() : target.Host;
                foreach (int port in ports)
                {
                    await _slots.WaitAsync(_token).ConfigureAwait(false);
                    Start(label, address, port);
                }
            }
        }

        private async Task FailTargetAsync(PortScanTarget target, PSSocketException error)
        {
            Interlocked.Add(ref _expected, target.Ports.Length);
            await _slots.WaitAsync(_token).ConfigureAwait(false);
            Interlocked.Increment(ref _active);
            Deliver(error, counts: false);
            foreach (int port in target.Ports)
            {
                await _slots.WaitAsync(_token).ConfigureAwait(false);
                Interlocked.Increment(ref _active);
                Deliver(new PortCheckResult
                {
                    ComputerName = target.Host,
                    Port = port,
                    Status = PortStatus.Error,
                    Service = WellKnownPorts.NameOf(port),
                    Detail = error.Message,
                });
            }
        }

        private void Start(string label, IPAddress address, int port, int retry = 0)
        {
            Interlocked.Increment(ref _active);
            var attempt = new Attempt(label, address, port) { Retry = retry };
            try
            {
                attempt.Socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (_options.LocalEndPointFor?.Invoke(new IPEndPoint(address, port)) is IPEndPoint local)
                {
                    attempt.Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    attempt.Socket.Bind(local);
                }
            }
            catch (SocketException ex)
            {
                attempt.Socket?.Dispose();
                if (TryRetry(attempt, ex.SocketErrorCode))
                {
                    return;
                }

                Deliver(Result(attempt, PortStatus.Error, Stopwatch.GetTimestamp(),
                    ex.SocketErrorCode == SocketError.TooManyOpenSockets
                        ? "Out of sockets (file descriptors): lower -ThrottleLimit. " + ex.Message
                        : "Could not create the probe socket: " + ex.Message));
                return;
            }

            if (!_argsPool.TryDequeue(out var args))
            {
                args = new SocketAsyncEventArgs();
                args.Completed += (_, e) => OnConnected(e);
            }

            args.UserToken = attempt;
            args.RemoteEndPoint = new IPEndPoint(address, port);
            attempt.Started = Stopwatch.GetTimestamp();
            attempt.Deadline = _timeoutTicks == long.MaxValue ? long.MaxValue : attempt.Started + _timeoutTicks;
            if (_timeoutTicks == long.MaxValue)
            {
                _waiting[attempt] = 0;
            }
            else
            {
                _inFlight.Enqueue(attempt);
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
            else if (_token.IsCancellationRequested)
            {
                Abort(attempt, Cancelled);
            }
        }

        private void OnConnected(SocketAsyncEventArgs args)
        {
            try
            {
                var attempt = (Attempt)args.UserToken!;
                var error = args.SocketError;
                long end = Stopwatch.GetTimestamp();
                args.UserToken = null;
                args.RemoteEndPoint = null;
                _argsPool.Enqueue(args);
                int prior = Interlocked.Exchange(ref attempt.State, Done);
                if (_timeoutTicks == long.MaxValue)
                {
                    _waiting.TryRemove(attempt, out _);
                }

                Finish(attempt, prior, error, end);
            }
            catch (Exception ex)
            {
                // An exception on an I/O completion thread would end the process; record it instead.
                _fault ??= ex;
                _cts.Cancel();
            }
        }

        private void Finish(Attempt attempt, int prior, SocketError error, long end)
        {
            var socket = attempt.Socket!;
            if (prior == Cancelled || (_token.IsCancellationRequested && error == SocketError.OperationAborted))
            {
                socket.Dispose();
                Drop();
                return;
            }

            if (prior == TimedOut)
            {
                socket.Dispose();
                Deliver(Result(attempt, PortStatus.Filtered, end,
                    $"No answer within {_options.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s."));
                return;
            }

            switch (error)
            {
                case SocketError.Success:
                    break;
                case SocketError.ConnectionRefused:
                    socket.Dispose();
                    Deliver(Result(attempt, PortStatus.Closed, end, "Connection refused."));
                    return;
                case SocketError.TimedOut:
                case SocketError.HostUnreachable:
                case SocketError.NetworkUnreachable:
                case SocketError.HostDown:
                case SocketError.AccessDenied:
                    socket.Dispose();
                    Deliver(Result(attempt, PortStatus.Filtered, end, Describe(error)));
                    return;
                default:
                    socket.Dispose();
                    if (TryRetry(attempt, error))
                    {
                        return;
                    }

                    Deliver(Result(attempt, PortStatus.Error, end, Describe(error)));
                    return;
            }

            if (IsSelfConnect(socket))
            {
                CloseAbortive(socket);
                Deliver(Result(attempt, PortStatus.Closed, end,
                    "Connection refused (the connect reached its own socket: the OS picked the probed port as the local port)."));
                return;
            }

            var open = Result(attempt, PortStatus.Open, end, null);
            Interlocked.Increment(ref _open);
            if (!_options.Tls)
            {
                CloseAbortive(socket);
                Deliver(open);
                return;
            }

            _ = InspectTlsAsync(socket, attempt, open);
        }

        private async Task InspectTlsAsync(Socket socket, Attempt attempt, PortCheckResult result)
        {
            try
            {
                var timeout = _timeoutTicks == long.MaxValue ? TimeSpan.FromSeconds(30) : _options.Timeout;
                await PortTlsProbe.InspectAsync(socket, PortTlsProbe.ServerName(attempt.Label, attempt.Address), timeout, result, _token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                CloseAbortive(socket);
                Drop();
                return;
            }
            catch (Exception ex)
            {
                result.TlsError = "The TLS handshake failed: " + ex.Message;
            }

            CloseAbortive(socket);
            Deliver(result);
        }

        internal static bool IsSelfConnect(Socket socket)
        {
            try
            {
                return socket.LocalEndPoint is IPEndPoint local && socket.RemoteEndPoint is IPEndPoint remote && local.Equals(remote);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }

        private static void CloseAbortive(Socket socket)
        {
            try
            {
                // Linger 0: close with a reset, so no TIME_WAIT piles up over a full sweep.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The socket is closing anyway; an ordinary close is fine then.
            }

            socket.Dispose();
        }

        private static PortCheckResult Result(Attempt attempt, PortStatus status, long end, string? detail) => new()
        {
            ComputerName = attempt.Label,
            Address = attempt.Address,
            Port = attempt.Port,
            Status = status,
            Latency = attempt.Started == 0 ? 0 : Math.Round((end - attempt.Started) * 1000.0 / Stopwatch.Frequency, 3),
            Service = WellKnownPorts.NameOf(attempt.Port),
            Detail = detail,
        };

        private static string Describe(SocketError error) => error switch
        {
            SocketError.TimedOut => "The connect timed out in the operating system.",
            SocketError.HostUnreachable => "Host unreachable (a router or firewall answered for it).",
            SocketError.NetworkUnreachable => "Network unreachable (no route).",
            SocketError.HostDown => "The host is down.",
            SocketError.AccessDenied => "A local firewall rule refused the connect.",
            SocketError.AddressNotAvailable => "No local port or address was available for the probe (ephemeral ports exhausted?): lower -ThrottleLimit.",
            _ => "The connect failed: " + error + ".",
        };

        /// <summary>
        /// A probe that failed for a local, passing reason (no ephemeral port free at that
        /// instant, no buffer space) is tried again a few times before it is reported as Error:
        /// it says nothing about the target.
        /// </summary>
        private bool TryRetry(Attempt attempt, SocketError error)
        {
            const int MaxRetries = 3;
            bool passing = error is SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse
                or SocketError.NoBufferSpaceAvailable or SocketError.TooManyOpenSockets or SocketError.TryAgain;
            if (!passing || attempt.Retry >= MaxRetries || _token.IsCancellationRequested || _disposed)
            {
                return false;
            }

            _ = Task.Delay(20 * (attempt.Retry + 1), _token).ContinueWith(
                t =>
                {
                    if (!t.IsCanceled)
                    {
                        Start(attempt.Label, attempt.Address, attempt.Port, attempt.Retry + 1);
                    }
                    else
                    {
                        Drop();
                        return;
                    }

                    ReleaseActive();
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return true;
        }

        private void Deliver(object item, bool counts = true)
        {
            if (counts)
            {
                Interlocked.Increment(ref _finished);
            }

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

        private void Drop()
        {
            if (!_disposed)
            {
                try
                {
                    _slots.Release();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed meanwhile: nothing waits for slots.
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

        private void Sweep()
        {
            if (Interlocked.Exchange(ref _sweeping, 1) == 1)
            {
                return;
            }

            try
            {
                long now = Stopwatch.GetTimestamp();
                // Every probe has the same timeout and starts in order, so deadlines are in queue order.
                while (_inFlight.TryPeek(out var attempt) && attempt.Deadline <= now)
                {
                    _inFlight.TryDequeue(out _);
                    Abort(attempt, TimedOut);
                }

                // Probes already answered wait at the head only until their deadline; nothing else to do.
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        }

        private static void Abort(Attempt attempt, int why)
        {
            if (Interlocked.CompareExchange(ref attempt.State, why, Pending) == Pending)
            {
                // Closing the socket ends the pending connect with OperationAborted; OnConnected then reports it.
                attempt.Socket?.Dispose();
            }
        }

        private void AbortAll()
        {
            foreach (var attempt in _inFlight.ToArray())
            {
                Abort(attempt, Cancelled);
            }

            foreach (var attempt in _waiting.Keys)
            {
                Abort(attempt, Cancelled);
            }
        }

        /// <summary>Stops probing, closes every socket in flight and releases the engine.</summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _cts.Cancel();
            _disposed = true;
            _sweeper?.Dispose();
            AbortAll();
            foreach (var args in _argsPool.ToArray())
            {
                args.Dispose();
            }

            _cts.Dispose();
            _output.Dispose();
        }

        private sealed class Attempt
        {
            public Attempt(string label, IPAddress address, int port)
            {
                Label = label;
                Address = address;
                Port = port;
            }

            public string Label { get; }

            public int Retry { get; set; }

            public IPAddress Address { get; }

            public int Port { get; }

            public Socket? Socket { get; set; }

            public long Started { get; set; }

            public long Deadline { get; set; }

            // Pending -> Done (answered) | TimedOut (sweeper) | Cancelled (Ctrl+C), exactly once.
            public int State;
        }
    }

    /// <summary>
    /// The results waiting for the consumer: producers never block (the scanner's slots bound it) and
    /// wake the consumer only when it is waiting, so a fast sweep costs no wake-up per result.
    /// </summary>
    internal sealed class ResultQueue : IDisposable
    {
        private readonly ConcurrentQueue<object> _items = new();
        private readonly SemaphoreSlim _wake = new(0);
        private int _waiting;
        private volatile bool _addingCompleted;

        public bool IsCompleted => _addingCompleted && _items.IsEmpty;

        public void Dispose() => _wake.Dispose();

        public void Add(object item)
        {
            _items.Enqueue(item);
            Wake();
        }

        public void CompleteAdding()
        {
            _addingCompleted = true;
            Wake();
        }

        private void Wake()
        {
            if (Volatile.Read(ref _waiting) != 0 && Interlocked.Exchange(ref _waiting, 0) != 0)
            {
                _wake.Release();
            }
        }

        /// <summary>One consumer only. False when nothing came within the wait or all is taken.</summary>
        public bool TryTake(out object? item, int millisecondsTimeout, CancellationToken token)
        {
            if (_items.TryDequeue(out item))
            {
                return true;
            }

            var deadline = Deadline.After(TimeSpan.FromMilliseconds(millisecondsTimeout));
            while (millisecondsTimeout != 0)
            {
                // Announce the wait before the last look, so an Add that misses the look sees the flag.
                Interlocked.Exchange(ref _waiting, 1);
                if (_items.TryDequeue(out item))
                {
                    return true;
                }

                if (_addingCompleted)
                {
                    return _items.TryDequeue(out item);
                }

                var left = deadline.Remaining;
                if (left == TimeSpan.Zero || !_wake.Wait(left, token))
                {
                    token.ThrowIfCancellationRequested();
                    return _items.TryDequeue(out item);
                }

                if (_items.TryDequeue(out item))
                {
                    return true;
                }
            }

            return false;
        }
    }
}

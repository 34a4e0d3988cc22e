using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket.Net
{
    /// <summary>
    /// The TCP connect probe of a port scan (<see cref="ScanEngine{TResult}"/> does the targets, slots
    /// and results): a non-blocking connect per address × port; a connect that gets no answer within
    /// the timeout is tried again afresh up to <see cref="ScanOptions.Retries"/> times before it counts
    /// as Filtered. A connect that ends with the socket connected to itself (loopback, the OS picked the
    /// probed port as the local port) is Closed; open probes are closed with a reset so a full sweep
    /// leaves nothing in TIME_WAIT.
    /// </summary>
    public sealed class PortScanner : ScanEngine<PortCheckResult>
    {
        private const int Pending = 0, Done = 1, TimedOut = 2, Cancelled = 3;

        // A probe that failed for a local, passing reason is tried again this often before it is an Error.
        private const int MaxLocalRetries = 3;

        // Out of descriptors: waits of 50 ms doubling to 1 s, about 20 s in all, for other probes to free theirs.
        private const int MaxDescriptorRetries = 25;

        private readonly PortScanOptions _options;
        // With a timeout: the sweeper holds every attempt until its deadline.
        private readonly ProbeTimeouts? _timeouts;
        // Without one: the attempts still waiting, so Ctrl+C can close them; nothing else holds them.
        private readonly ConcurrentDictionary<Attempt, byte> _waiting = new();
        private readonly ConcurrentQueue<SocketAsyncEventArgs> _argsPool = new();

        // The kinds of proxy failure already written as an error in this scan.
        private readonly System.Collections.Generic.HashSet<SocketErrorKind> _proxyFailuresReported = new();

        /// <summary>Starts the engine; it probes targets as <see cref="ScanEngine{TResult}.Add"/> hands them over.</summary>
        public PortScanner(PortScanOptions options, CancellationToken token)
            : base(options, token)
        {
            _options = options;
            if (options.HasTimeout)
            {
                _timeouts = new ProbeTimeouts(options.Timeout);
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
            if (_options.Proxy is null)
            {
                Connect(new Attempt(probe));
            }
            else
            {
                _ = ProbeThroughProxyAsync(_options.Proxy, new Attempt(probe));
            }
        }

        /// <summary>
        /// One probe through the proxy: a tunnel that stands is Open; the proxy's "refused" is Closed;
        /// its "unreachable", "TTL expired" or no answer in time is Filtered; anything else about the
        /// proxy itself is Error. The proxy's reply is the Detail.
        /// </summary>
        private async Task ProbeThroughProxyAsync(Proxy.ProxyEndpoint proxy, Attempt attempt)
        {
            var probe = attempt.Probe;
            string host = probe.Address.Equals(IPAddress.None) ? probe.Label : probe.Address.ToString();
            var timeout = _options.HasTimeout ? _options.Timeout : TimeSpan.FromSeconds(30);
            attempt.Started = Stopwatch.GetTimestamp();
            Socket? socket = null;
            PortCheckResult result;
            PSSocketException? proxyFailure = null;
            try
            {
                socket = await Net.Proxy.ProxyConnector.ConnectAsync(proxy, null, host, probe.Port, timeout, Token).ConfigureAwait(false);
                attempt.Ended = Stopwatch.GetTimestamp();
                CountOpen();
                result = Result(attempt, PortStatus.Open, answered: true, $"Tunnel through {proxy} stands.");
            }
            catch (OperationCanceledException)
            {
                Drop();
                return;
            }
            catch (PSSocketException ex)
            {
                attempt.Ended = Stopwatch.GetTimestamp();
                var status = ex.Kind switch
                {
                    SocketErrorKind.ProxyTargetRefused => PortStatus.Closed,
                    SocketErrorKind.ProxyTargetUnreachable or SocketErrorKind.ProxyTtlExpired or SocketErrorKind.ConnectionTimedOut => PortStatus.Filtered,
                    _ => PortStatus.Error,
                };
                result = Result(attempt, status, answered: status == PortStatus.Closed, ex.Message);
                proxyFailure = ProxyFailure(ex.Kind, ex);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
            {
                attempt.Ended = Stopwatch.GetTimestamp();
                result = Result(attempt, PortStatus.Error, answered: false, "The proxy connection failed: " + ex.Message);
                proxyFailure = ProxyFailure(SocketErrorKind.ProxyError,
                    new PSSocketException(SocketErrorKind.ProxyError, $"The connection to the proxy {proxy} failed: {ex.Message}", ex, target: proxy.ToString()));
            }

            if (socket is not null)
            {
                CloseAbortive(socket);
            }

            if (probe.Address.Equals(IPAddress.None))
            {
                result.Address = null;
            }

            Deliver(probe, result, proxyFailure);
        }

        /// <summary>
        /// A failure of the proxy itself (unreachable, credential refused, not a proxy, rules) is the
        /// same for every port: the first of each kind goes out as an error beside its row, the
        /// other rows say it in Detail only.
        /// </summary>
        private PSSocketException? ProxyFailure(SocketErrorKind kind, PSSocketException ex)
        {
            if (kind is not (SocketErrorKind.ProxyUnreachable or SocketErrorKind.ProxyAuthenticationFailed or SocketErrorKind.ProxyError or SocketErrorKind.ProxyNotAllowed))
            {
                return null;
            }

            lock (_proxyFailuresReported)
            {
                return _proxyFailuresReported.Add(kind) ? ex : null;
            }
        }

        private void Connect(Attempt attempt)
        {
            var probe = attempt.Probe;
            try
            {
                attempt.Socket = new Socket(probe.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (_options.LocalEndPointFor?.Invoke(new IPEndPoint(probe.Address, probe.Port)) is IPEndPoint local)
                {
                    attempt.Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    attempt.Socket.Bind(local);
                }
            }
            catch (SocketException ex)
            {
                attempt.Socket?.Dispose();
                if (TryRetryLocal(attempt, ex.SocketErrorCode))
                {
                    return;
                }

                Deliver(probe, Result(attempt, PortStatus.Error, answered: false,
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
            args.RemoteEndPoint = new IPEndPoint(probe.Address, probe.Port);
            attempt.Started = Stopwatch.GetTimestamp();
            if (_timeouts is null)
            {
                attempt.Deadline = long.MaxValue;
                _waiting[attempt] = 0;
            }
            else
            {
                attempt.Deadline = attempt.Started + _timeouts.Ticks;
                _timeouts.Add(attempt);
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
                attempt.Abort(Cancelled);
            }
        }

        private void OnConnected(SocketAsyncEventArgs args)
        {
            try
            {
                var attempt = (Attempt)args.UserToken!;
                var error = args.SocketError;
                attempt.Ended = Stopwatch.GetTimestamp();
                args.UserToken = null;
                args.RemoteEndPoint = null;
                _argsPool.Enqueue(args);
                int prior = Interlocked.Exchange(ref attempt.State, Done);
                if (_timeouts is null)
                {
                    _waiting.TryRemove(attempt, out _);
                }

                Finish(attempt, prior, error);
            }
            catch (Exception ex)
            {
                // An exception on an I/O completion thread would end the process; record it instead.
                Fault(ex);
            }
        }

        private void Finish(Attempt attempt, int prior, SocketError error)
        {
            var socket = attempt.Socket!;
            var probe = attempt.Probe;
            if (prior == Cancelled || (Token.IsCancellationRequested && error == SocketError.OperationAborted))
            {
                socket.Dispose();
                Drop();
                return;
            }

            if (prior == TimedOut)
            {
                socket.Dispose();
                if (attempt.Try < _options.Retries && !Token.IsCancellationRequested && !IsDisposed)
                {
                    Connect(attempt.Next());
                    return;
                }

                Deliver(probe, Result(attempt, PortStatus.Filtered, answered: false,
                    $"No answer within {_options.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s{Tries(attempt)}."));
                return;
            }

            switch (error)
            {
                case SocketError.Success:
                    break;
                case SocketError.ConnectionRefused:
                    socket.Dispose();
                    Deliver(probe, Result(attempt, PortStatus.Closed, answered: true, "Connection refused."));
                    return;
                case SocketError.TimedOut:
                case SocketError.HostUnreachable:
                case SocketError.NetworkUnreachable:
                case SocketError.HostDown:
                case SocketError.AccessDenied:
                    socket.Dispose();
                    Deliver(probe, Result(attempt, PortStatus.Filtered, answered: false, Describe(error)));
                    return;
                default:
                    socket.Dispose();
                    if (TryRetryLocal(attempt, error))
                    {
                        return;
                    }

                    Deliver(probe, Result(attempt, PortStatus.Error, answered: false, Describe(error)));
                    return;
            }

            if (IsSelfConnect(socket))
            {
                CloseAbortive(socket);
                Deliver(probe, Result(attempt, PortStatus.Closed, answered: true,
                    "Connection refused (the connect reached its own socket: the OS picked the probed port as the local port)."));
                return;
            }

            CountOpen();
            string? again = attempt.Try > 0 ? $"Answered on try {attempt.Try + 1}." : null;
            if (_options.Tls)
            {
                _ = InspectTlsAsync(socket, attempt, again);
            }
            else if (_options.Banner)
            {
                _ = ReadBannerAsync(socket, attempt, again);
            }
            else
            {
                CloseAbortive(socket);
                Deliver(probe, Result(attempt, PortStatus.Open, answered: true, again));
            }
        }

        private async Task InspectTlsAsync(Socket socket, Attempt attempt, string? detail)
        {
            var result = (TlsPortCheckResult)Result(attempt, PortStatus.Open, answered: true, detail);
            Func<Stream, Task>? banner = null;
            if (_options.Banner)
            {
                banner = async stream => result.Banner = await PortBannerProbe.ReadAsync(stream,
                    PortBannerProbe.ProbeFor(attempt.Probe.Port, _options.BannerProbe), _options.BannerTimeout, Token).ConfigureAwait(false);
            }

            try
            {
                var timeout = _timeouts is null ? TimeSpan.FromSeconds(30) : _options.Timeout;
                string serverName = _options.TlsServerName ?? PortTlsProbe.ServerName(attempt.Probe.Label, attempt.Probe.Address);
                await PortTlsProbe.InspectAsync(socket, serverName, timeout, result, Token, _options.CheckRevocation, _options.TrustedCertificates, banner).ConfigureAwait(false);
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
            Deliver(attempt.Probe, result);
        }

        private async Task ReadBannerAsync(Socket socket, Attempt attempt, string? detail)
        {
            var result = (BannerPortCheckResult)Result(attempt, PortStatus.Open, answered: true, detail);
            try
            {
                using var stream = new NetworkStream(socket, ownsSocket: false);
                result.Banner = await PortBannerProbe.ReadAsync(stream, PortBannerProbe.ProbeFor(attempt.Probe.Port, _options.BannerProbe), _options.BannerTimeout, Token).ConfigureAwait(false);
                if (result.Banner is null)
                {
                    result.Detail = Join(detail, $"No banner within {_options.BannerTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.");
                }
            }
            catch (OperationCanceledException)
            {
                CloseAbortive(socket);
                Drop();
                return;
            }

            CloseAbortive(socket);
            Deliver(attempt.Probe, result);
        }

        private static string Join(string? first, string second) => first is null ? second : first + " " + second;

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

        private PortCheckResult Result(Attempt attempt, PortStatus status, bool answered, string? detail)
        {
            var probe = attempt.Probe;
            var result = NewResult();
            result.ComputerName = probe.Label;
            result.Address = probe.Address;
            result.Port = probe.Port;
            result.Status = status;
            result.Latency = answered && attempt.Started != 0 ? Math.Round((attempt.Ended - attempt.Started) * 1000.0 / Stopwatch.Frequency, 3) : null;
            result.Service = WellKnownPorts.NameOf(probe.Port);
            result.Detail = detail;
            return result;
        }

        // Every row of one run has the same type, so Export-Csv writes the same columns for all.
        private PortCheckResult NewResult() =>
            _options.Tls ? new TlsPortCheckResult() : _options.Banner ? new BannerPortCheckResult() : new PortCheckResult();

        private static string Tries(Attempt attempt) =>
            attempt.Try == 0 ? "" : $" ({(attempt.Try + 1).ToString(CultureInfo.InvariantCulture)} tries)";

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

            var next = attempt.Next();
            next.Try = attempt.Try;
            next.LocalRetry = attempt.LocalRetry + 1;
            _ = Task.Delay(delay, Token).ContinueWith(
                t =>
                {
                    if (t.IsCanceled)
                    {
                        Drop();
                    }
                    else
                    {
                        Connect(next);
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
                foreach (var attempt in _timeouts.Snapshot())
                {
                    ((Attempt)attempt).Abort(Cancelled);
                }
            }

            foreach (var attempt in _waiting.Keys)
            {
                attempt.Abort(Cancelled);
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing && !IsDisposed)
            {
                _timeouts?.Dispose();
                base.Dispose(disposing);
                foreach (var args in _argsPool.ToArray())
                {
                    args.Dispose();
                }

                return;
            }

            base.Dispose(disposing);
        }

        /// <summary>One connect of a probe; a retry is a new attempt of the same probe.</summary>
        private sealed class Attempt : ITimedProbe
        {
            public Attempt(ScanProbe probe) => Probe = probe;

            public ScanProbe Probe { get; }

            // Tries after the first that got no answer in time; local retries do not count.
            public int Try { get; set; }

            public int LocalRetry { get; set; }

            public Socket? Socket { get; set; }

            public long Started { get; set; }

            public long Ended { get; set; }

            public long Deadline { get; set; }

            // Pending -> Done (answered) | TimedOut (sweeper) | Cancelled (Ctrl+C), exactly once.
            public int State;

            public Attempt Next() => new(Probe) { Try = Try + 1 };

            public void Expire() => Abort(TimedOut);

            public void Abort(int why)
            {
                if (Interlocked.CompareExchange(ref State, why, Pending) == Pending)
                {
                    // Closing the socket ends the pending connect with OperationAborted; OnConnected then reports it.
                    Socket?.Dispose();
                }
            }
        }
    }
}

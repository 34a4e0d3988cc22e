namespace PSSocket.Net
{
    /// <summary>
    /// The asynchronous ends of a probe: through a proxy, and the TLS handshake or banner of an open
    /// port. Each ends its probe with <see cref="ScanEngine{TResult}.End"/>; what it does not foresee
    /// (a throw) reaches <see cref="ScanEngine{TResult}.Watch"/>, which ends the probe as an Error row.
    /// </summary>
    public sealed partial class PortScanner
    {
        // The kinds of proxy failure already written as an error in this scan.
        private readonly HashSet<SocketErrorKind> _proxyFailuresReported = new();

        /// <summary>
        /// One probe through the proxy: a tunnel that stands is Open; the proxy's "refused" is Closed;
        /// its "unreachable", "TTL expired" or no answer in time is Filtered; anything else about the
        /// proxy itself is Error. The proxy's reply is the Detail. A name the scan did not resolve
        /// (no Address) goes to the proxy as it is, and its results carry no Address.
        /// </summary>
        private async Task ProbeThroughProxyAsync(Proxy.ProxyEndpoint proxy, ScanProbe probe)
        {
            string host = probe.Address?.ToString() ?? probe.Label;
            var timeout = _options.HasTimeout ? _options.Timeout : TimeSpan.FromSeconds(30);
            long started = Stopwatch.GetTimestamp();
            Socket? socket = null;
            PortCheckResult result;
            PSSocketException? proxyFailure = null;
            try
            {
                socket = await Net.Proxy.ProxyConnector.ConnectAsync(proxy, null, host, probe.Port, timeout, Token).ConfigureAwait(false);
                CountOpen();
                result = Result(probe, started, PortStatus.Open, answered: true, $"Tunnel through {proxy} stands.");
            }
            catch (PSSocketException ex)
            {
                var status = ex.Kind switch
                {
                    SocketErrorKind.ProxyTargetRefused => PortStatus.Closed,
                    SocketErrorKind.ProxyTargetUnreachable or SocketErrorKind.ProxyTtlExpired or SocketErrorKind.ConnectionTimedOut => PortStatus.Filtered,
                    _ => PortStatus.Error,
                };
                result = Result(probe, started, status, answered: status == PortStatus.Closed, ex.Message);
                proxyFailure = ProxyFailure(ex.Kind, ex);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException && !Token.IsCancellationRequested)
            {
                result = Result(probe, started, PortStatus.Error, answered: false, "The proxy connection failed: " + ex.Message);
                proxyFailure = ProxyFailure(SocketErrorKind.ProxyError,
                    new PSSocketException(SocketErrorKind.ProxyError, $"The connection to the proxy {proxy} failed: {ex.Message}", ex, target: proxy.ToString()));
            }

            if (socket is not null)
            {
                CloseAbortive(socket);
            }

            End(probe, result, proxyFailure);
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

        private async Task InspectTlsAsync(Socket socket, ScanProbe probe, PortCheckResult row)
        {
            var result = (TlsPortCheckResult)row;
            Func<Stream, Task>? banner = null;
            if (_options.Banner)
            {
                banner = async stream => result.Banner = await PortBannerProbe.ReadAsync(stream,
                    PortBannerProbe.ProbeFor(probe.Port, _options.BannerProbe), _options.BannerTimeout, Token).ConfigureAwait(false);
            }

            try
            {
                var timeout = _timeouts is null ? TimeSpan.FromSeconds(30) : _options.Timeout;
                string serverName = _options.TlsServerName ?? PortTlsProbe.ServerName(probe.Label, probe.Address!);
                await PortTlsProbe.InspectAsync(socket, serverName, timeout, result, Token, _options.CheckRevocation, _options.TrustedCertificates, banner).ConfigureAwait(false);
            }
            catch (Exception ex) when (!Token.IsCancellationRequested)
            {
                result.TlsError = "The TLS handshake failed: " + ex.Message;
            }
            finally
            {
                CloseAbortive(socket);
            }

            End(probe, result);
        }

        private async Task ReadBannerAsync(Socket socket, ScanProbe probe, PortCheckResult row)
        {
            var result = (BannerPortCheckResult)row;
            try
            {
                using var stream = new NetworkStream(socket, ownsSocket: false);
                result.Banner = await PortBannerProbe.ReadAsync(stream, PortBannerProbe.ProbeFor(probe.Port, _options.BannerProbe), _options.BannerTimeout, Token).ConfigureAwait(false);
                if (result.Banner is null)
                {
                    result.Detail = Join(result.Detail, $"No banner within {_options.BannerTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.");
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException && !Token.IsCancellationRequested)
            {
                // The port answered the connect: it stays Open, without a banner.
                result.Detail = Join(result.Detail, "Reading the banner failed: " + ex.Message);
            }
            finally
            {
                CloseAbortive(socket);
            }

            End(probe, result);
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

        private PortCheckResult Result(ScanProbe probe, Attempt? attempt, PortStatus status, bool answered, string? detail) =>
            Result(probe, attempt?.Started ?? 0, status, answered, detail, attempt?.Ended ?? 0);

        private PortCheckResult Result(ScanProbe probe, long started, PortStatus status, bool answered, string? detail, long ended = 0)
        {
            if (ended == 0)
            {
                ended = Stopwatch.GetTimestamp();
            }

            var result = NewResult();
            result.ComputerName = probe.Label;
            result.Address = probe.Address;
            result.Port = probe.Port;
            result.Status = status;
            result.Latency = answered && started != 0 ? Math.Round((ended - started) * 1000.0 / Stopwatch.Frequency, 3) : null;
            result.Service = WellKnownPorts.NameOf(probe.Port);
            result.Detail = detail;
            return result;
        }

        // Every row of one run has the same type, so Export-Csv writes the same columns for all.
        private PortCheckResult NewResult() =>
            _options.Tls ? new TlsPortCheckResult() : _options.Banner ? new BannerPortCheckResult() : new PortCheckResult();

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
    }
}

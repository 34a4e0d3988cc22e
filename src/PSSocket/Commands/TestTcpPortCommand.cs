namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Checks TCP ports on many hosts at once: Open, Closed or Filtered, with latency, optional TLS certificate facts and service banners.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "TcpPort")]
    [OutputType(typeof(PortCheckResult), typeof(TlsPortCheckResult), typeof(BannerPortCheckResult))]
    [OutputType(typeof(bool))]
    public sealed class TestTcpPortCommand : PortCheckCmdlet<PortCheckResult>
    {
        private const int DefaultRetries = 1;

        private PortScanner? _scanner;

        /// <summary>Seconds to wait for an answer before a port counts as Filtered (default 1, fractions allowed; 0 leaves it to the operating system).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        [ValidateRange(0, 3600)]
        public double Timeout { get; set; } = 1;

        /// <summary>
        /// How many more connects a port that has not answered yet gets, each sent while the earlier
        /// ones still wait (hedged), spread evenly over -Timeout (default 1; 0 = one connect). A lost
        /// SYN on a lossy link then does not make an open port look filtered, and a silent port is
        /// still reported after -Timeout.
        /// </summary>
        [Parameter]
        [ValidateRange(0, 10)]
        public int Retries { get; set; } = DefaultRetries;

        /// <summary>The most probes in flight at once (default 1000).</summary>
        [Parameter]
        [ValidateRange(1, 100_000)]
        public int ThrottleLimit { get; set; } = ScanOptions.DefaultThrottleLimit;

        /// <summary>Runs a TLS handshake on open ports and reports protocol and certificate facts.</summary>
        [Parameter]
        public SwitchParameter Tls { get; set; }

        /// <summary>With -Tls: an invalid certificate is not reported as an error (its facts are reported either way).</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>With -Tls: checks the certificate chain against the CRL distribution points it names (fetched online); a revoked certificate, or one whose CRL cannot be fetched, is not valid. Off by default.</summary>
        [Parameter]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>
        /// With -Tls: extra certificates to trust without touching any certificate store: a CA
        /// certificate (object or PEM/DER/PFX path) whose chain the server certificate must end in, or
        /// the server certificate itself. A private-CA endpoint then shows CertificateValid = True.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("CertificateAuthority", "CACertificate")]
        public object[]? TrustedCertificate { get; set; }

        /// <summary>With -Tls: the name sent as SNI and checked against the certificate (default: the name typed, or the address).</summary>
        [Parameter]
        public string? TlsServerName { get; set; }

        /// <summary>Reads what the service says first on every open port (SSH, SMTP, FTP ...) into the Banner property, escaped and bounded.</summary>
        [Parameter]
        public SwitchParameter Banner { get; set; }

        /// <summary>With -Banner: seconds to wait for the banner, apart from -Timeout (default 2).</summary>
        [Parameter]
        [ValidateRange(0.01, 60)]
        public double BannerTimeout { get; set; } = 2;

        /// <summary>
        /// With -Banner: text sent on every open port before the banner is read, for services that wait
        /// for the client ("HEAD / HTTP/1.0`r`n`r`n"). By default only redis (6379) gets one (PING);
        /// an empty string sends nothing anywhere.
        /// </summary>
        [Parameter]
        [AllowEmptyString]
        public string? BannerProbe { get; set; }

        /// <summary>
        /// Checks every port through a proxy: socks5:// (names resolved here), socks5h:// (resolved by
        /// the proxy), socks4://, socks4a:// or http:// (HTTP CONNECT). The proxy's answer decides:
        /// a tunnel is Open, "refused" Closed, "unreachable" or no answer in time Filtered; its reply is in Detail.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ProxyCompleter))]
        public string? Proxy { get; set; }

        /// <summary>The user name and password for the proxy (SOCKS5 user/password, HTTP Basic; SOCKS4 sends the user name only).</summary>
        [Parameter]
        [Credential]
        [ValidateNotNull]
        public PSCredential? ProxyCredential { get; set; }

        /// <inheritdoc />
        protected override string Activity => "Test-TcpPort";

        /// <inheritdoc />
        protected override void ValidateParameters()
        {
            bool tlsDetail = SkipCertificateCheck || CheckRevocation || TrustedCertificate is not null || TlsServerName is not null;
            if (tlsDetail && !Tls)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-SkipCertificateCheck, -CheckRevocation, -TrustedCertificate and -TlsServerName apply only with -Tls.", null));
            }

            bool bannerDetail = MyInvocation.BoundParameters.ContainsKey(nameof(BannerTimeout)) || BannerProbe is not null;
            if (bannerDetail && !Banner)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-BannerTimeout and -BannerProbe apply only with -Banner.", null));
            }

            if (Proxy is not null && (Tls || Banner))
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-Tls and -Banner do not work with -Proxy yet: check the ports through the proxy, then connect with Connect-TcpSocket -Proxy -UseTls.", null));
            }

            CheckTlsServerName(TlsServerName);
        }

        /// <inheritdoc />
        protected override ScanEngine<PortCheckResult> CreateEngine()
        {
            var options = Targeting(new PortScanOptions
            {
                Timeout = Seconds(Timeout),
                Retries = Retries,
                ThrottleLimit = ThrottleLimit,
                Tls = Tls,
                CheckRevocation = CheckRevocation,
                TlsServerName = TlsServerName,
                Banner = Banner,
                BannerTimeout = TimeSpan.FromSeconds(BannerTimeout),
                BannerProbe = BannerProbe,
            });
            CertificateArguments.AddTrusted(this, TrustedCertificate, options.TrustedCertificates);
            if (ProxyArguments.Resolve(Proxy, ProxyCredential) is { } proxy)
            {
                options.Proxy = proxy;
                options.ResolveNamesRemotely = proxy.ResolvesTargetName;
            }

            _scanner = new PortScanner(options, Token);
            if (_scanner.EffectiveThrottleLimit < ThrottleLimit)
            {
                Verbose(() => $"At most {_scanner.EffectiveThrottleLimit} probes in flight (not {ThrottleLimit}): the process may open only so many more file descriptors (ulimit -n).");
            }

            return _scanner;
        }

        /// <inheritdoc />
        protected override bool IsOpen(PortCheckResult result) => result.Status == PortStatus.Open;

        /// <inheritdoc />
        protected override void OnResult(PortCheckResult result)
        {
            if (result is TlsPortCheckResult { CertificateValid: false } tls && !SkipCertificateCheck)
            {
                WriteError(ErrorRecords.Create(SocketErrorKind.AuthenticationFailed,
                    $"The certificate of {Describe(result)} is not valid: {tls.CertificateErrors}. Use -SkipCertificateCheck to report its facts without this error.", result));
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            base.EndProcessing();
            if (_scanner is { } scanner && scanner.CurrentThrottleLimit < scanner.EffectiveThrottleLimit)
            {
                Verbose(() => $"The process ran out of file descriptors during the sweep; probes went on with at most {scanner.CurrentThrottleLimit} in flight.");
            }
        }

        private static string Describe(PortCheckResult r) =>
            r.Address is null || r.ComputerName == r.Address.ToString() ? r.ToString().Split(' ')[0] : $"{r.ComputerName} ({r.ToString().Split(' ')[0]})";
    }
}

using PSSocket.Net.Proxy;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Forwards a local TCP port to a target (each client is connected to the target and bytes are copied both ways until both sides close), or with -Udp a UDP port (each sender gets its own mapping to the target).</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketRelay", DefaultParameterSetName = TcpSet)]
    [OutputType(typeof(RelaySession), ParameterSetName = new[] { TcpSet })]
    [OutputType(typeof(UdpRelaySession), ParameterSetName = new[] { UdpSet })]
    [OutputType(typeof(RelaySession), ParameterSetName = new[] { UnixToTcpSet, TcpToUnixSet, UnixToUnixSet })]
    public sealed partial class StartSocketRelayCommand : StartServerCmdlet, ITlsServerParameters
    {
        /// <summary>How many clients are relayed at once unless -ThrottleLimit says otherwise.</summary>
        public const int DefaultThrottleLimit = 256;

        private const string TcpSet = "Tcp";
        private const string UdpSet = "Udp";

        /// <summary>The local port to listen on, a number or a service name (redis, https; with -Udp dns, syslog ...); 0 lets the system pick one, shown on the relay session (Port, LocalEndPoint).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = TcpSet)]
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = UdpSet)]
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = TcpToUnixSet)]
        [ServicePortTransformation(Protocol = ServiceProtocol.Any)]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The host each client is relayed to (a name or an address).</summary>
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = TcpSet)]
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = UdpSet)]
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = UnixToTcpSet)]
        [Alias("Target", "RemoteHost")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = null!;

        /// <summary>The port on the target: a number or a service name (redis, https; with -Udp dns, ntp, syslog ...).</summary>
        [Parameter(Mandatory = true, Position = 2, ParameterSetName = TcpSet)]
        [Parameter(Mandatory = true, Position = 2, ParameterSetName = UdpSet)]
        [Parameter(Mandatory = true, Position = 2, ParameterSetName = UnixToTcpSet)]
        [ServicePortTransformation(Protocol = ServiceProtocol.Any)]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [Alias("RemotePort")]
        [ValidateRange(1, 65535)]
        public int TargetPort { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>How many clients are relayed at once (default 256); more wait in the accept backlog until one ends. With -Udp: how many senders are mapped at once; datagrams from further senders are refused and counted.</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <summary>
        /// Records the traffic of every relayed client to this file (created readable by its owner
        /// only): each record names the client's endpoint; "&gt;&gt;" is toward the target, "&lt;&lt;" back.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? TranscriptPath { get; set; }

        /// <summary>Text (default): one line per line of data. Hex: per chunk a line with time, client, direction and size, then the lines ncat -x writes.</summary>
        [Parameter]
        public TranscriptFormat TranscriptFormat { get; set; } = TranscriptFormat.Text;

        /// <summary>Refuses to replace an existing -TranscriptPath file (error NoClobber) and starts nothing.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Relays UDP datagrams instead of TCP connections: each sender gets its own mapping (a socket towards the target) until it is idle for -IdleTimeout.</summary>
        [Parameter(ParameterSetName = UdpSet)]
        public SwitchParameter Udp { get; set; }

        /// <summary>
        /// Seconds a relayed connection may carry no byte either way before the relay closes both
        /// sides (default 60, as the servers; 0 = never). With -Udp: seconds a sender's mapping may
        /// see no datagram either way before it expires and its socket is closed (default 60).
        /// </summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double IdleTimeout { get; set; } = 60;

        private string? _transcript;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            CheckWaitParameters();
            Checked(() => TargetEntry.CheckHostCharacters(ComputerName));

            Require("the traffic log", new[] { nameof(TranscriptPath) }, nameof(TranscriptFormat), nameof(NoClobber));
            if (ParameterSetName == UdpSet && Udp)
            {
                RefuseTcpOnlyWithUdp();
                if (IdleTimeout < 0.1)
                {
                    ThrowTerminatingError(ErrorRecords.InvalidArgument("-IdleTimeout 0 (never) applies to TCP connections; a -Udp mapping needs one of 0.1 seconds or more, or it would never be released.", IdleTimeout));
                }

                StartUdpRelay();
                return;
            }

            Require("TLS toward the target", new[] { nameof(UseTls) }, nameof(TlsServerName), nameof(SkipCertificateCheck), nameof(ClientCertificate));
            Require("TLS from the relay's clients", new[] { nameof(Certificate) }, nameof(RequireClientCertificate), nameof(CertificatePassword));
            Require("a certificate check: the target's or the clients'", new[] { nameof(UseTls), nameof(RequireClientCertificate) }, nameof(TrustedCertificate), nameof(CheckRevocation));
            Require("-ClientCertificate", new[] { nameof(ClientCertificate) }, nameof(ClientCertificatePassword));
            Require("a TLS side of the relay", new[] { nameof(Certificate), nameof(UseTls) }, nameof(TlsProtocol));
            CheckTlsServerName(TlsServerName);

            var proxy = Checked(() => ProxyArguments.Resolve(Proxy, ProxyCredential));

            TlsClientOptions? targetTls = null;
            TlsServerOptions? clientTls = null;
            var started = Launch(
                () =>
                {
                    targetTls = UseTls ? TlsArguments.ClientOptions(this, TlsServerName, SkipCertificateCheck, ClientCertificate, ClientCertificatePassword, TrustedCertificate, CheckRevocation, TlsProtocol) : null;
                    clientTls = this.ServerOptions(this);
                    var relay = NewStreamRelay();
                    relay.ClientTls = clientTls;
                    relay.TargetTls = targetTls;
                    relay.Proxy = proxy;
                    relay.IdleTimeout = TimeSpan.FromSeconds(IdleTimeout);
                    relay.DisposeCertificateOnClose = Certificate is not null && CertificateArguments.LoadsNew(Certificate);
                    relay.DisposeClientCertificateOnClose = ClientCertificate is not null && CertificateArguments.LoadsNew(ClientCertificate);
                    return relay;
                },
                relay =>
                {
                    StartTranscript(relay.StartTranscript);
                    relay.Start();
                    Verbose(() => $"Relaying {Endpoints.Format(relay.LocalEndPoint)}{(clientTls is null ? "" : " (TLS)")} to {Endpoints.Format(relay.RemoteEndPoint)}{(UseTls ? " (TLS)" : "")}{(proxy is null ? "" : $" through proxy {proxy}")} (session {relay.Id}, {ThrottleLimit} at a time)");
                },
                Name,
                UnixSocket ?? $"{Address}:{Port}",
                () =>
                {
                    CertificateArguments.DisposeIfLoaded(clientTls?.Certificate, Certificate);
                    CertificateArguments.DisposeIfLoaded(targetTls?.ClientCertificate, ClientCertificate);
                },
                () => _transcript);
            if (started is not null)
            {
                Emit(started);
            }
        }

        /// <summary>Starts the -TranscriptPath traffic log of the relay, remembering the file's full path for an error that names it.</summary>
        private void StartTranscript(Action<string, bool, TranscriptFormat> start)
        {
            if (TranscriptPath is not null)
            {
                _transcript = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath);
                start(_transcript, NoClobber, TranscriptFormat);
            }
        }

        private void StartUdpRelay()
        {
            var started = Launch(
                () => new UdpRelaySession(Endpoints.ParseBindAddress(Address), Port, ComputerName, TargetPort, ThrottleLimit, GlobalSessionRegistry.Instance)
                {
                    IdleTimeout = TimeSpan.FromSeconds(IdleTimeout),
                },
                relay =>
                {
                    StartTranscript(relay.StartTranscript);
                    Run(t => relay.StartAsync(Deadline.AfterSeconds(10), t));
                    Verbose(() => $"Relaying UDP {Endpoints.Format(relay.LocalEndPoint)} to {Endpoints.Format(relay.TargetEndPoint)} (session {relay.Id}, {ThrottleLimit} mappings at most, idle {IdleTimeout} s)");
                },
                Name,
                $"{Address}:{Port}",
                file: () => _transcript);
            if (started is not null)
            {
                Emit(started);
            }
        }
    }
}

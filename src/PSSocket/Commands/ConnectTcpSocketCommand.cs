using PSSocket.Net.Proxy;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Opens a TCP connection and registers it as a session.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "TcpSocket")]
    [OutputType(typeof(TcpSession))]
    public sealed partial class ConnectTcpSocketCommand : TlsTextSessionCmdlet
    {
        /// <summary>The host name or IP address to connect to; "host:port" (or "host:service", e.g. "web01:https") also works when -Port is omitted. A blank entry is an error naming its position; the other entries still connect.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("HostName", "CN", "Address", "IPAddress", "Host")]
        [AllowEmptyString]
        public string ComputerName { get; set; } = "";

        /// <summary>The TCP port (1-65535) or a well-known service name (http, https, ssh, redis, ...: the table Test-TcpPort uses).</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("RemotePort")]
        [ServicePortTransformation]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [ValidateRange(1, 65535)]
        public int Port { get; set; }

        /// <summary>Seconds allowed for name resolution and connecting together (default 10; 0 waits forever).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>Restricts the connection to IPv4 or IPv6 (default: every address the name resolves to, in turn).</summary>
        [Parameter]
        public IPFamily AddressFamily { get; set; } = IPFamily.Any;

        /// <summary>Sends small writes at once (disables Nagle's algorithm).</summary>
        [Parameter]
        public SwitchParameter NoDelay { get; set; }

        /// <summary>Enables TCP keep-alive so a vanished peer is detected.</summary>
        [Parameter]
        public SwitchParameter KeepAlive { get; set; }

        /// <summary>Speaks telnet: option negotiation is answered and removed from received data, 0xFF is escaped when sending.</summary>
        [Parameter]
        public SwitchParameter Telnet { get; set; }

        /// <summary>Removes ANSI/VT escape sequences and backspace overstrikes from text received on this session.</summary>
        [Parameter]
        public SwitchParameter StripAnsi { get; set; }

        /// <summary>The device type (a profile name, see Get-DeviceProfile) stored on the session, so Invoke-DeviceCommand needs no -DeviceType for it.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(DeviceTypeCompleter))]
        [ValidateNotNullOrEmpty]
        public string? DeviceType { get; set; }

        /// <summary>Records the session's traffic (both directions, with timestamps) to this file from the start.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? TranscriptPath { get; set; }

        /// <summary>With -TranscriptPath: refuses to replace an existing file (error NoClobber, and no connection is made), as Out-File -NoClobber does.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        private TlsClientOptions? _tls;
        private ProxyEndpoint? _proxy;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            if (DeviceType is { } type)
            {
                DeviceType = Checked(() => DeviceProfileArguments.Resolve(null, type, null).Name);
            }

            _proxy = Checked(() => ProxyArguments.Resolve(Proxy, ProxyCredential));

            Require("TLS", new[] { nameof(UseTls) }, nameof(TlsServerName), nameof(SkipCertificateCheck), nameof(ClientCertificate), nameof(ClientCertificatePassword), nameof(TlsProtocol), nameof(TrustedCertificate), nameof(CheckRevocation));
            CheckTlsServerName(TlsServerName);
            if (!UseTls)
            {
                return;
            }

            // The client certificate is loaded here so a bad file or password stops the command
            // before any connect; one loaded from a file is loaded again for each session, which owns it.
            _tls = Checked(() => TlsArguments.ClientOptions(this, null, SkipCertificateCheck, ClientCertificate, ClientCertificatePassword, TrustedCertificate, CheckRevocation, TlsProtocol));
            if (ClientCertificate is not null && CertificateArguments.LoadsNew(ClientCertificate))
            {
                _tls.ClientCertificate!.Dispose();
                _tls.ClientCertificate = null;
            }
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (!IsTargetEntry(ComputerName))
            {
                return;
            }

            var (host, embeddedPort) = Endpoints.SplitHostPort(ComputerName);
            int port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) || Port != 0 ? Port : embeddedPort ?? 0;
            if (port is < 1 or > 65535)
            {
                WriteError(ErrorRecords.InvalidArgument($"No port to connect to on '{ComputerName}': give -Port (1-65535) or write host:port.", ComputerName));
                return;
            }

            if (NoClobber && TranscriptPath is not null && System.IO.File.Exists(SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath)))
            {
                string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath);
                WriteError(ErrorRecords.Create(SocketErrorKind.NoClobber, $"The transcript file '{full}' already exists and -NoClobber keeps it; nothing was connected. Give another -TranscriptPath, or leave out -NoClobber.", full));
                return;
            }

            var options = new TcpConnectOptions
            {
                Timeout = Seconds(Timeout),
                AddressFamily = AddressFamily.ToSocketFamily(),
                NoDelay = NoDelay,
                KeepAlive = KeepAlive,
            };
            // Attempts are reported from pool threads (after an async name lookup), where a
            // cmdlet must not write: collect them and write them from the pipeline thread.
            System.Collections.Concurrent.ConcurrentQueue<System.Net.IPEndPoint>? attempts = null;
            if (VerboseOn)
            {
                attempts = new();
                options.OnAttempt = attempts.Enqueue;
                Verbose(() => (System.Net.IPAddress.TryParse(host, out _) || _proxy is { ResolvesTargetName: true } ? $"Connecting to {host} port {port}" : $"Resolving {host} and connecting to port {port}")
                    + (_proxy is null ? "" : $" through proxy {_proxy}")
                    + $" (timeout {(Timeout > 0 ? Timeout.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s" : "none")})");
            }

            Socket? socket = null;
            try
            {
                try
                {
                    socket = _proxy is null
                        ? Run(t => TcpConnector.ConnectAsync(host, port, options, t))
                        : Run(t => ProxyConnector.ConnectAsync(_proxy, null, host, port, options, t));
                }
                finally
                {
                    while (attempts is not null && attempts.TryDequeue(out var ep))
                    {
                        Verbose(() => _proxy is null ? $"Connecting to {host} at {Endpoints.Format(ep)}" : $"Connecting to proxy {_proxy.Host} at {Endpoints.Format(ep)}");
                    }
                }

                var session = new TcpSession(socket);
                socket = null;
                session.WithText(Encoding, NewLine);

                session.ConnectedHost = host;
                session.Proxy = _proxy;
                if (_tls is not null)
                {
                    var tls = _tls.ForServer(TlsServerName ?? host);
                    if (ClientCertificate is not null && tls.ClientCertificate is null)
                    {
                        tls.ClientCertificate = CertificateArguments.WithPrivateKey(this, ClientCertificate, ClientCertificatePassword, nameof(ClientCertificate));
                        session.DisposeWhenClosed(tls.ClientCertificate);
                    }

                    Verbose(() => $"Starting TLS with {tls.ServerName}{(tls.SkipCertificateCheck ? " (certificate check skipped)" : "")}");
                    try
                    {
                        Run(t => session.StartTlsAsClientAsync(tls, Deadline.After(Seconds(Timeout)), t));
                    }
                    finally
                    {
                        if (!session.IsTls)
                        {
                            session.Close("TLS was not established");
                        }
                    }

                    Verbose(() => $"TLS established: {session.TlsProtocol}, {session.CipherSuite}; server certificate for '{session.RemoteCertificate?.Subject}', valid until {session.RemoteCertificate?.NotAfter:u}");
                }

                ApplySessionOptions(session);
                session.RegisterOrClose(Name);

                Verbose(() => $"Connected: session {session.Id} {Endpoints.Format(session.LocalEndPoint)} -> {Endpoints.Format(session.RemoteEndPoint)}");
                WriteObject(session);
                if (TranscriptPath is not null)
                {
                    TranscriptFiles.Start(this, session, SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath), append: false, NoClobber);
                }
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, ex.Target is null or SocketSession ? $"{host}:{port}" : ex.Target);
            }
            finally
            {
                socket?.Dispose();
            }
        }

        private void ApplySessionOptions(TcpSession session)
        {
            session.StripAnsi = StripAnsi;
            session.DeviceType = DeviceType;
            if (Telnet)
            {
                session.EnableTelnet();
            }
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Listens and serves every client concurrently with a script block, each on its own runspace.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketServer", DefaultParameterSetName = PortSet)]
    [OutputType(typeof(SocketServerSession))]
    public sealed class StartSocketServerCommand : StartServerCmdlet, ITlsServerParameters
    {
        /// <summary>How many clients are served at once unless -ThrottleLimit says otherwise.</summary>
        public const int DefaultThrottleLimit = 32;

        private const string PortSet = "Port";
        private const string UnixSet = "UnixSocket";

        /// <summary>The port to listen on; 0 lets the system pick a free one, shown on the server session (Port, LocalEndPoint).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PortSet)]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>Listens on a Unix domain socket at this path (or @name, Linux) instead of a TCP port; each client is a Unix session. The path must not exist; the server removes its socket file when it stops.</summary>
        [Parameter(Mandatory = true, ParameterSetName = UnixSet)]
        [ArgumentCompleter(typeof(UnixSocketPathCompleter))]
        [ValidateNotNullOrEmpty]
        public string? UnixSocket { get; set; }

        /// <summary>
        /// The script block run for each client. <c>$_</c> (and the first argument) is the client's
        /// Tcp session, or with -Udp a request with RemoteEndPoint, Bytes and Text. It runs in its
        /// own runspace with PSSocket imported; the caller's variables are not visible: pass them
        /// with -ArgumentList or read them as <c>$using:name</c> (captured when the server starts).
        /// </summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNull]
        public ScriptBlock ScriptBlock { get; set; } = null!;

        /// <summary>Arguments passed to the script block after the client.</summary>
        [Parameter]
        [Alias("Args")]
        public object[]? ArgumentList { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>How many clients (datagrams, with -Udp) are served at once (default 32); more clients wait in the accept backlog until one finishes.</summary>
        [Parameter]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <summary>
        /// Makes it a TLS server with this certificate and its private key: an X509Certificate2, a
        /// Cert: drive path, or the path of a PFX or PEM (certificate and key) file. Each accepted
        /// connection is authenticated before the script block runs.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        public object? Certificate { get; set; }

        /// <summary>The password of a -Certificate PFX file.</summary>
        [Parameter]
        public SecureString? CertificatePassword { get; set; }

        /// <summary>Asks every client for a certificate and refuses clients without one that validates (against the machine's trust and -TrustedCertificate); a refused client is recorded as failed and its script block does not run.</summary>
        [Parameter]
        public SwitchParameter RequireClientCertificate { get; set; }

        /// <summary>Extra CA certificates (objects or PEM/DER/PFX paths) that client certificates may chain to, without touching any certificate store.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("CertificateAuthority", "CACertificate")]
        public object[]? TrustedCertificate { get; set; }

        /// <summary>With -RequireClientCertificate: checks each client certificate's chain against the CRL distribution points it names (fetched online); a revoked certificate is refused, and so is one whose CRL cannot be fetched. Off by default.</summary>
        [Parameter]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>Serves UDP datagrams instead of TCP connections; what the script block outputs is sent back to the sender.</summary>
        [Parameter]
        public SwitchParameter Udp { get; set; }

        /// <summary>The encoding client sessions (and UDP request Text and replies) use (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>The NewLine client sessions start with (default "`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }

        /// <summary>Seconds a client may send and receive nothing before the server closes it and stops its script block (default 60; 0 = no limit). Not for -Udp.</summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double IdleTimeout { get; set; } = 60;

        /// <summary>The most seconds one client may hold its slot before the server closes it and stops its script block (default 0 = no limit). Not for -Udp.</summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double ClientTimeout { get; set; }

        /// <summary>How many bytes (estimated) of unread client records the server keeps (default 64 MiB); past it, and past 10,000 records, the oldest are dropped and counted.</summary>
        [Parameter]
        [ValidateRange(1024, long.MaxValue)]
        public long MaxRecordBytes { get; set; } = SocketServerSession.DefaultMaxRecordBytes;

        /// <inheritdoc />
        TlsVersion[]? ITlsServerParameters.TlsProtocol => null;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            CheckWaitParameters();
            if (Udp && (MyInvocation.BoundParameters.ContainsKey(nameof(IdleTimeout)) || MyInvocation.BoundParameters.ContainsKey(nameof(ClientTimeout))))
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-IdleTimeout and -ClientTimeout apply to TCP clients; a -Udp server serves single datagrams.", null));
            }

            Require("a TLS server", new[] { nameof(Certificate) }, TlsArguments.ServerDetails);
            if (UnixSocket is not null && (Udp || MyInvocation.BoundParameters.ContainsKey(nameof(Address))))
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-UnixSocket listens on a Unix stream socket: leave out -Udp and -Address.", UnixSocket));
            }

            ServerScript script;
            try
            {
                script = ServerScript.Capture(ScriptBlock, SessionState);
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument(ex.Message, ScriptBlock));
                return;
            }

            TlsServerOptions? tls = null;
            var started = Launch(
                () =>
                {
                    if (Certificate is not null && Udp)
                    {
                        throw new PSSocketException(SocketErrorKind.InvalidArgument, "A UDP server cannot use TLS: -Certificate works only with TCP.", target: Certificate);
                    }

                    tls = this.ServerOptions(this);
                    return NewServer(tls);
                },
                server =>
                {
                    ModuleLifetime.Own(server);
                    var handler = new ScriptBlockServerHandler(script, ArgumentList, ThrottleLimit, ModulePath(), server.Encoding);
                    if (server is TcpServerSession tcp)
                    {
                        tcp.Start(handler);
                    }
                    else
                    {
                        ((UdpServerSession)server).Start(handler);
                    }

                    Verbose(() => $"Serving {(Udp ? "UDP" : tls is null ? "TCP" : "TLS")} on {Endpoints.Format(server.LocalEndPoint)} (session {server.Id}, {ThrottleLimit} at a time)");
                },
                Name,
                UnixSocket ?? $"{Address}:{Port}",
                () => CertificateArguments.DisposeIfLoaded(tls?.Certificate, Certificate));
            if (started is not null)
            {
                Emit(started);
            }
        }

        private SocketServerSession NewServer(TlsServerOptions? tls)
        {
            var address = Endpoints.ParseBindAddress(Address);
            if (Udp)
            {
                return new UdpServerSession(address, Port, ThrottleLimit, GlobalSessionRegistry.Instance) { MaxRecordBytes = MaxRecordBytes }.WithText(Encoding, NewLine);
            }

            var tcp = UnixSocket is null
                ? new TcpServerSession(address, Port, ThrottleLimit, GlobalSessionRegistry.Instance, tls)
                : new TcpServerSession(UnixSockets.Listen(UnixPaths.Resolve(this, UnixSocket), datagram: false, 512, null, force: false), ThrottleLimit, GlobalSessionRegistry.Instance, tls);
            tcp.IdleTimeout = TimeSpan.FromSeconds(IdleTimeout);
            tcp.ClientTimeout = TimeSpan.FromSeconds(ClientTimeout);
            tcp.DisposeCertificateOnClose = tls is not null && CertificateArguments.LoadsNew(Certificate!);
            tcp.MaxRecordBytes = MaxRecordBytes;
            return tcp.WithText(Encoding, NewLine);
        }

        private string ModulePath()
        {
            var module = MyInvocation.MyCommand.Module;
            if (module is not null && !string.IsNullOrEmpty(module.Path))
            {
                // Prefer the manifest beside the dll, so the pool runspaces get the same exports.
                string manifest = Path.Combine(Path.GetDirectoryName(module.Path) ?? "", "PSSocket.psd1");
                return File.Exists(manifest) ? manifest : module.Path;
            }

            return typeof(StartSocketServerCommand).Assembly.Location;
        }
    }
}

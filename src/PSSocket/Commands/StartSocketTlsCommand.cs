namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Upgrades an open TCP session to TLS in place (STARTTLS), as the client or, with -AsServer, as the server.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketTls", DefaultParameterSetName = ClientSet)]
    [OutputType(typeof(TcpSession))]
    public sealed class StartSocketTlsCommand : PipedSessionCmdlet, ITlsServerParameters
    {
        private const string ClientSet = "Client";
        private const string ServerSet = "Server";

        /// <summary>The name sent as SNI and checked against the server certificate (default: the host name the session connected to).</summary>
        [Parameter(ParameterSetName = ClientSet)]
        [ValidateNotNullOrEmpty]
        [Alias("ServerName", "Sni")]
        public string? TlsServerName { get; set; }

        /// <summary>Accepts any server certificate: no chain, name or expiry check. For tests and devices with self-signed certificates only.</summary>
        [Parameter(ParameterSetName = ClientSet)]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>A client certificate with its private key, for servers that ask for one: an X509Certificate2, a Cert: drive path, or the path of a PFX or PEM file.</summary>
        [Parameter(ParameterSetName = ClientSet)]
        [ValidateNotNull]
        public object? ClientCertificate { get; set; }

        /// <summary>The password of a -ClientCertificate PFX file.</summary>
        [Parameter(ParameterSetName = ClientSet)]
        public SecureString? ClientCertificatePassword { get; set; }

        /// <summary>Takes the server side of the handshake (the peer sent STARTTLS to us).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ServerSet)]
        public SwitchParameter AsServer { get; set; }

        /// <summary>The server certificate with its private key: an X509Certificate2, a Cert: drive path, or the path of a PFX or PEM file.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ServerSet)]
        [ValidateNotNull]
        public object Certificate { get; set; } = null!;

        /// <summary>The password of a -Certificate PFX file.</summary>
        [Parameter(ParameterSetName = ServerSet)]
        public SecureString? CertificatePassword { get; set; }

        /// <summary>Asks the client for a certificate and refuses the handshake without one that validates.</summary>
        [Parameter(ParameterSetName = ServerSet)]
        public SwitchParameter RequireClientCertificate { get; set; }

        /// <summary>
        /// Extra certificates to trust without touching any certificate store: a CA certificate
        /// (object or PEM/DER/PFX path) the peer's certificate must chain to, or the peer certificate itself.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("CertificateAuthority", "CACertificate")]
        public object[]? TrustedCertificate { get; set; }

        /// <summary>Checks the peer's certificate chain against the CRL distribution points its certificates name (fetched online): a revoked certificate fails with AuthenticationFailed, a CRL that cannot be fetched with RevocationUnknown. Off by default.</summary>
        [Parameter]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>The TLS versions allowed (default: what the operating system allows).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public TlsVersion[]? TlsProtocol { get; set; }

        /// <summary>Seconds the handshake may take (default 10; 0 waits until done or Ctrl+C).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>Writes the session to the pipeline once encrypted.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc />
        object[]? ITlsServerParameters.TrustedCertificate => RequireClientCertificate ? TrustedCertificate : null;

        /// <inheritdoc />
        SwitchParameter ITlsServerParameters.CheckRevocation => RequireClientCertificate && CheckRevocation;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            CheckTlsServerName(TlsServerName);
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpSession>(session, "Start-SocketTls needs a TCP session from Connect-TcpSocket or Wait-TcpConnection") is not { } tcp)
            {
                return;
            }

            var deadline = Deadline.AfterSeconds(Timeout);
            if (AsServer)
            {
                var options = this.ServerOptions(this)!;
                if (CertificateArguments.LoadsNew(Certificate))
                {
                    tcp.DisposeWhenClosed(options.Certificate);
                }

                Verbose(() => $"Starting TLS as the server on session {tcp} with '{options.Certificate.Subject}'");
                Run(t => tcp.StartTlsAsServerAsync(options, deadline, t));
            }
            else
            {
                var options = TlsArguments.ClientOptions(this, TlsServerName, SkipCertificateCheck, ClientCertificate, ClientCertificatePassword, TrustedCertificate, CheckRevocation, TlsProtocol);
                if (options.ClientCertificate is not null && CertificateArguments.LoadsNew(ClientCertificate!))
                {
                    tcp.DisposeWhenClosed(options.ClientCertificate);
                }

                Verbose(() => $"Starting TLS as the client on session {tcp}{(SkipCertificateCheck ? " (certificate check skipped)" : "")}");
                Run(t => tcp.StartTlsAsClientAsync(options, deadline, t));
            }

            Verbose(() => $"TLS established on session {tcp}: {tcp.TlsProtocol}, {tcp.CipherSuite}; peer certificate '{tcp.RemoteCertificate?.Subject}'");
            if (PassThru)
            {
                WriteObject(tcp);
            }
        }
    }
}

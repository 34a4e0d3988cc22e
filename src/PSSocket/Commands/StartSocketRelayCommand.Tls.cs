namespace PSSocket.Commands
{
    /// <summary>Start-SocketRelay's TCP-only parameters: TLS from the clients (-Certificate), TLS to the target (-UseTls), and a proxy toward the target (-Proxy).</summary>
    public sealed partial class StartSocketRelayCommand
    {
        private static readonly string[] s_tcpOnly =
        {
            nameof(Certificate), nameof(CertificatePassword), nameof(RequireClientCertificate), nameof(UseTls), nameof(TlsServerName),
            nameof(SkipCertificateCheck), nameof(TrustedCertificate), nameof(CheckRevocation), nameof(ClientCertificate),
            nameof(ClientCertificatePassword), nameof(TlsProtocol), nameof(Proxy), nameof(ProxyCredential),
        };

        /// <summary>
        /// Terminates TLS on the listening side: clients speak TLS to the relay, which answers with
        /// this certificate and its private key (an X509Certificate2, a Cert: drive path, or the
        /// path of a PFX or PEM file) and relays the decrypted bytes.
        /// </summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNull]
        public object? Certificate { get; set; }

        /// <summary>The password of a -Certificate PFX file.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        public SecureString? CertificatePassword { get; set; }

        /// <summary>With -Certificate: asks every client for a certificate and refuses (records as failed) one without a certificate that validates against the machine's trust and -TrustedCertificate.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        public SwitchParameter RequireClientCertificate { get; set; }

        /// <summary>Speaks TLS to the target, validating its certificate against the target name (or -TlsServerName) as Connect-TcpSocket -UseTls does.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [Alias("TargetTls")]
        public SwitchParameter UseTls { get; set; }

        /// <summary>With -UseTls: the name sent as SNI and checked against the target's certificate (default: -ComputerName).</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNullOrEmpty]
        public string? TlsServerName { get; set; }

        /// <summary>With -UseTls: accepts any target certificate (no chain, name or expiry check). For tests only.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>Extra CA certificates (objects or PEM/DER/PFX paths), without touching any certificate store: with -UseTls the target's certificate may chain to them, with -RequireClientCertificate the clients' certificates.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNullOrEmpty]
        [Alias("CertificateAuthority", "CACertificate")]
        public object[]? TrustedCertificate { get; set; }

        /// <summary>With -UseTls (the target's certificate) and -RequireClientCertificate (the clients'): checks the chain against the CRL distribution points it names (fetched online); a revoked certificate fails the client with AuthenticationFailed, a CRL that cannot be fetched with RevocationUnknown. Off by default.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>With -UseTls: the certificate (with its private key) the relay presents to a target that asks for one: an X509Certificate2, a Cert: drive path, or a PFX or PEM file path.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNull]
        public object? ClientCertificate { get; set; }

        /// <summary>The password of a -ClientCertificate PFX file.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        public SecureString? ClientCertificatePassword { get; set; }

        /// <summary>The TLS versions allowed (Tls12, Tls13) on every TLS side of the relay, toward the clients (-Certificate) and toward the target (-UseTls); default: what the system allows.</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNullOrEmpty]
        public TlsVersion[]? TlsProtocol { get; set; }

        /// <summary>
        /// Reaches the target through a proxy: socks5://, socks5h:// (the proxy resolves the name),
        /// socks4://, socks4a:// or http:// (HTTP CONNECT), as host:port. Each client gets its own tunnel.
        /// </summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ProxyCompleter))]
        public string? Proxy { get; set; }

        /// <summary>The user name and password for -Proxy (SOCKS5 user/password, HTTP Basic).</summary>
        [Parameter(ParameterSetName = TcpSet)]
        [Parameter(ParameterSetName = UdpSet)]
        [Credential]
        public PSCredential? ProxyCredential { get; set; }

        /// <inheritdoc />
        object[]? ITlsServerParameters.TrustedCertificate => RequireClientCertificate ? TrustedCertificate : null;

        /// <inheritdoc />
        SwitchParameter ITlsServerParameters.CheckRevocation => RequireClientCertificate && CheckRevocation;

        /// <summary>
        /// Refuses (terminating InvalidArgument) TLS and proxy parameters beside -Udp, naming them. They
        /// bind in the Udp set only so that this can: the binder alone would say "Parameter set cannot
        /// be resolved". Help shows them for TCP only.
        /// </summary>
        private void RefuseTcpOnlyWithUdp()
        {
            var given = s_tcpOnly.Where(IsGiven).Select(n => "-" + n).ToArray();
            if (given.Length > 0)
            {
                string names = given.Length == 1 ? given[0] : string.Join(", ", given.Take(given.Length - 1)) + " and " + given[given.Length - 1];
                ThrowTerminatingError(ErrorRecords.InvalidArgument(
                    $"{names} {(given.Length == 1 ? "does" : "do")} not go with -Udp: TLS and proxies are for TCP relays, and a -Udp relay forwards datagrams as they are. Leave out {names}, or leave out -Udp to relay TCP.", null));
            }
        }
    }
}

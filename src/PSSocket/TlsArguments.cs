namespace PSSocket
{
    /// <summary>
    /// The TLS-server parameters New-TcpListener, Start-SocketServer, Start-SocketRelay and
    /// Start-SocketTls -AsServer share. Each cmdlet puts them in its own parameter sets
    /// (Start-SocketTls: the Server set; Start-SocketRelay: the TCP and UDP sets) and the cmdlets
    /// derive from different bases, so each declares them (New-TcpListener inherits
    /// -TrustedCertificate, -CheckRevocation and -TlsProtocol from TlsTextSessionCmdlet); what they
    /// mean (how they become <see cref="TlsServerOptions"/>) is said once, in
    /// <see cref="TlsArguments.ServerOptions"/>. A cmdlet whose -TrustedCertificate or
    /// -CheckRevocation also serves its client side implements those two explicitly.
    /// </summary>
    internal interface ITlsServerParameters
    {
        /// <summary>The server certificate as the user gave it (object, Cert: path, file), or null for no TLS.</summary>
        object? Certificate { get; }

        /// <summary>The password of a -Certificate PFX file.</summary>
        SecureString? CertificatePassword { get; }

        /// <summary>Asks every client for a certificate.</summary>
        SwitchParameter RequireClientCertificate { get; }

        /// <summary>Extra CA certificates client certificates may chain to.</summary>
        object[]? TrustedCertificate { get; }

        /// <summary>Checks client certificates against their CRLs.</summary>
        SwitchParameter CheckRevocation { get; }

        /// <summary>The TLS versions accepted (null: what the system allows).</summary>
        TlsVersion[]? TlsProtocol { get; }
    }

    /// <summary>TLS settings from cmdlet parameters, each kind built in one place.</summary>
    internal static class TlsArguments
    {
        /// <summary>The TLS-server parameters' names, for the rule that they need -Certificate.</summary>
        public static readonly string[] ServerDetails = { "CertificatePassword", "RequireClientCertificate", "TrustedCertificate", "CheckRevocation", "TlsProtocol" };

        /// <summary>The server side settings the parameters give, or null without -Certificate.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for a certificate that cannot be used or a client check without -RequireClientCertificate.</exception>
        public static TlsServerOptions? ServerOptions(this ITlsServerParameters p, PSCmdlet cmdlet) =>
            p.Certificate is null ? null
                : CertificateArguments.ServerOptions(cmdlet, p.Certificate, p.CertificatePassword, p.RequireClientCertificate, p.TrustedCertificate, p.CheckRevocation, p.TlsProtocol);

        /// <summary>
        /// The client side settings (Connect-TcpSocket -UseTls, Start-SocketTls, Start-SocketRelay
        /// -UseTls) with the client certificate loaded; the caller decides who owns a certificate
        /// loaded from a file (<see cref="CertificateArguments.LoadsNew"/>). Nothing loaded is left
        /// behind when a trusted certificate cannot be read.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument with the reason.</exception>
        public static TlsClientOptions ClientOptions(PSCmdlet cmdlet, string? serverName, bool skipCertificateCheck, object? clientCertificate, SecureString? clientCertificatePassword, object[]? trusted, bool checkRevocation, TlsVersion[]? protocols)
        {
            var options = new TlsClientOptions
            {
                ServerName = serverName ?? "",
                SkipCertificateCheck = skipCertificateCheck,
                CheckRevocation = checkRevocation,
                Protocols = protocols ?? Array.Empty<TlsVersion>(),
            };
            CertificateArguments.AddTrusted(cmdlet, trusted, options.TrustedCertificates);
            if (clientCertificate is not null)
            {
                options.ClientCertificate = CertificateArguments.WithPrivateKey(cmdlet, clientCertificate, clientCertificatePassword, "ClientCertificate");
            }

            return options;
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>Connect-TcpSocket's parameters for what wraps the connection: TLS (-UseTls and its details) and a proxy (-Proxy).</summary>
    public sealed partial class ConnectTcpSocketCommand
    {
        /// <summary>Encrypts the session with TLS right after connecting; the server certificate is validated (chain, name, expiry) unless -SkipCertificateCheck.</summary>
        [Parameter]
        [Alias("Tls", "Ssl", "UseSsl")]
        public SwitchParameter UseTls { get; set; }

        /// <summary>The name sent as SNI and checked against the server certificate (default: the host name connected to).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("ServerName", "Sni")]
        public string? TlsServerName { get; set; }

        /// <summary>Accepts any server certificate: no chain, name or expiry check. For tests and devices with self-signed certificates only.</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>A client certificate with its private key, for servers that ask for one: an X509Certificate2, a Cert: drive path, or the path of a PFX or PEM (certificate and key) file.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? ClientCertificate { get; set; }

        /// <summary>The password of a -ClientCertificate PFX file.</summary>
        [Parameter]
        public SecureString? ClientCertificatePassword { get; set; }

        /// <summary>
        /// Connects through a proxy: socks5:// (the target name resolved here), socks5h:// (resolved by
        /// the proxy), socks4:// or socks4a://, or http:// (HTTP CONNECT). A user and password may be
        /// written as user:password@ in the URI; -ProxyCredential is the safer way. Everything on the
        /// session (-UseTls, -Telnet, conversations, transcripts) then runs through the tunnel.
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
    }
}

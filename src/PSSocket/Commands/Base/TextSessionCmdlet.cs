namespace PSSocket.Commands
{
    /// <summary>
    /// A cmdlet that opens a text-speaking session (Connect-TcpSocket, Connect-UnixSocket) or a
    /// listener whose accepted sessions start with these settings (New-TcpListener,
    /// New-UnixListener): -Encoding and -NewLine, declared once. Each cmdlet's help page says what
    /// they mean for it.
    /// </summary>
    public abstract class TextSessionCmdlet : EncodedSessionCmdlet
    {
        /// <summary>What -Line sends and what ends a received line, or what accepted sessions start with (default "`n"; "`r`n", or Any: a line ends at "`r`n", "`n" or a bare "`r", and Any sends "`r`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }
    }

    /// <summary>
    /// A text session or listener over TCP that may speak TLS (Connect-TcpSocket -UseTls,
    /// New-TcpListener -Certificate): the TLS parameters both sides of a handshake have, declared
    /// once; each cmdlet's help page says what they mean for it.
    /// </summary>
    public abstract class TlsTextSessionCmdlet : TextSessionCmdlet
    {
        /// <summary>
        /// Extra certificates to trust without touching any certificate store: CA certificates
        /// (objects or PEM/DER/PFX paths) the peer's certificate may chain to, or (for a client) the
        /// server certificate itself.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("CertificateAuthority", "CACertificate")]
        public object[]? TrustedCertificate { get; set; }

        /// <summary>Checks the peer's certificate chain against the CRL distribution points it names (fetched online); a revoked certificate, or one whose CRL cannot be fetched, fails the handshake. Off by default.</summary>
        [Parameter]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>The TLS versions allowed (default: what the operating system allows, the secure choice).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public TlsVersion[]? TlsProtocol { get; set; }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Starts listening for TCP connections (loopback unless told otherwise).</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "TcpListener")]
    [OutputType(typeof(TcpListenerSession))]
    public sealed class NewTcpListenerCommand : TlsTextSessionCmdlet, ITlsServerParameters
    {
        /// <summary>The port to listen on; 0 (the default) lets the system pick a free one, shown on the session.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface, IPv4 and IPv6), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>How many connections the system queues before they are accepted (default 512).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Backlog { get; set; } = 512;

        /// <summary>
        /// Makes accepted sessions TLS server sessions with this certificate and its private key:
        /// an X509Certificate2, a Cert: drive path, or the path of a PFX or PEM (certificate and key) file.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        public object? Certificate { get; set; }

        /// <summary>The password of a -Certificate PFX file.</summary>
        [Parameter]
        public SecureString? CertificatePassword { get; set; }

        /// <summary>Asks every client for a certificate and refuses clients without one that validates (against the machine's trust and -TrustedCertificate).</summary>
        [Parameter]
        public SwitchParameter RequireClientCertificate { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            Require("a TLS listener", new[] { nameof(Certificate) }, TlsArguments.ServerDetails);
            TlsServerOptions? tls = null;
            try
            {
                var address = Endpoints.ParseBindAddress(Address);
                tls = this.ServerOptions(this);
                var listener = tls is null ? new TcpListenerSession(address, Port, Backlog)
                    : new TlsListenerSession(address, Port, Backlog, tls) { DisposeCertificateOnClose = CertificateArguments.LoadsNew(Certificate!) };
                tls = null; // the listener owns it now: closing it disposes a loaded certificate
                listener.WithText(Encoding, NewLine).RegisterOrClose(Name);

                Verbose(() => $"Listening on {Endpoints.Format(listener.LocalEndPoint)} (session {listener.Id}){(listener is TlsListenerSession t ? $" with TLS as '{t.Certificate.Subject}'" : "")}");
                WriteObject(listener);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, ex.Target ?? $"{Address}:{Port}");
            }
            finally
            {
                // Not listening (the port was taken, the address is not local): a certificate
                // loaded from a file for this listener goes now, not at the next collection.
                CertificateArguments.DisposeIfLoaded(tls?.Certificate, Certificate);
            }
        }
    }
}

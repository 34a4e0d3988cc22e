using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>A TLS protocol version a session may negotiate.</summary>
    public enum TlsVersion
    {
        /// <summary>TLS 1.2.</summary>
        Tls12,
        /// <summary>TLS 1.3 (where the operating system supports it).</summary>
        Tls13,
        /// <summary>TLS 1.1 (obsolete; most systems refuse it).</summary>
        Tls11,
        /// <summary>TLS 1.0 (obsolete; most systems refuse it).</summary>
        Tls10,
    }

    /// <summary>Settings both ends of a TLS session share.</summary>
    public abstract class TlsOptions
    {
        /// <summary>The versions allowed; empty lets the operating system choose (the secure default).</summary>
        public TlsVersion[] Protocols { get; set; } = Array.Empty<TlsVersion>();

        /// <summary>
        /// Extra trust anchors: a chain that ends in (or passes through) one of these is trusted
        /// without touching the machine's certificate store.
        /// </summary>
        public X509Certificate2Collection TrustedCertificates { get; } = new();

        /// <summary>
        /// Checks the peer's chain against the CRL distribution points its certificates name
        /// (fetched online); a revoked certificate fails the handshake, and so does a CRL that
        /// cannot be fetched (RevocationUnknown).
        /// </summary>
        public bool CheckRevocation { get; set; }

        /// <summary>The versions as the SslProtocols flags SslStream is asked for (see <see cref="Negotiable"/>).</summary>
        public SslProtocols SslProtocols => Negotiable(Protocols);

        /// <summary>
        /// What to ask SslStream for: the versions named, or when none are, the operating system's
        /// choice (None) where the runtime accepts it, else TLS 1.2 and (where the runtime defines
        /// it) TLS 1.3. .NET Framework refuses None with an ArgumentException unless its
        /// system-default switch is on, which Windows PowerShell 5.1 does not turn on.
        /// </summary>
        public static SslProtocols Negotiable(TlsVersion[]? versions)
        {
            var asked = ToSslProtocols(versions);
            if (asked != SslProtocols.None || RuntimeAcceptsSystemDefault)
            {
                return asked;
            }

            return ExplicitModern;
        }

        /// <summary>TLS 1.2, plus TLS 1.3 where this runtime's SslProtocols defines it.</summary>
        internal static SslProtocols ExplicitModern =>
            (SslProtocols)0xC00 | (Enum.IsDefined(typeof(SslProtocols), 0x3000) ? (SslProtocols)0x3000 : SslProtocols.None);

        /// <summary>For tests: forces the answer of <see cref="RuntimeAcceptsSystemDefault"/> (null = detect).</summary>
        internal static bool? SystemDefaultOverride { get; set; }

        private static readonly Lazy<bool> s_acceptsSystemDefault = new(DetectSystemDefault);

        /// <summary>True when SslStream takes SslProtocols.None (let the operating system choose).</summary>
        public static bool RuntimeAcceptsSystemDefault => SystemDefaultOverride ?? s_acceptsSystemDefault.Value;

        private static bool DetectSystemDefault()
        {
            string runtime = RuntimeInformation.FrameworkDescription;
            bool frameworkStyle = runtime.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase)
                || runtime.StartsWith("Mono", StringComparison.OrdinalIgnoreCase) || Type.GetType("Mono.Runtime") is not null;
            if (!frameworkStyle)
            {
                return true;
            }

            // Ask SslStream itself: it checks the protocols before any I/O and throws
            // ArgumentException when None is refused; otherwise the empty stream ends the attempt.
            try
            {
                using var ssl = new SslStream(new MemoryStream(), false, (_, _, _, _) => false);
                ssl.AuthenticateAsClient("localhost", null, SslProtocols.None, false);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (NotSupportedException)
            {
                return false;
            }
            catch (Exception ex) when (ex is IOException or AuthenticationException or InvalidOperationException or ObjectDisposedException)
            {
                return true;
            }
        }

        /// <summary>Maps versions onto SslProtocols; values missing from netstandard2.0 (TLS 1.3) are cast.</summary>
        public static SslProtocols ToSslProtocols(TlsVersion[]? versions)
        {
            var result = SslProtocols.None;
            foreach (var v in versions ?? Array.Empty<TlsVersion>())
            {
                // TLS 1.0/1.1 are only ever used when a user names them (old devices); the
                // default stays None, which lets the operating system choose.
#pragma warning disable CA5397
                result |= v switch
                {
                    TlsVersion.Tls13 => (SslProtocols)0x3000,
                    TlsVersion.Tls12 => (SslProtocols)0xC00,
                    TlsVersion.Tls11 => (SslProtocols)0x300,
                    _ => (SslProtocols)0xC0,
                };
#pragma warning restore CA5397
            }

            return result;
        }
    }

    /// <summary>How a client starts TLS: whom it expects, what it trusts, what it proves.</summary>
    public sealed class TlsClientOptions : TlsOptions
    {
        /// <summary>The name sent as SNI and checked against the server certificate.</summary>
        public string ServerName { get; set; } = "";

        /// <summary>Accepts any server certificate (no chain, name or expiry check).</summary>
        public bool SkipCertificateCheck { get; set; }

        /// <summary>A certificate with its private key, offered when the server asks for one.</summary>
        public X509Certificate2? ClientCertificate { get; set; }

        /// <summary>
        /// A copy for one connection that sends and checks <paramref name="serverName"/>: every other
        /// setting is kept, the certificates are shared (not cloned), so whoever owns them still does.
        /// </summary>
        public TlsClientOptions ForServer(string serverName)
        {
            var copy = new TlsClientOptions
            {
                ServerName = serverName,
                SkipCertificateCheck = SkipCertificateCheck,
                ClientCertificate = ClientCertificate,
                Protocols = Protocols,
                CheckRevocation = CheckRevocation,
            };
            copy.TrustedCertificates.AddRange(TrustedCertificates);
            return copy;
        }

        /// <summary>The settings in words (what views and Format-List show), e.g. "TLS to db01, certificate checked".</summary>
        public override string ToString()
        {
            string to = string.IsNullOrEmpty(ServerName) ? "TLS" : $"TLS to {TlsDiagnostics.Escape(ServerName)}";
            string check = SkipCertificateCheck ? "certificate not checked" : CheckRevocation ? "certificate and revocation checked" : "certificate checked";
            string client = ClientCertificate is null ? "" : $", client certificate {TextEncoding.Escape(ClientCertificate.Subject)}";
            return $"{to}, {check}{client}";
        }
    }

    /// <summary>How a server side starts TLS: its certificate and what it asks of clients.</summary>
    public sealed class TlsServerOptions : TlsOptions
    {
        /// <summary>Creates server options for a certificate that carries its private key.</summary>
        /// <exception cref="PSSocketException">InvalidArgument when the certificate has no private key.</exception>
        public TlsServerOptions(X509Certificate2 certificate)
        {
            Certificate = certificate ?? throw new ArgumentNullException(nameof(certificate));
            if (!certificate.HasPrivateKey)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The server certificate '{certificate.Subject}' has no private key. Give a PFX file, a PEM file with the key, or a certificate object that has its key.",
                    target: certificate.Subject);
            }
        }

        /// <summary>The server certificate (with its private key).</summary>
        public X509Certificate2 Certificate { get; }

        /// <summary>Asks every client for a certificate and refuses clients without a valid one.</summary>
        public bool RequireClientCertificate { get; set; }

        /// <summary>The settings in words (what views and Format-List show): the certificate, its expiry, whether clients must prove themselves.</summary>
        public override string ToString() =>
            $"TLS as {TextEncoding.Escape(Certificate.Subject)} (expires {Certificate.NotAfter.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)})"
            + (RequireClientCertificate ? ", client certificate required" : "");
    }
}

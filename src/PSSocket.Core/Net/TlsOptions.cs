using System;
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

        /// <summary>The versions as the SslProtocols flags SslStream takes (None = system default).</summary>
        public SslProtocols SslProtocols => ToSslProtocols(Protocols);

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
    }
}

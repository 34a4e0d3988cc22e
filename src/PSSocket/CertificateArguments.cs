using System.Security.Cryptography.X509Certificates;

namespace PSSocket
{
    /// <summary>
    /// Turns what a user passes for a certificate (an X509Certificate2, a Cert: drive path, a
    /// PFX/PEM/DER file path or FileInfo) into certificate objects, in memory.
    /// </summary>
    internal static class CertificateArguments
    {
        /// <summary>A certificate with its private key (server certificate, client certificate).</summary>
        /// <exception cref="PSSocketException">InvalidArgument with the reason.</exception>
        public static X509Certificate2 WithPrivateKey(PSCmdlet cmdlet, object value, SecureString? password, string parameter)
        {
            X509Certificate2? cert = Unwrap(value) switch
            {
                X509Certificate2 c => c,
                X509Certificate c => new X509Certificate2(c),
                FileInfo f => CertificateLoader.LoadWithPrivateKey(f.FullName, password),
                string s when IsCertDrive(s) => FromCertDrive(cmdlet, s),
                string s => CertificateLoader.LoadWithPrivateKey(ResolvePath(cmdlet, s), password),
                _ => null,
            };
            if (cert is null)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"-{parameter} takes an X509Certificate2 or the path of a PFX or PEM file, not a {Unwrap(value)?.GetType().Name ?? "null"}.", target: parameter);
            }

            if (!cert.HasPrivateKey)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The certificate given to -{parameter} ('{cert.Subject}') has no private key.", target: parameter);
            }

            return cert;
        }

        /// <summary>
        /// True when <see cref="WithPrivateKey"/> makes a new certificate object from the value (a
        /// file or a Cert: path) rather than handing back the caller's: the session that uses it
        /// then owns it and disposes it when it ends.
        /// </summary>
        public static bool LoadsNew(object value) => Unwrap(value) is not X509Certificate;

        /// <summary>
        /// For a command that could not start: disposes the certificate it loaded from the value
        /// (a file or a Cert: path), never one the caller passed in.
        /// </summary>
        public static void DisposeIfLoaded(X509Certificate2? loaded, object? value)
        {
            if (loaded is not null && value is not null && LoadsNew(value))
            {
                loaded.Dispose();
            }
        }

        /// <summary>
        /// The server side TLS settings of a TLS listener or server (New-TcpListener,
        /// Start-SocketServer): its certificate, and what it asks of client certificates.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument for a client certificate check without -RequireClientCertificate, or a certificate that cannot be used.</exception>
        public static TlsServerOptions ServerOptions(PSCmdlet cmdlet, object certificate, SecureString? password, bool requireClientCertificate, object[]? trusted, bool checkRevocation, TlsVersion[]? protocols)
        {
            if (!requireClientCertificate && trusted is not null)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "-TrustedCertificate validates client certificates: add -RequireClientCertificate.", target: "TrustedCertificate");
            }

            if (!requireClientCertificate && checkRevocation)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "-CheckRevocation checks client certificates: add -RequireClientCertificate.", target: "CheckRevocation");
            }

            var loaded = WithPrivateKey(cmdlet, certificate, password, "Certificate");
            try
            {
                var options = new TlsServerOptions(loaded)
                {
                    RequireClientCertificate = requireClientCertificate,
                    Protocols = protocols ?? System.Array.Empty<TlsVersion>(),
                    CheckRevocation = checkRevocation,
                };
                AddTrusted(cmdlet, trusted, options.TrustedCertificates);
                return options;
            }
            catch when (LoadsNew(certificate))
            {
                loaded.Dispose();
                throw;
            }
        }

        /// <summary>Certificates to trust (CA certificates or a pinned peer certificate); keys are not needed.</summary>
        /// <exception cref="PSSocketException">InvalidArgument with the reason.</exception>
        public static void AddTrusted(PSCmdlet cmdlet, object[]? values, X509Certificate2Collection into)
        {
            foreach (var raw in values ?? System.Array.Empty<object>())
            {
                switch (Unwrap(raw))
                {
                    case X509Certificate2Collection many:
                        into.AddRange(many);
                        break;
                    case X509Certificate2 c:
                        into.Add(c);
                        break;
                    case X509Certificate c:
                        into.Add(new X509Certificate2(c));
                        break;
                    case FileInfo f:
                        into.AddRange(CertificateLoader.LoadCertificates(f.FullName));
                        break;
                    case string s when IsCertDrive(s):
                        into.Add(FromCertDrive(cmdlet, s));
                        break;
                    case string s:
                        into.AddRange(CertificateLoader.LoadCertificates(ResolvePath(cmdlet, s)));
                        break;
                    case IEnumerable list:
                        foreach (var item in list)
                        {
                            AddTrusted(cmdlet, new[] { item }, into);
                        }

                        break;
                    default:
                        throw new PSSocketException(SocketErrorKind.InvalidArgument,
                            "-TrustedCertificate takes X509Certificate2 objects or paths of PEM, DER or PFX files.", target: raw);
                }
            }
        }

        private static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;

        private static bool IsCertDrive(string path) => path.StartsWith("Cert:", System.StringComparison.OrdinalIgnoreCase);

        private static string ResolvePath(PSCmdlet cmdlet, string path) => cmdlet.GetUnresolvedProviderPathFromPSPath(path);

        private static X509Certificate2 FromCertDrive(PSCmdlet cmdlet, string path)
        {
            try
            {
                foreach (var item in cmdlet.InvokeProvider.Item.Get(path))
                {
                    if (Unwrap(item) is X509Certificate2 cert)
                    {
                        return cert;
                    }
                }
            }
            catch (System.Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"No certificate at '{path}': {ex.Message}", ex, target: path);
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{path}' is not a certificate.", target: path);
        }
    }
}

using System.Reflection;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>
    /// Loads certificates from PFX/PKCS#12, PEM or DER files without adding them to any
    /// certificate store. On Linux and macOS private keys stay in memory (an ephemeral key set
    /// where the runtime allows it). On Windows SChannel cannot use an ephemeral key for TLS, so
    /// a PFX key (or a PEM key, turned into PKCS#12 in memory) is written to the user's key
    /// container while the certificate lives and deleted when it is disposed, which the
    /// sessions do when they end; it is never persisted (no PersistKeySet).
    /// </summary>
    public static class CertificateLoader
    {
        private const string PemCertificateBegin = "-----BEGIN CERTIFICATE-----";
        private const string PemCertificateEnd = "-----END CERTIFICATE-----";

        /// <summary>
        /// Loads a certificate with its private key: a PFX/PKCS#12 file (with an optional
        /// password) or a PEM file holding the certificate and its unencrypted key (the key may
        /// also sit beside it as name.key).
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument with the reason.</exception>
        public static X509Certificate2 LoadWithPrivateKey(string path, SecureString? password)
        {
            var bytes = ReadFile(path);
            X509Certificate2 cert = IsPem(bytes) ? LoadPemWithKey(path, Encoding.ASCII.GetString(bytes)) : LoadPkcs12(path, bytes, password);
            if (!cert.HasPrivateKey)
            {
                var subject = cert.Subject;
                cert.Dispose();
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The certificate in '{path}' ({subject}) has no private key. Give a PFX file that contains the key, or a PEM file with the certificate and its key.",
                    target: path);
            }

            return cert;
        }

        /// <summary>
        /// Loads the certificates of a file to trust: a PEM bundle (every CERTIFICATE block),
        /// a DER file or a PFX. Private keys are not needed.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument when the file holds no certificate.</exception>
        public static X509Certificate2Collection LoadCertificates(string path)
        {
            var bytes = ReadFile(path);
            var result = new X509Certificate2Collection();
            try
            {
                if (IsPem(bytes))
                {
                    foreach (var der in ParsePemCertificates(Encoding.ASCII.GetString(bytes)))
                    {
                        result.Add(new X509Certificate2(der));
                    }
                }
                else
                {
                    result.Import(bytes, null, X509KeyStorageFlags.DefaultKeySet);
                }
            }
            catch (CryptographicException ex)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{path}' is not a certificate file this module can read (PEM, DER or PFX): {ex.Message}", ex, target: path);
            }

            if (result.Count == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{path}' holds no certificate.", target: path);
            }

            return result;
        }

        /// <summary>The DER bytes of every CERTIFICATE block of a PEM text, in order.</summary>
        public static List<byte[]> ParsePemCertificates(string text)
        {
            var list = new List<byte[]>();
            int at = 0;
            while (text is not null && (at = text.IndexOf(PemCertificateBegin, at, StringComparison.Ordinal)) >= 0)
            {
                int start = at + PemCertificateBegin.Length;
                int end = text.IndexOf(PemCertificateEnd, start, StringComparison.Ordinal);
                if (end < 0)
                {
                    break;
                }

                try
                {
                    list.Add(Convert.FromBase64String(text.Substring(start, end - start)));
                }
                catch (FormatException ex)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"A PEM CERTIFICATE block is not valid base64: {ex.Message}", ex);
                }

                at = end + PemCertificateEnd.Length;
            }

            return list;
        }

        /// <summary>True when the bytes look like PEM text rather than binary DER/PKCS#12.</summary>
        public static bool IsPem(byte[] bytes)
        {
            int n = Math.Min(bytes.Length, 4096);
            return Encoding.ASCII.GetString(bytes, 0, n).Contains("-----BEGIN ");
        }

        private static byte[] ReadFile(string path)
        {
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The certificate file '{path}' does not exist.", target: path);
            }

            try
            {
                return File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The certificate file '{path}' cannot be read: {ex.Message}", ex, target: path);
            }
        }

        /// <summary>EphemeralKeySet (value 32, missing from netstandard2.0's enum on older runtimes).</summary>
        private const X509KeyStorageFlags EphemeralKeySet = (X509KeyStorageFlags)32;

        /// <summary>
        /// How PFX keys are loaded: ephemeral (never on disk) where TLS can use such a key, that
        /// is everywhere but Windows, whose SChannel refuses ephemeral keys.
        /// </summary>
        internal static X509KeyStorageFlags KeyStorage =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? X509KeyStorageFlags.DefaultKeySet : EphemeralKeySet;

        private static X509Certificate2 LoadPkcs12(string path, byte[] bytes, SecureString? password)
        {
            try
            {
                try
                {
                    return Pkcs12(bytes, password, KeyStorage);
                }
                catch (Exception ex) when (KeyStorage != X509KeyStorageFlags.DefaultKeySet && ex is PlatformNotSupportedException or ArgumentException)
                {
                    // Runtimes without ephemeral key sets (macOS's, older Mono) keep the key in memory anyway.
                    return Pkcs12(bytes, password, X509KeyStorageFlags.DefaultKeySet);
                }
            }
            catch (CryptographicException ex)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The certificate file '{path}' could not be loaded (a wrong or missing password, or not a PFX/PEM file): {ex.Message}", ex, target: path);
            }
        }

        private static X509Certificate2 Pkcs12(byte[] bytes, SecureString? password, X509KeyStorageFlags flags) =>
            password is null ? new X509Certificate2(bytes, (string?)null, flags) : new X509Certificate2(bytes, password, flags);

        private static X509Certificate2 LoadPemWithKey(string path, string text)
        {
            if (text.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The private key in '{path}' is encrypted, which PEM loading does not support here. Convert it to a PFX (openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx) and pass the PFX with its password.",
                    target: path);
            }

            string? keyPath = null;
            if (!text.Contains("PRIVATE KEY-----"))
            {
                keyPath = FindKeyBeside(path) ?? throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The PEM file '{path}' holds no private key. Put the key in the same file, or beside it as '{Path.ChangeExtension(path, ".key")}', or use a PFX.",
                    target: path);
            }

            // netstandard2.0 cannot import PEM keys; .NET 5+ can, so call it where the runtime has it.
            var create = typeof(X509Certificate2).GetMethod("CreateFromPemFile", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(string) }, null);
            if (create is null)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"This .NET runtime cannot load a private key from PEM ('{path}'). Use a PFX file instead (openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx), or PowerShell 7.",
                    target: path);
            }

            X509Certificate2 cert;
            try
            {
                cert = (X509Certificate2)create.Invoke(null, new object?[] { path, keyPath })!;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is CryptographicException or ArgumentException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The certificate and key in '{path}' could not be loaded: {ex.InnerException.Message}", ex.InnerException, target: path);
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                // SChannel cannot use the ephemeral key a PEM import gives; a PKCS#12 round trip
                // in memory turns it into one it can use.
                using (cert)
                {
                    return new X509Certificate2(cert.Export(X509ContentType.Pkcs12), (string?)null, X509KeyStorageFlags.DefaultKeySet);
                }
            }

            return cert;
        }

        private static string? FindKeyBeside(string path)
        {
            foreach (var candidate in new[] { Path.ChangeExtension(path, ".key"), path + ".key", Path.ChangeExtension(path, ".key.pem") })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            return null;
        }
    }
}

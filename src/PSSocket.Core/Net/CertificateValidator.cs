using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>
    /// Decides whether a peer certificate is acceptable and, when it is not, says why in words
    /// (untrusted root, name mismatch, expired, ...). Extra trust anchors are honoured without
    /// touching any certificate store.
    /// </summary>
    public static class CertificateValidator
    {
        /// <summary>The extended key usage a TLS server certificate must allow.</summary>
        public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

        /// <summary>The extended key usage a TLS client certificate must allow.</summary>
        public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

        private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

        /// <summary>How long the revocation lists of one handshake may take to fetch, all together.</summary>
        public static readonly TimeSpan RevocationFetchTimeout = TimeSpan.FromSeconds(5);

        /// <summary>How many revocation list addresses one peer's chain may name; a chain naming more is not checked (RevocationUnknown).</summary>
        public const int MaxRevocationFetches = 4;

        /// <summary>
        /// Returns null when the certificate is acceptable, otherwise the reasons it is not.
        /// </summary>
        /// <param name="certificate">The peer certificate (null when the peer sent none).</param>
        /// <param name="chain">The chain the platform built, used for its intermediates.</param>
        /// <param name="errors">The platform's verdict.</param>
        /// <param name="trusted">Extra trust anchors (a CA, an intermediate or the certificate itself).</param>
        /// <param name="serverCertificate">True for a server certificate (its name is checked, serverAuth is required); false for a client certificate (clientAuth is required, no name).</param>
        /// <param name="expectedName">The name the certificate should carry, for the message.</param>
        /// <param name="checkRevocation">Checks every certificate of the chain against its CRL distribution points.</param>
        public static string? Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection? trusted, bool serverCertificate, string? expectedName, bool checkRevocation = false) =>
            Evaluate(certificate, chain, errors, trusted, serverCertificate, expectedName, checkRevocation)?.Message;

        /// <summary>
        /// Like <see cref="Validate"/>, with the kind of failure: AuthenticationFailed, or
        /// RevocationUnknown when the only problem is a revocation list that could not be read.
        /// </summary>
        /// <param name="certificate">The peer certificate (null when the peer sent none).</param>
        /// <param name="chain">The chain the platform built, used for its intermediates.</param>
        /// <param name="errors">The platform's verdict.</param>
        /// <param name="trusted">Extra trust anchors.</param>
        /// <param name="serverCertificate">True for a server certificate.</param>
        /// <param name="expectedName">The name the certificate should carry, for the message.</param>
        /// <param name="checkRevocation">Fetches the chain's revocation lists (bounded) once everything else about the certificate holds.</param>
        /// <param name="fetching">Told the revocation list addresses while they are fetched, and null once done (so a handshake that times out meanwhile can say why).</param>
        public static CertificateRejection? Evaluate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection? trusted, bool serverCertificate, string? expectedName, bool checkRevocation, Action<string?>? fetching = null)
        {
            if (certificate is null)
            {
                return new CertificateRejection(SocketErrorKind.AuthenticationFailed, "the peer sent no certificate");
            }

            var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
            var reasons = new List<string>();
            if (serverCertificate && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                reasons.Add($"name mismatch: the certificate is for {DescribeNames(leaf)}, not '{expectedName}' (use -TlsServerName to check another name)");
            }

            var purpose = CheckPurpose(leaf, serverCertificate);
            if (purpose is not null)
            {
                reasons.Add(purpose);
            }

            var now = DateTime.Now;
            if (now > leaf.NotAfter)
            {
                reasons.Add($"expired: the certificate was valid until {leaf.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}");
            }
            else if (now < leaf.NotBefore)
            {
                reasons.Add($"not yet valid: the certificate is valid from {leaf.NotBefore.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture)}");
            }

            bool chainErrors = (errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0;
            var revocation = new List<string>();
            if (chainErrors && trusted is { Count: > 0 })
            {
                reasons.AddRange(CheckAgainst(leaf, chain, trusted, serverCertificate));
            }
            else if (chainErrors)
            {
                reasons.AddRange(DescribeChain(leaf, chain));
            }

            if (checkRevocation && (reasons.Count == 0 || serverCertificate) && (chainErrors || TlsHandshake.Offline))
            {
                // A client certificate costs a fetch only when it holds otherwise: an anonymous client
                // that is refused anyway cannot make a server fetch the addresses it names (a server's
                // certificate is checked for the user who chose to connect to it). The handshake's own
                // chain checks no revocation where the runtime allows (TlsHandshake), and the platform's
                // gives up on it when it does not trust the root; ask with the roots the caller trusts (or the chain's own).
                CheckRevocationAgain(leaf, chain, trusted, reasons, revocation, fetching);
            }

            if (reasons.Count > 1 && (now > leaf.NotAfter || now < leaf.NotBefore))
            {
                reasons.Remove(DescribeStatus(X509ChainStatusFlags.NotTimeValid, null));
            }

            if (purpose is not null)
            {
                // The chain's own "not valid for usage" says less than the purpose check did.
                reasons.Remove(DescribeStatus(X509ChainStatusFlags.NotValidForUsage, null));
            }

            if (reasons.Count == 0 && revocation.Count > 0)
            {
                return new CertificateRejection(SocketErrorKind.RevocationUnknown, string.Join("; ", revocation.Distinct()));
            }

            reasons.AddRange(revocation);
            return reasons.Count == 0 ? null : new CertificateRejection(SocketErrorKind.AuthenticationFailed, string.Join("; ", reasons.Distinct()));
        }

        /// <summary>
        /// Null when the certificate may be used for its side of TLS: no extended key usage at all
        /// (any purpose), or one that names serverAuth (servers) or clientAuth (clients).
        /// </summary>
        internal static string? CheckPurpose(X509Certificate2 certificate, bool serverCertificate)
        {
            string wanted = serverCertificate ? ServerAuthOid : ClientAuthOid;
            var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
            if (eku is null)
            {
                return null;
            }

            var names = new List<string>();
            foreach (var oid in eku.EnhancedKeyUsages)
            {
                if (oid.Value == wanted || oid.Value == AnyExtendedKeyUsageOid)
                {
                    return null;
                }

                names.Add(DescribeUsage(oid));
            }

            string side = serverCertificate ? "a TLS server (serverAuth)" : "a TLS client (clientAuth)";
            string has = names.Count == 0 ? "no purpose at all" : string.Join(", ", names);
            return $"unsuitable certificate purpose: the certificate '{Shown(certificate.Subject)}' is for {has}, not for {side}";
        }

        private static string DescribeUsage(Oid oid) => oid.Value switch
        {
            ServerAuthOid => "TLS server (serverAuth)",
            ClientAuthOid => "TLS client (clientAuth)",
            "1.3.6.1.5.5.7.3.3" => "code signing (codeSigning)",
            "1.3.6.1.5.5.7.3.4" => "e-mail protection (emailProtection)",
            "1.3.6.1.5.5.7.3.8" => "time stamping (timeStamping)",
            "1.3.6.1.5.5.7.3.9" => "OCSP signing (OCSPSigning)",
            _ => string.IsNullOrEmpty(oid.FriendlyName) ? oid.Value ?? "?" : $"{oid.FriendlyName} ({oid.Value})",
        };

        /// <summary>Builds the chain again with the extra anchors and checks that it ends in one of them.</summary>
        private static List<string> CheckAgainst(X509Certificate2 leaf, X509Chain? platformChain, X509Certificate2Collection trusted, bool serverCertificate)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            TlsHandshake.DisableDownloads(chain.ChainPolicy, TimeSpan.FromMilliseconds(1));
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(serverCertificate ? ServerAuthOid : ClientAuthOid));
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            chain.ChainPolicy.ExtraStore.AddRange(trusted);
            if (platformChain is not null)
            {
                foreach (var element in platformChain.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            chain.Build(leaf);
            var anchors = new HashSet<string>(trusted.Cast<X509Certificate2>().Select(c => c.Thumbprint), StringComparer.OrdinalIgnoreCase);
            var elements = chain.ChainElements.Cast<X509ChainElement>().ToList();
            bool anchored = elements.Any(e => anchors.Contains(e.Certificate.Thumbprint));
            var problems = new List<string>();
            if (!anchored)
            {
                var top = elements.Count > 0 ? elements[elements.Count - 1].Certificate : leaf;
                problems.Add($"untrusted root: the chain ends at '{Shown(top.Subject)}', which is not among the trusted certificates given");
            }

            foreach (var status in elements.SelectMany(e => e.ChainElementStatus).Concat(chain.ChainStatus))
            {
                var flag = status.Status;
                if (flag is X509ChainStatusFlags.NoError or X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain
                    or X509ChainStatusFlags.RevocationStatusUnknown or X509ChainStatusFlags.OfflineRevocation or X509ChainStatusFlags.Revoked)
                {
                    continue;
                }

                problems.Add(DescribeStatus(flag, status.StatusInformation));
            }

            return problems;
        }

        /// <summary>Puts the platform's chain verdict into words.</summary>
        private static List<string> DescribeChain(X509Certificate2 leaf, X509Chain? chain)
        {
            var problems = new List<string>();
            var statuses = chain?.ChainStatus ?? Array.Empty<X509ChainStatus>();
            foreach (var status in statuses)
            {
                switch (status.Status)
                {
                    case X509ChainStatusFlags.NoError:
                        break;
                    case X509ChainStatusFlags.UntrustedRoot:
                        var root = chain!.ChainElements.Count > 0 ? chain.ChainElements[chain.ChainElements.Count - 1].Certificate : leaf;
                        problems.Add(root.Subject == root.Issuer && chain.ChainElements.Count == 1
                            ? $"untrusted root: the certificate '{Shown(leaf.Subject)}' is self-signed and not trusted (trust it with -TrustedCertificate, or use -SkipCertificateCheck)"
                            : $"untrusted root: the chain ends at '{Shown(root.Subject)}', which this machine does not trust (trust it with -TrustedCertificate)");
                        break;
                    case X509ChainStatusFlags.PartialChain:
                        problems.Add($"untrusted root: no trusted issuer was found for '{Shown(leaf.Issuer)}' (the chain is incomplete; trust the CA with -TrustedCertificate)");
                        break;
                    case X509ChainStatusFlags.RevocationStatusUnknown or X509ChainStatusFlags.OfflineRevocation or X509ChainStatusFlags.Revoked:
                        // Judged by CheckRevocationAgain, which knows the trusted roots.
                        break;
                    default:
                        problems.Add(DescribeStatus(status.Status, status.StatusInformation));
                        break;
                }
            }

            if (problems.Count == 0 && !statuses.Any(s => s.Status is X509ChainStatusFlags.RevocationStatusUnknown or X509ChainStatusFlags.OfflineRevocation or X509ChainStatusFlags.Revoked))
            {
                problems.Add("the certificate chain is not valid");
            }

            return problems;
        }

        private static string DescribeStatus(X509ChainStatusFlags flag, string? info) => flag switch
        {
            X509ChainStatusFlags.NotTimeValid => "expired: a certificate in the chain is outside its validity period",
            X509ChainStatusFlags.Revoked => "revoked: a certificate in the chain has been revoked by its issuer (its CRL lists it)",
            X509ChainStatusFlags.NotSignatureValid => "bad signature: a certificate in the chain is not correctly signed",
            X509ChainStatusFlags.NotValidForUsage => "wrong usage: the certificate is not valid for this purpose",
            X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain => "untrusted root",
            _ => $"{flag}: {info?.Trim()}",
        };

        /// <summary>
        /// Builds the chain once more with online revocation checking, trusting the given anchors
        /// (or the chain's own self-signed top) as roots where the runtime allows custom roots
        /// (.NET 5+), and sorts what it finds into revoked (a reason) and unknown (revocation).
        /// </summary>
        private static void CheckRevocationAgain(X509Certificate2 leaf, X509Chain? platformChain, X509Certificate2Collection? trusted, List<string> reasons, List<string> revocation, Action<string?>? fetching)
        {
            var certificates = platformChain?.ChainElements.Cast<X509ChainElement>().Select(e => e.Certificate).Where(c => c.Subject != c.Issuer).ToList() ?? new List<X509Certificate2>();
            if (certificates.Count == 0)
            {
                certificates.Add(leaf);
            }

            var urls = certificates.SelectMany(CrlDistributionPoints).Distinct(StringComparer.Ordinal).ToList();
            if (urls.Count > MaxRevocationFetches)
            {
                revocation.Add($"revocation status unknown: the chain names {urls.Count} revocation list addresses, more than the {MaxRevocationFetches} PSSocket fetches for one peer (-CheckRevocation)");
                return;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.Online;
            TlsHandshake.DisableDownloads(chain.ChainPolicy, RevocationFetchTimeout);
            chain.ChainPolicy.RevocationFlag = X509RevocationFlag.ExcludeRoot;
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            var roots = new X509Certificate2Collection();
            if (trusted is not null)
            {
                chain.ChainPolicy.ExtraStore.AddRange(trusted);
                roots.AddRange(trusted);
            }

            foreach (var element in platformChain?.ChainElements.Cast<X509ChainElement>() ?? Enumerable.Empty<X509ChainElement>())
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                if (trusted is null or { Count: 0 } && element.Certificate.Subject == element.Certificate.Issuer)
                {
                    roots.Add(element.Certificate);
                }
            }

            UseCustomRoots(chain.ChainPolicy, roots);
            fetching?.Invoke(string.Join(", ", urls));
            try
            {
                chain.Build(leaf);
            }
            finally
            {
                fetching?.Invoke(null);
            }

            var statuses = chain.ChainElements.Cast<X509ChainElement>().SelectMany(e => e.ChainElementStatus).Concat(chain.ChainStatus).Select(s => s.Status).ToList();
            if (statuses.Contains(X509ChainStatusFlags.Revoked))
            {
                reasons.Add(DescribeStatus(X509ChainStatusFlags.Revoked, null));
            }
            else if (statuses.Any(s => s is X509ChainStatusFlags.RevocationStatusUnknown or X509ChainStatusFlags.OfflineRevocation))
            {
                revocation.Add(DescribeRevocationUnknown(leaf));
            }
        }

        private static readonly System.Reflection.PropertyInfo? s_trustMode = typeof(X509ChainPolicy).GetProperty("TrustMode");
        private static readonly System.Reflection.PropertyInfo? s_customTrustStore = typeof(X509ChainPolicy).GetProperty("CustomTrustStore");

        /// <summary>X509ChainPolicy.TrustMode = CustomRootTrust with these roots, where the runtime has it (missing from netstandard2.0).</summary>
        private static void UseCustomRoots(X509ChainPolicy policy, X509Certificate2Collection roots)
        {
            if (roots.Count == 0 || s_trustMode is null || s_customTrustStore?.GetValue(policy) is not X509Certificate2Collection store)
            {
                return;
            }

            store.AddRange(roots);
            s_trustMode.SetValue(policy, Enum.ToObject(s_trustMode.PropertyType, 1));
        }

        private static string DescribeRevocationUnknown(X509Certificate2 leaf)
        {
            var urls = CrlDistributionPoints(leaf);
            string where = urls.Count == 0 ? "the certificate names no CRL distribution point" : $"its CRL could not be fetched from {string.Join(", ", urls)}";
            return $"revocation status unknown: {where} (the check was asked for with -CheckRevocation; make the CRL reachable, or leave -CheckRevocation out)";
        }

        /// <summary>The URLs of a certificate's CRL distribution points extension.</summary>
        internal static List<string> CrlDistributionPoints(X509Certificate2 certificate)
        {
            var urls = new List<string>();
            var ext = certificate.Extensions.Cast<X509Extension>().FirstOrDefault(e => e.Oid?.Value == "2.5.29.31");
            if (ext is null)
            {
                return urls;
            }

            // The URIs are IA5 strings tagged [6] (uniformResourceIdentifier) inside the DER; a
            // full ASN.1 reader is not in netstandard2.0, and the tag is unambiguous enough here.
            var raw = ext.RawData;
            for (int i = 0; i + 2 < raw.Length; i++)
            {
                if (raw[i] != 0x86)
                {
                    continue;
                }

                int len = raw[i + 1];
                if (len < 0x80 && i + 2 + len <= raw.Length)
                {
                    var text = System.Text.Encoding.ASCII.GetString(raw, i + 2, len);
                    if (text.IndexOf("://", StringComparison.Ordinal) > 0 && text.All(c => c > ' ' && c < 0x7f))
                    {
                        urls.Add(text);
                        i += 1 + len;
                    }
                }
            }

            return urls;
        }

        /// <summary>A name the peer's certificate chose, safe for a message or a view (its control characters escaped).</summary>
        private static string Shown(string text) => TextEncoding.Escape(text);

        /// <summary>The DNS names and addresses a certificate is for (subject alternative names, else the CN).</summary>
        public static string DescribeNames(X509Certificate2 certificate)
        {
            foreach (var ext in certificate.Extensions)
            {
                if (ext.Oid?.Value == "2.5.29.17")
                {
                    var text = new AsnEncodedData(ext.Oid, ext.RawData).Format(false);
                    if (!string.IsNullOrWhiteSpace(text))
                    {
                        return Shown(text.Trim());
                    }
                }
            }

            return $"'{Shown(certificate.GetNameInfo(X509NameType.SimpleName, false))}'";
        }
    }

    /// <summary>Why a peer certificate was refused, and the kind of failure to report.</summary>
    public sealed class CertificateRejection
    {
        /// <summary>Creates a rejection.</summary>
        public CertificateRejection(SocketErrorKind kind, string message)
        {
            Kind = kind;
            Message = message;
        }

        /// <summary>AuthenticationFailed, or RevocationUnknown when only the revocation status could not be learned.</summary>
        public SocketErrorKind Kind { get; }

        /// <summary>The reasons, in words.</summary>
        public string Message { get; }
    }
}

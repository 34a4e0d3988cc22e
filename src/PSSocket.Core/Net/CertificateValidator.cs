using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
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
        /// <summary>
        /// Returns null when the certificate is acceptable, otherwise the reasons it is not.
        /// </summary>
        /// <param name="certificate">The peer certificate (null when the peer sent none).</param>
        /// <param name="chain">The chain the platform built, used for its intermediates.</param>
        /// <param name="errors">The platform's verdict.</param>
        /// <param name="trusted">Extra trust anchors (a CA, an intermediate or the certificate itself).</param>
        /// <param name="checkName">False for client certificates, which carry no host name.</param>
        /// <param name="expectedName">The name the certificate should carry, for the message.</param>
        public static string? Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection? trusted, bool checkName, string? expectedName)
        {
            if (certificate is null)
            {
                return "the peer sent no certificate";
            }

            var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
            var reasons = new List<string>();
            if (checkName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                reasons.Add($"name mismatch: the certificate is for {DescribeNames(leaf)}, not '{expectedName}' (use -TlsServerName to check another name)");
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
            if (chainErrors && trusted is { Count: > 0 })
            {
                reasons.AddRange(CheckAgainst(leaf, chain, trusted));
            }
            else if (chainErrors)
            {
                reasons.AddRange(DescribeChain(leaf, chain));
            }

            if (reasons.Count > 1 && (now > leaf.NotAfter || now < leaf.NotBefore))
            {
                reasons.Remove(DescribeStatus(X509ChainStatusFlags.NotTimeValid, null));
            }

            return reasons.Count == 0 ? null : string.Join("; ", reasons.Distinct());
        }

        /// <summary>Builds the chain again with the extra anchors and checks that it ends in one of them.</summary>
        private static List<string> CheckAgainst(X509Certificate2 leaf, X509Chain? platformChain, X509Certificate2Collection trusted)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
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
                problems.Add($"untrusted root: the chain ends at '{top.Subject}', which is not among the trusted certificates given");
            }

            foreach (var status in elements.SelectMany(e => e.ChainElementStatus).Concat(chain.ChainStatus))
            {
                var flag = status.Status;
                if (flag is X509ChainStatusFlags.NoError or X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain
                    or X509ChainStatusFlags.RevocationStatusUnknown or X509ChainStatusFlags.OfflineRevocation)
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
                            ? $"untrusted root: the certificate '{leaf.Subject}' is self-signed and not trusted (trust it with -TrustedCertificate, or use -SkipCertificateCheck)"
                            : $"untrusted root: the chain ends at '{root.Subject}', which this machine does not trust (trust it with -TrustedCertificate)");
                        break;
                    case X509ChainStatusFlags.PartialChain:
                        problems.Add($"untrusted root: no trusted issuer was found for '{leaf.Issuer}' (the chain is incomplete; trust the CA with -TrustedCertificate)");
                        break;
                    default:
                        problems.Add(DescribeStatus(status.Status, status.StatusInformation));
                        break;
                }
            }

            if (problems.Count == 0)
            {
                problems.Add("the certificate chain is not valid");
            }

            return problems;
        }

        private static string DescribeStatus(X509ChainStatusFlags flag, string? info) => flag switch
        {
            X509ChainStatusFlags.NotTimeValid => "expired: a certificate in the chain is outside its validity period",
            X509ChainStatusFlags.Revoked => "revoked: a certificate in the chain has been revoked",
            X509ChainStatusFlags.NotSignatureValid => "bad signature: a certificate in the chain is not correctly signed",
            X509ChainStatusFlags.NotValidForUsage => "wrong usage: the certificate is not valid for this purpose",
            X509ChainStatusFlags.UntrustedRoot or X509ChainStatusFlags.PartialChain => "untrusted root",
            _ => $"{flag}: {info?.Trim()}",
        };

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
                        return text.Trim();
                    }
                }
            }

            return $"'{certificate.GetNameInfo(X509NameType.SimpleName, false)}'";
        }
    }
}

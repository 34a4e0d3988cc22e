using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>Collects TLS facts from an open port: protocol and the server certificate, valid or not.</summary>
    internal static class PortTlsProbe
    {
        /// <summary>
        /// Runs a client handshake over the connected socket (which it does not close) and fills the
        /// TLS fields of the result; then, when asked, reads the service's banner over TLS. Failures
        /// land in TlsError; nothing throws except cancellation.
        /// </summary>
        public static async Task InspectAsync(Socket socket, string serverName, TimeSpan timeout, TlsPortCheckResult result, CancellationToken token,
            bool checkRevocation = false, X509Certificate2Collection? trusted = null, Func<Stream, Task>? afterHandshake = null)
        {
            var stream = new NetworkStream(socket, ownsSocket: false);
            // CA5359 asks that the callback reject bad certificates. This probe sends nothing over the
            // connection; it reports every certificate's facts and its validity (CertificateValid), and
            // the cmdlet turns an invalid one into an error unless -SkipCertificateCheck.
#pragma warning disable CA5359
            var ssl = new SslStream(stream, false, (_, certificate, chain, errors) =>
            {
                Record(result, certificate, chain, errors, serverName, checkRevocation, trusted);
                return true;
            });
#pragma warning restore CA5359
            try
            {
                // Not the one-argument overload: on .NET Framework that takes the legacy defaults
                // (no TLS 1.2); Negotiable asks what Connect-TcpSocket asks for.
                // On the pool, so a certificate check that blocks cannot hold the probe past its timeout.
                var handshake = Task.Run(() => TlsHandshake.AsClientAsync(ssl, serverName, null, TlsOptions.Negotiable(null), checkRevocation), CancellationToken.None);
                bool done;
                try
                {
                    done = await Deadline.After(timeout).WaitAsync(handshake, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Observe(handshake);
                    throw;
                }

                if (!done)
                {
                    Observe(handshake);
                    result.TlsError = $"The TLS handshake did not finish within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (is the peer speaking TLS?).";
                    return;
                }

                try
                {
                    await handshake.ConfigureAwait(false);
                    result.TlsProtocol = ssl.SslProtocol.ToString();
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or ObjectDisposedException or ArgumentException)
                {
                    result.TlsError = $"The TLS handshake failed: {TlsDiagnostics.Describe(ex)}";
                }

                if (result.TlsProtocol is not null && afterHandshake is not null)
                {
                    await afterHandshake(ssl).ConfigureAwait(false);
                }
            }
            finally
            {
                ssl.Dispose();
            }
        }

        /// <summary>The name to send as SNI and to check the certificate against.</summary>
        public static string ServerName(string computerName, IPAddress address)
        {
            if (string.IsNullOrEmpty(computerName) || Cidr.IsCidr(computerName) || IPAddress.TryParse(computerName, out _))
            {
                return address.ToString();
            }

            return computerName;
        }

        private static void Record(TlsPortCheckResult result, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, string serverName, bool checkRevocation, X509Certificate2Collection? trusted)
        {
            // The same validator, and so the same words, as Connect-TcpSocket -UseTls.
            var rejection = CertificateValidator.Evaluate(certificate, chain, errors, trusted is { Count: > 0 } ? trusted : null, serverCertificate: true, serverName, checkRevocation);
            result.CertificateValid = rejection is null;
            result.CertificateErrors = rejection?.Message;

            if (certificate is null)
            {
                return;
            }

            using var cert = new X509Certificate2(certificate);
            // The server chose these names: escaped before they reach a table or an error.
            result.CertificateSubject = TextEncoding.Escape(cert.Subject);
            result.CertificateIssuer = TextEncoding.Escape(cert.Issuer);
            result.CertificateNotAfter = cert.NotAfter;
            result.CertificateThumbprint = cert.Thumbprint;
            result.DaysUntilExpiry = DaysUntil(cert.NotAfter.ToUniversalTime(), DateTime.UtcNow);
        }

        /// <summary>Whole days from now to notAfter, to the nearest day (a fresh 30-day certificate says 30).</summary>
        internal static int DaysUntil(DateTime notAfterUtc, DateTime nowUtc) =>
            (int)Math.Round((notAfterUtc - nowUtc).TotalDays, MidpointRounding.AwayFromZero);

        private static void Observe(Task task) => _ = task.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }
}

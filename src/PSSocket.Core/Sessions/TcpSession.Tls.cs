using System.ComponentModel;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket
{
    /// <summary>TLS on a TCP session: started at connect, on accept, or later in place (STARTTLS).</summary>
    public partial class TcpSession
    {

        /// <inheritdoc />
        public override bool IsTls => _connection.Tls is not null;

        /// <summary>The negotiated TLS version, or null when the session is not encrypted.</summary>
        public SslProtocols? TlsProtocol { get; private set; }

        /// <summary>
        /// The negotiated cipher suite (its IANA name where the runtime exposes it, else the
        /// cipher, hash and key exchange algorithms), or null when the session is not encrypted.
        /// </summary>
        public string? CipherSuite { get; private set; }

        /// <summary>The peer's certificate: the server's on a client session, the client's (if it sent one) on a server session.</summary>
        public X509Certificate2? RemoteCertificate { get; private set; }

        /// <summary>The name TLS was started for: the SNI and checked name on a client session, the SNI the client asked for on a server session.</summary>
        public string? TlsServerName { get; private set; }

        /// <summary>True when this end is the TLS server (accepted by a TLS listener, or Start-SocketTls -AsServer).</summary>
        public bool IsTlsServer { get; private set; }

        /// <summary>The host name the session was connected to, the default TLS server name.</summary>
        public string? ConnectedHost { get; set; }

        /// <summary>
        /// Starts TLS as the client over the connection as it is (right after connect, or after a
        /// STARTTLS exchange). On failure the session is closed and AuthenticationFailed names why.
        /// </summary>
        public Task StartTlsAsClientAsync(TlsClientOptions options, Deadline deadline, CancellationToken token)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            string serverName = string.IsNullOrEmpty(options.ServerName) ? DefaultServerName() : options.ServerName;
            if (TlsDiagnostics.CheckHostName(serverName) is { } badName)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The TLS server name '{TlsDiagnostics.Escape(serverName)}' cannot be used: {badName}. Give a host name or IP address with -TlsServerName.", target: serverName);
            }

            CertificateRejection? rejection = null;
            var fetching = new RevocationFetch();
            bool Validate(object sender, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
            {
                if (options.SkipCertificateCheck)
                {
                    return true;
                }

                rejection = CertificateValidator.Evaluate(cert, chain, errors, options.TrustedCertificates, serverCertificate: true, serverName, options.CheckRevocation, fetching.Set);
                return rejection is null;
            }

            X509Certificate? Select(object sender, string host, X509CertificateCollection local, X509Certificate? remote, string[] issuers) =>
                options.ClientCertificate;

            var clientCerts = new X509CertificateCollection();
            if (options.ClientCertificate is not null)
            {
                clientCerts.Add(options.ClientCertificate);
            }

            return UpgradeAsync(
                inner => new SslStream(inner, false, Validate, Select),
                ssl => TlsHandshake.AsClientAsync(ssl, serverName, clientCerts, options.SslProtocols, options.CheckRevocation && !options.SkipCertificateCheck),
                () => rejection is null ? null : new CertificateRejection(rejection.Kind, $"the server certificate was rejected: {rejection.Message}"),
                serverName, isServer: false, fetching, deadline, token);
        }

        /// <summary>
        /// Starts TLS as the server with the given certificate (on accept, or after a STARTTLS
        /// request). On failure the session is closed and AuthenticationFailed names why.
        /// </summary>
        public Task StartTlsAsServerAsync(TlsServerOptions options, Deadline deadline, CancellationToken token)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            CertificateRejection? rejection = null;
            var fetching = new RevocationFetch();
            bool Validate(object sender, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
            {
                if (!options.RequireClientCertificate)
                {
                    return true;
                }

                rejection = CertificateValidator.Evaluate(cert, chain, errors, options.TrustedCertificates, serverCertificate: false, null, options.CheckRevocation, fetching.Set);
                return rejection is null;
            }

            return UpgradeAsync(
                inner => new SslStream(inner, false, Validate),
                ssl => TlsHandshake.AsServerAsync(ssl, options.Certificate, options.RequireClientCertificate, options.SslProtocols, options.CheckRevocation && options.RequireClientCertificate),
                () => rejection is null ? null : new CertificateRejection(rejection.Kind, $"the client certificate was rejected: {rejection.Message}"),
                null, isServer: true, fetching, deadline, token);
        }

        /// <summary>
        /// Disposes the resource when the session closes (at once if it already has): certificates
        /// loaded from files for this session, so their keys do not outlive it.
        /// </summary>
        public void DisposeWhenClosed(IDisposable resource)
        {
            if (resource is null)
            {
                throw new ArgumentNullException(nameof(resource));
            }

            WhenClosed(_ => resource.Dispose());
        }

        private string OnSession => Id == 0 ? "" : $" on session {this}";

        private string DefaultServerName() =>
            !string.IsNullOrEmpty(ConnectedHost) ? ConnectedHost! : (RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "";

        private async Task UpgradeAsync(Func<Stream, SslStream> wrap, Func<SslStream, Task> handshake, Func<CertificateRejection?> rejection, string? serverName, bool isServer, RevocationFetch fetching, Deadline deadline, CancellationToken token)
        {
            var ssl = await _connection.UpgradeAsync(isServer, (inner, peerSilent) => HandshakeAsync(wrap(inner), handshake, rejection, peerSilent, fetching, deadline, token), deadline, token).ConfigureAwait(false);
            IsTlsServer = isServer;
            TlsProtocol = ssl.SslProtocol;
            CipherSuite = ReadCipherSuite(ssl);
            RemoteCertificate = ssl.RemoteCertificate is { } remote ? new X509Certificate2(remote.GetRawCertData()) : null;
            // A client's SNI is whatever it sent: kept only when it is a host name, else escaped.
            TlsServerName = isServer ? TlsDiagnostics.SafeServerName(ReadString(ssl, "TargetHostName")) : serverName;
        }

        /// <summary>Runs the handshake within the deadline; on failure or timeout the session is closed and the exception says why.</summary>
        private async Task<SslStream> HandshakeAsync(SslStream ssl, Func<SslStream, Task> handshake, Func<CertificateRejection?> rejection, Func<bool> peerSilent, RevocationFetch fetching, Deadline deadline, CancellationToken token)
        {
            string peer = Endpoints.Format(RemoteEndPoint);
            // On the pool: a handshake whose bytes are already there runs synchronously as far as
            // the certificate check, and a check that blocks (a revocation fetch) must not hold
            // the caller past its deadline.
            var task = Task.Run(() => handshake(ssl), CancellationToken.None);

            bool done;
            try
            {
                done = await deadline.WaitAsync(task, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Abandon(ssl, task, "TLS handshake stopped");
                throw;
            }

            if (!done)
            {
                Abandon(ssl, task, "TLS handshake timed out");
                throw fetching.Urls is { } urls
                    ? new PSSocketException(SocketErrorKind.RevocationUnknown,
                        $"The TLS handshake with {peer}{OnSession} did not finish within the timeout: the revocation check (-CheckRevocation) was still fetching the revocation list from {urls}. Make it reachable, give more time, or leave -CheckRevocation out. The session is closed.",
                        target: this)
                    : new PSSocketException(SocketErrorKind.ConnectionTimedOut,
                        $"The TLS handshake with {peer}{OnSession} did not finish within the timeout (is the peer speaking TLS?). The session is closed.",
                        target: this);
            }

            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or AuthenticationException or SocketException or Win32Exception or InvalidOperationException or NotSupportedException or ArgumentException)
            {
                throw HandshakeFailed(ssl, ex, rejection(), peer, peerSilent());
            }

            return ssl;
        }

        /// <summary>
        /// Whether a server handshake failed because the client closed or reset the connection
        /// before sending its first byte (a port probe), not because TLS failed: listeners, servers
        /// and relays count such clients as reset, never as failed handshakes.
        /// </summary>
        internal static bool ClosedBeforeHandshake(Exception ex) => ex is PSSocketException { Kind: SocketErrorKind.ConnectionReset };

        private PSSocketException HandshakeFailed(SslStream ssl, Exception ex, CertificateRejection? rejection, string peer, bool peerSilent)
        {
            string why = rejection?.Message ?? $"the TLS handshake failed: {TlsDiagnostics.Describe(ex)}";
            var fault = peerSilent && rejection is null && ex is IOException
                ? new PSSocketException(SocketErrorKind.ConnectionReset, $"{peer} closed the connection before sending a TLS handshake (a port probe or a client that gave up).", ex, target: this)
                : new PSSocketException(rejection?.Kind ?? SocketErrorKind.AuthenticationFailed, $"TLS with {peer}{OnSession} failed: {why}.", ex, target: this);
            Close(fault.Message);
            ssl.Dispose();
            return fault;
        }

        private void Abandon(SslStream ssl, Task handshake, string reason)
        {
            Close(reason);
            ssl.Dispose();
            _ = handshake.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }

        /// <summary>An I/O failure in words; TLS alerts get the same advice as a failed handshake.</summary>
        internal static string Describe(Exception ex) => TlsDiagnostics.Describe(ex);

        private static string ReadCipherSuite(SslStream ssl)
        {
            // NegotiatedCipherSuite exists on .NET Core 3.0+ only; netstandard2.0 cannot name it.
            var suite = ReadString(ssl, "NegotiatedCipherSuite");
            if (!string.IsNullOrEmpty(suite))
            {
                return suite!;
            }

            try
            {
                return $"{ssl.CipherAlgorithm} {ssl.CipherStrength}-bit, {ssl.HashAlgorithm}, {ssl.KeyExchangeAlgorithm}";
            }
            catch (NotSupportedException)
            {
                return "unknown";
            }
        }

        private static string? ReadString(SslStream ssl, string property)
        {
            try
            {
                return typeof(SslStream).GetProperty(property)?.GetValue(ssl)?.ToString();
            }
            catch (System.Reflection.TargetInvocationException)
            {
                return null;
            }
        }

        /// <summary>What the certificate check is fetching while it fetches (set from the handshake's thread, read at the deadline).</summary>
        private sealed class RevocationFetch
        {
            private string? _urls;

            public string? Urls => Volatile.Read(ref _urls);

            public void Set(string? urls) => Volatile.Write(ref _urls, urls);
        }
    }
}

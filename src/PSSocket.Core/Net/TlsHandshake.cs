using System.Net.Security;
using System.Reflection;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>
    /// Starts the TLS handshakes of every PSSocket path (sessions, servers, listeners, relays, port
    /// checks) so that checking the peer's certificate fetches nothing from the network the peer
    /// names: the chain is built only from the certificates the peer sent and the trusted ones (no
    /// AIA caIssuers download), and revocation is checked by <see cref="CertificateValidator"/> alone,
    /// bounded, when -CheckRevocation asks for it. Where the runtime has the options API with a chain
    /// policy (.NET 7 and later) the handshake runs with <see cref="OfflinePolicy"/>; elsewhere it
    /// falls back to the netstandard2.0 overloads, whose chain the platform builds its own way.
    /// </summary>
    internal static class TlsHandshake
    {
        private static readonly Type? s_serverOptions = typeof(SslStream).Assembly.GetType("System.Net.Security.SslServerAuthenticationOptions");
        private static readonly Type? s_clientOptions = typeof(SslStream).Assembly.GetType("System.Net.Security.SslClientAuthenticationOptions");
        private static readonly MethodInfo? s_asServer = Method("AuthenticateAsServerAsync", s_serverOptions);
        private static readonly MethodInfo? s_asClient = Method("AuthenticateAsClientAsync", s_clientOptions);
        private static readonly PropertyInfo? s_disableDownloads = typeof(X509ChainPolicy).GetProperty("DisableCertificateDownloads");

        /// <summary>True when the runtime lets a handshake build its chain without downloads (the options API with CertificateChainPolicy).</summary>
        public static bool Offline => s_asServer is not null && s_asClient is not null && s_disableDownloads is not null
            && s_serverOptions!.GetProperty("CertificateChainPolicy") is not null && s_clientOptions!.GetProperty("CertificateChainPolicy") is not null;

        /// <summary>
        /// A chain policy that downloads nothing: no missing issuer is fetched (AIA) and no
        /// revocation list either. On runtimes without DisableCertificateDownloads the URL retrieval
        /// timeout is the smallest there is, so a fetch the platform still tries gives up at once.
        /// </summary>
        public static X509ChainPolicy OfflinePolicy()
        {
            var policy = new X509ChainPolicy { RevocationMode = X509RevocationMode.NoCheck };
            DisableDownloads(policy, TimeSpan.FromMilliseconds(1));
            return policy;
        }

        /// <summary>No AIA downloads on the policy (where the runtime can say so), and URL fetches bounded by the timeout.</summary>
        public static void DisableDownloads(X509ChainPolicy policy, TimeSpan urlTimeout)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            s_disableDownloads?.SetValue(policy, true);
            policy.UrlRetrievalTimeout = urlTimeout;
        }

        /// <summary>The server side: asks for a client certificate when told; revocation only on the fallback path (the validator checks it otherwise).</summary>
        public static Task AsServerAsync(SslStream ssl, X509Certificate certificate, bool requireClientCertificate, SslProtocols protocols, bool checkRevocation)
        {
            if (!Offline)
            {
                return ssl.AuthenticateAsServerAsync(certificate, requireClientCertificate, protocols, checkRevocation);
            }

            var options = Activator.CreateInstance(s_serverOptions!)!;
            Set(options, "ServerCertificate", certificate);
            Set(options, "ClientCertificateRequired", requireClientCertificate);
            Set(options, "EnabledSslProtocols", protocols);
            Set(options, "CertificateChainPolicy", OfflinePolicy());
            return Invoke(s_asServer!, ssl, options);
        }

        /// <summary>The client side, with the client certificates to offer (picked by the stream's selection callback).</summary>
        public static Task AsClientAsync(SslStream ssl, string serverName, X509CertificateCollection? clientCertificates, SslProtocols protocols, bool checkRevocation)
        {
            if (!Offline)
            {
                return ssl.AuthenticateAsClientAsync(serverName, clientCertificates, protocols, checkRevocation);
            }

            var options = Activator.CreateInstance(s_clientOptions!)!;
            Set(options, "TargetHost", serverName);
            Set(options, "ClientCertificates", clientCertificates);
            Set(options, "EnabledSslProtocols", protocols);
            Set(options, "CertificateChainPolicy", OfflinePolicy());
            return Invoke(s_asClient!, ssl, options);
        }

        private static Task Invoke(MethodInfo method, SslStream ssl, object options)
        {
            try
            {
                return (Task)method.Invoke(ssl, new[] { options, CancellationToken.None })!;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                // What the overloads throw before any I/O (a refused protocol), as they throw it.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }
        }

        private static MethodInfo? Method(string name, Type? options) =>
            options is null ? null : typeof(SslStream).GetMethod(name, new[] { options, typeof(CancellationToken) });

        private static void Set(object options, string property, object? value) =>
            options.GetType().GetProperty(property)!.SetValue(options, value);
    }
}

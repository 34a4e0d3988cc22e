using System;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>
    /// A TCP listener whose accepted clients are TLS server sessions: each accept runs the
    /// handshake with the listener's certificate before the session is handed out.
    /// </summary>
    public sealed class TlsListenerSession : TcpListenerSession
    {
        /// <summary>How long a handshake may take when the accept itself may wait forever.</summary>
        public static readonly TimeSpan UnboundedWaitHandshakeLimit = TimeSpan.FromSeconds(30);

        /// <summary>Binds and listens; accepted clients speak TLS with the given options.</summary>
        public TlsListenerSession(IPAddress address, int port, int backlog, TlsServerOptions tls)
            : base(address, port, backlog)
        {
            Tls = tls ?? throw new ArgumentNullException(nameof(tls));
        }

        /// <summary>The server side TLS settings.</summary>
        internal TlsServerOptions Tls { get; }

        /// <inheritdoc />
        public override bool IsTls => true;

        /// <summary>The certificate clients see (its private key never leaves the process).</summary>
        public X509Certificate2 Certificate => Tls.Certificate;

        /// <summary>Disposes the certificate when the listener closes (it was loaded from a file for this listener).</summary>
        public bool DisposeCertificateOnClose { get; set; }

        /// <inheritdoc />
        protected override void OnClose()
        {
            base.OnClose();
            if (DisposeCertificateOnClose)
            {
                Tls.Certificate.Dispose();
            }
        }

        /// <summary>Whether clients must present a valid certificate.</summary>
        public bool RequireClientCertificate => Tls.RequireClientCertificate;

        /// <inheritdoc />
        public override async Task<TcpSession> AcceptSessionAsync(Deadline deadline, CancellationToken token)
        {
            var session = await base.AcceptSessionAsync(deadline, token).ConfigureAwait(false);
            // A client that connects and never speaks must not hold an endless wait forever.
            var handshakeDeadline = deadline.IsInfinite ? Deadline.After(UnboundedWaitHandshakeLimit) : deadline;
            try
            {
                await session.StartTlsAsServerAsync(Tls, handshakeDeadline, token).ConfigureAwait(false);
            }
            catch
            {
                session.Close("TLS handshake failed");
                throw;
            }

            return session;
        }
    }
}

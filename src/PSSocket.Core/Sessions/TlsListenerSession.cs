using System.Security.Cryptography.X509Certificates;

namespace PSSocket
{
    /// <summary>
    /// A TCP listener whose accepted clients are TLS server sessions. Once a caller first waits
    /// for a client, the listener accepts ahead in the background and runs the handshakes beside
    /// the waits (<see cref="TlsAcceptAhead"/>: at most <see cref="MaxPendingHandshakes"/> accepted
    /// and not yet taken, each within <see cref="HandshakeLimit"/>, the oldest unfinished one closed
    /// to make room); a wait returns the first client whose handshake completes, so silent
    /// connections cannot delay a real client. Handshakes that complete while nobody waits are
    /// kept for the next wait.
    /// </summary>
    public sealed class TlsListenerSession : TcpListenerSession
    {
        /// <summary>How long one handshake may take.</summary>
        public static readonly TimeSpan UnboundedWaitHandshakeLimit = TimeSpan.FromSeconds(30);

        /// <summary>How many accepted clients may be handshaking or waiting to be taken at once.</summary>
        public const int MaxPendingHandshakes = TlsAcceptAhead.DefaultMaxPending;

        private readonly object _startLock = new();
        private TlsAcceptAhead? _ahead;

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

        /// <summary>Whether clients must present a valid certificate.</summary>
        public bool RequireClientCertificate => Tls.RequireClientCertificate;

        /// <summary>
        /// Clients that closed or reset the connection before sending a byte (port probes such as
        /// Test-TcpPort or a scanner): dropped without an error, so they cannot use up a wait.
        /// </summary>
        public int ClientsReset => _ahead?.ClientsReset ?? 0;

        /// <summary>Unfinished handshakes closed to make room for newer clients while <see cref="MaxPendingHandshakes"/> were pending (silent connections pushed out): dropped without an error.</summary>
        public int HandshakesPushedOut => _ahead?.PushedOut ?? 0;

        /// <summary>How long one handshake may take (a client that connects and never speaks is dropped after it). Set before the first wait.</summary>
        public TimeSpan HandshakeLimit { get; set; } = UnboundedWaitHandshakeLimit;

        /// <summary>
        /// The next client whose handshake completed; a handshake that failed surfaces as its
        /// AuthenticationFailed or ConnectionTimedOut error (target: the failed session), and the
        /// listener goes on. AcceptTimeout at the deadline.
        /// </summary>
        public override async Task<TcpSession> AcceptSessionAsync(Deadline deadline, CancellationToken token)
        {
            ThrowIfClosed();
            TlsAcceptAhead ahead;
            lock (_startLock)
            {
                ThrowIfClosed();
                ahead = _ahead ??= new TlsAcceptAhead(AcceptOrNullAsync, CreateAcceptedSession, Tls, HandshakeLimit, MaxPendingHandshakes, refused: null);
            }

            ahead.Start();
            var taken = await ahead.TakeAsync(deadline, token).ConfigureAwait(false);
            if (IsClosed)
            {
                taken?.Session?.Close("The listener was closed");
                ThrowIfClosed();
            }

            if (taken is null)
            {
                throw AcceptTimeoutError();
            }

            return taken.Session ?? throw taken.Error!;
        }

        private async Task<Socket?> AcceptOrNullAsync(CancellationToken token)
        {
            try
            {
                return await AcceptAsync(Deadline.Infinite, token).ConfigureAwait(false);
            }
            catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.SessionClosed || IsClosed)
            {
                throw new OperationCanceledException(token);
            }
            catch (PSSocketException)
            {
                // EMFILE and friends: retry shortly; callers time out meanwhile.
                await Task.Delay(200, token).ConfigureAwait(false);
                return null;
            }
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            lock (_startLock)
            {
                _ahead?.Stop("The listener was closed");
            }

            base.OnClose();
            if (DisposeCertificateOnClose)
            {
                Tls.Certificate.Dispose();
            }
        }
    }
}

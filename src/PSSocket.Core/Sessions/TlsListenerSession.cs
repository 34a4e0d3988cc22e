using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>
    /// A TCP listener whose accepted clients are TLS server sessions. Once a caller first waits
    /// for a client, the listener accepts in the background and runs the handshakes of accepted
    /// sockets concurrently (at most <see cref="MaxPendingHandshakes"/> accepted and not yet taken,
    /// each within <see cref="HandshakeLimit"/>); a wait returns the first client whose handshake
    /// completes, so a silent connection cannot delay a real client. Handshakes that complete
    /// while nobody waits are kept for the next wait.
    /// </summary>
    public sealed class TlsListenerSession : TcpListenerSession
    {
        /// <summary>How long one handshake may take.</summary>
        public static readonly TimeSpan UnboundedWaitHandshakeLimit = TimeSpan.FromSeconds(30);

        /// <summary>How many accepted clients may be handshaking or waiting to be taken at once.</summary>
        public const int MaxPendingHandshakes = 64;

        private readonly CancellationTokenSource _closing = new();
        private readonly SemaphoreSlim _pending = new(MaxPendingHandshakes, MaxPendingHandshakes);
        private readonly ConcurrentQueue<HandshakeResult> _results = new();
        private readonly SemaphoreSlim _resultCount = new(0);
        private int _started;
        private int _reset;

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
        public int ClientsReset => Volatile.Read(ref _reset);

        /// <summary>How long one handshake may take (a client that connects and never speaks is dropped after it).</summary>
        public TimeSpan HandshakeLimit { get; set; } = UnboundedWaitHandshakeLimit;

        /// <summary>
        /// The next client whose handshake completed; a handshake that failed surfaces as its
        /// AuthenticationFailed or ConnectionTimedOut error (target: the failed session), and the
        /// listener goes on. AcceptTimeout at the deadline.
        /// </summary>
        public override async Task<TcpSession> AcceptSessionAsync(Deadline deadline, CancellationToken token)
        {
            ThrowIfClosed();
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                _ = Task.Run(AcceptLoopAsync, CancellationToken.None);
            }

            if (!await _resultCount.WaitAsync(deadline.Remaining, token).ConfigureAwait(false))
            {
                throw AcceptTimeoutError();
            }

            _results.TryDequeue(out var result);
            _pending.Release();
            ThrowIfClosed();
            return result!.Session ?? throw result.Error!;
        }

        private async Task AcceptLoopAsync()
        {
            var token = _closing.Token;
            while (!token.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    await _pending.WaitAsync(token).ConfigureAwait(false);
                    socket = await AcceptAsync(Deadline.Infinite, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.SessionClosed || IsClosed)
                {
                    return;
                }
                catch (PSSocketException)
                {
                    // EMFILE and friends: retry shortly; callers time out meanwhile.
                    _pending.Release();
                    await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                _ = Task.Run(() => HandshakeAsync(socket, token));
            }
        }

        private async Task HandshakeAsync(Socket socket, CancellationToken token)
        {
            var session = CreateAcceptedSession(socket);
            HandshakeResult result;
            try
            {
                await session.StartTlsAsServerAsync(Tls, Deadline.After(HandshakeLimit), token).ConfigureAwait(false);
                result = new HandshakeResult(session, null);
            }
            catch (Exception ex)
            {
                session.Close("TLS handshake failed");
                if (IsClosed)
                {
                    return;
                }

                if (TcpSession.ClosedBeforeHandshake(ex))
                {
                    // Closed or reset before sending a byte (a port probe): nobody waits for it.
                    Interlocked.Increment(ref _reset);
                    _pending.Release();
                    return;
                }

                result = new HandshakeResult(null, ex as PSSocketException
                    ?? new PSSocketException(SocketErrorKind.AuthenticationFailed, $"The TLS handshake with {Endpoints.Format(session.RemoteEndPoint)} failed: {ex.Message}", ex, target: session));
            }

            if (IsClosed)
            {
                result.Session?.Close("The listener was closed");
                return;
            }

            _results.Enqueue(result);
            _resultCount.Release();
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            _closing.Cancel();
            base.OnClose();
            while (_results.TryDequeue(out var waiting))
            {
                waiting.Session?.Close("The listener was closed");
            }

            if (DisposeCertificateOnClose)
            {
                Tls.Certificate.Dispose();
            }
        }

        private sealed class HandshakeResult
        {
            public HandshakeResult(TcpSession? session, PSSocketException? error)
            {
                Session = session;
                Error = error;
            }

            public TcpSession? Session { get; }

            public PSSocketException? Error { get; }
        }
    }
}

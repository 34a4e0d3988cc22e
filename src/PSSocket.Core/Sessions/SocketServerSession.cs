using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>
    /// A listener that serves every client concurrently (Start-SocketServer). An accept loop takes
    /// a client only when one of ThrottleLimit slots is free, so clients beyond the limit wait in
    /// the kernel's accept backlog instead of being dropped; each accepted client becomes a
    /// registered <see cref="TcpSession"/> handed to the handler, and is closed and removed when
    /// the handler ends. With UDP, each datagram is handed over with its sender and the handler's
    /// replies are sent back. What each client produced is kept as a <see cref="ServerClientRecord"/>.
    /// </summary>
    public sealed class SocketServerSession : SocketSession
    {
        /// <summary>How many unread client records are kept; older ones are dropped (and counted) past this.</summary>
        public const int MaxRecords = 10000;

        /// <summary>How long closing waits for stopped script blocks to end before releasing their runspaces.</summary>
        public static readonly TimeSpan TeardownWait = TimeSpan.FromSeconds(10);

        private static readonly TimeSpan s_tlsHandshakeTimeout = TimeSpan.FromSeconds(15);

        private readonly Socket _socket;
        private readonly SemaphoreSlim _slots;
        private readonly CancellationTokenSource _acceptCts = new();
        private readonly CancellationTokenSource _clientsCts = new();
        private readonly ConcurrentDictionary<int, Task> _handlers = new();
        private readonly ConcurrentDictionary<int, ServerClientSession> _clients = new();
        private readonly object _recordLock = new();
        private readonly Queue<ServerClientRecord> _records = new();
        private readonly TaskCompletionSource<bool> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource<bool> _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private IServerClientHandler? _handler;
        private Task _acceptLoop = Task.CompletedTask;
        private Task? _teardown;
        private int _handlerSeq;
        private int _accepted;
        private int _active;
        private int _failed;
        private long _recordsDropped;
        private volatile bool _stopping;

        /// <summary>Binds (and for TCP listens) on the address and port; call <see cref="Start"/> to serve.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public SocketServerSession(IPAddress address, int port, bool udp, int throttleLimit, X509Certificate2? certificate = null, int backlog = 512)
            : base(udp ? SessionKind.UdpServer : SessionKind.TcpServer)
        {
            if (address is null)
            {
                throw new ArgumentNullException(nameof(address));
            }

            if (port is < 0 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {port} is outside 0-65535.", target: port);
            }

            if (throttleLimit < 1)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"ThrottleLimit {throttleLimit} must be at least 1.", target: throttleLimit);
            }

            if (certificate is not null && udp)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "A UDP server cannot use TLS: -Certificate works only with TCP.", target: certificate);
            }

            if (certificate is not null && !certificate.HasPrivateKey)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The certificate '{certificate.Subject}' has no private key, so it cannot serve TLS. Use a PFX file or a certificate with its key.", target: certificate);
            }

            ThrottleLimit = throttleLimit;
            Certificate = certificate;
            _slots = new SemaphoreSlim(throttleLimit, throttleLimit);
            _socket = udp
                ? new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
                : new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    _socket.DualMode = true;
                }

                _socket.Bind(new IPEndPoint(address, port));
                if (!udp)
                {
                    _socket.Listen(backlog <= 0 ? 512 : backlog);
                }
            }
            catch (SocketException ex)
            {
                _socket.Dispose();
                throw PSSocketException.From(ex, $"Listening on {Endpoints.Format(new IPEndPoint(address, port))} failed", $"{address}:{port}");
            }

            LocalEndPoint = _socket.LocalEndPoint;
        }

        /// <summary>The port the server is bound to (the chosen one when 0 was asked for).</summary>
        public int Port => ((IPEndPoint)LocalEndPoint!).Port;

        /// <summary>How many clients (datagrams, for UDP) are served at once; the rest wait.</summary>
        public int ThrottleLimit { get; }

        /// <summary>The server certificate when accepted connections are wrapped in TLS.</summary>
        public X509Certificate2? Certificate { get; }

        /// <inheritdoc />
        public override bool IsTls => Certificate is not null;

        /// <summary>Clients accepted (datagrams received, for UDP) so far.</summary>
        public int ClientsAccepted => Volatile.Read(ref _accepted);

        /// <summary>Clients being served now.</summary>
        public int ClientsActive => Volatile.Read(ref _active);

        /// <summary>Clients whose script block threw, or that could not be set up (TLS handshake failed).</summary>
        public int ClientsFailed => Volatile.Read(ref _failed);

        /// <summary>Client records dropped unread because more than <see cref="MaxRecords"/> were waiting.</summary>
        public long RecordsDropped => Interlocked.Read(ref _recordsDropped);

        /// <summary>Client records waiting to be read with Receive-SocketServerOutput.</summary>
        public override int Available
        {
            get
            {
                lock (_recordLock)
                {
                    return _records.Count;
                }
            }
        }

        /// <summary>The last error the accept loop survived (for example running out of file descriptors).</summary>
        public string? LastAcceptError { get; private set; }

        /// <summary>Completes once the server has stopped, every client has ended and the handler is released.</summary>
        public Task Completion => _completed.Task;

        /// <inheritdoc />
        protected override SessionState CurrentState => _stopping ? SessionState.Closed : SessionState.Listening;

        /// <summary>Starts serving with the handler; the server owns (and disposes) it from here.</summary>
        public void Start(IServerClientHandler handler)
        {
            if (Interlocked.CompareExchange(ref _handler, handler ?? throw new ArgumentNullException(nameof(handler)), null) is not null)
            {
                throw new InvalidOperationException("The server is already started.");
            }

            ThrowIfClosed();
            _acceptLoop = Task.Run(() => Kind == SessionKind.UdpServer ? ReceiveLoopAsync() : AcceptLoopAsync());
        }

        // ---- serving -------------------------------------------------------------------------

        private async Task AcceptLoopAsync()
        {
            var token = _acceptCts.Token;
            while (!_stopping)
            {
                // Take a slot before accepting: clients past the limit stay in the backlog.
                try
                {
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                Socket client;
                try
                {
                    client = await _socket.AcceptAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    _slots.Release();
                    if (_stopping)
                    {
                        return;
                    }

                    // EMFILE and friends: keep serving the clients we have and retry shortly.
                    LastAcceptError = ex.Message;
                    await DelayQuietly(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                    continue;
                }

                if (_stopping)
                {
                    client.Dispose();
                    _slots.Release();
                    return;
                }

                Interlocked.Increment(ref _accepted);
                Interlocked.Increment(ref _active);
                Touch();
                Track(() => ServeTcpAsync(client));
            }
        }

        private async Task ReceiveLoopAsync()
        {
            var token = _acceptCts.Token;
            var buffer = new byte[65536];
            var any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
            while (!_stopping)
            {
                try
                {
                    await _slots.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                SocketReceiveFromResult got;
                try
                {
                    got = await _socket.ReceiveFromAsync(new ArraySegment<byte>(buffer), SocketFlags.None, any).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    _slots.Release();
                    if (_stopping)
                    {
                        return;
                    }

                    // An ICMP "port unreachable" for an earlier reply surfaces here on some systems: not fatal.
                    LastAcceptError = ex.Message;
                    if (ex is not SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset })
                    {
                        await DelayQuietly(TimeSpan.FromMilliseconds(50), token).ConfigureAwait(false);
                    }

                    continue;
                }

                var payload = new byte[got.ReceivedBytes];
                Buffer.BlockCopy(buffer, 0, payload, 0, got.ReceivedBytes);
                CountReceived(got.ReceivedBytes);
                Interlocked.Increment(ref _accepted);
                Interlocked.Increment(ref _active);
                var request = new UdpServerRequest(this, got.RemoteEndPoint, payload);
                Track(() => ServeUdpAsync(request));
            }
        }

        private void Track(Func<Task> serve)
        {
            int key = Interlocked.Increment(ref _handlerSeq);
            var task = Task.Run(serve);
            _handlers[key] = task;
            _ = task.ContinueWith(_ => _handlers.TryRemove(key, out Task _), TaskScheduler.Default);
        }

        private async Task ServeTcpAsync(Socket socket)
        {
            var started = DateTime.Now;
            var clock = Stopwatch.StartNew();
            EndPoint? remote = null;
            ServerClientSession? session = null;
            ServerHandlerResult result;
            try
            {
                remote = socket.RemoteEndPoint;
                socket.NoDelay = true;
                session = new ServerClientSession(socket, null, this) { Encoding = Encoding, NewLine = NewLine };
                if (Certificate is not null)
                {
                    // The same server handshake as a TLS listener, so the session shows TlsProtocol,
                    // CipherSuite and the SNI like every other TLS session.
                    await session.StartTlsAsServerAsync(new TlsServerOptions(Certificate), Deadline.After(s_tlsHandshakeTimeout), _clientsCts.Token).ConfigureAwait(false);
                }

                SessionManager.Register(session);
                _clients[session.Id] = session;
                _clientsCts.Token.ThrowIfCancellationRequested();
                result = await _handler!.HandleAsync(session, _clientsCts.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The handler reports script errors in its result; this is setup failing (TLS, a closed socket).
                socket.Dispose();
                result = new ServerHandlerResult(null, new object[] { ex }, threw: true);
            }

            try
            {
                if (session is not null)
                {
                    _clients.TryRemove(session.Id, out _);
                    SessionManager.Remove(session, "The server's script block for this client ended");
                }
            }
            finally
            {
                Finish(new ServerClientRecord(this, session?.Id ?? 0, remote, started, clock.Elapsed, result));
            }
        }

        private async Task ServeUdpAsync(UdpServerRequest request)
        {
            var clock = Stopwatch.StartNew();
            ServerHandlerResult result;
            try
            {
                result = await _handler!.HandleAsync(request, _clientsCts.Token).ConfigureAwait(false);
                foreach (var datagram in result.Replies)
                {
                    try
                    {
                        int sent = await _socket.SendToAsync(new ArraySegment<byte>(datagram), SocketFlags.None, request.RemoteEndPoint).ConfigureAwait(false);
                        CountSent(sent);
                    }
                    catch (SocketException ex)
                    {
                        var errors = new List<object>(result.Errors) { PSSocketException.From(ex, $"Replying to {Endpoints.Format(request.RemoteEndPoint)}", request.RemoteEndPoint) };
                        result = new ServerHandlerResult(result.Output, errors, result.Threw);
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                result = new ServerHandlerResult(null, new object[] { ex }, threw: true);
            }

            Finish(new ServerClientRecord(this, 0, request.RemoteEndPoint, request.ReceivedAt, clock.Elapsed, result));
        }

        private void Finish(ServerClientRecord record)
        {
            if (!record.Succeeded)
            {
                Interlocked.Increment(ref _failed);
            }

            lock (_recordLock)
            {
                _records.Enqueue(record);
                while (_records.Count > MaxRecords)
                {
                    _records.Dequeue();
                    _recordsDropped++;
                }
            }

            Interlocked.Decrement(ref _active);
            _slots.Release();
            Signal();
        }

        private void Signal()
        {
            var previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
            previous.TrySetResult(true);
        }

        private static async Task DelayQuietly(TimeSpan delay, CancellationToken token)
        {
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping: the loop checks and ends.
            }
        }

        // ---- reading records -----------------------------------------------------------------

        /// <summary>Takes the records of clients that have finished, oldest first.</summary>
        public ServerClientRecord[] TakeRecords()
        {
            lock (_recordLock)
            {
                var all = _records.ToArray();
                _records.Clear();
                return all;
            }
        }

        /// <summary>
        /// Waits until a client finishes, the server completes, or the deadline passes. True when
        /// there may be something new to take; false on timeout.
        /// </summary>
        public async Task<bool> WaitForRecordsAsync(Deadline deadline, CancellationToken token)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (Available > 0 || _completed.Task.IsCompleted)
            {
                return true;
            }

            return await deadline.WaitAsync(Task.WhenAny(changed, _completed.Task), token).ConfigureAwait(false);
        }

        // ---- stopping ------------------------------------------------------------------------

        /// <summary>
        /// Stops accepting; with a wait, lets clients being served finish until the deadline
        /// (or cancellation), then closes the rest and releases the runspaces. Cancellation
        /// still stops the server completely before the OperationCanceledException surfaces.
        /// </summary>
        public async Task StopAsync(Deadline waitForClients, bool wait, CancellationToken token)
        {
            bool fromInside = _handler?.IsServingThread == true;
            StopAccepting();
            wait &= !fromInside;
            try
            {
                if (wait)
                {
                    await waitForClients.WaitAsync(WhenClientsDoneAsync(), token).ConfigureAwait(false);
                }
            }
            finally
            {
                Close(wait ? "Stopped by Stop-SocketServer after waiting for its clients" : "Stopped by Stop-SocketServer");
            }

            if (!fromInside)
            {
                await Deadline.After(TeardownWait + TeardownWait).WaitAsync(_completed.Task, CancellationToken.None).ConfigureAwait(false);
            }
        }

        private void StopAccepting()
        {
            _stopping = true;
            try
            {
                _acceptCts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already torn down.
            }

            _socket.Close(0);
            Signal();
        }

        private async Task WhenClientsDoneAsync()
        {
            await _acceptLoop.ConfigureAwait(false);
            await Task.WhenAll(_handlers.Values).ConfigureAwait(false);
        }

        /// <inheritdoc />
        protected override void OnClose()
        {
            bool fromInside = _handler?.IsServingThread == true;
            StopAccepting();
            _teardown = Task.Run(TeardownAsync);

            // A script block stopping its own server must not wait for itself; it ends once its
            // pipeline is stopped, and the teardown finishes in the background.
            if (!fromInside)
            {
                _teardown.Wait(TeardownWait + TimeSpan.FromSeconds(2));
            }
        }

        private async Task TeardownAsync()
        {
            try
            {
                _clientsCts.Cancel();
                foreach (var client in _clients.Values)
                {
                    SessionManager.Remove(client, "The server was stopped");
                }

                var done = WhenClientsDoneAsync();
                if (!await Deadline.After(TeardownWait).WaitAsync(done, CancellationToken.None).ConfigureAwait(false))
                {
                    _ = done.ContinueWith(t => t.Exception, TaskScheduler.Default);
                }
            }
            finally
            {
                try
                {
                    _handler?.Dispose();
                }
                finally
                {
                    _acceptCts.Dispose();
                    _completed.TrySetResult(true);
                    Signal();
                }
            }
        }
    }
}

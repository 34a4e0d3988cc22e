namespace PSSocket
{
    /// <summary>
    /// Start-SocketServer's UDP kind: each datagram is handed to the handler with its sender as a
    /// <see cref="UdpServerRequest"/> in one of ThrottleLimit slots, and the datagrams the handler
    /// returns are sent back to the sender.
    /// </summary>
    public sealed class UdpServerSession : SocketServerSession
    {
        private readonly byte[] _buffer = new byte[65536];
        private IServerClientHandler? _handler;

        /// <summary>Binds; call <see cref="Start"/> to serve.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public UdpServerSession(IPAddress address, int port, int throttleLimit, ISessionRegistry registry)
            : base(SessionKind.UdpServer, Bind(address, port, SocketType.Dgram, 0), throttleLimit, registry)
        {
        }

        /// <summary>Starts serving with the handler; the server owns (and disposes) it from here.</summary>
        public void Start(IServerClientHandler handler)
        {
            if (Interlocked.CompareExchange(ref _handler, handler ?? throw new ArgumentNullException(nameof(handler)), null) is not null)
            {
                throw new InvalidOperationException("The server is already started.");
            }

            StartServing();
        }

        /// <inheritdoc />
        protected override bool IsServingThread => _handler?.IsServingThread == true;

        /// <inheritdoc />
        protected override async Task<ServerWork?> NextAsync(CancellationToken token)
        {
            if (await ReceiveDatagramAsync(_buffer, token).ConfigureAwait(false) is not { } got)
            {
                return null;
            }

            var payload = new byte[got.ReceivedBytes];
            Buffer.BlockCopy(_buffer, 0, payload, 0, got.ReceivedBytes);
            CountReceived(got.ReceivedBytes);
            return new DatagramWork(this, new UdpServerRequest(this, got.RemoteEndPoint, payload));
        }

        /// <inheritdoc />
        protected override void InterruptStuck() => _handler?.Interrupt();

        /// <inheritdoc />
        protected override void ReleaseResources()
        {
            _handler?.Dispose();
        }

        private sealed class DatagramWork : ServerWork
        {
            private readonly UdpServerSession _server;
            private readonly UdpServerRequest _request;

            public DatagramWork(UdpServerSession server, UdpServerRequest request)
            {
                _server = server;
                _request = request;
            }

            public override EndPoint? Client => _request.RemoteEndPoint;

            public override async Task<ServerClientRecord> RunAsync(CancellationToken token)
            {
                var clock = Stopwatch.StartNew();
                ServerHandlerResult result;
                try
                {
                    result = await _server._handler!.HandleAsync(_request, token).ConfigureAwait(false);
                    foreach (var datagram in result.Replies)
                    {
                        try
                        {
                            int sent = await _server.ListenSocket.SendToAsync(new ArraySegment<byte>(datagram), SocketFlags.None, _request.RemoteEndPoint).ConfigureAwait(false);
                            _server.CountSent(sent);
                        }
                        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                        {
                            var failure = ex is SocketException se ? PSSocketException.From(se, $"Replying to {Endpoints.Format(_request.RemoteEndPoint)}", _request.RemoteEndPoint) : (Exception)ex;
                            var errors = new List<object>(result.Errors) { failure };
                            result = new ServerHandlerResult(result.Output, errors, result.Threw, estimatedBytes: result.EstimatedBytes + 256);
                            break;
                        }
                    }
                }
                catch (Exception ex)
                {
                    result = new ServerHandlerResult(null, new object[] { ex }, threw: true);
                }

                return new ServerClientRecord(_server, _request.RemoteEndPoint, _request.ReceivedAt, clock.Elapsed, result, null);
            }

            public override void Interrupt(string reason)
            {
                // The server's token stops the handler; a datagram holds no socket of its own.
            }
        }
    }
}

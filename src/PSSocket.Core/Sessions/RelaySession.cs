using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>
    /// Start-SocketRelay: a port forward on the throttled server base. Each accepted client is
    /// connected to the target and bytes are copied both ways, in order, until both sides have
    /// closed; a side that closes its sending half has that half-close passed on (shutdown), so
    /// request/response protocols that end a request with a half-close work through the relay.
    /// </summary>
    public sealed class RelaySession : SocketServerSession
    {
        private const int BufferSize = 64 * 1024;
        private long _toTarget;
        private long _fromTarget;

        /// <summary>Binds and listens; call <see cref="Start"/> to relay.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public RelaySession(IPAddress address, int port, string targetHost, int targetPort, int throttleLimit, ISessionRegistry registry, int backlog = 512)
            : base(SessionKind.Relay, Bind(address, port, SocketType.Stream, backlog), throttleLimit, registry)
        {
            TargetHost = targetHost ?? throw new ArgumentNullException(nameof(targetHost));
            Endpoints.CheckRemotePort(targetPort);
            TargetPort = targetPort;
            RemoteEndPoint = new DnsEndPoint(targetHost, targetPort);
        }

        /// <summary>The host clients are relayed to.</summary>
        public string TargetHost { get; }

        /// <summary>The port clients are relayed to.</summary>
        public int TargetPort { get; }

        /// <summary>How long connecting to the target may take for each client.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Bytes copied from clients to the target.</summary>
        public long BytesToTarget => Interlocked.Read(ref _toTarget);

        /// <summary>Bytes copied from the target back to clients.</summary>
        public long BytesFromTarget => Interlocked.Read(ref _fromTarget);

        /// <summary>Starts relaying.</summary>
        public void Start() => StartServing();

        /// <inheritdoc />
        protected override async Task<ServerWork?> NextAsync(CancellationToken token)
        {
            try
            {
                var socket = await ListenSocket.AcceptAsync().ConfigureAwait(false);
                socket.NoDelay = true;
                return new RelayWork(this, socket);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                if (Stopping)
                {
                    throw new OperationCanceledException(token);
                }

                LastAcceptError = ex.Message;
                await DelayQuietly(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                return null;
            }
        }

        private sealed class RelayWork : ServerWork
        {
            private readonly RelaySession _relay;
            private readonly Socket _client;
            private Socket? _target;
            private long _up;
            private long _down;

            public RelayWork(RelaySession relay, Socket client)
            {
                _relay = relay;
                _client = client;
                Client = client.RemoteEndPoint;
            }

            public override EndPoint? Client { get; }

            public override async Task<ServerClientRecord> RunAsync(CancellationToken token)
            {
                var started = DateTime.Now;
                var clock = Stopwatch.StartNew();
                Exception? failure = null;
                string reason = "Both sides closed";
                try
                {
                    _target = await TcpConnector.ConnectAsync(_relay.TargetHost, _relay.TargetPort, new TcpConnectOptions { Timeout = _relay.ConnectTimeout, NoDelay = true }, token).ConfigureAwait(false);
                    using (token.Register(() => Interrupt("The relay was stopped")))
                    {
                        var up = PumpAsync(_client, _target, toTarget: true);
                        var down = PumpAsync(_target, _client, toTarget: false);
                        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
                        if (first.IsFaulted)
                        {
                            // A reset on one side ends the other too: nothing more can arrive in order.
                            Interrupt("Reset");
                        }

                        await Task.WhenAll(up, down).ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    failure = ex is SocketException se ? PSSocketException.From(se, $"Relaying {Endpoints.Format(Client)}", Client) : ex;
                    reason = token.IsCancellationRequested ? "The relay was stopped" : failure.Message;
                }
                finally
                {
                    Interrupt(reason);
                }

                var output = new object[] { $"{Endpoints.Format(Client)} -> {_relay.TargetHost}:{_relay.TargetPort}: {_up} bytes to the target, {_down} bytes back" };
                var result = new ServerHandlerResult(output, failure is null ? null : new object[] { failure }, threw: failure is not null);
                return new ServerClientRecord(_relay, Client, started, clock.Elapsed, result, reason);
            }

            private async Task PumpAsync(Socket from, Socket to, bool toTarget)
            {
                var buffer = new byte[BufferSize];
                while (true)
                {
                    int n = await from.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0)
                    {
                        // Half-close passed on: the other side reads end of stream and may still answer.
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    int sent = 0;
                    while (sent < n)
                    {
                        sent += await to.SendAsync(new ArraySegment<byte>(buffer, sent, n - sent), SocketFlags.None).ConfigureAwait(false);
                    }

                    if (toTarget)
                    {
                        Interlocked.Add(ref _up, n);
                        Interlocked.Add(ref _relay._toTarget, n);
                        _relay.CountReceived(n);
                    }
                    else
                    {
                        Interlocked.Add(ref _down, n);
                        Interlocked.Add(ref _relay._fromTarget, n);
                        _relay.CountSent(n);
                    }
                }
            }

            public override void Interrupt(string reason)
            {
                _client.Dispose();
                _target?.Dispose();
            }
        }
    }
}

using PSSocket.Net.Proxy;

namespace PSSocket.Sessions.Ssh
{
    /// <summary>
    /// Reaches an SSH server through a proxy with the same proxy code Connect-TcpSocket uses:
    /// the tunnel is opened here, and SSH.NET (which takes no socket from outside) connects to a
    /// loopback port that accepts one connection and copies it both ways into the tunnel. The
    /// host key is still checked against the real host name; the tunnel ends with either side.
    /// </summary>
    public sealed class SshProxyTunnel : IDisposable
    {
        private readonly Socket _listener;
        private readonly Socket _remote;
        private Socket? _local;
        private int _disposed;

        private SshProxyTunnel(Socket listener, Socket remote)
        {
            _listener = listener;
            _remote = remote;
            LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
            _ = RunAsync();
        }

        /// <summary>The loopback end the SSH client connects to.</summary>
        public IPEndPoint LocalEndPoint { get; }

        /// <summary>Opens the tunnel to host:port through the proxy within the timeout.</summary>
        public static async Task<SshProxyTunnel> OpenAsync(ProxyEndpoint proxy, string host, int port, TimeSpan timeout, CancellationToken token)
        {
            var remote = await ProxyConnector.ConnectAsync(proxy, null, host, port, timeout, token).ConfigureAwait(false);
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(1);
                return new SshProxyTunnel(listener, remote);
            }
            catch
            {
                listener.Dispose();
                remote.Dispose();
                throw;
            }
        }

        private async Task RunAsync()
        {
            try
            {
                _local = await _listener.AcceptAsync().ConfigureAwait(false);
                _listener.Dispose();
                using var local = new NetworkStream(_local, ownsSocket: false);
                using var remote = new NetworkStream(_remote, ownsSocket: false);
                await Task.WhenAny(local.CopyToAsync(remote), remote.CopyToAsync(local)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or System.IO.IOException)
            {
                // Either side ended: the SSH client sees its connection end, which is the report.
            }
            finally
            {
                Dispose();
            }
        }

        /// <summary>Ends the tunnel (both sockets and the listener).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            _listener.Dispose();
            _local?.Dispose();
            _remote.Dispose();
        }
    }

    /// <summary>Connecting with an optional proxy tunnel, for every SSH cmdlet.</summary>
    public static class SshConnect
    {
        /// <summary>Connects directly, or through options.Proxy; a tunnel opened for a connect that fails is closed.</summary>
        public static async Task<ISshConnection> ConnectAsync(ISshConnector connector, SshConnectOptions options, CancellationToken token)
        {
            if (connector is null || options is null)
            {
                throw new ArgumentNullException(connector is null ? nameof(connector) : nameof(options));
            }

            if (options.Proxy is null)
            {
                return await connector.ConnectAsync(options, token).ConfigureAwait(false);
            }

            var deadline = Deadline.After(options.Timeout);
            var tunnel = await SshProxyTunnel.OpenAsync(options.Proxy, options.Host, options.Port, options.Timeout, token).ConfigureAwait(false);
            try
            {
                options.Via = tunnel.LocalEndPoint;
                if (!deadline.IsInfinite)
                {
                    options.Timeout = deadline.Remaining > TimeSpan.FromSeconds(1) ? deadline.Remaining : TimeSpan.FromSeconds(1);
                }

                return await connector.ConnectAsync(options, token).ConfigureAwait(false);
            }
            catch
            {
                tunnel.Dispose();
                throw;
            }
        }
    }
}

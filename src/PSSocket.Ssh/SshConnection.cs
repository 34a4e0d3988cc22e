using System.Reflection;

namespace PSSocket.Ssh
{
    /// <summary>An authenticated SshClient: shell channels and exec channels on one connection.</summary>
    internal sealed class SshConnection : ISshConnection
    {
        private readonly SshClient _client;
        private readonly SshConnectOptions _options;

        public SshConnection(SshClient client, SshConnectOptions options, string fingerprint, string keyType)
        {
            _client = client;
            _options = options;
            HostKeyFingerprint = fingerprint;
            HostKeyType = keyType;
            User = options.User;
            ServerVersion = client.ConnectionInfo.ServerVersion ?? "";
            var socket = FindSocket(client);
            LocalEndPoint = Plain(Try(() => socket?.LocalEndPoint));
            RemoteEndPoint = options.Via is null ? Plain(Try(() => socket?.RemoteEndPoint)) ?? new DnsEndPoint(options.Host, options.Port) : new DnsEndPoint(options.Host, options.Port);
        }

        public string User { get; }

        public string ServerVersion { get; }

        public string HostKeyFingerprint { get; }

        public string HostKeyType { get; }

        public EndPoint? LocalEndPoint { get; }

        public EndPoint? RemoteEndPoint { get; }

        public bool IsConnected => _client.IsConnected;

        public ISshShell OpenShell(SshTerminal terminal)
        {
            try
            {
                var stream = _client.CreateShellStream(terminal.Type, (uint)terminal.Width, (uint)terminal.Height, 0, 0, 64 * 1024);
                return new ShellChannel(stream, _client, _options.Target);
            }
            catch (Exception ex) when (ex is SshException or InvalidOperationException or ObjectDisposedException)
            {
                throw new PSSocketException(SocketErrorKind.SocketError, $"The SSH server {_options.Target} did not open a shell: {ex.Message}", ex, target: _options.Target);
            }
        }

        public async Task<SshExecOutcome> ExecuteAsync(string command, Encoding encoding, CancellationToken token)
        {
            try
            {
                using var cmd = _client.CreateCommand(command, encoding);
                await cmd.ExecuteAsync(token).ConfigureAwait(false);
                return new SshExecOutcome { ExitStatus = cmd.ExitStatus, ExitSignal = cmd.ExitSignal, Output = cmd.Result, Error = cmd.Error };
            }
            catch (Exception ex) when (ex is SshException or InvalidOperationException or ObjectDisposedException or SocketException)
            {
                throw new PSSocketException(_client.IsConnected ? SocketErrorKind.SocketError : SocketErrorKind.ConnectionReset,
                    $"Running '{command}' on {_options.Target} failed: {ex.Message}", ex, target: _options.Target);
            }
        }

        public void Dispose()
        {
            try
            {
                _client.Disconnect();
            }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // Already gone: disposing is all that is left.
            }

            _client.Dispose();
        }

        /// <summary>SSH.NET keeps its socket to itself; its endpoints are only shown, so a miss leaves them empty.</summary>
        private static Socket? FindSocket(SshClient client)
        {
            var session = typeof(BaseClient).GetProperty("Session", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(client);
            return session?.GetType().GetField("_socket", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(session) as Socket;
        }

        /// <summary>SSH.NET's dual-mode socket shows an IPv4 peer as ::ffff:a.b.c.d; the session shows a.b.c.d, as a TCP session does.</summary>
        private static EndPoint? Plain(EndPoint? endPoint) =>
            endPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip ? new IPEndPoint(ip.Address.MapToIPv4(), ip.Port) : endPoint;

        private static EndPoint? Try(Func<EndPoint?> get)
        {
            try
            {
                return get();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
            {
                return null;
            }
        }
    }
}

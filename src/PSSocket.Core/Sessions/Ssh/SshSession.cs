using PSSocket.Sessions.Ssh;

namespace PSSocket
{
    /// <summary>
    /// An interactive SSH shell channel as a session: the TCP session machinery (receive modes,
    /// framing, transcripts, conversations, Enter-SocketSession) runs over the channel's data
    /// stream. The session owns the channel and the connection, and closes both.
    /// </summary>
    public sealed class SshSession : TcpSession
    {
        private readonly ISshConnection _connection;
        private readonly ISshShell _shell;

        private SshSession(ISshConnection connection, ISshShell shell, SshConnectOptions options, SshTerminal terminal)
            : base(SessionKind.Ssh, shell.Stream, connection.LocalEndPoint, connection.RemoteEndPoint)
        {
            _connection = connection;
            _shell = shell;
            ComputerName = options.Host;
            Port = options.Port;
            User = connection.User;
            ServerVersion = connection.ServerVersion;
            HostKeyFingerprint = connection.HostKeyFingerprint;
            HostKeyType = connection.HostKeyType;
            TerminalType = terminal.Type;
            Width = terminal.Width;
            Height = terminal.Height;
            ConnectedHost = options.Host;
            Proxy = options.Proxy;
            shell.Ended = RecordReason;
        }

        /// <summary>Opens a shell channel with a terminal on a connection and wraps it; the connection is closed if the shell cannot be opened.</summary>
        public static SshSession Open(ISshConnection connection, SshConnectOptions options, SshTerminal terminal)
        {
            if (connection is null)
            {
                throw new ArgumentNullException(nameof(connection));
            }

            try
            {
                var shell = connection.OpenShell(terminal ?? throw new ArgumentNullException(nameof(terminal)));
                return new SshSession(connection, shell, options ?? throw new ArgumentNullException(nameof(options)), terminal);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        /// <summary>The host connected to.</summary>
        public string ComputerName { get; }

        /// <summary>The SSH port connected to.</summary>
        public int Port { get; }

        /// <summary>The user logged in as.</summary>
        public string User { get; }

        /// <summary>The server's SSH identification string.</summary>
        public string ServerVersion { get; }

        /// <summary>The server's host key fingerprint, as OpenSSH prints it (SHA256:...).</summary>
        public string HostKeyFingerprint { get; }

        /// <summary>The server's host key type.</summary>
        public string HostKeyType { get; }

        /// <summary>The terminal type (TERM) the shell was given.</summary>
        public string TerminalType { get; }

        /// <summary>The terminal width in columns.</summary>
        public int Width { get; }

        /// <summary>The terminal height in rows.</summary>
        public int Height { get; }

        /// <summary>The remote shell's exit status, once it exited.</summary>
        public int? ExitStatus => _shell.ExitStatus;

        /// <summary>Runs a command on a new exec channel of this session's connection (the shell is not touched), stopped with CommandTimeout after the limit (Timeout.InfiniteTimeSpan: none).</summary>
        public Task<SshCommandResult> InvokeCommandAsync(string command, TimeSpan limit, CancellationToken token)
        {
            ThrowIfClosed();
            if (!_connection.IsConnected)
            {
                throw new PSSocketException(SocketErrorKind.ConnectionReset, $"The SSH connection of session {this} is gone ({CloseReason ?? "lost"}); connect again.", target: this);
            }

            return SshExec.RunAsync(_connection, command, Encoding, limit, ComputerName, Port, this, token);
        }

        /// <summary>The remote terminal echoes: Enter-SocketSession sends keys as typed.</summary>
        public override bool RemoteEchoes => true;

        /// <inheritdoc />
        protected override void OnShutdownSend() => _shell.SendEof();

        /// <inheritdoc />
        protected override void OnClose()
        {
            base.OnClose();
            _shell.Dispose();
            _connection.Dispose();
        }
    }
}

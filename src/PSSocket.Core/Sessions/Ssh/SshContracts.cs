using System.Security;
using PSSocket.Net.Proxy;

namespace PSSocket.Sessions.Ssh
{
    /// <summary>
    /// What the SSH assembly (PSSocket.Ssh, the only code that names SSH.NET) implements. The
    /// module loads that assembly on the first SSH call, in its own load context, and talks to it
    /// through these interfaces only, so neither PSSocket nor PSSocket.Core loads SSH.NET.
    /// </summary>
    public interface ISshConnector
    {
        /// <summary>
        /// Connects, checks the host key against the options' policy and authenticates, within the
        /// options' timeout. Fails with PSSocketException (HostKeyUnknown, HostKeyMismatch,
        /// AuthenticationFailed, ConnectionRefused, ConnectionTimedOut, ...).
        /// </summary>
        Task<ISshConnection> ConnectAsync(SshConnectOptions options, CancellationToken token);
    }

    /// <summary>An authenticated SSH connection: shell and exec channels are opened on it.</summary>
    public interface ISshConnection : IDisposable
    {
        /// <summary>The user logged in as.</summary>
        string User { get; }

        /// <summary>The server's SSH identification string ("SSH-2.0-OpenSSH_9.2p1 ...").</summary>
        string ServerVersion { get; }

        /// <summary>The host key's SHA256 fingerprint as OpenSSH prints it.</summary>
        string HostKeyFingerprint { get; }

        /// <summary>The host key's type ("ssh-ed25519", ...).</summary>
        string HostKeyType { get; }

        /// <summary>The local end of the TCP connection, when known.</summary>
        EndPoint? LocalEndPoint { get; }

        /// <summary>The server's end of the TCP connection, when known.</summary>
        EndPoint? RemoteEndPoint { get; }

        /// <summary>True while the connection is up.</summary>
        bool IsConnected { get; }

        /// <summary>Opens an interactive shell channel with a pseudo-terminal.</summary>
        ISshShell OpenShell(SshTerminal terminal);

        /// <summary>Runs a command on a new exec channel (no terminal) and collects its output.</summary>
        Task<SshExecOutcome> ExecuteAsync(string command, Encoding encoding, CancellationToken token);
    }

    /// <summary>An open shell channel.</summary>
    public interface ISshShell : IDisposable
    {
        /// <summary>
        /// The channel's data both ways: reads return 0 once the channel closed and all it sent was
        /// read, and throw IOException when the connection fails.
        /// </summary>
        Stream Stream { get; }

        /// <summary>The remote shell's exit status, once it sent one.</summary>
        int? ExitStatus { get; }

        /// <summary>Called once when the channel ends, with a sentence saying how (exit status, signal, connection lost).</summary>
        Action<string>? Ended { get; set; }

        /// <summary>Tells the remote side no more input comes (SSH channel EOF).</summary>
        void SendEof();
    }

    /// <summary>What a command run on an exec channel left.</summary>
    public sealed class SshExecOutcome
    {
        /// <summary>The exit status, or null when the command ended without one (killed by a signal).</summary>
        public int? ExitStatus { get; set; }

        /// <summary>The signal that ended the command, if one did.</summary>
        public string? ExitSignal { get; set; }

        /// <summary>Standard output.</summary>
        public string Output { get; set; } = "";

        /// <summary>Standard error.</summary>
        public string Error { get; set; } = "";
    }

    /// <summary>The pseudo-terminal a shell gets.</summary>
    public sealed class SshTerminal
    {
        /// <summary>The TERM name.</summary>
        public string Type { get; set; } = "xterm";

        /// <summary>Columns.</summary>
        public int Width { get; set; } = 511;

        /// <summary>Rows.</summary>
        public int Height { get; set; } = 1000;
    }

    /// <summary>Where to connect, as whom, and which host keys to trust.</summary>
    public sealed class SshConnectOptions
    {
        /// <summary>The host name or address.</summary>
        public string Host { get; set; } = "";

        /// <summary>The port (22 by default).</summary>
        public int Port { get; set; } = 22;

        /// <summary>The user name.</summary>
        public string User { get; set; } = "";

        /// <summary>The password (password and keyboard-interactive authentication), or null.</summary>
        public SecureString? Password { get; set; }

        /// <summary>Private key files, tried in order.</summary>
        public string[] KeyFiles { get; set; } = Array.Empty<string>();

        /// <summary>The passphrase of encrypted key files.</summary>
        public SecureString? KeyPassphrase { get; set; }

        /// <summary>How long connecting and logging in may take together; infinite when zero or less.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Which host keys are trusted.</summary>
        public SshHostKeyPolicy HostKeys { get; set; } = new();

        /// <summary>A proxy to reach the server through, or null.</summary>
        public ProxyEndpoint? Proxy { get; set; }

        /// <summary>Text encoding of the connection's strings (commands, exec output).</summary>
        public Encoding Encoding { get; set; } = Net.TextEncoding.Utf8NoBom;

        /// <summary>Where the TCP connection goes when it is not the host itself (a local end of a proxy tunnel); null for the host.</summary>
        public System.Net.IPEndPoint? Via { get; set; }

        /// <summary>The host the SSH client connects its socket to.</summary>
        public string ConnectHost => Via?.Address.ToString() ?? Host;

        /// <summary>The port the SSH client connects its socket to.</summary>
        public int ConnectPort => Via?.Port ?? Port;

        /// <summary>Host and port as written in messages.</summary>
        public string Target => Port == 22 ? Host : $"{Host}:{Port}";
    }
}

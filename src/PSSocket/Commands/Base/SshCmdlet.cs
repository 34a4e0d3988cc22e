using PSSocket.Sessions.Ssh;

namespace PSSocket.Commands
{
    /// <summary>
    /// The connection parameters Connect-SshShell and Invoke-SshCommand share (login, host keys,
    /// timeout), declared once, and the connect itself through the SSH assembly, which is loaded on
    /// the first call.
    /// </summary>
    public abstract class SshCmdlet : SessionCmdlet
    {
        /// <summary>The parameter set of the connection parameters.</summary>
        protected const string ComputerNameSet = "ComputerName";

        /// <summary>The SSH port (default 22); each cmdlet declares it where its positions allow.</summary>
        public abstract int Port { get; set; }

        /// <summary>The user and password: the password answers password and keyboard-interactive logins. With -KeyFilePath only the user name is needed (any password). Without it the user is the one written as user@host, or the current user.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [Credential]
        [ValidateNotNull]
        public PSCredential? Credential { get; set; }

        /// <summary>Private key files (OpenSSH, PEM or PKCS#8; Ed25519, RSA, ECDSA), offered in order before any password.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNullOrEmpty]
        [Alias("KeyFile", "IdentityFile")]
        public string[]? KeyFilePath { get; set; }

        /// <summary>The passphrase of encrypted key files.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNull]
        public SecureString? KeyPassphrase { get; set; }

        /// <summary>Seconds allowed for connecting, the key exchange and the login together (default 10; 0 waits forever). Invoke-SshCommand given -Timeout also stops a command still running after that long (CommandTimeout).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>The OpenSSH known_hosts file that host keys are checked against and -AcceptNewHostKey adds to (default ~/.ssh/known_hosts).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNullOrEmpty]
        public string? KnownHostsPath { get; set; }

        /// <summary>Trusts the host keys with these SHA256 fingerprints, as ssh-keygen -l prints them ('SHA256:...'); a key known_hosts holds for the host is trusted too.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNullOrEmpty]
        public string[]? HostKeyFingerprint { get; set; }

        /// <summary>Trusts a host key that is not known yet and adds it to the known_hosts file (OpenSSH's StrictHostKeyChecking=accept-new). A key that differs from a known one still fails with HostKeyMismatch.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        public SwitchParameter AcceptNewHostKey { get; set; }

        /// <summary>Connects whatever host key the server shows, with a warning. For tests only: anyone in the path can read and change the session.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        public SwitchParameter SkipHostKeyCheck { get; set; }

        /// <summary>
        /// Reaches the server through a proxy, with the proxy code Connect-TcpSocket uses: socks5://
        /// (the name resolved here), socks5h:// (resolved by the proxy), socks4://, socks4a:// or
        /// http:// (HTTP CONNECT). The host key is checked against the server's own name.
        /// </summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ProxyCompleter))]
        public string? Proxy { get; set; }

        /// <summary>The user name and password for the proxy (SOCKS5 user/password, HTTP Basic).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [Credential]
        [ValidateNotNull]
        public PSCredential? ProxyCredential { get; set; }

        private Net.Proxy.ProxyEndpoint? _proxy;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            _proxy = Checked(() => ProxyArguments.Resolve(Proxy, ProxyCredential));

            foreach (var f in HostKeyFingerprint ?? Array.Empty<string>())
            {
                if (!Net.Ssh.KnownHosts.IsFingerprint(f))
                {
                    ThrowTerminatingError(ErrorRecords.InvalidArgument($"-HostKeyFingerprint '{f}' is not a SHA256 fingerprint as ssh-keygen -l prints it ('SHA256:' and 43 base64 characters).", f));
                }
            }

            if (SkipHostKeyCheck && (AcceptNewHostKey || HostKeyFingerprint is not null))
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-SkipHostKeyCheck trusts every key: leave out -AcceptNewHostKey and -HostKeyFingerprint with it.", null));
            }

            if (SkipHostKeyCheck)
            {
                WriteWarning("-SkipHostKeyCheck: the server's host key is not checked, so anyone in the path can read and change this session. Use -HostKeyFingerprint or known_hosts instead.");
            }
        }

        /// <inheritdoc />
        protected override object? SessionArgument => null;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
        }

        /// <summary>The options for one target ("host", "user@host", "host:port"; an explicit -Port wins).</summary>
        protected SshConnectOptions OptionsFor(string target)
        {
            string? user = null;
            int at = target.LastIndexOf('@');
            if (at > 0)
            {
                user = target.Substring(0, at);
                target = target.Substring(at + 1);
            }

            var (host, embeddedPort) = Endpoints.SplitHostPort(target);
            var password = Credential is null || Credential == PSCredential.Empty || Credential.Password.Length == 0 ? null : Credential.Password;
            var options = new SshConnectOptions
            {
                Host = host,
                Port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) ? Port : embeddedPort ?? Port,
                User = Credential is { UserName: { Length: > 0 } name } && Credential != PSCredential.Empty ? name.TrimStart('\\') : user ?? Environment.UserName,
                Password = password,
                KeyFiles = Array.ConvertAll(KeyFilePath ?? Array.Empty<string>(), p => SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)),
                KeyPassphrase = KeyPassphrase,
                Timeout = Seconds(Timeout),
                Proxy = _proxy,
            };
            options.HostKeys.AcceptNew = AcceptNewHostKey;
            options.HostKeys.Skip = SkipHostKeyCheck;
            if (KnownHostsPath is not null)
            {
                options.HostKeys.KnownHostsPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(KnownHostsPath);
            }

            foreach (var f in HostKeyFingerprint ?? Array.Empty<string>())
            {
                options.HostKeys.Fingerprints.Add(f.Trim());
            }

            return options;
        }

        /// <summary>Connects and logs in (loading the SSH assembly the first time).</summary>
        protected ISshConnection Connect(SshConnectOptions options)
        {
            var connector = SshAssembly.Connector;
            Verbose(() => $"Connecting to {options.Target} as {options.User}{(_proxy is null ? "" : $" through proxy {_proxy}")} (timeout {(Timeout > 0 ? Timeout.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s" : "none")})");
            return Run(t => SshConnect.ConnectAsync(connector, options, t));
        }
    }
}

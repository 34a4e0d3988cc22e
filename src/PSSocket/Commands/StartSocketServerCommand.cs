using System;
using System.IO;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Listens and serves every client concurrently with a script block, each on its own runspace.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketServer")]
    [OutputType(typeof(SocketServerSession))]
    public sealed class StartSocketServerCommand : PSSocketCmdlet
    {
        /// <summary>How many clients are served at once unless -ThrottleLimit says otherwise.</summary>
        public const int DefaultThrottleLimit = 32;

        /// <summary>The port to listen on; 0 lets the system pick a free one, shown on the server session (Port, LocalEndPoint).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>
        /// The script block run for each client. <c>$_</c> (and the first argument) is the client's
        /// Tcp session, or with -Udp a request with RemoteEndPoint, Bytes and Text. It runs in its
        /// own runspace with PSSocket imported; the caller's variables are not visible: pass them
        /// with -ArgumentList or read them as <c>$using:name</c> (captured when the server starts).
        /// </summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNull]
        public ScriptBlock ScriptBlock { get; set; } = null!;

        /// <summary>Arguments passed to the script block after the client.</summary>
        [Parameter]
        [Alias("Args")]
        public object[]? ArgumentList { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>How many clients (datagrams, with -Udp) are served at once (default 32); more clients wait in the accept backlog until one finishes.</summary>
        [Parameter]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <summary>A name for the server session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>
        /// Makes it a TLS server: an X509Certificate2 with its private key, or the path of a PFX
        /// (PKCS#12) file without a password. Each accepted connection is authenticated before the
        /// script block runs.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        public object? Certificate { get; set; }

        /// <summary>Serves UDP datagrams instead of TCP connections; what the script block outputs is sent back to the sender.</summary>
        [Parameter]
        public SwitchParameter Udp { get; set; }

        /// <summary>The encoding client sessions (and UDP request Text and replies) use (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>The NewLine client sessions start with (default "`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }

        /// <summary>Seconds a client may send and receive nothing before the server closes it and stops its script block (default 60; 0 = no limit). Not for -Udp.</summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double IdleTimeout { get; set; } = 60;

        /// <summary>The most seconds one client may hold its slot before the server closes it and stops its script block (default 0 = no limit). Not for -Udp.</summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double ClientTimeout { get; set; }

        /// <summary>How many bytes (estimated) of unread client records the server keeps (default 64 MiB); past it, and past 10,000 records, the oldest are dropped and counted.</summary>
        [Parameter]
        [ValidateRange(1024, long.MaxValue)]
        public long MaxRecordBytes { get; set; } = SocketServerSession.DefaultMaxRecordBytes;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (Udp && (MyInvocation.BoundParameters.ContainsKey(nameof(IdleTimeout)) || MyInvocation.BoundParameters.ContainsKey(nameof(ClientTimeout))))
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-IdleTimeout and -ClientTimeout apply to TCP clients; a -Udp server serves single datagrams.", null));
            }

            ServerScript script;
            try
            {
                script = ServerScript.Capture(ScriptBlock, SessionState);
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument(ex.Message, ScriptBlock));
                return;
            }

            SocketServerSession? server = null;
            try
            {
                var certificate = ResolveCertificate();
                if (certificate is null && Certificate is not null)
                {
                    return;
                }

                if (certificate is not null && Udp)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, "A UDP server cannot use TLS: -Certificate works only with TCP.", target: certificate);
                }

                var address = Endpoints.ParseBindAddress(Address);
                TcpServerSession? tcp = null;
                server = Udp
                    ? new UdpServerSession(address, Port, ThrottleLimit, GlobalSessionRegistry.Instance)
                    : tcp = new TcpServerSession(address, Port, ThrottleLimit, GlobalSessionRegistry.Instance, certificate is null ? null : new TlsServerOptions(certificate))
                    {
                        IdleTimeout = TimeSpan.FromSeconds(IdleTimeout),
                        ClientTimeout = TimeSpan.FromSeconds(ClientTimeout),
                    };
                server.MaxRecordBytes = MaxRecordBytes;
                server.WithText(Encoding, NewLine);

                SessionManager.Register(server, Name);
                ModuleLifetime.Own(server);
                var handler = new ScriptBlockServerHandler(script, ArgumentList, ThrottleLimit, ModulePath(), server.Encoding);
                if (tcp is not null)
                {
                    tcp.Start(handler);
                }
                else
                {
                    ((UdpServerSession)server).Start(handler);
                }

                Verbose(() => $"Serving {(Udp ? "UDP" : certificate is null ? "TCP" : "TLS")} on {Endpoints.Format(server.LocalEndPoint)} (session {server.Id}, {ThrottleLimit} at a time)");
                WriteObject(server);
            }
            catch (PSSocketException ex)
            {
                if (server is not null)
                {
                    SessionManager.Remove(server, "Not started");
                }

                WriteSocketError(ex, ex.Target ?? $"{Address}:{Port}");
            }
            catch
            {
                if (server is not null)
                {
                    SessionManager.Remove(server, "Not started");
                }

                throw;
            }
        }

        private X509Certificate2? ResolveCertificate()
        {
            var raw = Certificate is PSObject pso ? pso.BaseObject : Certificate;
            switch (raw)
            {
                case null:
                    return null;
                case X509Certificate2 cert:
                    return cert;
                case string or FileInfo:
                    string path = GetUnresolvedProviderPathFromPSPath(raw.ToString());
                    try
                    {
                        return new X509Certificate2(path);
                    }
                    catch (Exception ex) when (ex is CryptographicException or IOException or PlatformNotSupportedException)
                    {
                        WriteError(ErrorRecords.InvalidArgument($"Cannot load the certificate '{path}': {ex.Message}. Give a PFX file without a password, or load the certificate yourself and pass the X509Certificate2.", raw));
                        return null;
                    }

                default:
                    WriteError(ErrorRecords.InvalidArgument($"-Certificate takes an X509Certificate2 or the path of a PFX file, not a {raw.GetType().Name}.", raw));
                    return null;
            }
        }

        private string ModulePath()
        {
            var module = MyInvocation.MyCommand.Module;
            if (module is not null && !string.IsNullOrEmpty(module.Path))
            {
                // Prefer the manifest beside the dll, so the pool runspaces get the same exports.
                string manifest = Path.Combine(Path.GetDirectoryName(module.Path) ?? "", "PSSocket.psd1");
                return File.Exists(manifest) ? manifest : module.Path;
            }

            return typeof(StartSocketServerCommand).Assembly.Location;
        }
    }
}

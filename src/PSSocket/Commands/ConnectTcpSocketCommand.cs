using System;
using System.Management.Automation;
using System.Net.Sockets;
using System.Text;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Opens a TCP connection and registers it as a session.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "TcpSocket")]
    [OutputType(typeof(TcpSession))]
    public sealed class ConnectTcpSocketCommand : PSSocketCmdlet
    {
        /// <summary>The host name or IP address to connect to; "host:port" also works when -Port is omitted.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("HostName", "CN", "Address", "IPAddress", "Host")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = "";

        /// <summary>The TCP port (1-65535).</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("RemotePort")]
        [ValidateRange(1, 65535)]
        public int Port { get; set; }

        /// <summary>Seconds allowed for name resolution and connecting together (default 10; 0 waits forever).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>A name for the session, unique among live sessions; other cmdlets accept it for -Session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>The text encoding of the session (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>What -Line sends and what ends a received line (default "`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }

        /// <summary>Restricts the connection to IPv4 or IPv6 (default: every address the name resolves to, in turn).</summary>
        [Parameter]
        public IPFamily AddressFamily { get; set; } = IPFamily.Any;

        /// <summary>Sends small writes at once (disables Nagle's algorithm).</summary>
        [Parameter]
        public SwitchParameter NoDelay { get; set; }

        /// <summary>Enables TCP keep-alive so a vanished peer is detected.</summary>
        [Parameter]
        public SwitchParameter KeepAlive { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var (host, embeddedPort) = Endpoints.SplitHostPort(ComputerName);
            int port = MyInvocation.BoundParameters.ContainsKey(nameof(Port)) || Port != 0 ? Port : embeddedPort ?? 0;
            if (port is < 1 or > 65535)
            {
                WriteError(ErrorRecords.InvalidArgument($"No port to connect to on '{ComputerName}': give -Port (1-65535) or write host:port.", ComputerName));
                return;
            }

            var options = new TcpConnectOptions
            {
                Timeout = Seconds(Timeout),
                AddressFamily = AddressFamily.ToSocketFamily(),
                NoDelay = NoDelay,
                KeepAlive = KeepAlive,
            };
            if (VerboseOn)
            {
                options.OnAttempt = ep => Verbose(() => $"Connecting to {host} at {Endpoints.Format(ep)}");
            }

            Socket? socket = null;
            try
            {
                socket = Run(t => TcpConnector.ConnectAsync(host, port, options, t));
                var session = new TcpSession(socket);
                socket = null;
                if (Encoding is not null)
                {
                    session.Encoding = Encoding;
                }

                if (NewLine is not null)
                {
                    session.NewLine = NewLine;
                }

                try
                {
                    SessionManager.Register(session, Name);
                }
                catch
                {
                    session.Close("Not registered");
                    throw;
                }

                Verbose(() => $"Connected: session {session.Id} {Endpoints.Format(session.LocalEndPoint)} -> {Endpoints.Format(session.RemoteEndPoint)}");
                WriteObject(session);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, ex.Target ?? $"{host}:{port}");
            }
            finally
            {
                socket?.Dispose();
            }
        }
    }
}

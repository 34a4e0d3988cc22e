namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Connects to a Unix domain socket (a local daemon's socket file, or a Linux @abstract name) and registers it as a session.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "UnixSocket")]
    [OutputType(typeof(UnixSession), typeof(UnixDatagramSession))]
    public sealed class ConnectUnixSocketCommand : TextSessionCmdlet
    {
        /// <summary>The socket file's path (relative paths are resolved against the current location), or @name for a Linux abstract-namespace socket.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("SocketPath", "FullName")]
        [ArgumentCompleter(typeof(UnixSocketPathCompleter))]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Opens a datagram socket (SOCK_DGRAM, e.g. /dev/log): each item Send-SocketData sends is one datagram. Without it the socket is a stream (SOCK_STREAM).</summary>
        [Parameter]
        public SwitchParameter Datagram { get; set; }

        /// <summary>Seconds allowed for connecting (default 10; 0 waits forever). A Unix socket answers at once unless its listener's queue is full.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            string target = Path;
            try
            {
                var endpoint = UnixPaths.Resolve(this, Path);
                target = endpoint.ToString();
                var socket = Run(t => UnixSockets.ConnectAsync(endpoint, Datagram, Deadline.AfterSeconds(Timeout), t));
                SocketSession session = Datagram ? new UnixDatagramSession(socket, endpoint) : new UnixSession(socket, target);
                session.WithText(Encoding, NewLine).RegisterOrClose(Name);
                Verbose(() => $"Connected to the Unix {(Datagram ? "datagram" : "stream")} socket {target} (session {session.Id}){(session is UnixSession { ProcessId: int pid } u ? $"; the peer is process {pid}, user {u.UserId}, group {u.GroupId}" : "")}");
                WriteObject(session);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, target);
            }
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Listens on a Unix domain socket; Wait-TcpConnection accepts its clients as Unix sessions.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "UnixListener")]
    [OutputType(typeof(UnixListenerSession))]
    public sealed class NewUnixListenerCommand : TextSessionCmdlet
    {
        /// <summary>The socket file to create (relative paths are resolved against the current location), or @name for a Linux abstract-namespace socket. A path that exists is refused (see -Force).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("SocketPath", "FullName")]
        [ArgumentCompleter(typeof(UnixSocketPathCompleter))]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>The socket file's permissions as octal digits, e.g. '0600' (only this user may connect) or '0660' (and the group); default: what the process umask gives.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Mode { get; set; }

        /// <summary>Replaces a stale socket file (a socket nobody listens on, left by a process that stopped). A regular file, a folder or a live socket is never removed.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>How many connections the system queues before they are accepted (default 512).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Backlog { get; set; } = 512;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            int? mode = null;
            try
            {
                mode = Mode is null ? null : UnixSockets.ParseMode(Mode);
            }
            catch (PSSocketException ex)
            {
                ThrowTerminatingError(ErrorRecords.From(ex, Mode));
            }

            string target = Path;
            try
            {
                var endpoint = UnixPaths.Resolve(this, Path);
                target = endpoint.ToString();
                var listener = new UnixListenerSession(endpoint, mode, Force, Backlog).WithText(Encoding, NewLine).RegisterOrClose(Name);
                Verbose(() => $"Listening on the Unix socket {listener.Path}{(listener.Mode is { } m ? $" (mode {m})" : "")} (session {listener.Id})");
                WriteObject(listener);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, target);
            }
        }
    }
}

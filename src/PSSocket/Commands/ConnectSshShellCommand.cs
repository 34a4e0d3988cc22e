using PSSocket.Sessions.Ssh;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Opens an SSH shell channel and registers it as a session that every session cmdlet takes.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "SshShell", DefaultParameterSetName = ComputerNameSet)]
    [OutputType(typeof(SshSession))]
    public sealed class ConnectSshShellCommand : SshCmdlet
    {
        /// <summary>The SSH server: a host name or address, optionally as user@host or host:port. A pipeline of targets connects each; a failed one is an error and the others still connect.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ComputerNameSet)]
        [Alias("HostName", "CN", "Address", "IPAddress", "Host")]
        [AllowEmptyString]
        public string ComputerName { get; set; } = "";

        /// <summary>The SSH port (default 22; host:port in -ComputerName also works).</summary>
        [Parameter(Position = 1, ParameterSetName = ComputerNameSet, ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, 65535)]
        public override int Port { get; set; } = 22;

        /// <summary>A name for the session, unique among live sessions; other cmdlets accept it for -Session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>The text encoding of the session (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>What -Line sends and what ends a received line (default "`n", which a terminal takes as Enter; received lines end at "`r`n" or "`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }

        /// <summary>The terminal type (TERM) the shell gets (default xterm).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string TerminalType { get; set; } = "xterm";

        /// <summary>The terminal width in columns (default 511, so devices do not wrap long lines).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Width { get; set; } = 511;

        /// <summary>The terminal height in rows (default 1000, so devices do not page their output).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Height { get; set; } = 1000;

        /// <summary>The device type (a profile name, see Get-DeviceProfile) stored on the session, so Invoke-DeviceCommand needs no -DeviceType for it.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(DeviceTypeCompleter))]
        [ValidateNotNullOrEmpty]
        public string? DeviceType { get; set; }

        /// <summary>The enable secret Invoke-DeviceCommand sends on this session when the device's prompt says privileged mode is needed (never shown or recorded).</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? EnableSecret { get; set; }

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (DeviceType is { } type)
            {
                DeviceType = Checked(() => DeviceProfileArguments.Resolve(null, type, null).Name);
            }
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (!IsTargetEntry(ComputerName))
            {
                return;
            }

            var options = OptionsFor(ComputerName.Trim());
            if (Encoding is not null)
            {
                options.Encoding = Encoding;
            }

            try
            {
                var connection = Connect(options);
                var session = SshSession.Open(connection, options, new SshTerminal { Type = TerminalType, Width = Width, Height = Height });
                session.WithText(Encoding, NewLine);
                session.DeviceType = DeviceType;
                if (EnableSecret is not null)
                {
                    Sessions.Devices.DeviceCommandRunner.RememberEnableSecret(session, EnableSecret);
                }

                session.RegisterOrClose(Name);
                Verbose(() => $"Connected: session {session.Id} {session.User}@{options.Target}, {session.ServerVersion}, host key {session.HostKeyType} {session.HostKeyFingerprint}");
                WriteObject(session);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, ex.Target is null or SocketSession ? options.Target : ex.Target);
            }
        }
    }
}

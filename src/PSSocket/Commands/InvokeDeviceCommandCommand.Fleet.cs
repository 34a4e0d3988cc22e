using PSSocket.Sessions.Devices;

namespace PSSocket.Commands
{
    /// <summary>The -ComputerName form: many devices at once, each opened, logged in to, run and closed.</summary>
    public sealed partial class InvokeDeviceCommandCommand
    {
        private DeviceFleet? _fleet;
        private ProgressBar? _bar;

        /// <summary>The devices: host names or addresses ("host:port" works too). Objects with a ComputerName or HostName property (and DeviceType, Port) bind from the pipeline, such as the rows of a CSV inventory.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ComputerNameSet)]
        [Alias("HostName", "CN", "IPAddress", "Address")]
        [AllowEmptyString]
        public string[] ComputerName { get; set; } = Array.Empty<string>();

        /// <summary>The port (default 22 for Ssh, 23 for Telnet; "host:port" in -ComputerName also works).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ComputerNameSet)]
        [ValidateRange(1, 65535)]
        public override int Port { get; set; }

        /// <summary>How to reach the devices: Ssh (default; the host key parameters apply as for Connect-SshShell) or Telnet (the login's questions answered from -Credential).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        public DeviceTransport Transport { get; set; } = DeviceTransport.Ssh;

        /// <summary>How many devices are talked to at once (default 16).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = 16;

        /// <summary>A folder for one transcript per device ("host_port.log", passwords and secrets redacted); made if missing.</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateNotNullOrEmpty]
        public string? TranscriptPath { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (ParameterSetName == SessionSet)
            {
                base.ProcessRecord();
                return;
            }

            _fleet ??= StartFleet();
            foreach (var entry in ComputerName)
            {
                if (!IsTargetEntry(entry))
                {
                    continue;
                }

                var (host, embedded) = Endpoints.SplitHostPort(entry.Trim());
                int port = Port != 0 ? Port : embedded ?? DefaultPort;
                DeviceProfile profile;
                try
                {
                    profile = DeviceProfileArguments.Resolve(_givenProfile, DeviceType, null);
                }
                catch (PSSocketException ex)
                {
                    WriteSocketError(ex, entry);
                    continue;
                }

                var target = new DeviceTarget { Host = host, Port = port, Options = Options(profile) };
                if (Transport == DeviceTransport.Ssh)
                {
                    target.Ssh = OptionsFor(entry.Trim());
                    target.Ssh.Port = Port != 0 ? Port : embedded ?? DefaultPort;
                    target.Host = target.Ssh.Host;
                    target.Port = target.Ssh.Port;
                }

                _fleet.Add(target);
            }

            WriteFinished(TimeSpan.Zero);
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (_fleet is null)
            {
                return;
            }

            _bar = new ProgressBar(this, "Invoke-DeviceCommand", firstAfterMs: 500);
            try
            {
                while (_fleet.Finished < _fleet.Started || WriteFinished(TimeSpan.Zero))
                {
                    if (Token.IsCancellationRequested)
                    {
                        throw new PipelineStoppedException();
                    }

                    WriteFinished(TimeSpan.FromMilliseconds(250));
                    _bar.Report($"{_fleet.Finished} of {_fleet.Started} devices done", _fleet.Finished, _fleet.Started);
                }
            }
            finally
            {
                _bar.Complete();
            }
        }

        private int DefaultPort => Transport == DeviceTransport.Telnet ? 23 : 22;

        private DeviceFleet StartFleet()
        {
            if (Transport == DeviceTransport.Telnet && Proxy is not null)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-Proxy applies to -Transport Ssh; for telnet through a proxy, open each session with Connect-TcpSocket -Telnet -Proxy and run Invoke-DeviceCommand on it.", nameof(Proxy)));
            }

            string? folder = null;
            if (TranscriptPath is not null)
            {
                folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath);
                Directory.CreateDirectory(folder);
            }

            var user = Credential?.UserName;
            var password = Credential?.Password;
            var timeout = Seconds(Timeout);
            var ssh = Transport == DeviceTransport.Ssh ? SshAssembly.Connector : null;
            var options = new DeviceFleetOptions
            {
                Commands = Command,
                Configuration = Configuration,
                TranscriptFolder = folder,
                ThrottleLimit = ThrottleLimit,
                Open = ssh is not null
                    ? (target, token) => DeviceFleet.OpenSshAsync(target, ssh, folder, token)
                    : (target, token) => DeviceFleet.OpenTelnetAsync(target, user, password, folder, timeout, token),
            };
            return new DeviceFleet(options, Token);
        }

        /// <summary>Writes the devices that finished (waiting up to wait for the first); true when one was written.</summary>
        private bool WriteFinished(TimeSpan wait)
        {
            bool any = false;
            while (_fleet!.TryTake(any ? TimeSpan.Zero : wait, out var outcome))
            {
                any = true;
                foreach (var result in outcome.Results)
                {
                    WriteObject(result);
                }

                foreach (var error in outcome.Errors)
                {
                    WriteError(ErrorRecords.From(error, outcome.Target.Host));
                }

                if (outcome.Failure is { } failure)
                {
                    WriteError(ErrorRecords.From(failure, outcome.Target.Host));
                }
            }

            return any;
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _fleet?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

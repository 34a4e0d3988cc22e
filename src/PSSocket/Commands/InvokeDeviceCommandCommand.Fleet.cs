using System;
using System.IO;
using System.Management.Automation;
using PSSocket.Net;
using PSSocket.Sessions.Devices;

namespace PSSocket.Commands
{
    /// <summary>The -ComputerName form: many devices at once, each opened, logged in to, run and closed.</summary>
    public sealed partial class InvokeDeviceCommandCommand
    {
        private const string FleetSet = "ComputerName";

        private DeviceFleet? _fleet;
        private ProgressBar? _bar;
        private int _position;

        /// <summary>The devices: host names or addresses ("host:port" works too). Objects with a ComputerName or HostName property (and DeviceType, Port) bind from the pipeline, such as the rows of a CSV inventory.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = FleetSet)]
        [Alias("HostName", "CN", "IPAddress", "Address")]
        [AllowEmptyString]
        public string[] ComputerName { get; set; } = Array.Empty<string>();

        /// <summary>The port (default 23 for Telnet).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = FleetSet)]
        [ValidateRange(1, 65535)]
        public int Port { get; set; }

        /// <summary>The user name and password the devices' login asks for.</summary>
        [Parameter(Mandatory = true, ParameterSetName = FleetSet)]
        [Credential]
        [ValidateNotNull]
        public PSCredential Credential { get; set; } = null!;

        /// <summary>How to reach the devices.</summary>
        [Parameter(ParameterSetName = FleetSet)]
        public DeviceTransport Transport { get; set; } = DeviceTransport.Telnet;

        /// <summary>How many devices are talked to at once (default 16).</summary>
        [Parameter(ParameterSetName = FleetSet)]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = 16;

        /// <summary>A folder for one transcript per device ("host_port.log", passwords and secrets redacted); made if missing.</summary>
        [Parameter(ParameterSetName = FleetSet)]
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
                _position++;
                if (string.IsNullOrWhiteSpace(entry))
                {
                    WriteError(ErrorRecords.BlankTarget(entry, _position));
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

                _fleet.Add(new DeviceTarget { Host = host, Port = port, Options = Options(profile) });
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
            if (Transport == DeviceTransport.Ssh)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-Transport Ssh needs the SSH transport (Connect-SshShell), which this build does not have yet; use -Transport Telnet.", Transport));
            }

            string? folder = null;
            if (TranscriptPath is not null)
            {
                folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(TranscriptPath);
                Directory.CreateDirectory(folder);
            }

            var user = Credential.UserName;
            var password = Credential.Password;
            var timeout = Seconds(Timeout);
            var options = new DeviceFleetOptions
            {
                Commands = Command,
                Configuration = Configuration,
                TranscriptFolder = folder,
                ThrottleLimit = ThrottleLimit,
                Open = (target, token) => DeviceFleet.OpenTelnetAsync(target, user, password, folder, timeout, token),
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

using System.Security;

namespace PSSocket.Sessions.Devices
{
    /// <summary>One device of a fleet run: where it is and how to talk to it.</summary>
    public sealed class DeviceTarget
    {
        /// <summary>The host name or address.</summary>
        public string Host { get; set; } = "";

        /// <summary>The port.</summary>
        public int Port { get; set; }

        /// <summary>How its commands run (its profile among them).</summary>
        public DeviceCommandOptions Options { get; set; } = null!;

        /// <summary>The SSH login and host key policy, when the device is reached over SSH.</summary>
        public Ssh.SshConnectOptions? Ssh { get; set; }

        /// <inheritdoc />
        public override string ToString() => Host.IndexOf(':') >= 0 ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
    }

    /// <summary>What became of one device of a fleet run: its results, the configuration lines it rejected, or why it failed.</summary>
    public sealed class DeviceOutcome
    {
        internal DeviceOutcome(DeviceTarget target) => Target = target;

        /// <summary>The device.</summary>
        public DeviceTarget Target { get; }

        /// <summary>The answers, in order.</summary>
        public List<DeviceCommandResult> Results { get; } = new();

        /// <summary>Configuration lines the device rejected (DeviceError).</summary>
        public List<PSSocketException> Errors { get; } = new();

        /// <summary>Why the device failed (unreachable, login refused, timeout), or null.</summary>
        public PSSocketException? Failure { get; internal set; }
    }

    /// <summary>How a fleet run opens, logs in to and closes each device.</summary>
    public sealed class DeviceFleetOptions
    {
        /// <summary>Opens a logged-in interactive session to the device (telnet here; the SSH shell when asked).</summary>
        public Func<DeviceTarget, CancellationToken, Task<TcpSession>> Open { get; set; } = null!;

        /// <summary>The commands (configuration lines with Configuration).</summary>
        public IReadOnlyList<string> Commands { get; set; } = Array.Empty<string>();

        /// <summary>Sends the commands as configuration lines.</summary>
        public bool Configuration { get; set; }

        /// <summary>A folder for one transcript per device (secrets redacted), or null.</summary>
        public string? TranscriptFolder { get; set; }

        /// <summary>How many devices are talked to at once.</summary>
        public int ThrottleLimit { get; set; } = 16;
    }

    /// <summary>
    /// Runs the same commands on many devices at once, at most ThrottleLimit at a time: each is
    /// opened, logged in to, given its commands and closed, and its outcome is queued as it finishes.
    /// </summary>
    public sealed class DeviceFleet : IDisposable
    {
        private static readonly char[] s_unsafe = Path.GetInvalidFileNameChars().Concat(new[] { ':', '%', '/', '\\' }).ToArray();

        private readonly DeviceFleetOptions _options;
        private readonly SemaphoreSlim _slots;
        private readonly BlockingCollection<DeviceOutcome> _done = new();
        private readonly CancellationToken _token;
        private int _started;
        private int _finished;

        /// <summary>A fleet run whose devices are added with Add.</summary>
        public DeviceFleet(DeviceFleetOptions options, CancellationToken token)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _slots = new SemaphoreSlim(Math.Max(1, options.ThrottleLimit));
            _token = token;
        }

        /// <summary>Devices added so far.</summary>
        public int Started => Volatile.Read(ref _started);

        /// <summary>Devices whose outcome is known.</summary>
        public int Finished => Volatile.Read(ref _finished);

        /// <summary>Starts work on a device (it waits for a slot).</summary>
        public void Add(DeviceTarget target)
        {
            Interlocked.Increment(ref _started);
            _ = Task.Run(() => RunAsync(target));
        }

        /// <summary>The next finished device, waiting up to the timeout; false when none finished by then.</summary>
        public bool TryTake(TimeSpan wait, out DeviceOutcome outcome) => _done.TryTake(out outcome!, wait);

        private async Task RunAsync(DeviceTarget target)
        {
            var outcome = new DeviceOutcome(target);
            try
            {
                await _slots.WaitAsync(_token).ConfigureAwait(false);
                try
                {
                    await TalkAsync(target, outcome).ConfigureAwait(false);
                }
                finally
                {
                    _slots.Release();
                }
            }
            catch (PSSocketException ex)
            {
                outcome.Failure = ex;
            }
            catch (OperationCanceledException ex)
            {
                outcome.Failure = new PSSocketException(SocketErrorKind.SocketError, $"Stopped before {target} finished.", ex, target: target.ToString());
            }
            finally
            {
                Interlocked.Increment(ref _finished);
                _done.Add(outcome);
            }
        }

        private async Task TalkAsync(DeviceTarget target, DeviceOutcome outcome)
        {
            var session = await _options.Open(target, _token).ConfigureAwait(false);
            try
            {
                var options = target.Options;
                if (_options.Configuration)
                {
                    var done = await DeviceCommandRunner.ConfigureAsync(session, _options.Commands, options, _token).ConfigureAwait(false);
                    outcome.Results.AddRange(done.Results);
                    outcome.Errors.AddRange(done.Errors);
                }
                else
                {
                    foreach (var command in _options.Commands)
                    {
                        outcome.Results.Add(await DeviceCommandRunner.RunAsync(session, command, options, _token).ConfigureAwait(false));
                    }
                }

                await DeviceLogin.SayGoodbyeAsync(session, options.Profile, _token).ConfigureAwait(false);
            }
            catch (PSSocketException ex)
            {
                // The device's name, not the session that is about to close, is what the error is about.
                throw new PSSocketException(ex.Kind, $"{target}: {ex.Message}", ex, target: target.ToString());
            }
            finally
            {
                session.Close("The fleet run is done with the device");
            }
        }

        /// <summary>
        /// Opens a telnet session to the device, records it to the transcript folder if any, and
        /// logs in with the user and password (either may be null when the device does not ask).
        /// </summary>
        public static async Task<TcpSession> OpenTelnetAsync(DeviceTarget target, string? user, SecureString? password, string? transcriptFolder, TimeSpan timeout, CancellationToken token)
        {
            var socket = await TcpConnector.ConnectAsync(target.Host, target.Port, new TcpConnectOptions { Timeout = timeout, NoDelay = true }, token).ConfigureAwait(false);
            var session = new TcpSession(socket) { ConnectedHost = target.Host, DeviceType = target.Options.Profile.Name, NewLine = LineEnding.CrLf };
            try
            {
                session.EnableTelnet();
                StartTranscript(session, target, transcriptFolder);
                await DeviceLogin.LoginAsync(session, user, password, target.Options.Profile, timeout, token).ConfigureAwait(false);
                return session;
            }
            catch
            {
                session.Close("The login failed");
                throw;
            }
        }

        /// <summary>
        /// Opens an SSH shell (a terminal of 511 x 1000, so devices neither wrap nor page) to the
        /// device with its login and host key policy, and records it to the transcript folder if any.
        /// </summary>
        public static async Task<TcpSession> OpenSshAsync(DeviceTarget target, Ssh.ISshConnector connector, string? transcriptFolder, CancellationToken token)
        {
            var options = target.Ssh ?? throw new ArgumentException("the target has no SSH options.", nameof(target));
            var connection = await connector.ConnectAsync(options, token).ConfigureAwait(false);
            var session = SshSession.Open(connection, options, new Ssh.SshTerminal());
            session.DeviceType = target.Options.Profile.Name;
            try
            {
                StartTranscript(session, target, transcriptFolder);
                return session;
            }
            catch
            {
                session.Close("The transcript could not be started");
                throw;
            }
        }

        /// <summary>Records the session to "host_port.log" in the folder (secrets redacted), when a folder is given.</summary>
        public static void StartTranscript(TcpSession session, DeviceTarget target, string? folder)
        {
            if (folder is null)
            {
                return;
            }

            string name = new string($"{target.Host}_{target.Port}".Select(c => s_unsafe.Contains(c) ? '_' : c).ToArray()) + ".log";
            session.StartTranscript(Path.Combine(folder, name), append: false);
        }

        /// <inheritdoc />
        public void Dispose()
        {
            _done.Dispose();
            _slots.Dispose();
        }
    }
}

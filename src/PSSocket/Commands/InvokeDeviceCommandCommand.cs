using System.Text.RegularExpressions;
using PSSocket.Sessions.Devices;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends CLI commands to a network device or shell and returns each clean answer.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "DeviceCommand", DefaultParameterSetName = SessionSet)]
    [OutputType(typeof(DeviceCommandResult))]
    public sealed partial class InvokeDeviceCommandCommand : SshCmdlet
    {
        private const string SessionSet = "Session";

        private DeviceProfile? _givenProfile;
        private Regex? _expect;
        private readonly List<KeyValuePair<Regex, string>> _answers = new();

        /// <summary>The session to the device (telnet, raw TCP or an SSH shell, logged in): a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = SessionSet)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <summary>The commands, sent in order; each returns one result. With -Configuration, the configuration lines.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNull]
        [AllowEmptyString]
        public string[] Command { get; set; } = Array.Empty<string>();

        /// <summary>The device type, a profile name (Get-DeviceProfile lists them: generic, linux, cisco_ios, frr, ...). Default: the type stored on the session by -DeviceType at connect, else generic.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(DeviceTypeCompleter))]
        public string? DeviceType { get; set; }

        /// <summary>A profile of your own, or several: a hashtable (one profile with a Name key, or name = profile entries) or the path of a .psd1 file of such entries. They are added for the rest of the process (Get-DeviceProfile lists them); a single one is used unless -DeviceType names another.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? DeviceProfile { get; set; }

        /// <summary>A regular expression that ends each command instead of the prompt (matched on the answer without escape sequences, after the echoed command).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Expect { get; set; }

        /// <summary>Ends a command when nothing new arrived for this many seconds, for devices without a usable prompt (the prompt, when it comes first, still ends it).</summary>
        [Parameter]
        [ValidateRange(0.001, 86400)]
        public double IdleTimeout { get; set; }

        /// <summary>Sends the commands as configuration lines: enters configuration mode, checks each answer against the profile's error patterns, stops at the first error (a non-terminating DeviceError naming the line and the device's message) and leaves configuration mode.</summary>
        [Parameter]
        public SwitchParameter Configuration { get; set; }

        /// <summary>With -Configuration: goes on after a line the device rejected (each rejection is still an error).</summary>
        [Parameter]
        public SwitchParameter ContinueOnError { get; set; }

        /// <summary>The secret for the profile's enable command, sent (never shown or recorded) when the prompt says the device is in unprivileged mode; PrivilegeDenied when the device refuses it.</summary>
        [Parameter]
        public SecureString? EnableSecret { get; set; }

        /// <summary>Answers to the device's questions: pattern = reply (the pattern is a regular expression matched on the question line; the reply is sent with a line end). Questions are never answered otherwise; one the profile knows that no answer matches ends the command with UnansweredQuestion.</summary>
        [Parameter]
        [ValidateNotNull]
        public IDictionary? Answer { get; set; }

        /// <summary>The most bytes one answer may buffer (default 16 MiB).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int MaxBytes { get; set; } = TcpSession.DefaultMaxBytes;

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (ContinueOnError && !Configuration)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-ContinueOnError applies to -Configuration.", nameof(ContinueOnError)));
            }

            try
            {
                _givenProfile = DeviceProfile is null ? null : DeviceProfileArguments.Add(this, DeviceProfile);
                _expect = Expect is null ? null : new Regex(Expect, RegexOptions.CultureInvariant | RegexOptions.Multiline, TimeSpan.FromSeconds(2));
                foreach (DictionaryEntry e in Answer ?? new Hashtable())
                {
                    string pattern = LanguagePrimitives.ConvertTo<string>(e.Key);
                    _answers.Add(new KeyValuePair<Regex, string>(new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2)), LanguagePrimitives.ConvertTo<string>(e.Value) ?? ""));
                }
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument($"{ex.Message}", DeviceProfile ?? Expect));
            }
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpSession>(session, "Invoke-DeviceCommand needs an interactive session (telnet, TCP or an SSH shell)") is not { } tcp)
            {
                return;
            }

            var options = Options(DeviceProfileArguments.Resolve(_givenProfile, DeviceType, session));
            Verbose(() => $"Session {session.Id}: device type {options.Profile.Name}");
            if (Configuration)
            {
                var done = Run(t => DeviceCommandRunner.ConfigureAsync(tcp, Command, options, t));
                foreach (var result in done.Results)
                {
                    WriteObject(result);
                }

                foreach (var error in done.Errors)
                {
                    WriteError(ErrorRecords.From(error, error.Target));
                }

                return;
            }

            foreach (var command in Command)
            {
                WriteObject(Run(t => DeviceCommandRunner.RunAsync(tcp, command, options, t)));
            }
        }

        private DeviceCommandOptions Options(DeviceProfile profile)
        {
            var options = new DeviceCommandOptions
            {
                Profile = profile,
                Expect = _expect,
                Timeout = Seconds(Timeout),
                IdleTimeout = IdleTimeout > 0 ? TimeSpan.FromSeconds(IdleTimeout) : null,
                EnableSecret = EnableSecret,
                MaxBytes = MaxBytes,
                ContinueOnError = ContinueOnError,
            };
            foreach (var a in _answers)
            {
                options.Answers.Add(a);
            }

            return options;
        }
    }
}

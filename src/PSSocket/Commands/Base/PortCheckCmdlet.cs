using System.Diagnostics;

namespace PSSocket.Commands
{
    /// <summary>
    /// What a port-check cmdlet shares: the targets (names, addresses, CIDR ranges, host:port, URLs,
    /// objects with a host property), the ports, a scan engine fed from the pipeline with back-pressure,
    /// results written as they finish (or one [bool] per requested target and port, in order, with
    /// -Quiet), and a progress bar on long runs. A subclass makes the engine and says what Open is.
    /// </summary>
    /// <typeparam name="TResult">The result row type.</typeparam>
    public abstract partial class PortCheckCmdlet<TResult> : PSSocketCmdlet
        where TResult : class
    {
        // Past this many targets waiting for probes, ProcessRecord drains results before taking more input.
        private const int MaxQueuedTargets = 256;

        private ScanEngine<TResult>? _engine;
        private readonly ScanVerdicts _verdicts = new();
        private long _entries;
        private string[]? _commandLinePort;
        private int[]? _commandLinePorts;
        private readonly Stopwatch _clock = new();
        private ProgressRecord? _progress;
        private long _nextProgressMs = 1000;

        /// <summary>
        /// Host names, IPv4/IPv6 addresses or CIDR ranges (10.1.2.0/28, fd00::/124); "host:port" (or
        /// "host:22,443") carries its own ports; a URL gives its host and port. Accepts pipeline input,
        /// including objects with a ComputerName, DNSHostName, HostName, Host, Server, IPAddress,
        /// Address or Name property (rows from Import-Csv) and a Port property.
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [Alias("HostName", "CN", "Host", "Address", "IPAddress", "Target", "DNSHostName", "Server")]
        [AllowNull]
        [AllowEmptyString]
        [AllowEmptyCollection]
        public object?[] ComputerName { get; set; } = Array.Empty<object>();

        /// <summary>
        /// Ports: numbers, ranges and lists in any mix ("53", "123,161", "1-1024") and well-known
        /// service names (domain, ntp, snmp, syslog ...). Optional when every target is written as host:port.
        /// </summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("RemotePort", "Ports")]
        [ArgumentCompleter(typeof(PortCompleter))]
        public string[]? Port { get; set; }

        /// <summary>Outputs only $true (open) or $false per requested target and port, in the order given.</summary>
        [Parameter]
        public SwitchParameter Quiet { get; set; }

        /// <summary>Outputs only open ports.</summary>
        [Parameter]
        public SwitchParameter Open { get; set; }

        /// <summary>Probes only the first address a host name resolves to (default: every address).</summary>
        [Parameter]
        public SwitchParameter FirstAddress { get; set; }

        /// <summary>Allows CIDR ranges larger than 4096 addresses (up to 2^24).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Restricts host names and ranges to IPv4 or IPv6 (default: every address).</summary>
        [Parameter]
        public IPFamily AddressFamily { get; set; } = IPFamily.Any;

        /// <summary>The engine for this run, made once the parameters are bound.</summary>
        protected abstract ScanEngine<TResult> CreateEngine();

        /// <summary>Sets what every port check takes from the parameters of this base (-AddressFamily, -FirstAddress, -Force) on an engine's options.</summary>
        protected TOptions Targeting<TOptions>(TOptions options)
            where TOptions : ScanOptions
        {
            options.AddressFamily = AddressFamily.ToSocketFamily();
            options.FirstAddress = FirstAddress;
            options.AllowLargeRanges = Force;
            return options;
        }

        /// <summary>True when the result counts as open for -Quiet and -Open.</summary>
        protected abstract bool IsOpen(TResult result);

        /// <summary>The progress bar's activity (the cmdlet name).</summary>
        protected abstract string Activity { get; }

        /// <summary>Checks the parameters before the engine starts; throw a terminating error for misuse.</summary>
        protected virtual void ValidateParameters()
        {
        }

        /// <summary>Parses a port list (-Port, a row's Port, the ports of host:port); TCP service names unless overridden.</summary>
        /// <exception cref="PSSocketException">InvalidArgument naming the bad part.</exception>
        protected virtual int[] ParsePorts(string[] specs) => PortSpec.Parse(specs);

        /// <summary>Adds what the input item or its port list asks of one target beyond its ports, before it is queued.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for a row that asks for something impossible.</exception>
        protected virtual void PrepareTarget(PortScanTarget target, string[]? portSpecs, object? item)
        {
        }

        /// <summary>Writes what a result needs beyond itself (an error about it, for example); called before the result is written.</summary>
        protected virtual void OnResult(TResult result)
        {
        }

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            ValidateParameters();
            if (Port is not null)
            {
                // Bound on the command line: a bad spec is misuse of the whole command.
                _commandLinePort = Port;
                try
                {
                    _commandLinePorts = ParsePorts(Port);
                }
                catch (PSSocketException ex)
                {
                    ThrowTerminatingError(ErrorRecords.From(ex, string.Join(",", Port)));
                }
            }

            _engine = Checked(CreateEngine);

            _clock.Start();
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var engine = _engine!;
            int[]? ports = null;
            PSSocketException? portError = null;
            if (Port is not null)
            {
                if (ReferenceEquals(Port, _commandLinePort))
                {
                    ports = _commandLinePorts;
                }
                else
                {
                    try
                    {
                        ports = ParsePorts(Port);
                    }
                    catch (PSSocketException ex)
                    {
                        portError = ex;
                    }
                }
            }

            foreach (object? item in ComputerName ?? new object?[] { null })
            {
                long position = ++_entries;
                string? text = ScanTargetInput.TextOf(item, out string? itemPorts, out var inputError);
                try
                {
                    if ((inputError ?? TargetEntry.CheckBlank(text, position)) is PSSocketException bad)
                    {
                        throw bad;
                    }

                    var (host, embedded) = PortScanTarget.Split(text!);
                    embedded ??= itemPorts;
                    string[]? portSpecs = embedded is not null ? new[] { embedded } : Port;
                    int[]? targetPorts = embedded is not null ? ParsePorts(portSpecs!) : ports;
                    if (targetPorts is null)
                    {
                        throw portError ?? new PSSocketException(SocketErrorKind.InvalidArgument,
                            $"No port to check on '{Endpoints.Shorten(text!)}': give -Port or write host:port.", target: text);
                    }

                    var target = new PortScanTarget(host, targetPorts);
                    PrepareTarget(target, portSpecs, item);
                    long id = engine.Add(target);
                    if (Quiet)
                    {
                        _verdicts.Register(id, targetPorts.Length);
                    }

                    Verbose(() => $"Queued {host}: {targetPorts.Length} port(s)");
                }
                catch (PSSocketException ex)
                {
                    WriteSocketError(ex, text ?? item);
                }

                Drain(0);
                while (engine.QueuedTargets > MaxQueuedTargets)
                {
                    Drain(100);
                }
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _engine?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

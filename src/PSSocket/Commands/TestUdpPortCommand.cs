namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Checks UDP ports on many hosts at once: Open (an answer), Closed (ICMP port unreachable) or OpenOrFiltered (silence), with built-in DNS, NTP and SNMP probes.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "UdpPort")]
    [OutputType(typeof(UdpPortCheckResult))]
    [OutputType(typeof(bool))]
    public sealed class TestUdpPortCommand : PortCheckCmdlet<UdpPortCheckResult>
    {
        private byte[]? _payload;
        private object? _commandLinePayload;
        private UdpProbe _commandLineProbe;

        /// <summary>Seconds to wait for an answer to each datagram (default 1, fractions allowed).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        [ValidateRange(0.01, 3600)]
        public double Timeout { get; set; } = 1;

        /// <summary>How many more datagrams to send while nothing answers (default 1: two datagrams at most).</summary>
        [Parameter]
        [ValidateRange(0, 20)]
        public int Retries { get; set; } = 1;

        /// <summary>The most probes in flight at once (default 500).</summary>
        [Parameter]
        [ValidateRange(1, 100_000)]
        public int ThrottleLimit { get; set; } = UdpScanOptions.DefaultThrottleLimit;

        /// <summary>
        /// What to send: Auto (by port: 53 Dns, 123 Ntp, 161 Snmp, else an empty datagram), Dns, Ntp,
        /// Snmp (to probe a service on another port) or None (an empty datagram, or -Payload). Binds a
        /// Probe property of pipeline input (a column of Import-Csv), so each row can name its own; a
        /// port written port:probe in -Port ("5353:dns") names the probe of that port.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [UdpProbeTransformation]
        public UdpProbe Probe { get; set; } = UdpProbe.Auto;

        /// <summary>The datagram to send instead of a built-in probe: text (UTF-8) or bytes. Binds a Payload property of pipeline input, so each row can carry its own.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public object? Payload { get; set; }

        /// <summary>The SNMP community of the Snmp probe (default public).</summary>
        [Parameter]
        [ValidateNotNull]
        public string Community { get; set; } = "public";

        /// <inheritdoc />
        protected override string Activity => "Test-UdpPort";

        /// <inheritdoc />
        protected override void ValidateParameters()
        {
            _commandLinePayload = Payload;
            _commandLineProbe = Probe;
            _payload = Checked(() => PayloadBytes(Payload, Probe));
        }

        /// <inheritdoc />
        protected override int[] ParsePorts(string[] specs) => UdpProbePlan.ParsePorts(specs).Ports;

        /// <inheritdoc />
        protected override void PrepareTarget(PortScanTarget target, string[]? portSpecs, object? item)
        {
            var plan = new UdpProbePlan();
            if (portSpecs is not null)
            {
                plan.ByPort = UdpProbePlan.ParsePorts(portSpecs).ByPort;
            }

            if (Probe != _commandLineProbe)
            {
                plan.Probe = Probe;
            }

            // A blank Payload cell of a CSV row means "none", not an empty datagram.
            if (!ReferenceEquals(Payload, _commandLinePayload) && !(Payload is string s && s.Length == 0))
            {
                plan.Payload = PayloadBytes(Payload, Probe);
            }

            if (!plan.IsEmpty)
            {
                target.UdpPlan = plan;
            }
        }

        private static byte[]? PayloadBytes(object? payload, UdpProbe probe)
        {
            if (payload is null)
            {
                return null;
            }

            object value = payload is PSObject pso ? pso.BaseObject : payload;
            byte[] bytes = value switch
            {
                byte[] b => b,
                string text => Encoding.UTF8.GetBytes(text),
                _ => throw new PSSocketException(SocketErrorKind.InvalidArgument, $"-Payload takes text or bytes, not {value.GetType().Name}.", target: payload),
            };
            if (probe is not UdpProbe.Auto and not UdpProbe.None)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"-Payload replaces the {probe} probe's request: give one of them.", target: payload);
            }

            if (bytes.Length > 65507)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"-Payload is {bytes.Length} bytes; a UDP datagram carries at most 65,507.", target: payload);
            }

            return bytes;
        }

        /// <inheritdoc />
        protected override ScanEngine<UdpPortCheckResult> CreateEngine() => new UdpPortScanner(Targeting(new UdpScanOptions
        {
            Timeout = Seconds(Timeout),
            Retries = Retries,
            ThrottleLimit = ThrottleLimit,
            Probe = Probe,
            Payload = _payload,
            Community = Community,
        }), Token);

        /// <inheritdoc />
        protected override bool IsOpen(UdpPortCheckResult result) => result.Status == PortStatus.Open;
    }
}

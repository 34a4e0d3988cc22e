using System;
using System.Management.Automation;
using System.Text;
using PSSocket.Net;

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
        /// Snmp (to probe a service on another port) or None (an empty datagram, or -Payload).
        /// </summary>
        [Parameter]
        public UdpProbe Probe { get; set; } = UdpProbe.Auto;

        /// <summary>The datagram to send instead of a built-in probe: text (UTF-8) or bytes.</summary>
        [Parameter]
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
            if (Payload is null)
            {
                return;
            }

            object value = Payload is PSObject pso ? pso.BaseObject : Payload;
            _payload = value switch
            {
                byte[] bytes => bytes,
                string text => Encoding.UTF8.GetBytes(text),
                _ => null,
            };
            if (_payload is null)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument($"-Payload takes text or bytes, not {value.GetType().Name}.", Payload));
            }

            if (Probe is not UdpProbe.Auto and not UdpProbe.None)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument($"-Payload replaces the {Probe} probe's request: give one of them.", Payload));
            }

            if (_payload!.Length > 65507)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument($"-Payload is {_payload.Length} bytes; a UDP datagram carries at most 65,507.", Payload));
            }
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

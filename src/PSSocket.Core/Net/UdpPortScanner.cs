namespace PSSocket.Net
{
    /// <summary>What Test-UdpPort asks of a scan, beyond what every scan takes.</summary>
    public sealed class UdpScanOptions : ScanOptions
    {
        /// <summary>The default probes in flight: each holds a socket for up to (Retries + 1) × Timeout.</summary>
        public new const int DefaultThrottleLimit = 500;

        /// <summary>The probe; Auto picks it by port.</summary>
        public UdpProbe Probe { get; set; } = UdpProbe.Auto;

        /// <summary>Bytes to send instead of a built-in probe's request.</summary>
        public byte[]? Payload { get; set; }

        /// <summary>The SNMP community of the Snmp probe.</summary>
        public string Community { get; set; } = "public";
    }

    /// <summary>
    /// A UDP port scan: the shared scan engine (targets, slots, typed results in order) with
    /// <see cref="UdpPortProber"/> as its probe.
    /// </summary>
    public sealed class UdpPortScanner : ScanEngine<UdpPortCheckResult>
    {
        private readonly UdpScanOptions _options;

        /// <summary>Starts the scan; targets are added with <see cref="ScanEngine{TResult}.Add"/>.</summary>
        public UdpPortScanner(UdpScanOptions options, CancellationToken token)
            : base(options, token)
        {
            _options = options;
        }

        /// <inheritdoc />
        protected override void StartProbe(ScanProbe probe) => Watch(probe, RunAsync(probe));

        // Cancellation and what the prober did not foresee end the probe in Watch.
        private async Task RunAsync(ScanProbe probe)
        {
            var address = probe.Address ?? throw new InvalidOperationException("A UDP probe needs an address; names are resolved here.");
            UdpPortCheckResult result;
            try
            {
                result = await UdpPortProber.ProbeAsync(probe.Label, address, probe.Port, _options, Token, probe.Target.UdpPlan).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or OperationCanceledException))
            {
                result = new UdpPortCheckResult
                {
                    ComputerName = probe.Label,
                    Address = address,
                    Port = probe.Port,
                    Status = PortStatus.Error,
                    Service = ServiceTable.Udp.NameOf(probe.Port),
                    Probe = UdpProbePlan.Choose(probe.Target.UdpPlan, _options, probe.Port).Probe,
                    Detail = ex.Message,
                };
            }

            if (result.Status == PortStatus.Open)
            {
                CountOpen();
            }

            End(probe, result);
        }

        /// <inheritdoc />
        protected override UdpPortCheckResult Unprobed(PortScanTarget target, int port, PSSocketException failure) => new()
        {
            ComputerName = target.Host,
            Port = port,
            Status = PortStatus.Error,
            Service = ServiceTable.Udp.NameOf(port),
            Probe = UdpProbePlan.Choose(target?.UdpPlan, _options ?? new UdpScanOptions(), port).Probe,
            Detail = failure.Message,
        };

        // Every probe waits on the scan's token, which is cancelled before this is called.
        /// <inheritdoc />
        protected override void AbortAll()
        {
        }
    }
}

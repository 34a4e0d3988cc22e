namespace PSSocket
{
    /// <summary>One target × port of Test-UdpPort.</summary>
    public sealed class UdpPortCheckResult
    {
        /// <summary>The target as given: host name, literal address, or the address from an expanded range.</summary>
        public string ComputerName { get; set; } = "";

        /// <summary>The address probed; empty when the name did not resolve.</summary>
        public IPAddress? Address { get; set; }

        /// <summary>The UDP port probed.</summary>
        public int Port { get; set; }

        /// <summary>
        /// Open (something answered), Closed (ICMP port unreachable came back), OpenOrFiltered (nothing
        /// came back: a service that ignored the probe, or a firewall that dropped it), Filtered (another
        /// ICMP unreachable) or Error (the check could not be made).
        /// </summary>
        public PortStatus Status { get; set; }

        /// <summary>Milliseconds from the datagram that was answered to its answer; empty when nothing answered.</summary>
        public double? Latency { get; set; }

        /// <summary>The well-known service name of the port, if it has one.</summary>
        public string? Service { get; set; }

        /// <summary>The probe sent: Dns, Ntp, Snmp or None (an empty datagram or the -Payload).</summary>
        public UdpProbe Probe { get; set; }

        /// <summary>How many datagrams were sent (1 + the retries used).</summary>
        public int Attempts { get; set; }

        /// <summary>What was seen: the answer in words (DNS RCODE, NTP stratum, SNMP sysDescr), the ICMP error, or that nothing came back.</summary>
        public string? Detail { get; set; }

        /// <summary>The endpoint and status, as users write them.</summary>
        public override string ToString() =>
            Address is null ? $"{ComputerName}:{Port} {Status}" : $"{Endpoints.Format(new IPEndPoint(Address, Port))} {Status}";
    }
}

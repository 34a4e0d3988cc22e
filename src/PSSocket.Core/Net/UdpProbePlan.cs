namespace PSSocket.Net
{
    /// <summary>
    /// What Test-UdpPort sends to one target when it differs from the scan's options: a probe or a
    /// payload given on the target's row (a Probe or Payload column of Import-Csv), and probes named
    /// per port ("5353:dns,1161:snmp").
    /// </summary>
    public sealed class UdpProbePlan
    {
        private static readonly char[] s_separators = { ',', ' ', ';', '\t', '\r', '\n' };

        /// <summary>The probe of the target's row; Auto leaves it to the scan's options.</summary>
        public UdpProbe Probe { get; set; } = UdpProbe.Auto;

        /// <summary>The datagram of the target's row; null leaves it to the scan's options.</summary>
        public byte[]? Payload { get; set; }

        /// <summary>Probes named per port, which win over everything else.</summary>
        public IReadOnlyDictionary<int, UdpProbe> ByPort { get; set; } = new Dictionary<int, UdpProbe>();

        /// <summary>True when the plan changes nothing.</summary>
        public bool IsEmpty => Probe == UdpProbe.Auto && Payload is null && ByPort.Count == 0;

        /// <summary>
        /// Parses UDP port specs in which any item may end in ":probe" ("5353:dns", "1161-1162:snmp",
        /// "9999:none"); the ports use the UDP service names.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument naming the bad part.</exception>
        public static (int[] Ports, IReadOnlyDictionary<int, UdpProbe> ByPort) ParsePorts(IEnumerable<string> texts)
        {
            if (texts is null)
            {
                throw new ArgumentNullException(nameof(texts));
            }

            var specs = new List<string>();
            var byPort = new Dictionary<int, UdpProbe>();
            foreach (string? text in texts)
            {
                foreach (string part in (text ?? "").Split(s_separators, StringSplitOptions.RemoveEmptyEntries))
                {
                    int colon = part.IndexOf(':');
                    if (colon < 0)
                    {
                        specs.Add(part);
                        continue;
                    }

                    string portPart = part.Substring(0, colon);
                    UdpProbe probe = ProbeNamed(part.Substring(colon + 1), part);
                    specs.Add(portPart);
                    foreach (int port in PortSpec.Parse(new[] { portPart }, ServiceTable.Udp))
                    {
                        byPort[port] = probe;
                    }
                }
            }

            return (PortSpec.Parse(specs, ServiceTable.Udp), byPort);
        }

        /// <summary>A probe by its name (Dns, Ntp, Snmp, None, Auto) or by a UDP service name it serves (domain, 53, 123 ...).</summary>
        /// <exception cref="PSSocketException">InvalidArgument for a name that is neither.</exception>
        public static UdpProbe ProbeNamed(string name, string whole)
        {
            string n = (name ?? "").Trim();
            if (Enum.TryParse(n, true, out UdpProbe probe) && Enum.IsDefined(typeof(UdpProbe), probe) && !n.All(char.IsDigit))
            {
                return probe;
            }

            if (ServiceTable.Udp.TryGetPort(n, out int port) && UdpProbes.ForPort(port) is UdpProbe served and not UdpProbe.None)
            {
                return served;
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{Endpoints.Shorten(n)}' in '{Endpoints.Shorten(whole)}' is not a probe: write port:probe with a probe of Dns, Ntp, Snmp or None (5353:dns).", target: whole);
        }

        /// <summary>The probe and datagram for one port of a target with this plan (or none) in a scan with these options.</summary>
        public static (UdpProbe Probe, byte[]? Payload) Choose(UdpProbePlan? plan, UdpScanOptions options, int port)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            if (plan is not null && plan.ByPort.TryGetValue(port, out UdpProbe named))
            {
                return (UdpProbes.Resolve(named, port), named is UdpProbe.None or UdpProbe.Auto ? plan.Payload ?? options.Payload : null);
            }

            UdpProbe probe = plan is { Probe: not UdpProbe.Auto } ? plan.Probe : options.Probe;
            byte[]? payload = plan?.Payload ?? (plan is { Probe: not UdpProbe.Auto and not UdpProbe.None } ? null : options.Payload);
            if (payload is not null)
            {
                return (probe == UdpProbe.Auto ? UdpProbe.None : probe, payload);
            }

            return (UdpProbes.Resolve(probe, port), null);
        }
    }
}

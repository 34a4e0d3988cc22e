namespace PSSocket.Net
{
    /// <summary>
    /// Well-known service names and their ports for one protocol (IANA names plus common short forms):
    /// <see cref="Tcp"/> for the TCP cmdlets, <see cref="Udp"/> for the UDP ones (ntp, snmp, syslog
    /// and tftp are UDP services and have no TCP entry).
    /// </summary>
    public sealed class ServiceTable
    {
        // The first name listed for a port is the one shown in results.
        private static readonly (string Name, int Port)[] s_tcp =
        {
            ("echo", 7), ("discard", 9), ("daytime", 13), ("ftp-data", 20), ("ftp", 21), ("ssh", 22), ("telnet", 23),
            ("smtp", 25), ("time", 37), ("whois", 43), ("dns", 53), ("domain", 53), ("gopher", 70), ("finger", 79),
            ("http", 80), ("www", 80), ("kerberos", 88), ("pop3", 110), ("rpcbind", 111), ("sunrpc", 111), ("ident", 113),
            ("nntp", 119), ("msrpc", 135), ("epmap", 135), ("netbios-ssn", 139), ("imap", 143), ("bgp", 179), ("ldap", 389),
            ("https", 443), ("smb", 445), ("microsoft-ds", 445), ("kpasswd", 464), ("smtps", 465), ("submission", 587),
            ("ipp", 631), ("ldaps", 636), ("rsync", 873), ("ftps", 990), ("imaps", 993), ("pop3s", 995), ("socks", 1080),
            ("openvpn", 1194), ("mssql", 1433), ("oracle", 1521), ("pptp", 1723), ("mqtt", 1883), ("nfs", 2049),
            ("zookeeper", 2181), ("docker", 2375), ("docker-tls", 2376), ("etcd", 2379), ("gc", 3268), ("gc-ssl", 3269),
            ("mysql", 3306), ("rdp", 3389), ("ms-wbt-server", 3389), ("svn", 3690), ("postgres", 5432), ("postgresql", 5432),
            ("kibana", 5601), ("amqp", 5672), ("vnc", 5900), ("couchdb", 5984), ("winrm", 5985), ("wsman", 5985),
            ("winrm-https", 5986), ("wsmans", 5986), ("x11", 6000), ("redis", 6379), ("kubernetes", 6443), ("irc", 6667),
            ("ajp", 8009), ("http-alt", 8080), ("https-alt", 8443), ("mqtts", 8883), ("prometheus", 9090), ("kafka", 9092),
            ("elasticsearch", 9200), ("git", 9418), ("memcached", 11211), ("mongodb", 27017),
        };

        private static readonly (string Name, int Port)[] s_udp =
        {
            ("echo", 7), ("discard", 9), ("daytime", 13), ("time", 37), ("dns", 53), ("domain", 53), ("bootps", 67),
            ("dhcp", 67), ("bootpc", 68), ("tftp", 69), ("kerberos", 88), ("sunrpc", 111), ("rpcbind", 111), ("ntp", 123),
            ("netbios-ns", 137), ("netbios-dgm", 138), ("snmp", 161), ("snmptrap", 162), ("snmp-trap", 162), ("ldap", 389),
            ("https", 443), ("quic", 443), ("kpasswd", 464), ("isakmp", 500), ("ike", 500), ("syslog", 514), ("rip", 520),
            ("dhcpv6-client", 546), ("dhcpv6-server", 547), ("openvpn", 1194), ("l2tp", 1701), ("radius", 1812),
            ("radius-acct", 1813), ("ssdp", 1900), ("nfs", 2049), ("netflow", 2055), ("stun", 3478), ("bfd", 3784),
            ("ipsec-nat-t", 4500), ("ipfix", 4739), ("sip", 5060), ("mdns", 5353), ("llmnr", 5355), ("coap", 5683),
            ("statsd", 8125), ("memcached", 11211), ("wireguard", 51820),
        };

        private readonly Dictionary<string, int> _byName;
        private readonly Dictionary<int, string> _byPort;

        private ServiceTable((string Name, int Port)[] table, string hint)
        {
            _byName = table.ToDictionary(e => e.Name, e => e.Port, StringComparer.OrdinalIgnoreCase);
            _byPort = table.GroupBy(e => e.Port).ToDictionary(g => g.Key, g => g.First().Name);
            Names = table.Select(e => e.Name).ToArray();
            Hint = hint;
        }

        /// <summary>TCP services (ssh, https, rdp, redis ...).</summary>
        public static ServiceTable Tcp { get; } = new(s_tcp,
            "Use numbers (22), ranges (1-1024), lists (80,443) or service names (ssh, https, rdp).");

        /// <summary>UDP services (dns, ntp, snmp, syslog, tftp, radius ...).</summary>
        public static ServiceTable Udp { get; } = new(s_udp,
            "Use numbers (53), ranges (1-1024), lists (53,123) or UDP service names (dns, ntp, snmp, syslog, tftp, radius).");

        /// <summary>Every known name, for tab completion.</summary>
        public IReadOnlyList<string> Names { get; }

        /// <summary>The sentence that tells a user how ports are written, ending error messages.</summary>
        public string Hint { get; }

        /// <summary>The port of a service name (case-insensitive).</summary>
        public bool TryGetPort(string name, out int port) => _byName.TryGetValue(name ?? "", out port);

        /// <summary>The service name shown for a port, or null.</summary>
        public string? NameOf(int port) => _byPort.TryGetValue(port, out var n) ? n : null;
    }

    /// <summary>Well-known TCP service names and their ports (<see cref="ServiceTable.Tcp"/>).</summary>
    public static class WellKnownPorts
    {
        /// <summary>Every known name, for tab completion.</summary>
        public static IReadOnlyList<string> Names => ServiceTable.Tcp.Names;

        /// <summary>The port of a service name (case-insensitive).</summary>
        public static bool TryGetPort(string name, out int port) => ServiceTable.Tcp.TryGetPort(name, out port);

        /// <summary>The service name shown for a port, or null.</summary>
        public static string? NameOf(int port) => ServiceTable.Tcp.NameOf(port);
    }
}

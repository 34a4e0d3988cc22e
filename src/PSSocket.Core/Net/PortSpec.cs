using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace PSSocket.Net
{
    /// <summary>
    /// Parses the port lists users type: numbers, ranges and well-known service names in any mix,
    /// separated by commas or spaces ("22", "80,443", "1-1024", "ssh,https 8000-8100", "-1024", "60000-").
    /// </summary>
    public static class PortSpec
    {
        private static readonly char[] s_separators = { ',', ' ', ';', '\t', '\r', '\n' };

        /// <summary>The ports in the order first given, each once.</summary>
        /// <exception cref="PSSocketException">InvalidArgument with a message naming the bad part.</exception>
        public static int[] Parse(string text) => Parse(new[] { text });

        /// <summary>The ports of several specs together, in the order first given, each once.</summary>
        /// <exception cref="PSSocketException">InvalidArgument with a message naming the bad part.</exception>
        public static int[] Parse(IEnumerable<string> texts)
        {
            if (texts is null)
            {
                throw new ArgumentNullException(nameof(texts));
            }

            var seen = new bool[65536];
            var ports = new List<int>();
            foreach (string? text in texts)
            {
                if (string.IsNullOrWhiteSpace(text))
                {
                    continue;
                }

                foreach (string part in text!.Split(s_separators, StringSplitOptions.RemoveEmptyEntries))
                {
                    var (first, last) = ParseItem(part, text);
                    for (int p = first; p <= last; p++)
                    {
                        if (!seen[p])
                        {
                            seen[p] = true;
                            ports.Add(p);
                        }
                    }
                }
            }

            if (ports.Count == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "No port given. " + Hint, target: string.Join(",", texts));
            }

            return ports.ToArray();
        }

        /// <summary>True when text parses; the ports come back in ports.</summary>
        public static bool TryParse(string text, out int[] ports)
        {
            try
            {
                ports = Parse(text);
                return true;
            }
            catch (PSSocketException)
            {
                ports = Array.Empty<int>();
                return false;
            }
        }

        private static (int First, int Last) ParseItem(string part, string whole)
        {
            if (part == "-" || part == "*")
            {
                return (1, 65535);
            }

            // Whole names first: some contain a dash (ftp-data, http-alt).
            if (WellKnownPorts.TryGetPort(part, out int named))
            {
                return (named, named);
            }

            int dash = part.IndexOf('-', 1);
            if (part.StartsWith("-", StringComparison.Ordinal))
            {
                return (1, Number(part.Substring(1), whole));
            }

            if (dash > 0)
            {
                int first = Number(part.Substring(0, dash), whole);
                string rest = part.Substring(dash + 1);
                int last = rest.Length == 0 ? 65535 : Number(rest, whole);
                if (last < first)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"The port range '{part}' runs backwards; write the lower port first ({last}-{first}).", target: whole);
                }

                return (first, last);
            }

            if (char.IsDigit(part[0]))
            {
                int p = Number(part, whole);
                return (p, p);
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{Endpoints.Shorten(part)}' is not a port number, range or known service name. " + Hint, target: whole);
        }

        private static int Number(string s, string whole)
        {
            if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                if (WellKnownPorts.TryGetPort(s, out int named))
                {
                    return named;
                }

                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"'{Endpoints.Shorten(s)}' in '{Endpoints.Shorten(whole)}' is not a port number. " + Hint, target: whole);
            }

            if (p is < 1 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {p} is outside 1-65535.", target: whole);
            }

            return p;
        }

        private const string Hint = "Use numbers (22), ranges (1-1024), lists (80,443) or service names (ssh, https, rdp).";
    }

    /// <summary>Well-known TCP service names and their ports (IANA names plus common short forms).</summary>
    public static class WellKnownPorts
    {
        // The first name listed for a port is the one shown in results.
        private static readonly (string Name, int Port)[] s_table =
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

        private static readonly Dictionary<string, int> s_byName =
            s_table.ToDictionary(e => e.Name, e => e.Port, StringComparer.OrdinalIgnoreCase);

        private static readonly Dictionary<int, string> s_byPort = s_table
            .GroupBy(e => e.Port)
            .ToDictionary(g => g.Key, g => g.First().Name);

        /// <summary>Every known name, for tab completion.</summary>
        public static IReadOnlyList<string> Names { get; } = s_table.Select(e => e.Name).ToArray();

        /// <summary>The port of a service name (case-insensitive).</summary>
        public static bool TryGetPort(string name, out int port) => s_byName.TryGetValue(name ?? "", out port);

        /// <summary>The service name shown for a port, or null.</summary>
        public static string? NameOf(int port) => s_byPort.TryGetValue(port, out var n) ? n : null;
    }
}

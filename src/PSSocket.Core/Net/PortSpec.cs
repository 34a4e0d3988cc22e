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

        /// <summary>The ports of several specs together, in the order first given, each once (TCP service names).</summary>
        /// <exception cref="PSSocketException">InvalidArgument with a message naming the bad part.</exception>
        public static int[] Parse(IEnumerable<string> texts) => Parse(texts, ServiceTable.Tcp);

        /// <summary>The ports of several specs together, in the order first given, each once, with the service names of <paramref name="services"/>.</summary>
        /// <exception cref="PSSocketException">InvalidArgument with a message naming the bad part.</exception>
        public static int[] Parse(IEnumerable<string> texts, ServiceTable services)
        {
            if (services is null)
            {
                throw new ArgumentNullException(nameof(services));
            }

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
                    var (first, last) = ParseItem(part, text, services);
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
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "No port given. " + services.Hint, target: string.Join(",", texts));
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

        private static (int First, int Last) ParseItem(string part, string whole, ServiceTable services)
        {
            if (part == "-" || part == "*")
            {
                return (1, 65535);
            }

            // Whole names first: some contain a dash (ftp-data, http-alt).
            if (services.TryGetPort(part, out int named))
            {
                return (named, named);
            }

            int dash = part.IndexOf('-', 1);
            if (part.StartsWith("-", StringComparison.Ordinal))
            {
                return (1, Number(part.Substring(1), whole, services));
            }

            if (dash > 0)
            {
                int first = Number(part.Substring(0, dash), whole, services);
                string rest = part.Substring(dash + 1);
                int last = rest.Length == 0 ? 65535 : Number(rest, whole, services);
                if (last < first)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"The port range '{part}' runs backwards; write the lower port first ({last}-{first}).", target: whole);
                }

                return (first, last);
            }

            if (char.IsDigit(part[0]))
            {
                int p = Number(part, whole, services);
                return (p, p);
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{Endpoints.Shorten(part)}' is not a port number, range or known service name. " + services.Hint, target: whole);
        }

        private static int Number(string s, string whole, ServiceTable services)
        {
            if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                if (services.TryGetPort(s, out int named))
                {
                    return named;
                }

                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"'{Endpoints.Shorten(s)}' in '{Endpoints.Shorten(whole)}' is not a port number. " + services.Hint, target: whole);
            }

            if (p is < 1 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {p} is outside 1-65535.", target: whole);
            }

            return p;
        }
    }
}

namespace PSSocket.Net
{
    /// <summary>One target of a port scan: a host name, a literal address or a CIDR range, with its ports.</summary>
    public sealed class PortScanTarget
    {
        /// <summary>Creates a target; hostOrRange is a host name, an IP literal or a CIDR range.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for an empty name, a malformed range or no ports.</exception>
        public PortScanTarget(string hostOrRange, int[] ports)
        {
            if (string.IsNullOrWhiteSpace(hostOrRange) || hostOrRange.IndexOf('\0') >= 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The computer name is empty or has invalid characters.", target: hostOrRange);
            }

            TargetEntry.CheckHostCharacters(hostOrRange.Trim());
            if (ports is null || ports.Length == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"No port to check on '{hostOrRange}'.", target: hostOrRange);
            }

            Host = Unbracket(hostOrRange.Trim());
            Ports = ports;
            if (Cidr.IsCidr(Host))
            {
                Range = Cidr.Parse(Host);
            }
            else if (Cidr.TryParseAddress(Host, out var literal))
            {
                Literal = Endpoints.Unmap(literal);
            }
        }

        /// <summary>The host name, address or range text (without IPv6 brackets).</summary>
        public string Host { get; }

        /// <summary>The ports to check, in order.</summary>
        public int[] Ports { get; }

        /// <summary>What a UDP check sends to this target's ports when it differs from the scan's options; null for none.</summary>
        public UdpProbePlan? UdpPlan { get; set; }

        /// <summary>The range when Host is CIDR notation.</summary>
        public Cidr? Range { get; }

        /// <summary>The address when Host is an IP literal.</summary>
        public IPAddress? Literal { get; }

        /// <summary>
        /// Splits "host:ports", "[v6]:ports" or "range:ports" into the host and the port spec; a bare
        /// IPv6 address or range (several colons, no brackets) has no port part. A URL
        /// (https://web01:8443/path) gives its host and its port, or its scheme's port when it names none.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument for a URL without a host or with a scheme of unknown port.</exception>
        public static (string Host, string? Ports) Split(string text)
        {
            if (text is null)
            {
                throw new ArgumentNullException(nameof(text));
            }

            string t = text.Trim();
            if (t.IndexOf("://", StringComparison.Ordinal) > 0)
            {
                return SplitUrl(t);
            }

            if (t.StartsWith("[", StringComparison.Ordinal))
            {
                int close = t.IndexOf(']');
                if (close > 0)
                {
                    string rest = t.Substring(close + 1);
                    string host = t.Substring(1, close - 1);
                    if (rest.StartsWith(":", StringComparison.Ordinal) && rest.Length > 1)
                    {
                        return (host, rest.Substring(1));
                    }

                    return rest.Length == 0 ? (host, null) : (t, null);
                }
            }

            int colon = t.IndexOf(':');
            if (colon > 0 && colon == t.LastIndexOf(':') && colon < t.Length - 1)
            {
                return (t.Substring(0, colon), t.Substring(colon + 1));
            }

            return (t, null);
        }

        private static (string Host, string? Ports) SplitUrl(string text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"'{TargetEntry.Escape(text)}' is not a URL with a host (scheme://host[:port]/...).", target: text);
            }

            string host = Unbracket(uri.Host);
            // Uri gives the port written, else its scheme's default (http 80, https 443, ftp 21, ldap 389 ...).
            if (uri.Port > 0)
            {
                return (host, uri.Port.ToString(CultureInfo.InvariantCulture));
            }

            if (WellKnownPorts.TryGetPort(uri.Scheme, out int port))
            {
                return (host, port.ToString(CultureInfo.InvariantCulture));
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{TargetEntry.Escape(text)}' names no port and its scheme '{uri.Scheme}' has no known one: write scheme://host:port.", target: text);
        }

        private static string Unbracket(string s) =>
            s.Length > 2 && s[0] == '[' && s[s.Length - 1] == ']' ? s.Substring(1, s.Length - 2) : s;

        /// <inheritdoc />
        public override string ToString() => Host;
    }
}

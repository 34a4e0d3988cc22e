namespace PSSocket.Net
{
    /// <summary>Parsing and resolving the addresses users type.</summary>
    public static class Endpoints
    {
        /// <summary>
        /// The local address a listener binds: loopback unless told otherwise. "Any" means every
        /// interface (IPv6 dual-mode where the OS has IPv6), "Loopback"/"localhost" 127.0.0.1,
        /// "IPv6Any", "IPv6Loopback", or a literal address.
        /// </summary>
        public static IPAddress ParseBindAddress(string? text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                return IPAddress.Loopback;
            }

            switch (text!.Trim().ToUpperInvariant())
            {
                case "ANY":
                case "*":
                    return Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
                case "IPV4ANY":
                case "0.0.0.0":
                    return IPAddress.Any;
                case "IPV6ANY":
                case "::":
                    return IPAddress.IPv6Any;
                case "LOOPBACK":
                case "LOCALHOST":
                    return IPAddress.Loopback;
                case "IPV6LOOPBACK":
                    return IPAddress.IPv6Loopback;
            }

            // IPAddress.TryParse takes "[::1]" itself; trimming brackets would also let "[::1" through.
            if (IPAddress.TryParse(text.Trim(), out var ip))
            {
                return ip;
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{text}' is not a local address. Use an IP address of this machine, Loopback (the default), or Any for every interface.", target: text);
        }

        /// <summary>Checks a port number for a remote endpoint (1-65535).</summary>
        public static void CheckRemotePort(int port)
        {
            if (port is < 1 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {port} is outside 1-65535.", target: port);
            }
        }

        /// <summary>
        /// Splits "host:port", "[v6]:port" or "host" into parts. A bare IPv6 literal has no port.
        /// </summary>
        public static (string Host, int? Port) SplitHostPort(string text)
        {
            if (text is null)
            {
                throw new ArgumentNullException(nameof(text));
            }

            text = text.Trim();
            if (text.StartsWith("[", StringComparison.Ordinal))
            {
                int close = text.IndexOf(']');
                if (close > 0)
                {
                    string host = text.Substring(1, close - 1);
                    string rest = text.Substring(close + 1);
                    if (rest.StartsWith(":", StringComparison.Ordinal) && TryPort(rest.Substring(1), out int p6))
                    {
                        return (host, p6);
                    }

                    return (host, null);
                }
            }

            int colon = text.LastIndexOf(':');
            if (colon > 0 && text.IndexOf(':') == colon && TryPort(text.Substring(colon + 1), out int p))
            {
                return (text.Substring(0, colon), p);
            }

            return (text, null);
        }

        private static bool TryPort(string s, out int port) =>
            (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535)
            || WellKnownPorts.TryGetPort(s, out port);

        /// <summary>
        /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it maps; others
        /// unchanged. The one rule for connecting to, probing and showing such addresses: an IPv6
        /// socket cannot reach them unless it is dual-mode, and an IPv4 socket can.
        /// </summary>
        public static IPAddress Unmap(IPAddress address) =>
            address is not null && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address!;

        /// <summary>An endpoint with an IPv4-mapped IPv6 address (from a dual-mode socket, or typed) as the IPv4 endpoint it is.</summary>
        public static IPEndPoint Unmap(IPEndPoint endpoint) =>
            endpoint is not null && endpoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port) : endpoint!;

        /// <summary>
        /// Every address of a host (a literal parses without DNS), IPv6 and IPv4 as the resolver
        /// orders them, filtered to a family when one is given.
        /// </summary>
        public static async Task<IPAddress[]> ResolveAsync(string host, AddressFamily? family, Deadline deadline, CancellationToken token)
        {
            if (string.IsNullOrWhiteSpace(host) || host.IndexOf('\0') >= 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The computer name is empty or has invalid characters.", target: host);
            }

            string h = host.Trim();
            if (h.StartsWith("[", StringComparison.Ordinal) && h.EndsWith("]", StringComparison.Ordinal))
            {
                h = h.Substring(1, h.Length - 2);
            }

            IPAddress[] addresses;
            if (IPAddress.TryParse(h, out var literal))
            {
                addresses = new[] { Unmap(literal) };
            }
            else
            {
                if (h.Length > 253)
                {
                    throw new PSSocketException(SocketErrorKind.HostNotFound, $"'{Shorten(h)}' is not a valid host name (longer than 253 characters).", target: host);
                }

                Task<IPAddress[]> lookup;
                try
                {
                    lookup = Dns.GetHostAddressesAsync(h);
                }
                catch (Exception ex) when (ex is ArgumentException or SocketException)
                {
                    throw new PSSocketException(SocketErrorKind.HostNotFound, $"Could not resolve '{Shorten(h)}': {ex.Message}", ex, target: host);
                }

                if (!await deadline.WaitAsync(lookup, token).ConfigureAwait(false))
                {
                    _ = lookup.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    throw new PSSocketException(SocketErrorKind.HostNotFound, $"Resolving '{h}' did not finish within the timeout.", target: host);
                }

                try
                {
                    addresses = await lookup.ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    throw new PSSocketException(SocketErrorKind.HostNotFound, $"Could not resolve '{Shorten(h)}': {ex.Message}", ex, ex.SocketErrorCode, host);
                }
                catch (ArgumentException ex)
                {
                    throw new PSSocketException(SocketErrorKind.HostNotFound, $"'{Shorten(h)}' is not a valid host name: {ex.Message}", ex, target: host);
                }
            }

            if (family is AddressFamily f && f != AddressFamily.Unspecified)
            {
                addresses = addresses.Where(a => a.AddressFamily == f).ToArray();
            }

            if (addresses.Length == 0)
            {
                throw new PSSocketException(SocketErrorKind.HostNotFound,
                    $"'{Shorten(h)}' has no {(family == AddressFamily.InterNetworkV6 ? "IPv6 " : family == AddressFamily.InterNetwork ? "IPv4 " : "")}address.", target: host);
            }

            return addresses;
        }

        /// <summary>
        /// The one mark for text cut short, the same PowerShell 7 puts at the end of a table cell
        /// that does not fit, so a cut reads the same wherever it happens.
        /// </summary>
        public const char Ellipsis = '\u2026';

        /// <summary>Cuts a long user string for an error message.</summary>
        public static string Shorten(string s) => s.Length <= 80 ? s : s.Substring(0, 79) + Ellipsis;

        /// <summary>Renders an endpoint as users write it: 10.0.0.1:80, [::1]:80.</summary>
        public static string Format(EndPoint? ep) => ep switch
        {
            null => "",
            IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"[{ip.Address}]:{ip.Port}",
            // A relay's target as given (a name or an address), not DnsEndPoint's "Unspecified/host:port".
            DnsEndPoint dns => dns.Host.IndexOf(':') >= 0 ? $"[{dns.Host}]:{dns.Port}" : $"{dns.Host}:{dns.Port}",
            _ => ep.ToString(),
        };

        /// <summary>
        /// An endpoint for a table column of the width: a Unix socket path that does not fit keeps
        /// its end (the file name says which socket it is), other endpoints are left to the table.
        /// </summary>
        public static string Column(object? endPoint, int width)
        {
            string text = Format(endPoint);
            return endPoint is UnixSocketEndPoint && text.Length > width && width > 1 ? Ellipsis + text.Substring(text.Length - width + 1) : text;
        }

        /// <summary>
        /// Renders an endpoint, or the text that stands in its place on a deserialized object
        /// (results of Invoke-Command carry endpoints as text), for the format views.
        /// </summary>
        public static string Format(object? endPoint) => endPoint is EndPoint ep ? Format(ep) : endPoint?.ToString() ?? "";
    }
}

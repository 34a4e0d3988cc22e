namespace PSSocket
{
    /// <summary>
    /// A raw IP socket (SOCK_RAW) for one IP protocol: it sends payloads the kernel wraps in an IP
    /// header, and receives every packet of that protocol addressed to the bound address as a
    /// <see cref="RawPacket"/>. Needs root (or CAP_NET_RAW) on Linux and macOS, Administrator on Windows.
    /// </summary>
    public sealed class RawSession : DatagramSession
    {
        /// <summary>What the error says when the OS refuses a raw socket.</summary>
        public const string PrivilegeHint =
            "Raw sockets need privilege: run as root (or give the process the CAP_NET_RAW capability) on Linux and macOS, or in an elevated (Run as Administrator) session on Windows.";

        /// <summary>Opens a raw socket for the protocol, bound to the address (which also picks IPv4 or IPv6).</summary>
        /// <exception cref="PSSocketException">PermissionDenied without the privilege; InvalidArgument for an impossible combination.</exception>
        public RawSession(ProtocolType protocol, IPAddress address, int queueLimit = DefaultQueueLimit)
            : base(SessionKind.Raw, CreateBound(protocol, address))
        {
            Protocol = protocol;
            if (queueLimit < 1)
            {
                Socket.Dispose();
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The queue limit must be at least 1.", target: queueLimit);
            }

            QueueLimit = queueLimit;
            StartReceiving();
        }

        /// <summary>The IP protocol number the socket carries.</summary>
        public ProtocolType Protocol { get; }

        /// <summary>Parses Icmp, IcmpV6, Igmp, Tcp, Udp (any case) or a protocol number 1-255.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for anything else.</exception>
        public static ProtocolType ParseProtocol(string text)
        {
            string t = (text ?? "").Trim();
            switch (t.ToUpperInvariant())
            {
                case "ICMP":
                case "ICMPV4":
                    return ProtocolType.Icmp;
                case "ICMPV6":
                    return ProtocolType.IcmpV6;
                case "IGMP":
                    return ProtocolType.Igmp;
                case "TCP":
                    return ProtocolType.Tcp;
                case "UDP":
                    return ProtocolType.Udp;
            }

            if (int.TryParse(t, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 255)
            {
                return (ProtocolType)n;
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{text}' is not an IP protocol: use Icmp, IcmpV6, Igmp, Tcp, Udp or a number 1-255.", target: text);
        }

        /// <summary>The default bind address for a protocol: IPv6 loopback for IcmpV6, else IPv4 loopback.</summary>
        public static IPAddress DefaultAddress(ProtocolType protocol) => protocol == ProtocolType.IcmpV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;

        private static Socket CreateBound(ProtocolType protocol, IPAddress address)
        {
            if (address is null)
            {
                throw new ArgumentNullException(nameof(address));
            }

            int number = (int)protocol;
            if (number is < 1 or > 255)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Protocol {number} is outside the IP protocol numbers 1-255.", target: protocol);
            }

            if (protocol == ProtocolType.IcmpV6 && address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"IcmpV6 needs an IPv6 address; {address} is IPv4.", target: address);
            }

            if (protocol == ProtocolType.Icmp && address.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Icmp is IPv4's; use -Protocol IcmpV6 for {address}.", target: address);
            }

            if (PlatformRules.RawProtocolRefusal(protocol) is string refusal)
            {
                throw new PSSocketException(SocketErrorKind.NotSupportedOnThisPlatform, refusal, target: protocol);
            }

            Socket socket;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Raw, protocol);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AccessDenied)
            {
                throw new PSSocketException(SocketErrorKind.PermissionDenied, $"Opening a raw {ProtocolName(protocol)} socket was refused ({ex.Message}). {PrivilegeHint}", ex, ex.SocketErrorCode, protocol);
            }
            catch (SocketException ex)
            {
                throw PSSocketException.From(ex, $"Opening a raw {ProtocolName(protocol)} socket failed", protocol);
            }

            var local = new IPEndPoint(address, 0);
            try
            {
                socket.Bind(local);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw PSSocketException.From(ex, $"Binding the raw socket to {address} failed", address);
            }

            return socket;
        }

        private static string ProtocolName(ProtocolType protocol) => Enum.IsDefined(typeof(ProtocolType), protocol) ? protocol.ToString() : $"protocol {(int)protocol}";

        /// <summary>The largest payload: an IP packet's 65,535 bytes less the IPv4 header (IPv6 payload length is 16 bits by itself).</summary>
        protected override int MaxPayload(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? 65_535 : 65_515;

        /// <inheritdoc />
        protected override SocketDatagram CreateDatagram(byte[] bytes, EndPoint from) => new RawPacket(bytes, from, Protocol, Encoding, DateTime.Now, Id);

        /// <summary>Sends a payload to an address (raw sockets have no ports).</summary>
        public System.Threading.Tasks.Task SendToAsync(byte[] payload, IPAddress address, Deadline deadline, System.Threading.CancellationToken token) =>
            SendAsync(payload, address is null ? null : new IPEndPoint(address, 0), deadline, token);
    }
}

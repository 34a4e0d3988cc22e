using System.Net.NetworkInformation;
using System.Runtime.InteropServices;

namespace PSSocket
{
    /// <summary>
    /// A bound UDP socket. Every datagram that arrives is queued (up to QueueLimit; beyond it they
    /// are counted in DroppedDatagrams) and read as one <see cref="SocketDatagram"/>: boundaries are kept.
    /// </summary>
    public class UdpSession : DatagramSession
    {
        /// <summary>The largest UDP payload over IPv4: 65,535 - 20 (IP header) - 8 (UDP header).</summary>
        public const int MaxIPv4Payload = 65_507;

        /// <summary>The largest UDP payload over IPv6 without jumbograms: 65,535 - 8 (UDP header).</summary>
        public const int MaxIPv6Payload = 65_527;

        private readonly List<IPAddress> _groups = new();

        /// <summary>Binds a UDP socket to the address and port (0 picks a free port) and starts receiving.</summary>
        /// <exception cref="PSSocketException">AddressInUse, AddressNotAvailable, PermissionDenied, InvalidArgument.</exception>
        public UdpSession(IPAddress address, int port, bool broadcast = false, int queueLimit = DefaultQueueLimit, SessionKind kind = SessionKind.Udp)
            : base(kind, CreateBound(address, port, broadcast))
        {
            if (queueLimit < 1)
            {
                Socket.Dispose();
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The queue limit must be at least 1.", target: queueLimit);
            }

            QueueLimit = queueLimit;
            StartReceiving();
        }

        private static Socket CreateBound(IPAddress address, int port, bool broadcast)
        {
            if (address is null)
            {
                throw new ArgumentNullException(nameof(address));
            }

            if (port is < 0 or > 65535)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Port {port} is outside 0-65535.", target: port);
            }

            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            var local = new IPEndPoint(address, port);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.EnableBroadcast = broadcast;
                TryEnlargeReceiveBuffer(socket);
                PlatformRules.ClaimExclusively(socket);
                socket.Bind(local);
                if (address.AddressFamily == AddressFamily.InterNetwork && !address.Equals(IPAddress.Any) && !IsMulticast(address))
                {
                    // Multicast sent from a session bound to one address leaves through that address's interface, not the default route.
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
                }
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw PSSocketException.From(ex, $"Binding UDP {Endpoints.Format(local)} failed", Endpoints.Format(local));
            }

            return socket;
        }

        /// <summary>Asks for a 4 MiB receive buffer (the system caps it) so bursts survive while a loop catches up.</summary>
        internal static void TryEnlargeReceiveBuffer(Socket socket)
        {
            try
            {
                // Room for bursts while the receive loop catches up; the OS caps it at its own limit.
                socket.ReceiveBufferSize = Math.Max(socket.ReceiveBufferSize, 4 * 1024 * 1024);
            }
            catch (SocketException)
            {
                // Keeping the system default is fine; the queue's drop counter still tells the truth.
            }
        }

        /// <summary>
        /// Binds for multicast: to the group itself on Linux and macOS when there is one group (so
        /// only the group's datagrams arrive), else to the wildcard address; then joins every group
        /// on the interface that owns localInterface (loopback by default).
        /// </summary>
        public static UdpSession OpenMulticast(IReadOnlyList<IPAddress> groups, IPAddress localInterface, int port, int queueLimit = DefaultQueueLimit)
        {
            if (groups is null || groups.Count == 0)
            {
                throw new ArgumentException("At least one group is needed.", nameof(groups));
            }

            var family = groups[0].AddressFamily;
            foreach (var g in groups)
            {
                if (!IsMulticast(g))
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"{g} is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8).", target: g);
                }

                if (g.AddressFamily != family)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, "All multicast groups of one listener must be of the same family (IPv4 or IPv6).", target: g);
                }
            }

            bool bindGroup = groups.Count == 1 && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            var bind = bindGroup ? groups[0] : family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var session = new UdpSession(bind, port, false, queueLimit);
            try
            {
                foreach (var g in groups)
                {
                    session.JoinMulticastGroup(g, localInterface);
                }
            }
            catch
            {
                session.Close("Joining a multicast group failed");
                throw;
            }

            return session;
        }

        /// <summary>The local port (the chosen one when 0 was asked for).</summary>
        public int Port => (LocalEndPoint as IPEndPoint)?.Port ?? 0;

        /// <summary>Whether the socket may send to broadcast addresses (SO_BROADCAST).</summary>
        public bool Broadcast
        {
            get => Socket.EnableBroadcast;
            set => Socket.EnableBroadcast = value;
        }

        /// <summary>The multicast groups joined.</summary>
        public IPAddress[] MulticastGroups
        {
            get
            {
                lock (_groups)
                {
                    return _groups.ToArray();
                }
            }
        }

        /// <summary>Joins a multicast group on the interface that owns localInterface (Any or null: the system's choice).</summary>
        public void JoinMulticastGroup(IPAddress group, IPAddress? localInterface)
        {
            ThrowIfClosed();
            if (group is null)
            {
                throw new ArgumentNullException(nameof(group));
            }

            try
            {
                if (group.AddressFamily == AddressFamily.InterNetwork)
                {
                    var nic = localInterface is null || localInterface.AddressFamily != AddressFamily.InterNetwork ? IPAddress.Any : localInterface;
                    Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, nic));
                }
                else
                {
                    Socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(group, InterfaceIndexOf(localInterface)));
                }
            }
            catch (SocketException ex)
            {
                throw PSSocketException.From(ex, $"Joining multicast group {group} on session {this} failed", group);
            }

            lock (_groups)
            {
                _groups.Add(group);
            }
        }

        /// <summary>True for 224.0.0.0/4 and ff00::/8.</summary>
        public static bool IsMulticast(IPAddress address) =>
            address.AddressFamily == AddressFamily.InterNetworkV6 ? address.IsIPv6Multicast : (address.GetAddressBytes()[0] & 0xF0) == 224;

        private static long InterfaceIndexOf(IPAddress? address)
        {
            if (address is null || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Any))
            {
                return 0;
            }

            if (IPAddress.IsLoopback(address))
            {
                return NetworkInterface.IPv6LoopbackInterfaceIndex;
            }

            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                var props = nic.GetIPProperties();
                if (props.UnicastAddresses.Any(u => u.Address.Equals(address)))
                {
                    return props.GetIPv6Properties()?.Index ?? 0;
                }
            }

            return 0;
        }

        /// <inheritdoc />
        protected override int MaxPayload(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? MaxIPv6Payload : MaxIPv4Payload;

        /// <inheritdoc />
        protected override SocketDatagram CreateDatagram(byte[] bytes, EndPoint from) => new(bytes, from, Encoding, DateTime.Now, Id);

        /// <inheritdoc />
        protected override PSSocketException SendFailed(SocketException ex, EndPoint destination)
        {
            if (ex.SocketErrorCode == System.Net.Sockets.SocketError.AccessDenied && !Socket.EnableBroadcast)
            {
                return new PSSocketException(SocketErrorKind.PermissionDenied,
                    $"Sending a datagram to {Endpoints.Format(destination)} was refused ({ex.Message}): a broadcast address needs the broadcast flag (-Broadcast).", ex, ex.SocketErrorCode, destination);
            }

            return base.SendFailed(ex, destination);
        }
    }
}

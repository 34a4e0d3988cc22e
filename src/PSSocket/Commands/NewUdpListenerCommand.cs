namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Opens a bound UDP session (loopback unless told otherwise) that queues every datagram it receives.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "UdpListener", DefaultParameterSetName = LocalSet)]
    [OutputType(typeof(UdpSession))]
    public sealed class NewUdpListenerCommand : DatagramCmdlet
    {
        private const string LocalSet = "Local";
        private const string RemoteEndPointSet = "RemoteEndPoint";
        private const string ComputerNameSet = "ComputerName";

        /// <summary>The local port, a number or a UDP service name (syslog, snmptrap ...); 0 (the default) lets the system pick a free one, shown on the session.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ServicePortTransformation(Protocol = ServiceProtocol.Udp)]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface, IPv4 and IPv6), IPv6Loopback, or an address of this machine. With -JoinMulticastGroup, the interface the groups are joined on.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>Multicast groups to join (IPv4 224.0.0.0/4 or IPv6 ff00::/8), on the interface of -Address.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? JoinMulticastGroup { get; set; }

        /// <summary>A default remote as host:port ([address]:port for IPv6) or an IPEndPoint: Send-SocketData without -RemoteEndPoint goes there, and only its datagrams are received.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RemoteEndPointSet)]
        [ValidateNotNull]
        public object RemoteEndPoint { get; set; } = null!;

        /// <summary>The default remote's host name or address (with -RemotePort).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ComputerNameSet)]
        [Alias("RemoteHost")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = "";

        /// <summary>The default remote's port (with -ComputerName): a number or a UDP service name.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ComputerNameSet)]
        [ServicePortTransformation(Protocol = ServiceProtocol.Udp)]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [ValidateRange(1, 65535)]
        public int RemotePort { get; set; }

        /// <summary>Allows sending to broadcast addresses (SO_BROADCAST).</summary>
        [Parameter]
        public SwitchParameter Broadcast { get; set; }

        /// <summary>Seconds resolving -ComputerName or -RemoteEndPoint may take (default 10).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            UdpSession? session = null;
            try
            {
                session = Open().WithText(Encoding);

                if (ParameterSetName != LocalSet)
                {
                    object target = ParameterSetName == ComputerNameSet ? ComputerName : (RemoteEndPoint is PSObject pso ? pso.BaseObject : RemoteEndPoint);
                    int? port = ParameterSetName == ComputerNameSet ? RemotePort : null;
                    var open = session;
                    var remote = Run(t => open.ResolveEndPointAsync(target, port, Deadline.AfterSeconds(Timeout), t));
                    session.Connect(remote);
                }

                session.RegisterOrClose(Name);
                Verbose(() => $"UDP session {session.Id} bound to {Endpoints.Format(session.LocalEndPoint)}" +
                    (session.RemoteEndPoint is null ? "" : $", default remote {Endpoints.Format(session.RemoteEndPoint)}"));
                WriteObject(session);
            }
            catch (PSSocketException ex)
            {
                session?.Close("Not registered");
                WriteSocketError(ex, ex.Target ?? $"{Address}:{Port}");
            }
            catch (PipelineStoppedException)
            {
                session?.Close("Stopped before it was registered");
                throw;
            }
        }

        private UdpSession Open()
        {
            if (JoinMulticastGroup is { Length: > 0 })
            {
                var groups = new List<IPAddress>();
                foreach (var g in JoinMulticastGroup)
                {
                    if (!IPAddress.TryParse(g.Trim(), out var group))
                    {
                        throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{g}' is not a multicast group address.", target: g);
                    }

                    groups.Add(group);
                }

                var nic = Endpoints.ParseBindAddress(Address);
                if (groups[0].AddressFamily == AddressFamily.InterNetworkV6 && nic.Equals(IPAddress.Loopback))
                {
                    nic = IPAddress.IPv6Loopback;
                }

                var m = UdpSession.OpenMulticast(groups, nic, Port, QueueLimit);
                m.Broadcast = Broadcast;
                return m;
            }

            IPAddress address;
            if (ParameterSetName != LocalSet && !MyInvocation.BoundParameters.ContainsKey(nameof(Address)))
            {
                // A session with a default remote is connected (the kernel filters its peer), so
                // the wildcard bind lets the remote be of either family and on any interface.
                address = Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
            }
            else
            {
                address = Endpoints.ParseBindAddress(Address);
            }

            return new UdpSession(address, Port, Broadcast, QueueLimit);
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Opens a raw IP socket (SOCK_RAW) for one protocol, e.g. ICMP; needs root or Administrator.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "RawSocket")]
    [OutputType(typeof(RawSession))]
    public sealed class NewRawSocketCommand : DatagramCmdlet
    {
        /// <summary>The IP protocol: Icmp (default), IcmpV6, Igmp, Tcp, Udp, or a protocol number 1-255.</summary>
        [Parameter(Position = 0)]
        [ArgumentCompleter(typeof(RawProtocolCompleter))]
        [ValidateNotNullOrEmpty]
        public string Protocol { get; set; } = "Icmp";

        /// <summary>The local address to bind, which also picks IPv4 or IPv6: Loopback (default; ::1 for IcmpV6), Any, IPv6Any, or an address of this machine. Only packets addressed to it are received.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string? Address { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            RawSession? session = null;
            try
            {
                var protocol = RawSession.ParseProtocol(Protocol);
                var address = Address is null ? RawSession.DefaultAddress(protocol) : Endpoints.ParseBindAddress(Address);
                if (protocol == System.Net.Sockets.ProtocolType.IcmpV6 && Address is not null && Address.Trim().ToUpperInvariant() is "LOOPBACK" or "LOCALHOST")
                {
                    address = System.Net.IPAddress.IPv6Loopback;
                }
                else if (protocol != System.Net.Sockets.ProtocolType.IcmpV6 && address.Equals(System.Net.IPAddress.IPv6Any))
                {
                    // "Any" means dual-mode for UDP; a raw socket is one family, and IPv4 is the usual one.
                    address = System.Net.IPAddress.Any;
                }

                if (PlatformRules.RawProtocolWarning(protocol) is string warning)
                {
                    WriteWarning(warning);
                }

                session = new RawSession(protocol, address, QueueLimit).WithText(Encoding).RegisterOrClose(Name);
                Verbose(() => $"Raw {protocol} session {session.Id} bound to {session.LocalEndPoint}");
                WriteObject(session);
            }
            catch (PSSocketException ex)
            {
                session?.Close("Not registered");
                WriteSocketError(ex, ex.Target ?? Protocol);
            }
        }
    }

    /// <summary>Completes raw socket protocol names.</summary>
    public sealed class RawProtocolCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => new[] { "Icmp", "IcmpV6", "Igmp", "Tcp", "Udp" };
    }
}

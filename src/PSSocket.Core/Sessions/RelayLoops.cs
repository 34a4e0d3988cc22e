using System.Net.NetworkInformation;

namespace PSSocket.Sessions
{
    /// <summary>
    /// Keeps relays from feeding themselves: a relay may not target its own listening endpoint, and a
    /// client that is another relay's (or the same relay's) outgoing connection in this process is a
    /// loop (two relays pointing at each other) and is refused at once, so a loop costs one failed
    /// client per connection instead of a chain of connections until every slot is taken.
    /// </summary>
    internal static class RelayLoops
    {
        // The local endpoints of the target connections every relay of the process holds open.
        private static readonly ConcurrentDictionary<IPEndPoint, byte> s_outgoing = new();

        // Every running relay of the process: where it listens and where it relays to.
        private static readonly ConcurrentDictionary<object, (IPEndPoint Listening, string Host, int Port)> s_relays = new();

        /// <summary>Notes a relay's connection to its target; <see cref="ForgetConnection"/> when it closes.</summary>
        public static IPEndPoint? Note(EndPoint? targetLocal)
        {
            if (targetLocal is IPEndPoint local)
            {
                var key = Normalize(local);
                s_outgoing[key] = 0;
                return key;
            }

            return null;
        }

        /// <summary>Forgets a noted connection.</summary>
        public static void ForgetConnection(IPEndPoint? noted)
        {
            if (noted is not null)
            {
                s_outgoing.TryRemove(noted, out _);
            }
        }

        /// <summary>Refuses a client that is a relay's own connection to its target (relays pointing at each other).</summary>
        /// <exception cref="PSSocketException">InvalidArgument naming the client and the relay.</exception>
        public static void CheckNotLoop(EndPoint? client, string relay)
        {
            if (client is IPEndPoint ip && s_outgoing.ContainsKey(Normalize(ip)))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"{Endpoints.Format(client)} is a relay's own connection to its target: relays in this process point at each other in a loop ({relay}); the client was refused.", target: client);
            }
        }

        /// <summary>
        /// Refuses a relay whose target is its own listening endpoint, or another relay of this
        /// process whose targets lead back to it; otherwise notes it (until <see cref="ForgetRelay"/>)
        /// so that relays started later are checked against it.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument naming the endpoints.</exception>
        public static void CheckNotItself(object relay, EndPoint? listening, string host, int port)
        {
            if (listening is not IPEndPoint ep)
            {
                return;
            }

            if (TargetsItself(ep, host, port))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The relay would connect to itself: {host}:{port} is its own listening endpoint {Endpoints.Format(ep)}. Give the port of the service to relay to, or another -Port for the relay.",
                    target: $"{host}:{port}");
            }

            var seen = new System.Collections.Generic.HashSet<object> { relay };
            string h = host, path = $"{Endpoints.Format(ep)} -> {host}:{port}";
            int p = port;
            for (int hop = 0; hop < 16; hop++)
            {
                object? next = null;
                foreach (var other in s_relays)
                {
                    if (!seen.Contains(other.Key) && TargetsItself(other.Value.Listening, h, p))
                    {
                        next = other.Key;
                        break;
                    }
                }

                if (next is null || !s_relays.TryGetValue(next, out var target))
                {
                    break;
                }

                seen.Add(next);
                (h, p) = (target.Host, target.Port);
                path += $" (relay {next}) -> {h}:{p}";
                if (TargetsItself(ep, h, p))
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"The relay would form a loop with other relays of this session: {path} leads back to it. Point one of them at the service itself.",
                        target: $"{h}:{p}");
                }
            }

            s_relays[relay] = (ep, host, port);
        }

        /// <summary>Forgets a relay that stopped.</summary>
        public static void ForgetRelay(object relay) => s_relays.TryRemove(relay, out _);

        /// <summary>
        /// True when connecting to host:port would reach the listening endpoint itself: the same
        /// port on the listening address, or on a loopback or local address when it listens on every
        /// interface. Names are resolved here; the proxy of a proxied relay decides for itself.
        /// </summary>
        public static bool TargetsItself(IPEndPoint listening, string host, int port)
        {
            if (port != listening.Port)
            {
                return false;
            }

            IPAddress[] addresses;
            try
            {
                string h = host.Trim().Trim('[', ']');
                addresses = IPAddress.TryParse(h, out var literal) ? new[] { literal } : Dns.GetHostAddresses(h);
            }
            catch (Exception ex) when (ex is SocketException or ArgumentException)
            {
                return false;
            }

            bool any = listening.Address.Equals(IPAddress.Any) || listening.Address.Equals(IPAddress.IPv6Any);
            foreach (var address in addresses)
            {
                var a = Normalize(new IPEndPoint(address, port)).Address;
                if (a.Equals(Normalize(listening).Address) || (any && (IPAddress.IsLoopback(a) || IsLocal(a))))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsLocal(IPAddress address)
        {
            try
            {
                foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                {
                    foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                    {
                        if (unicast.Address.Equals(address))
                        {
                            return true;
                        }
                    }
                }
            }
            catch (NetworkInformationException)
            {
                // No interface list: only the loopback and listening addresses count.
            }

            return false;
        }

        private static IPEndPoint Normalize(IPEndPoint ep) =>
            ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port) : ep;
    }
}

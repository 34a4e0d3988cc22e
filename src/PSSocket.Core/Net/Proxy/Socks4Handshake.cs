namespace PSSocket.Net.Proxy
{
    /// <summary>
    /// SOCKS4 CONNECT, and SOCKS4a when the target is a name (the proxy resolves it). SOCKS4 has
    /// no password: the user name is sent as the user id.
    /// </summary>
    internal sealed class Socks4Handshake : ProxyHandshake
    {
        public Socks4Handshake(ProxyEndpoint proxy, string host, int port)
            : base(proxy, host, port)
        {
        }

        public override byte[] Start()
        {
            BytesWanted = 8;
            var message = new List<byte> { 4, 1, (byte)(Port >> 8), (byte)Port };
            bool literal = IsIPv4Literal(Host, out var address);
            if (!literal && System.Net.IPAddress.TryParse(Host, out _))
            {
                throw Fail(SocketErrorKind.InvalidArgument, "SOCKS4 carries IPv4 addresses only; use socks5:// for IPv6 targets");
            }

            // SOCKS4a: the address 0.0.0.x (x nonzero) says "the name follows the user id".
            message.AddRange(literal ? address!.GetAddressBytes() : new byte[] { 0, 0, 0, 1 });
            message.AddRange(Encoding.UTF8.GetBytes(Proxy.Credential?.UserName ?? ""));
            message.Add(0);
            if (!literal)
            {
                message.AddRange(Encoding.ASCII.GetBytes(Host));
                message.Add(0);
            }

            return message.ToArray();
        }

        public override byte[]? Feed(byte[] received)
        {
            if (received[0] != 0)
            {
                throw Fail(SocketErrorKind.ProxyError, $"the proxy's reply is not SOCKS4 (version byte 0x{received[0]:X2})");
            }

            switch (received[1])
            {
                case 90:
                    IsDone = true;
                    BytesWanted = 0;
                    return null;
                case 91:
                    // SOCKS4 has one code for every failure; a refused target is the common cause.
                    throw Fail(SocketErrorKind.ProxyTargetRefused, "the proxy rejected the request or could not connect (SOCKS4 reply 91: the target refused or is unreachable, or the proxy's rules forbid it)");
                case 92:
                    throw AuthFailed("rejected the request: it could not reach an identd on this machine to check the user (SOCKS4 reply 92)");
                case 93:
                    throw AuthFailed("rejected the request: the user id does not match what identd reports (SOCKS4 reply 93)");
                default:
                    throw Fail(SocketErrorKind.ProxyError, $"unknown SOCKS4 reply {received[1]}");
            }
        }
    }
}

namespace PSSocket.Net.Proxy
{
    /// <summary>SOCKS5 CONNECT (RFC 1928) with user/password authentication (RFC 1929).</summary>
    internal sealed class Socks5Handshake : ProxyHandshake
    {
        private enum Step { Method, Auth, ReplyHead, ReplyAddress, ReplyRest }

        private Step _step;

        public Socks5Handshake(ProxyEndpoint proxy, string host, int port)
            : base(proxy, host, port)
        {
        }

        private bool HasCredential => Proxy.Credential is { } c && (c.UserName.Length > 0 || c.Password.Length > 0);

        public override byte[] Start()
        {
            _step = Step.Method;
            BytesWanted = 2;
            // Offering user/password only when we have one: a proxy that insists on it then says so
            // with 0xFF, which reads better than a rejected empty password.
            return HasCredential ? new byte[] { 5, 2, 0, 2 } : new byte[] { 5, 1, 0 };
        }

        public override byte[]? Feed(byte[] received)
        {
            switch (_step)
            {
                case Step.Method:
                    if (received[0] != 5)
                    {
                        throw Fail(SocketErrorKind.ProxyError, $"the proxy does not speak SOCKS5 (its first byte was 0x{received[0]:X2})");
                    }

                    switch (received[1])
                    {
                        case 0:
                            return Request();
                        case 2 when HasCredential:
                            _step = Step.Auth;
                            BytesWanted = 2;
                            return UserPassword();
                        case 2:
                        case 0xFF when !HasCredential:
                            throw AuthFailed("requires a user name and password (give -ProxyCredential or user:password@ in the proxy URI)");
                        case 0xFF:
                            throw AuthFailed("accepts none of the offered authentication methods (none, user/password)");
                        default:
                            throw Fail(SocketErrorKind.ProxyError, $"the proxy chose authentication method 0x{received[1]:X2}, which was not offered");
                    }

                case Step.Auth:
                    if (received[1] != 0)
                    {
                        throw AuthFailed($"rejected the user name or password for user '{Proxy.Credential!.UserName}' (RFC 1929 status {received[1]})");
                    }

                    return Request();

                case Step.ReplyHead:
                    if (received[0] != 5)
                    {
                        throw Fail(SocketErrorKind.ProxyError, $"the proxy's reply is not SOCKS5 (version byte 0x{received[0]:X2})");
                    }

                    if (received[1] != 0)
                    {
                        var (kind, words) = DescribeReply(received[1]);
                        throw Fail(kind, $"{words} (SOCKS5 reply {received[1]})");
                    }

                    _step = Step.ReplyAddress;
                    BytesWanted = 3;
                    return null;

                case Step.ReplyAddress:
                    // RSV, ATYP and the first byte of the bound address (a name's length byte).
                    _step = Step.ReplyRest;
                    BytesWanted = received[1] switch
                    {
                        1 => 4 - 1 + 2,
                        4 => 16 - 1 + 2,
                        3 => received[2] + 2,
                        _ => throw Fail(SocketErrorKind.ProxyError, $"the proxy's reply has an unknown address type {received[1]}"),
                    };
                    return null;

                default:
                    IsDone = true;
                    BytesWanted = 0;
                    return null;
            }
        }

        /// <summary>The words for a SOCKS5 reply code and the kind of failure it is.</summary>
        public static (SocketErrorKind Kind, string Words) DescribeReply(byte code) => code switch
        {
            1 => (SocketErrorKind.ProxyError, "general SOCKS server failure"),
            2 => (SocketErrorKind.ProxyNotAllowed, "the proxy's rules do not allow this connection"),
            3 => (SocketErrorKind.ProxyTargetUnreachable, "network unreachable from the proxy"),
            4 => (SocketErrorKind.ProxyTargetUnreachable, "host unreachable from the proxy (or its name did not resolve there)"),
            5 => (SocketErrorKind.ProxyTargetRefused, "the target refused the connection"),
            6 => (SocketErrorKind.ProxyTtlExpired, "TTL expired: the target did not answer the proxy in time"),
            7 => (SocketErrorKind.ProxyError, "the proxy does not support the CONNECT command"),
            8 => (SocketErrorKind.ProxyError, "the proxy does not support this address type"),
            _ => (SocketErrorKind.ProxyError, "unknown failure"),
        };

        private byte[] UserPassword()
        {
            var credential = Proxy.Credential!;
            byte[] user = Encoding.UTF8.GetBytes(credential.UserName);
            byte[] password = Encoding.UTF8.GetBytes(credential.Password);
            if (user.Length > 255 || password.Length > 255)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "SOCKS5 user names and passwords are at most 255 bytes each (RFC 1929).", target: Proxy.ToString());
            }

            var message = new byte[3 + user.Length + password.Length];
            message[0] = 1;
            message[1] = (byte)user.Length;
            Buffer.BlockCopy(user, 0, message, 2, user.Length);
            message[2 + user.Length] = (byte)password.Length;
            Buffer.BlockCopy(password, 0, message, 3 + user.Length, password.Length);
            return message;
        }

        private byte[] Request()
        {
            _step = Step.ReplyHead;
            BytesWanted = 2;
            var message = new List<byte> { 5, 1, 0 };
            if (IPAddress.TryParse(Host, out var address))
            {
                message.Add(address.AddressFamily == AddressFamily.InterNetworkV6 ? (byte)4 : (byte)1);
                message.AddRange(address.GetAddressBytes());
            }
            else
            {
                byte[] name = Encoding.ASCII.GetBytes(Host);
                if (name.Length > 255)
                {
                    throw Fail(SocketErrorKind.InvalidArgument, "a SOCKS5 host name is at most 255 characters");
                }

                message.Add(3);
                message.Add((byte)name.Length);
                message.AddRange(name);
            }

            message.Add((byte)(Port >> 8));
            message.Add((byte)Port);
            return message.ToArray();
        }
    }
}

namespace PSSocket.Net.Proxy
{
    /// <summary>
    /// One proxy protocol as a state machine over bytes, without I/O: Start gives the first
    /// message; the driver then reads exactly BytesWanted bytes (never past the proxy's reply, so
    /// nothing the target sends is swallowed) and feeds them; Feed returns the next message to
    /// send, or null; IsDone once the tunnel stands. Failures throw PSSocketException.
    /// </summary>
    internal abstract class ProxyHandshake
    {
        protected ProxyHandshake(ProxyEndpoint proxy, string host, int port)
        {
            Proxy = proxy;
            Host = host;
            Port = port;
        }

        protected ProxyEndpoint Proxy { get; }

        protected string Host { get; }

        protected int Port { get; }

        /// <summary>How many bytes the next Feed takes.</summary>
        public int BytesWanted { get; protected set; }

        /// <summary>True once the proxy has connected us to the target.</summary>
        public bool IsDone { get; protected set; }

        /// <summary>host:port of the target, as messages and error targets show it.</summary>
        public string Target => (Host.IndexOf(':') >= 0 ? "[" + Host + "]" : Host) + ":" + Port.ToString(CultureInfo.InvariantCulture);

        /// <summary>The first message to the proxy.</summary>
        public abstract byte[] Start();

        /// <summary>Takes exactly BytesWanted bytes of the proxy's answer; returns what to send next, if anything.</summary>
        public abstract byte[]? Feed(byte[] received);

        /// <summary>The handshake for the proxy's protocol.</summary>
        public static ProxyHandshake For(ProxyEndpoint proxy, string host, int port) => proxy.Kind switch
        {
            ProxyKind.Socks5 or ProxyKind.Socks5h => new Socks5Handshake(proxy, host, port),
            ProxyKind.Socks4 or ProxyKind.Socks4a => new Socks4Handshake(proxy, host, port),
            _ => new HttpConnectHandshake(proxy, host, port),
        };

        /// <summary>A failure the proxy reported about the target (or itself).</summary>
        protected PSSocketException Fail(SocketErrorKind kind, string why) =>
            new(kind, $"Through proxy {Proxy}, connecting to {Target} failed: {why}.", target: Target);

        /// <summary>The proxy's credentials were missing or wrong; the password is never shown.</summary>
        protected PSSocketException AuthFailed(string why) =>
            new(SocketErrorKind.ProxyAuthenticationFailed, $"Proxy {Proxy} {why}.", target: Proxy.ToString());

        protected static bool IsIPv4Literal(string host, out IPAddress? address) =>
            IPAddress.TryParse(host, out address) && address!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
    }
}

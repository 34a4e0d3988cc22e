namespace PSSocket.Net.Proxy
{
    /// <summary>The proxy protocols a TCP connection can be tunnelled through.</summary>
    public enum ProxyKind
    {
        /// <summary>SOCKS5 (RFC 1928); the target name is resolved here and the proxy gets an address.</summary>
        Socks5,
        /// <summary>SOCKS5 with the target name resolved by the proxy.</summary>
        Socks5h,
        /// <summary>SOCKS4; the target name is resolved here (IPv4 only).</summary>
        Socks4,
        /// <summary>SOCKS4a; the target name is resolved by the proxy.</summary>
        Socks4a,
        /// <summary>HTTP CONNECT; the target name is resolved by the proxy.</summary>
        Http,
    }

    /// <summary>
    /// A proxy to tunnel through, parsed from a URI: socks5://, socks5h://, socks4://, socks4a://
    /// or http://, with an optional user:password. The password is kept away from display.
    /// </summary>
    public sealed class ProxyEndpoint
    {
        /// <summary>The port a SOCKS proxy listens on when the URI names none.</summary>
        public const int DefaultSocksPort = 1080;

        private ProxyEndpoint(ProxyKind kind, string host, int port, NetworkCredential? credential)
        {
            Kind = kind;
            Host = host;
            Port = port;
            Credential = credential;
        }

        /// <summary>The protocol spoken to the proxy.</summary>
        public ProxyKind Kind { get; }

        /// <summary>The proxy's host name or address (without brackets for IPv6).</summary>
        public string Host { get; }

        /// <summary>The proxy's port.</summary>
        public int Port { get; }

        /// <summary>The user name presented to the proxy, if any.</summary>
        public string? UserName => Credential?.UserName;

        /// <summary>True when the proxy, not this machine, resolves the target's name.</summary>
        public bool ResolvesTargetName => Kind is ProxyKind.Socks5h or ProxyKind.Socks4a or ProxyKind.Http;

        /// <summary>User name and password (internal, so a session's Proxy property cannot reveal the password).</summary>
        internal NetworkCredential? Credential { get; }

        /// <summary>Parses a proxy URI such as socks5h://user:pass@proxy:1080 or http://proxy:3128.</summary>
        /// <exception cref="PSSocketException">InvalidArgument when the text is not a usable proxy URI.</exception>
        public static ProxyEndpoint Parse(string text, NetworkCredential? credential = null)
        {
            if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
            {
                throw Invalid(text, "it is not an absolute URI such as socks5://proxy:1080 or http://proxy:3128");
            }

            return FromUri(uri, credential);
        }

        /// <summary>
        /// A proxy from a URI; a credential given here replaces the URI's user:password.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument when the URI is not a usable proxy URI.</exception>
        public static ProxyEndpoint FromUri(Uri uri, NetworkCredential? credential = null)
        {
            if (uri is null)
            {
                throw new ArgumentNullException(nameof(uri));
            }

            if (!uri.IsAbsoluteUri)
            {
                throw Invalid(uri.OriginalString, "it is not an absolute URI such as socks5://proxy:1080 or http://proxy:3128");
            }

            ProxyKind kind = uri.Scheme.ToLowerInvariant() switch
            {
                "socks5" => ProxyKind.Socks5,
                "socks5h" => ProxyKind.Socks5h,
                "socks4" => ProxyKind.Socks4,
                "socks4a" => ProxyKind.Socks4a,
                "http" => ProxyKind.Http,
                "https" => throw Invalid(uri.OriginalString, "TLS to the proxy itself (https://) is not supported; use http:// (the tunnel can still carry TLS with -UseTls)"),
                _ => throw Invalid(uri.OriginalString, $"the scheme '{uri.Scheme}' is not one of socks5, socks5h, socks4, socks4a, http"),
            };
            string host = uri.Host.Trim('[', ']');
            if (host.Length == 0)
            {
                throw Invalid(uri.OriginalString, "it names no proxy host");
            }

            if ((uri.AbsolutePath.Length > 1 && uri.AbsolutePath != "/") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                throw Invalid(uri.OriginalString, "a proxy URI has no path, query or fragment, only scheme://[user:password@]host:port");
            }

            int port = uri.Port > 0 ? uri.Port : DefaultSocksPort;
            if (credential is null && uri.UserInfo.Length > 0)
            {
                int colon = uri.UserInfo.IndexOf(':');
                string user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo.Substring(0, colon));
                string password = colon < 0 ? "" : Uri.UnescapeDataString(uri.UserInfo.Substring(colon + 1));
                credential = new NetworkCredential(user, password);
            }

            return new ProxyEndpoint(kind, host, port, credential);
        }

        /// <summary>The same proxy with other credentials.</summary>
        public ProxyEndpoint WithCredential(NetworkCredential? credential) => new(Kind, Host, Port, credential);

        /// <summary>scheme://host:port, never with the password (the user name shown as user@).</summary>
        public override string ToString()
        {
            string host = Host.IndexOf(':') >= 0 ? "[" + Host + "]" : Host;
            string user = string.IsNullOrEmpty(UserName) ? "" : Uri.EscapeDataString(UserName) + "@";
            return string.Format(CultureInfo.InvariantCulture, "{0}://{1}{2}:{3}", Kind.ToString().ToLowerInvariant(), user, host, Port);
        }

        private static PSSocketException Invalid(string? text, string why) =>
            new(SocketErrorKind.InvalidArgument, $"'{Redact(text)}' is not a proxy this module can use: {why}.", target: Redact(text));

        /// <summary>The text with any password in its user information replaced by ***.</summary>
        internal static string Redact(string? text)
        {
            if (text is null)
            {
                return "";
            }

            int scheme = text.IndexOf("://", StringComparison.Ordinal);
            int at = text.LastIndexOf('@');
            if (scheme < 0 || at < scheme)
            {
                return text;
            }

            int colon = text.IndexOf(':', scheme + 3);
            return colon > 0 && colon < at ? text.Substring(0, colon + 1) + "***" + text.Substring(at) : text;
        }
    }
}

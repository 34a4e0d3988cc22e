namespace PSSocket.Net.Proxy
{
    /// <summary>HTTP CONNECT with Basic authentication (RFC 9110 section 9.3.6, RFC 7617).</summary>
    internal sealed class HttpConnectHandshake : ProxyHandshake
    {
        /// <summary>A proxy's response head longer than this is not a proxy's answer.</summary>
        public const int MaxResponseHead = 16 * 1024;

        private static readonly byte[] s_headEnd = { (byte)'\r', (byte)'\n', (byte)'\r', (byte)'\n' };
        private readonly System.Collections.Generic.List<byte> _head = new();
        private static readonly char[] s_space = { ' ' };
        private int _matched;
        private string? _token;

        public HttpConnectHandshake(ProxyEndpoint proxy, string host, int port)
            : base(proxy, host, port)
        {
        }

        public override byte[] Start()
        {
            BytesWanted = s_headEnd.Length;
            var request = new StringBuilder();
            request.Append("CONNECT ").Append(Target).Append(" HTTP/1.1\r\n");
            request.Append("Host: ").Append(Target).Append("\r\n");
            if (Proxy.Credential is { } c && (c.UserName.Length > 0 || c.Password.Length > 0))
            {
                string token = Convert.ToBase64String(Encoding.UTF8.GetBytes(c.UserName + ":" + c.Password));
                _token = token;
                request.Append("Proxy-Authorization: Basic ").Append(token).Append("\r\n");
            }

            request.Append("\r\n");
            return Encoding.ASCII.GetBytes(request.ToString());
        }

        public override byte[]? Feed(byte[] received)
        {
            foreach (byte b in received)
            {
                _head.Add(b);
                _matched = b == s_headEnd[_matched] ? _matched + 1 : b == '\r' ? 1 : 0;
            }

            if (_matched < s_headEnd.Length)
            {
                if (_head.Count > MaxResponseHead)
                {
                    throw Fail(SocketErrorKind.ProxyError, $"the proxy's answer has no end of headers within {MaxResponseHead} bytes (is it an HTTP proxy?)");
                }

                // Reading only as far as the end of headers could be: never into the tunnel's data.
                BytesWanted = s_headEnd.Length - _matched;
                return null;
            }

            string head = Encoding.ASCII.GetString(_head.ToArray());
            int eol = head.IndexOf('\r');
            string statusLine = eol >= 0 ? head.Substring(0, eol) : head;
            string[] parts = statusLine.Split(s_space, 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
            {
                throw Fail(SocketErrorKind.ProxyError, $"the proxy's answer is not HTTP ('{Quoted(statusLine)}')");
            }

            if (status is >= 200 and < 300)
            {
                IsDone = true;
                BytesWanted = 0;
                return null;
            }

            string said = $"HTTP {status}{(parts.Length > 2 ? " " + Quoted(parts[2]) : "")}";
            // 407 is the proxy's own "authenticate"; tinyproxy answers a wrong password with 401.
            if (status is 407 or 401)
            {
                throw AuthFailed(Proxy.Credential is null
                    ? $"requires authentication ({said}); give -ProxyCredential or user:password@ in the proxy URI"
                    : $"rejected the user name or password for user '{Proxy.Credential.UserName}' ({said})");
            }

            var (kind, words) = DescribeStatus(status);
            throw Fail(kind, $"{words} ({said})");
        }

        /// <summary>The kind of failure an HTTP proxy's status means, in words.</summary>
        public static (SocketErrorKind Kind, string Words) DescribeStatus(int status) => status switch
        {
            403 or 405 => (SocketErrorKind.ProxyNotAllowed, "the proxy does not allow a tunnel to this target"),
            // HTTP proxies do not say why: tinyproxy answers 500 and ncat 504 to a refused port as
            // to a name that does not resolve, so these are one kind.
            404 or 500 or 502 or 503 or 504 => (SocketErrorKind.ProxyTargetUnreachable, "the proxy could not connect to the target (refused, unreachable, timed out or not resolvable there)"),
            _ => (SocketErrorKind.ProxyError, "the proxy refused the tunnel"),
        };

        /// <summary>
        /// The proxy's own words, printable and bounded; left out whole when they repeat the
        /// credential sent (the password, user:password or the Basic token): a hostile proxy's
        /// answer must not carry the secret into an error message or a log.
        /// </summary>
        private string Quoted(string text)
        {
            if (Proxy.Credential is { } c && RepeatsSecret(text, c.Password, c.UserName + ":" + c.Password, _token))
            {
                return "(the proxy's words are left out: they repeat the credential sent)";
            }

            return Printable(text);
        }

        private static bool RepeatsSecret(string text, params string?[] secrets)
        {
            foreach (string? secret in secrets)
            {
                if (!string.IsNullOrEmpty(secret)
                    && (text.IndexOf(secret, StringComparison.OrdinalIgnoreCase) >= 0
                        || text.IndexOf(Uri.EscapeDataString(secret), StringComparison.OrdinalIgnoreCase) >= 0))
                {
                    return true;
                }
            }

            return false;
        }

        private static string Printable(string text)
        {
            var sb = new StringBuilder(Math.Min(text.Length, 120));
            foreach (char c in text)
            {
                if (sb.Length >= 120)
                {
                    break;
                }

                sb.Append(c is >= ' ' and < (char)127 ? c : '?');
            }

            return sb.ToString();
        }
    }
}

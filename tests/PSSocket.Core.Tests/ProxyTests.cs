using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Net.Proxy;
using Xunit;

namespace PSSocket.Tests
{
    public class ProxyEndpointTests
    {
        [Theory]
        [InlineData("socks5://127.0.0.1:1080", ProxyKind.Socks5, "127.0.0.1", 1080)]
        [InlineData("SOCKS5H://proxy.example", ProxyKind.Socks5h, "proxy.example", 1080)]
        [InlineData("socks4a://[::1]:9050", ProxyKind.Socks4a, "::1", 9050)]
        [InlineData("socks4://10.0.0.1:1081", ProxyKind.Socks4, "10.0.0.1", 1081)]
        [InlineData("http://proxy:3128/", ProxyKind.Http, "proxy", 3128)]
        [InlineData("http://proxy", ProxyKind.Http, "proxy", 80)]
        public void Parses_the_schemes_hosts_and_ports_users_type(string text, ProxyKind kind, string host, int port)
        {
            var proxy = ProxyEndpoint.Parse(text);
            Assert.Equal(kind, proxy.Kind);
            Assert.Equal(host, proxy.Host);
            Assert.Equal(port, proxy.Port);
            Assert.Null(proxy.UserName);
        }

        [Theory]
        [InlineData("https://proxy:443")]
        [InlineData("ftp://proxy:21")]
        [InlineData("proxy:1080")]
        [InlineData("socks5://proxy:1080/path")]
        [InlineData("")]
        public void Refuses_what_is_not_a_usable_proxy(string text)
        {
            var ex = Assert.Throws<PSSocketException>(() => ProxyEndpoint.Parse(text));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Fact]
        public void Takes_user_and_password_from_the_uri_but_never_shows_the_password()
        {
            var proxy = ProxyEndpoint.Parse("socks5://al%40ice:p%3Ass@127.0.0.1:1080");
            Assert.Equal("al@ice", proxy.UserName);
            Assert.Equal("p:ss", proxy.Credential!.Password);
            Assert.DoesNotContain("p:ss", proxy.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("p%3Ass", proxy.ToString(), StringComparison.Ordinal);
            Assert.Equal("socks5://al%40ice@127.0.0.1:1080", proxy.ToString());
        }

        [Fact]
        public void A_given_credential_replaces_the_uris()
        {
            var proxy = ProxyEndpoint.Parse("http://a:b@proxy:3128", new NetworkCredential("c", "d"));
            Assert.Equal("c", proxy.UserName);
            Assert.Equal("d", proxy.Credential!.Password);
        }

        [Fact]
        public void An_invalid_uri_message_hides_its_password()
        {
            var ex = Assert.Throws<PSSocketException>(() => ProxyEndpoint.Parse("ftp://user:secret@proxy:21"));
            Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
        }
    }

    public class Socks5HandshakeTests
    {
        private static ProxyHandshake Start(string uri, string host, int port, out byte[] first)
        {
            var handshake = ProxyHandshake.For(ProxyEndpoint.Parse(uri), host, port);
            first = handshake.Start();
            return handshake;
        }

        [Fact]
        public void Connects_by_name_without_authentication()
        {
            var h = Start("socks5h://p:1080", "example.com", 443, out var first);
            Assert.Equal(new byte[] { 5, 1, 0 }, first);
            Assert.Equal(2, h.BytesWanted);
            var request = h.Feed(new byte[] { 5, 0 });
            Assert.Equal(new byte[] { 5, 1, 0, 3, 11 }.Concat(Encoding.ASCII.GetBytes("example.com")).Concat(new byte[] { 1, 0xBB }), request);
            Assert.Equal(2, h.BytesWanted);
            Assert.Null(h.Feed(new byte[] { 5, 0 }));
            Assert.Equal(3, h.BytesWanted);
            Assert.Null(h.Feed(new byte[] { 0, 1, 127 }));
            Assert.Equal(5, h.BytesWanted);
            Assert.False(h.IsDone);
            Assert.Null(h.Feed(new byte[] { 0, 0, 1, 0x1F, 0x90 }));
            Assert.True(h.IsDone);
        }

        [Fact]
        public void Sends_addresses_as_IPv4_and_IPv6_and_reads_a_bound_name_to_its_end()
        {
            var v4 = Start("socks5://p:1080", "10.1.2.3", 80, out _);
            Assert.Equal(new byte[] { 5, 1, 0, 1, 10, 1, 2, 3, 0, 80 }, v4.Feed(new byte[] { 5, 0 }));
            var v6 = Start("socks5://p:1080", "::1", 80, out _);
            var request = v6.Feed(new byte[] { 5, 0 })!;
            Assert.Equal(4, request[3]);
            Assert.Equal(4 + 16 + 2, request.Length);
            v6.Feed(new byte[] { 5, 0 });
            v6.Feed(new byte[] { 0, 3, 4 });
            Assert.Equal(4 - 1 + 2 + 1, v6.BytesWanted);
        }

        [Fact]
        public void Authenticates_with_user_and_password_per_RFC_1929()
        {
            var h = Start("socks5://bob:pw@p:1080", "1.2.3.4", 22, out var first);
            Assert.Equal(new byte[] { 5, 2, 0, 2 }, first);
            var auth = h.Feed(new byte[] { 5, 2 });
            Assert.Equal(new byte[] { 1, 3, (byte)'b', (byte)'o', (byte)'b', 2, (byte)'p', (byte)'w' }, auth);
            var request = h.Feed(new byte[] { 1, 0 });
            Assert.Equal(new byte[] { 5, 1, 0, 1, 1, 2, 3, 4, 0, 22 }, request);
        }

        [Fact]
        public void A_rejected_password_is_ProxyAuthenticationFailed_without_the_password()
        {
            var h = Start("socks5://bob:hunter2@p:1080", "1.2.3.4", 22, out _);
            h.Feed(new byte[] { 5, 2 });
            var ex = Assert.Throws<PSSocketException>(() => h.Feed(new byte[] { 1, 1 }));
            Assert.Equal(SocketErrorKind.ProxyAuthenticationFailed, ex.Kind);
            Assert.Contains("bob", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_proxy_that_wants_a_password_nobody_gave_says_so()
        {
            var h = Start("socks5://p:1080", "1.2.3.4", 22, out _);
            var ex = Assert.Throws<PSSocketException>(() => h.Feed(new byte[] { 5, 0xFF }));
            Assert.Equal(SocketErrorKind.ProxyAuthenticationFailed, ex.Kind);
            Assert.Contains("ProxyCredential", ex.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(1, SocketErrorKind.ProxyError)]
        [InlineData(2, SocketErrorKind.ProxyNotAllowed)]
        [InlineData(3, SocketErrorKind.ProxyTargetUnreachable)]
        [InlineData(4, SocketErrorKind.ProxyTargetUnreachable)]
        [InlineData(5, SocketErrorKind.ProxyTargetRefused)]
        [InlineData(6, SocketErrorKind.ProxyTtlExpired)]
        [InlineData(7, SocketErrorKind.ProxyError)]
        [InlineData(8, SocketErrorKind.ProxyError)]
        public void Maps_reply_codes_to_kinds_with_the_code_in_words(byte code, SocketErrorKind kind)
        {
            var h = Start("socks5://p:1080", "1.2.3.4", 22, out _);
            h.Feed(new byte[] { 5, 0 });
            var ex = Assert.Throws<PSSocketException>(() => h.Feed(new byte[] { 5, code }));
            Assert.Equal(kind, ex.Kind);
            Assert.Contains($"SOCKS5 reply {code}", ex.Message, StringComparison.Ordinal);
            Assert.Equal("1.2.3.4:22", ex.Target);
        }

        [Fact]
        public void A_server_that_is_not_SOCKS5_is_a_ProxyError()
        {
            var h = Start("socks5://p:1080", "1.2.3.4", 22, out _);
            Assert.Equal(SocketErrorKind.ProxyError, Assert.Throws<PSSocketException>(() => h.Feed(Encoding.ASCII.GetBytes("HT"))).Kind);
        }
    }

    public class Socks4HandshakeTests
    {
        [Fact]
        public void Socks4a_sends_the_name_after_the_user_id()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("socks4a://joe@p:1080"), "db.local", 5432);
            var first = h.Start();
            var expected = new byte[] { 4, 1, 0x15, 0x38, 0, 0, 0, 1, (byte)'j', (byte)'o', (byte)'e', 0 }
                .Concat(Encoding.ASCII.GetBytes("db.local")).Concat(new byte[] { 0 });
            Assert.Equal(expected, first);
            Assert.Equal(8, h.BytesWanted);
            Assert.Null(h.Feed(new byte[] { 0, 90, 0, 0, 0, 0, 0, 0 }));
            Assert.True(h.IsDone);
        }

        [Fact]
        public void An_IPv4_target_is_sent_as_an_address()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("socks4a://p:1080"), "192.168.1.2", 80);
            Assert.Equal(new byte[] { 4, 1, 0, 80, 192, 168, 1, 2, 0 }, h.Start());
        }

        [Fact]
        public void An_IPv6_target_is_an_invalid_argument()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("socks4a://p:1080"), "::1", 80);
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => h.Start()).Kind);
        }

        [Theory]
        [InlineData(91, SocketErrorKind.ProxyTargetRefused)]
        [InlineData(92, SocketErrorKind.ProxyAuthenticationFailed)]
        [InlineData(93, SocketErrorKind.ProxyAuthenticationFailed)]
        [InlineData(17, SocketErrorKind.ProxyError)]
        public void Maps_reply_codes(byte code, SocketErrorKind kind)
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("socks4a://p:1080"), "x", 80);
            h.Start();
            Assert.Equal(kind, Assert.Throws<PSSocketException>(() => h.Feed(new byte[] { 0, code, 0, 0, 0, 0, 0, 0 })).Kind);
        }
    }

    public class HttpConnectHandshakeTests
    {
        private static byte[] A(string s) => Encoding.ASCII.GetBytes(s);

        /// <summary>Feeds a response the way the driver does: never more than BytesWanted at a time.</summary>
        private static int FeedAsDriverWould(ProxyHandshake h, byte[] response)
        {
            int offset = 0;
            while (!h.IsDone && offset < response.Length)
            {
                int n = h.BytesWanted;
                Assert.True(offset + n <= response.Length, "the handshake asked for bytes past the end of the proxy's answer");
                h.Feed(response.Skip(offset).Take(n).ToArray());
                offset += n;
            }

            return offset;
        }

        [Fact]
        public void Sends_CONNECT_with_Basic_authentication()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://user:pa%20ss@p:3128"), "example.com", 443);
            string request = Encoding.ASCII.GetString(h.Start());
            Assert.Equal("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic "
                + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:pa ss")) + "\r\n\r\n", request);
        }

        [Fact]
        public void Brackets_an_IPv6_target()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://p:3128"), "::1", 22);
            Assert.StartsWith("CONNECT [::1]:22 HTTP/1.1\r\n", Encoding.ASCII.GetString(h.Start()), StringComparison.Ordinal);
        }

        [Fact]
        public void Reads_exactly_to_the_end_of_the_headers_so_the_targets_first_bytes_stay_unread()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://p:3128"), "x", 25);
            h.Start();
            var head = A("HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\n");
            var response = head.Concat(A("220 smtp ready\r\n")).ToArray();
            int used = FeedAsDriverWould(h, response);
            Assert.True(h.IsDone);
            Assert.Equal(head.Length, used);
        }

        [Fact]
        public void Finds_the_end_of_headers_whatever_the_read_sizes_meet()
        {
            // "\r\r\n\r\n" and "\r\n\r" splits: the matched-suffix count must survive both.
            foreach (string text in new[] { "HTTP/1.0 200 OK\r\r\n\r\n", "HTTP/1.0 200 OK\r\nA: \r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n" })
            {
                var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://p:3128"), "x", 25);
                h.Start();
                Assert.Equal(text.Length, FeedAsDriverWould(h, A(text + "after")));
                Assert.True(h.IsDone, text);
            }
        }

        [Theory]
        [InlineData("407 Proxy Authentication Required")]
        [InlineData("401 Unauthorized")]
        public void A_407_or_401_is_ProxyAuthenticationFailed_without_the_password(string status)
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://u:topsecret@p:3128"), "x", 25);
            h.Start();
            var ex = Assert.Throws<PSSocketException>(() => FeedAsDriverWould(h, A($"HTTP/1.1 {status}\r\n\r\n")));
            Assert.Equal(SocketErrorKind.ProxyAuthenticationFailed, ex.Kind);
            Assert.Contains(status, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("topsecret", ex.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(403, SocketErrorKind.ProxyNotAllowed)]
        [InlineData(502, SocketErrorKind.ProxyTargetUnreachable)]
        [InlineData(503, SocketErrorKind.ProxyTargetUnreachable)]
        [InlineData(504, SocketErrorKind.ProxyTargetUnreachable)]
        [InlineData(400, SocketErrorKind.ProxyError)]
        public void Maps_statuses_to_kinds(int status, SocketErrorKind kind)
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://p:3128"), "x", 25);
            h.Start();
            var ex = Assert.Throws<PSSocketException>(() => FeedAsDriverWould(h, A($"HTTP/1.1 {status} Whatever\r\n\r\n")));
            Assert.Equal(kind, ex.Kind);
            Assert.Contains($"HTTP {status} Whatever", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void An_endless_header_is_a_ProxyError_not_a_memory_hog()
        {
            var h = ProxyHandshake.For(ProxyEndpoint.Parse("http://p:3128"), "x", 25);
            h.Start();
            var ex = Assert.Throws<PSSocketException>(() => FeedAsDriverWould(h, new byte[HttpConnectHandshake.MaxResponseHead + 8]));
            Assert.Equal(SocketErrorKind.ProxyError, ex.Kind);
        }
    }

    /// <summary>The driver over real loopback sockets, with a scripted proxy on the other end.</summary>
    public class ProxyConnectorTests
    {
        /// <summary>A socket on a loopback port of its own, listening or (a port that refuses) not.</summary>
        private static Socket Bound(bool listen)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            if (listen)
            {
                socket.Listen(1);
            }

            return socket;
        }

        private static async Task<(Socket Client, Socket ProxySide)> ConnectThroughScripted(string scheme, string host, Func<Socket, Task> proxyScript, double timeoutSeconds = 10)
        {
            using var listener = Bound(listen: true);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var accepted = listener.AcceptAsync();
            var proxy = ProxyEndpoint.Parse($"{scheme}://127.0.0.1:{port}");
            var connect = ProxyConnector.ConnectAsync(proxy, null, host, 7, TimeSpan.FromSeconds(timeoutSeconds), CancellationToken.None);
            var side = await accepted;
            var script = proxyScript(side);
            try
            {
                return (await connect, side);
            }
            finally
            {
                await script;
            }
        }

        private static async Task<byte[]> ReadAsync(Socket s, int count)
        {
            var buffer = new byte[count];
            int got = 0;
            while (got < count)
            {
                int n = await s.ReceiveAsync(new ArraySegment<byte>(buffer, got, count - got), SocketFlags.None);
                Assert.True(n > 0, "peer closed");
                got += n;
            }

            return buffer;
        }

        [Fact]
        public async Task Leaves_what_the_target_sends_right_after_the_reply_on_the_socket()
        {
            var (client, side) = await ConnectThroughScripted("http", "target", async s =>
            {
                var buffer = new byte[1024];
                await s.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None);
                await s.SendAsync(new ArraySegment<byte>(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n\r\n+PONG\r\n")), SocketFlags.None);
            });
            using (client)
            using (side)
            {
                Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(await ReadAsync(client, 7)));
            }
        }

        [Fact]
        public async Task Socks5_end_to_end_then_the_tunnel_carries_data()
        {
            var (client, side) = await ConnectThroughScripted("socks5h", "target.example", async s =>
            {
                Assert.Equal(new byte[] { 5, 1, 0 }, await ReadAsync(s, 3));
                await s.SendAsync(new ArraySegment<byte>(new byte[] { 5, 0 }), SocketFlags.None);
                var head = await ReadAsync(s, 5);
                await ReadAsync(s, head[4] + 2);
                await s.SendAsync(new ArraySegment<byte>(new byte[] { 5, 0, 0, 1, 127, 0, 0, 1, 0, 7, (byte)'h', (byte)'i' }), SocketFlags.None);
            });
            using (client)
            using (side)
            {
                Assert.Equal("hi", Encoding.ASCII.GetString(await ReadAsync(client, 2)));
            }
        }

        [Fact]
        public async Task A_silent_proxy_times_out_within_the_timeout()
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => ConnectThroughScripted("socks5", "10.0.0.1", _ => Task.CompletedTask, timeoutSeconds: 3));
            Assert.True(ex.Kind == SocketErrorKind.ConnectionTimedOut, ex.Message);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(8), $"took {started.Elapsed}");
        }

        [Fact]
        public async Task A_proxy_that_closes_at_once_is_a_ProxyError()
        {
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => ConnectThroughScripted("socks5", "10.0.0.1", s =>
            {
                s.Shutdown(SocketShutdown.Send);
                return Task.CompletedTask;
            }));
            Assert.Equal(SocketErrorKind.ProxyError, ex.Kind);
        }

        [Fact]
        public async Task A_proxy_nobody_listens_on_is_ProxyUnreachable()
        {
            using var bound = Bound(listen: false);
            var proxy = ProxyEndpoint.Parse($"socks5://127.0.0.1:{((IPEndPoint)bound.LocalEndPoint!).Port}");
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => ProxyConnector.ConnectAsync(proxy, null, "10.0.0.1", 80, TimeSpan.FromSeconds(10), CancellationToken.None));
            Assert.Equal(SocketErrorKind.ProxyUnreachable, ex.Kind);
            Assert.Equal(SocketError.ConnectionRefused, ex.SocketError);
        }

        [Fact]
        public async Task Cancelling_stops_the_wait_for_the_proxy()
        {
            using var listener = Bound(listen: true);
            var proxy = ProxyEndpoint.Parse($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}");
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProxyConnector.ConnectAsync(proxy, null, "x", 80, TimeSpan.FromSeconds(60), cts.Token));
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class EndpointsTests
    {
        [Theory]
        [InlineData("example.org:80", "example.org", 80)]
        [InlineData("10.0.0.1:8080", "10.0.0.1", 8080)]
        [InlineData("[::1]:443", "::1", 443)]
        [InlineData(" host:0 ", "host", 0)]
        [InlineData("host:http", "host", 80)]
        [InlineData("127.0.0.1:REDIS", "127.0.0.1", 6379)]
        public void SplitsHostAndPort(string text, string host, int port)
        {
            var (h, p) = Endpoints.SplitHostPort(text);
            Assert.Equal(host, h);
            Assert.Equal(port, p);
        }

        [Theory]
        [InlineData("example.org", "example.org")]
        [InlineData("::1", "::1")]
        [InlineData("fe80::1:2", "fe80::1:2")]
        [InlineData("[::1]", "::1")]
        [InlineData("host:no-such-service", "host:no-such-service")]
        [InlineData("host:70000", "host:70000")]
        [InlineData("host:-1", "host:-1")]
        public void LeavesThePortOutWhenThereIsNone(string text, string host)
        {
            var (h, p) = Endpoints.SplitHostPort(text);
            Assert.Equal(host, h);
            Assert.Null(p);
        }

        [Theory]
        [InlineData(null, "127.0.0.1")]
        [InlineData("", "127.0.0.1")]
        [InlineData("Loopback", "127.0.0.1")]
        [InlineData("localhost", "127.0.0.1")]
        [InlineData("IPv4Any", "0.0.0.0")]
        [InlineData("0.0.0.0", "0.0.0.0")]
        [InlineData("IPv6Any", "::")]
        [InlineData("IPv6Loopback", "::1")]
        [InlineData("[::1]", "::1")]
        [InlineData("192.0.2.7", "192.0.2.7")]
        public void ParsesBindAddresses(string? text, string expected)
        {
            Assert.Equal(IPAddress.Parse(expected), Endpoints.ParseBindAddress(text));
        }

        [Fact]
        public void AnyBindsEveryInterface()
        {
            var any = Endpoints.ParseBindAddress("any");
            Assert.True(any.Equals(IPAddress.IPv6Any) || any.Equals(IPAddress.Any));
            Assert.Equal(any, Endpoints.ParseBindAddress("*"));
        }

        [Theory]
        [InlineData("not-an-address")]
        [InlineData("300.1.1.1")]
        [InlineData("[::1")]
        [InlineData("127.0.0.1]")]
        public void RejectsWhatIsNotALocalAddress(string text)
        {
            var ex = Assert.Throws<PSSocketException>(() => Endpoints.ParseBindAddress(text));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(65536)]
        [InlineData(-5)]
        public void RemotePortsAreOneTo65535(int port)
        {
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => Endpoints.CheckRemotePort(port)).Kind);
        }

        [Fact]
        public async Task ResolvesLiteralsWithoutDnsAndFiltersByFamily()
        {
            var v4 = await Endpoints.ResolveAsync("127.0.0.1", null, Deadline.Infinite, CancellationToken.None);
            Assert.Equal(new[] { IPAddress.Loopback }, v4);
            var v6 = await Endpoints.ResolveAsync("[::1]", null, Deadline.Infinite, CancellationToken.None);
            Assert.Equal(new[] { IPAddress.IPv6Loopback }, v6);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Endpoints.ResolveAsync("127.0.0.1", AddressFamily.InterNetworkV6, Deadline.Infinite, CancellationToken.None));
            Assert.Equal(SocketErrorKind.HostNotFound, ex.Kind);
        }

        [Fact]
        public async Task AnUnresolvableNameIsHostNotFound()
        {
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Endpoints.ResolveAsync("no-such-host.invalid", null, Deadline.After(System.TimeSpan.FromSeconds(20)), CancellationToken.None));
            Assert.Equal(SocketErrorKind.HostNotFound, ex.Kind);
        }

        [Fact]
        public void FormatsIPv6WithBrackets()
        {
            Assert.Equal("[::1]:80", Endpoints.Format(new IPEndPoint(IPAddress.IPv6Loopback, 80)));
            Assert.Equal("127.0.0.1:80", Endpoints.Format(new IPEndPoint(IPAddress.Loopback, 80)));
            Assert.Equal("", Endpoints.Format(null));
        }

        [Fact]
        public async Task ConnectsToAnIPv4MappedIPv6AddressAsTheIPv4HostItIs()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(4);
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            using var byName = await TcpConnector.ConnectAsync("::ffff:127.0.0.1", port, new TcpConnectOptions(), CancellationToken.None);
            Assert.Equal(IPAddress.Loopback, ((IPEndPoint)byName.RemoteEndPoint!).Address);
            var mapped = new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.1"), port);
            using var byEndpoint = await TcpConnector.ConnectOneAsync(mapped, new TcpConnectOptions(), Deadline.After(System.TimeSpan.FromSeconds(10)), CancellationToken.None);
            Assert.True(byEndpoint.Connected);
            Assert.Equal(IPAddress.Loopback, Endpoints.Unmap(mapped).Address);
        }
    }
}

using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class ScanTargetsTests
    {
        [Theory]
        [InlineData("https://web01:8443/path", "web01", "8443")]
        [InlineData("https://web01/path", "web01", "443")]
        [InlineData("http://web01", "web01", "80")]
        [InlineData("redis://cache01", "cache01", "6379")]
        [InlineData("https://[::1]:9443/", "::1", "9443")]
        [InlineData("web01:22,443", "web01", "22,443")]
        [InlineData("fd00::1", "fd00::1", null)]
        public void SplitsUrlsAndHostPortText(string text, string host, string? ports)
        {
            var (h, p) = PortScanTarget.Split(text);
            Assert.Equal(host, h);
            Assert.Equal(ports, p);
        }

        [Fact]
        public void AUrlWithAnUnknownSchemeAndNoPortIsAnInvalidArgument()
        {
            var ex = Assert.Throws<PSSocketException>(() => PortScanTarget.Split("gopherx://host/"));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Fact]
        public async Task AnIPv4MappedIPv6AddressIsTheIPv4AddressItMaps()
        {
            var target = new PortScanTarget("::ffff:127.0.0.1", new[] { 80 });
            Assert.Equal(IPAddress.Loopback, target.Literal);
            var targets = new ScanTargets(new ScanOptions { AddressFamily = System.Net.Sockets.AddressFamily.InterNetwork }, CancellationToken.None);
            targets.Begin(target);
            var expanded = await targets.ExpandAsync(target);
            Assert.Null(expanded.Error);
            Assert.Equal(IPAddress.Loopback, Assert.Single(expanded.Addresses));
        }

        [Theory]
        [InlineData("")]
        [InlineData("   ")]
        [InlineData("\r\n")]
        [InlineData(null)]
        public void ABlankEntryIsAnInvalidArgumentNamingItsPosition(string? entry)
        {
            var ex = TargetEntry.CheckBlank(entry, 3);
            Assert.NotNull(ex);
            Assert.Equal(SocketErrorKind.InvalidArgument, ex!.Kind);
            Assert.Contains("Entry 3 of -ComputerName", ex.Message);
            Assert.Null(TargetEntry.CheckBlank("web01", 1));
        }

        [Fact]
        public void VerdictsComeInTheOrderGivenOncePairsAreDecided()
        {
            var v = new ScanVerdicts();
            v.Register(0, 2);
            v.Register(1, 1);
            v.Record(1, 0, 1, open: true);
            Assert.Empty(v.TakeReady());
            // Target 0 has two addresses: port 0 is decided by the first Open, port 1 only when both answered.
            v.Record(0, 0, 2, open: true);
            Assert.Equal(new[] { true }, v.TakeReady().ToArray());
            v.Record(0, 1, 2, open: false);
            Assert.Empty(v.TakeReady());
            v.Record(0, 1, 2, open: false);
            Assert.Equal(new[] { false, true }, v.TakeReady().ToArray());
            Assert.Empty(v.TakeRest());
        }

        [Fact]
        public void RedisGetsAPingByDefaultAndAProbeOfOursReplacesIt()
        {
            Assert.Equal("PING\r\n", System.Text.Encoding.ASCII.GetString(PortBannerProbe.ProbeFor(6379, null)!));
            Assert.Null(PortBannerProbe.ProbeFor(22, null));
            Assert.Null(PortBannerProbe.ProbeFor(6379, ""));
            Assert.Equal("HEAD", System.Text.Encoding.ASCII.GetString(PortBannerProbe.ProbeFor(80, "HEAD")!));
        }

        [Fact]
        public void BannersAreEscapedAndBounded()
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(new string('a', 600) + "\r\n");
            Assert.Equal(PortBannerProbe.MaxShown, PortBannerProbe.Escape(bytes, bytes.Length).Length);
            var evil = new byte[] { 0x1B, (byte)'[', (byte)'m', 0xFF, (byte)'\\', (byte)'\r', (byte)'\n' };
            Assert.Equal("\\x1B[m\\xFF\\\\", PortBannerProbe.Escape(evil, evil.Length));
        }
    }
}

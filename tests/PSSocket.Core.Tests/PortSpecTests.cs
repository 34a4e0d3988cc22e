using System.Linq;
using System.Net;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class PortSpecTests
    {
        [Fact]
        public void ParsesNumbersRangesListsAndNamesInAnyMix()
        {
            Assert.Equal(new[] { 22 }, PortSpec.Parse("22"));
            Assert.Equal(new[] { 80, 443 }, PortSpec.Parse("80,443"));
            Assert.Equal(1024, PortSpec.Parse("1-1024").Length);
            Assert.Equal(new[] { 22, 80, 443, 444, 445, 3389 }, PortSpec.Parse("ssh, 80 443-445;RDP"));
            Assert.Equal(new[] { 20, 8080 }, PortSpec.Parse("ftp-data,http-alt"));
        }

        [Fact]
        public void KeepsFirstOrderAndDropsDuplicatesAcrossSpecs()
        {
            Assert.Equal(new[] { 443, 80, 22 }, PortSpec.Parse(new[] { "443,80", "https", "ssh,80" }));
        }

        [Fact]
        public void OpenEndedRangesRunToTheEnds()
        {
            Assert.Equal(Enumerable.Range(1, 1024), PortSpec.Parse("-1024"));
            Assert.Equal(Enumerable.Range(65530, 6), PortSpec.Parse("65530-"));
            Assert.Equal(65535, PortSpec.Parse("-").Length);
        }

        [Theory]
        [InlineData("0")]
        [InlineData("65536")]
        [InlineData("10-5")]
        [InlineData("bogus")]
        [InlineData("")]
        [InlineData("1-2-3")]
        public void RejectsBadSpecsWithInvalidArgument(string spec)
        {
            var ex = Assert.Throws<PSSocketException>(() => PortSpec.Parse(spec));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Fact]
        public void AcceptsATrailingCommaAsHarmless()
        {
            Assert.Equal(new[] { 22 }, PortSpec.Parse("22,"));
        }

        [Fact]
        public void KnowsTheServicesUsersTypeAndNamesPortsBack()
        {
            foreach (var (name, port) in new[] { ("ssh", 22), ("telnet", 23), ("smtp", 25), ("dns", 53), ("http", 80), ("https", 443),
                ("pop3", 110), ("imap", 143), ("ldap", 389), ("ldaps", 636), ("smb", 445), ("rdp", 3389), ("mssql", 1433),
                ("mysql", 3306), ("postgres", 5432), ("redis", 6379), ("winrm", 5985), ("winrm-https", 5986) })
            {
                Assert.True(WellKnownPorts.TryGetPort(name, out int p), name);
                Assert.Equal(port, p);
            }

            Assert.Equal("https", WellKnownPorts.NameOf(443));
            Assert.Equal("smb", WellKnownPorts.NameOf(445));
            Assert.Null(WellKnownPorts.NameOf(40000));
        }

        [Fact]
        public void ExpandsIPv4RangesInOrderWithEveryAddress()
        {
            var range = Cidr.Parse("127.0.0.0/28");
            var all = range.Enumerate().Select(a => a.ToString()).ToArray();
            Assert.Equal(16, all.Length);
            Assert.Equal("127.0.0.0", all[0]);
            Assert.Equal("127.0.0.15", all[15]);
            Assert.Equal("10.1.2.0/30", Cidr.Parse("10.1.2.3/30").ToString());
            Assert.Single(Cidr.Parse("192.0.2.7/32").Enumerate());
        }

        [Fact]
        public void ExpandsIPv6RangesAcrossByteBoundaries()
        {
            var all = Cidr.Parse("fd00::/124").Enumerate().ToArray();
            Assert.Equal(16, all.Length);
            Assert.Equal(IPAddress.Parse("fd00::f"), all[15]);
            var wide = Cidr.Parse("fd00::ff00/119").Enumerate().ToArray();
            Assert.Equal(512, wide.Length);
            Assert.Equal(IPAddress.Parse("fd00::fe00"), wide[0]);
            Assert.Equal(IPAddress.Parse("fd00::100"), Cidr.Parse("fd00::/119").Enumerate().ElementAt(256));
        }

        [Theory]
        [InlineData("10.0.0.0/33")]
        [InlineData("fd00::/129")]
        [InlineData("10.0.0/24")]
        [InlineData("10.0.0.0/x")]
        public void RejectsMalformedRanges(string text)
        {
            var ex = Assert.Throws<PSSocketException>(() => Cidr.Parse(text));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Fact]
        public void RefusesRangesPastTheHardLimit()
        {
            var ex = Assert.Throws<PSSocketException>(() => Cidr.Parse("fd00::/64").Enumerate());
            Assert.Equal(SocketErrorKind.RangeTooLarge, ex.Kind);
            Assert.Equal(256.0, Cidr.Parse("10.0.0.0/24").Count);
        }

        [Theory]
        [InlineData("web1:22", "web1", "22")]
        [InlineData("web1:https", "web1", "https")]
        [InlineData("10.0.0.0/28:22,80", "10.0.0.0/28", "22,80")]
        [InlineData("[::1]:443", "::1", "443")]
        [InlineData("[fd00::/124]:22", "fd00::/124", "22")]
        [InlineData("::1", "::1", null)]
        [InlineData("fd00::/124", "fd00::/124", null)]
        [InlineData("[::1]", "::1", null)]
        [InlineData("web1", "web1", null)]
        public void SplitsHostPortStrings(string text, string host, string? ports)
        {
            var (h, p) = PortScanTarget.Split(text);
            Assert.Equal(host, h);
            Assert.Equal(ports, p);
        }

        [Fact]
        public void CountsDaysUntilExpiryToTheNearestDay()
        {
            var now = new System.DateTime(2026, 1, 1, 12, 0, 0, System.DateTimeKind.Utc);
            Assert.Equal(30, PortTlsProbe.DaysUntil(now.AddDays(30).AddSeconds(-5), now));
            Assert.Equal(0, PortTlsProbe.DaysUntil(now.AddHours(3), now));
            Assert.Equal(-2, PortTlsProbe.DaysUntil(now.AddDays(-2), now));
        }
    }
}

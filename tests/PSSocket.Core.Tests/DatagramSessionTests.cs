using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class DatagramSessionTests
    {
        private static Deadline Seconds(double s) => Deadline.AfterSeconds(s);

        private static UdpClient Sender() => new(new IPEndPoint(IPAddress.Loopback, 0));

        [Fact]
        public async Task KeepsDatagramBoundariesAndSenders()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            using var sender = Sender();
            var to = (IPEndPoint)session.LocalEndPoint!;
            await sender.SendAsync(Encoding.ASCII.GetBytes("one"), 3, to);
            await sender.SendAsync(Encoding.ASCII.GetBytes("two!"), 4, to);

            var a = await session.ReceiveAsync(Seconds(5), CancellationToken.None);
            var b = await session.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal("one", a.Text);
            Assert.Equal("two!", b.Text);
            Assert.Equal(4, b.Length);
            Assert.Equal(((IPEndPoint)sender.Client.LocalEndPoint!).Port, ((IPEndPoint)a.RemoteEndPoint).Port);
            Assert.Equal(2, session.DatagramsReceived);
            Assert.Equal(7, session.BytesReceived);
        }

        [Fact]
        public void CountsDropsWhenTheQueueIsFull()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0, queueLimit: 3);
            var from = new IPEndPoint(IPAddress.Loopback, 9);
            for (int i = 0; i < 5; i++)
            {
                session.Enqueue(new SocketDatagram(new[] { (byte)i }, from));
            }

            Assert.Equal(3, session.Available);
            Assert.Equal(2, session.DroppedDatagrams);
            Assert.Equal(5, session.DatagramsReceived);
            Assert.Equal(0, session.TryReceive()!.Bytes[0]);
            session.Enqueue(new SocketDatagram(new byte[] { 42 }, from));
            Assert.Equal(3, session.Available);
            Assert.Equal(2, session.DroppedDatagrams);
        }

        [Fact]
        public async Task ATimeoutLosesNothingThatArrivesLater()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => session.ReceiveAsync(Seconds(0.1), CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveTimeout, ex.Kind);
            using var sender = Sender();
            await sender.SendAsync(new byte[] { 7 }, 1, (IPEndPoint)session.LocalEndPoint!);
            var d = await session.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal(7, d.Bytes[0]);
        }

        [Fact]
        public async Task CancellationStopsTheWait()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            using var cts = new CancellationTokenSource(100);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.ReceiveAsync(Deadline.Infinite, cts.Token));
        }

        [Fact]
        public Task RefusesAnIPv4DatagramOverTheProtocolLimitBeforeSending() => RefusesADatagramOverTheProtocolLimitBeforeSending(false, 65_507);

        [PlatformFact(Needs.IPv6)]
        public Task RefusesAnIPv6DatagramOverTheProtocolLimitBeforeSending() => RefusesADatagramOverTheProtocolLimitBeforeSending(true, 65_527);

        private static async Task RefusesADatagramOverTheProtocolLimitBeforeSending(bool ipv6, int max)
        {
            var loopback = ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
            using var session = new UdpSession(loopback, 0);
            using var peer = new UdpSession(loopback, 0);
            var to = (IPEndPoint)peer.LocalEndPoint!;
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => session.SendAsync(new byte[max + 1], to, Seconds(5), CancellationToken.None));
            Assert.Equal(SocketErrorKind.DatagramTooLarge, ex.Kind);
            Assert.Equal(0, session.DatagramsSent);

            await session.SendAsync(new byte[max], to, Seconds(5), CancellationToken.None);
            var d = await peer.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal(max, d.Length);
        }

        [Fact]
        public async Task RepliesToTheSenderOfTheDatagramReadLast()
        {
            using var a = new UdpSession(IPAddress.Loopback, 0);
            using var b = new UdpSession(IPAddress.Loopback, 0);
            var none = await Assert.ThrowsAsync<PSSocketException>(() => b.SendAsync(new byte[1], null, Seconds(5), CancellationToken.None));
            Assert.Equal(SocketErrorKind.InvalidArgument, none.Kind);

            await a.SendAsync(Encoding.ASCII.GetBytes("ping"), (IPEndPoint)b.LocalEndPoint!, Seconds(5), CancellationToken.None);
            var ping = await b.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal(ping.RemoteEndPoint, b.LastSender);
            await b.SendAsync(Encoding.ASCII.GetBytes("pong"), null, Seconds(5), CancellationToken.None);
            var pong = await a.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal("pong", pong.Text);
        }

        [Fact]
        public async Task AConnectedSessionTalksOnlyToItsRemote()
        {
            using var peer = new UdpSession(IPAddress.Loopback, 0);
            using var stranger = new UdpSession(IPAddress.Loopback, 0);
            using var client = new UdpSession(IPAddress.Loopback, 0);
            client.Connect((IPEndPoint)peer.LocalEndPoint!);
            Assert.True(client.IsConnected);

            var ex = await Assert.ThrowsAsync<PSSocketException>(() => client.SendAsync(new byte[1], (IPEndPoint)stranger.LocalEndPoint!, Seconds(5), CancellationToken.None));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);

            await stranger.SendAsync(new byte[] { 1 }, (IPEndPoint)client.LocalEndPoint!, Seconds(5), CancellationToken.None);
            await peer.SendAsync(new byte[] { 2 }, (IPEndPoint)client.LocalEndPoint!, Seconds(5), CancellationToken.None);
            var d = await client.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal(2, d.Bytes[0]);
        }

        [PlatformFact(Needs.IPv6)]
        public async Task ADualModeSessionShowsIPv4SendersAsIPv4()
        {
            using var session = new UdpSession(IPAddress.IPv6Any, 0);
            using var sender = Sender();
            int port = ((IPEndPoint)session.LocalEndPoint!).Port;
            await sender.SendAsync(new byte[] { 1 }, 1, new IPEndPoint(IPAddress.Loopback, port));
            var d = await session.ReceiveAsync(Seconds(5), CancellationToken.None);
            Assert.Equal(AddressFamily.InterNetwork, d.RemoteEndPoint.AddressFamily);
            Assert.Equal(IPAddress.Loopback, d.RemoteAddress);
        }

        [Fact]
        public async Task AnIPv4SessionExplainsItCannotReachIPv6()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => session.SendAsync(new byte[1], new IPEndPoint(IPAddress.IPv6Loopback, 9), Seconds(5), CancellationToken.None));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
            Assert.Contains("Any", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task ResolvesEndpointsAsUsersWriteThem()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            var ep = await session.ResolveEndPointAsync("127.0.0.1:5353", null, Seconds(5), CancellationToken.None);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5353), ep);
            var v6 = await session.ResolveEndPointAsync("[::1]:53", null, Seconds(5), CancellationToken.None);
            Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 53), v6);
            var noPort = await Assert.ThrowsAsync<PSSocketException>(() => session.ResolveEndPointAsync("127.0.0.1", null, Seconds(5), CancellationToken.None));
            Assert.Equal(SocketErrorKind.InvalidArgument, noPort.Kind);
            var raw = await session.ResolveEndPointAsync("::1", 0, Seconds(5), CancellationToken.None);
            Assert.Equal(0, raw.Port);
        }

        [Fact]
        public void ClosingWakesAWaitingReceiver()
        {
            var session = new UdpSession(IPAddress.Loopback, 0);
            var wait = session.ReceiveAsync(Deadline.Infinite, CancellationToken.None);
            session.Close("test");
            var ex = Assert.Throws<AggregateException>(() => wait.Wait(5000));
            Assert.Equal(SocketErrorKind.SessionClosed, Assert.IsType<PSSocketException>(ex.InnerException).Kind);
            Assert.Equal(SessionState.Closed, session.State);
        }

        [Fact]
        public void RawPacketFindsTheIPv4HeaderAndPayload()
        {
            var packet = new byte[28];
            packet[0] = 0x45;
            packet[8] = 64;
            packet[9] = 1;
            packet[20] = 0;
            packet[27] = 0xAB;
            var p = new RawPacket(packet, new IPEndPoint(IPAddress.Loopback, 0), ProtocolType.Icmp);
            Assert.True(p.IncludesIPHeader);
            Assert.Equal(20, p.HeaderLength);
            Assert.Equal(8, p.Payload.Length);
            Assert.Equal(0xAB, p.Payload[7]);
            Assert.Equal(64, p.Ttl);

            var v6 = new RawPacket(new byte[8], new IPEndPoint(IPAddress.IPv6Loopback, 0), ProtocolType.IcmpV6);
            Assert.False(v6.IncludesIPHeader);
            Assert.Same(v6.Bytes, v6.Payload);
            Assert.Null(v6.Ttl);
        }

        [Theory]
        [InlineData("icmp", ProtocolType.Icmp)]
        [InlineData("IcmpV6", ProtocolType.IcmpV6)]
        [InlineData("udp", ProtocolType.Udp)]
        [InlineData("TCP", ProtocolType.Tcp)]
        [InlineData("89", (ProtocolType)89)]
        public void ParsesProtocols(string text, ProtocolType expected) => Assert.Equal(expected, RawSession.ParseProtocol(text));

        [Theory]
        [InlineData("")]
        [InlineData("0")]
        [InlineData("256")]
        [InlineData("ospf")]
        public void RejectsUnknownProtocols(string text) =>
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => RawSession.ParseProtocol(text)).Kind);

        [Fact]
        public void PreviewsTextOnOneLine()
        {
            Assert.Equal("a.b", SocketDatagram.Preview("a\nb", 10));
            Assert.Equal("abc\u2026", SocketDatagram.Preview("abcdef", 3));
            Assert.Equal("", SocketDatagram.Preview(null, 3));
        }

        [Fact]
        public void DecodesTextWithTheEncodingItIsStampedWith()
        {
            var d = new SocketDatagram(new byte[] { 0xE9 }, new IPEndPoint(IPAddress.Loopback, 1));
            Assert.Equal("\uFFFD", d.Text);
            d.Stamp(Encoding.GetEncoding(28591), 3);
            Assert.Equal("é", d.Text);
            Assert.Equal(3, d.SessionId);
        }

        [Fact]
        public void KnowsMulticastAddresses()
        {
            Assert.True(UdpSession.IsMulticast(IPAddress.Parse("239.1.2.3")));
            Assert.True(UdpSession.IsMulticast(IPAddress.Parse("ff02::1")));
            Assert.False(UdpSession.IsMulticast(IPAddress.Parse("10.0.0.1")));
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() =>
                UdpSession.OpenMulticast(new[] { IPAddress.Parse("10.0.0.1") }, IPAddress.Loopback, 0)).Kind);
        }

        [Fact]
        public async Task ReceivesAThousandDatagramsWithoutLoss()
        {
            using var session = new UdpSession(IPAddress.Loopback, 0);
            using var sender = Sender();
            var to = (IPEndPoint)session.LocalEndPoint!;
            for (int i = 0; i < 1000; i++)
            {
                var bytes = BitConverter.GetBytes(i);
                await sender.SendAsync(bytes, bytes.Length, to);
                if (i % 100 == 99)
                {
                    await Task.Delay(2);
                }
            }

            var got = new int[1000];
            for (int i = 0; i < 1000; i++)
            {
                got[i] = BitConverter.ToInt32((await session.ReceiveAsync(Seconds(10), CancellationToken.None)).Bytes, 0);
            }

            Assert.Equal(Enumerable.Range(0, 1000), got.OrderBy(x => x));
            Assert.Equal(0, session.DroppedDatagrams);
        }
    }
}

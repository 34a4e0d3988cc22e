using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class UdpRelaySessionTests
    {
        // A UDP echo on loopback: every datagram goes back to its sender as is.
        private sealed class Echo : IDisposable
        {
            private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));

            public Echo() => _ = Task.Run(LoopAsync);

            public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

            private async Task LoopAsync()
            {
                try
                {
                    while (true)
                    {
                        var got = await _udp.ReceiveAsync();
                        await _udp.SendAsync(got.Buffer, got.Buffer.Length, got.RemoteEndPoint);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The test is over.
                }
                catch (SocketException)
                {
                    // The test is over.
                }
            }

            public void Dispose() => _udp.Dispose();
        }

        private static async Task<UdpRelaySession> StartRelay(int targetPort, int throttleLimit, TimeSpan idle)
        {
            var relay = new UdpRelaySession(IPAddress.Loopback, 0, "127.0.0.1", targetPort, throttleLimit, GlobalSessionRegistry.Instance) { IdleTimeout = idle };
            await relay.StartAsync(Deadline.AfterSeconds(10), CancellationToken.None);
            return relay;
        }

        private static async Task<byte[]> RoundTrip(UdpClient sender, int port, byte[] data)
        {
            await sender.SendAsync(data, data.Length, new IPEndPoint(IPAddress.Loopback, port));
            var reply = await sender.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(port, reply.RemoteEndPoint.Port);
            return reply.Buffer;
        }

        [Fact]
        public async Task EachSenderGetsItsOwnMappingAndDatagramsKeepTheirBoundaries()
        {
            using var echo = new Echo();
            using var relay = await StartRelay(echo.Port, 8, TimeSpan.FromSeconds(30));
            using var a = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            using var b = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            foreach (int size in new[] { 0, 1, 1500, 60000 })
            {
                var fromA = Enumerable.Range(0, size).Select(i => (byte)'a').ToArray();
                var fromB = Enumerable.Range(0, size).Select(i => (byte)(i % 251)).ToArray();
                Assert.Equal(fromA, await RoundTrip(a, relay.Port, fromA));
                Assert.Equal(fromB, await RoundTrip(b, relay.Port, fromB));
            }

            Assert.Equal(SessionKind.Relay, relay.Kind);
            Assert.Equal(2, relay.MappingsActive);
            Assert.Equal(2, relay.ClientsAccepted);
            Assert.Equal(8, relay.DatagramsToTarget);
            Assert.Equal(2 * 61501, relay.BytesToTarget);

            // A reply is counted once it has been sent, so the sender can hold the last one before
            // the relay's counter moves (seen on a loaded machine): wait for the count, bounded.
            Assert.True(Eventually.True(() => relay.DatagramsFromTarget == 8 && relay.BytesFromTarget == 2 * 61501), $"DatagramsFromTarget is {relay.DatagramsFromTarget}, BytesFromTarget {relay.BytesFromTarget}");
            Assert.Equal(8, relay.DatagramsFromTarget);
            Assert.Equal(2 * 61501, relay.BytesFromTarget);
        }

        [Fact]
        public async Task AnIdleMappingExpiresAndTheNextDatagramOpensANewOne()
        {
            using var echo = new Echo();
            using var relay = await StartRelay(echo.Port, 8, TimeSpan.FromMilliseconds(300));
            using var a = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            Assert.Equal("one", Encoding.ASCII.GetString(await RoundTrip(a, relay.Port, Encoding.ASCII.GetBytes("one"))));
            Assert.True(Eventually.True(() => relay.MappingsActive == 0 && relay.ClientsActive == 0));
            var record = Assert.Single(relay.TakeRecords());
            Assert.StartsWith("Expired", record.CloseReason);
            Assert.True(record.Succeeded);
            Assert.Equal("two", Encoding.ASCII.GetString(await RoundTrip(a, relay.Port, Encoding.ASCII.GetBytes("two"))));
            Assert.Equal(2, relay.ClientsAccepted);
        }

        [Fact]
        public async Task SendersPastTheThrottleLimitAreRefusedAndCounted()
        {
            using var echo = new Echo();
            using var relay = await StartRelay(echo.Port, 1, TimeSpan.FromSeconds(30));
            using var a = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            using var b = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            Assert.Equal(new byte[] { 1 }, await RoundTrip(a, relay.Port, new byte[] { 1 }));
            await b.SendAsync(new byte[] { 2 }, 1, new IPEndPoint(IPAddress.Loopback, relay.Port));
            Assert.True(Eventually.True(() => relay.DatagramsRefused == 1));
            Assert.Equal(new byte[] { 3 }, await RoundTrip(a, relay.Port, new byte[] { 3 }));
            Assert.Equal(1, relay.MappingsActive);
            Assert.Equal(0, b.Available);
        }
    }
}

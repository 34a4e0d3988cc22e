using System;
using System.Net;
using System.Net.Sockets;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>A server or relay refused for a bad argument leaves no listener behind: its port can be bound again at once.</summary>
    public class ServerArgumentTests
    {
        private static int FreePort()
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        private static void AssertPortFree(int port, SocketType type)
        {
            using var again = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
            again.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }

        [Theory]
        [InlineData(0)]
        [InlineData(70000)]
        public void ARelayWithABadTargetPortLeavesNoListener(int targetPort)
        {
            int port = FreePort();
            var ex = Assert.Throws<PSSocketException>(() => new RelaySession(IPAddress.Loopback, port, "127.0.0.1", targetPort, 4, GlobalSessionRegistry.Instance));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
            AssertPortFree(port, SocketType.Stream);
        }

        [Fact]
        public void ARelayWithAnEmptyTargetHostLeavesNoListener()
        {
            int port = FreePort();
            Assert.Throws<PSSocketException>(() => new RelaySession(IPAddress.Loopback, port, " ", 80, 4, GlobalSessionRegistry.Instance));
            AssertPortFree(port, SocketType.Stream);
        }

        [Fact]
        public void AUdpRelayWithABadTargetPortLeavesNoSocket()
        {
            int port = FreePort();
            Assert.Throws<PSSocketException>(() => new UdpRelaySession(IPAddress.Loopback, port, "127.0.0.1", 0, 4, GlobalSessionRegistry.Instance));
            AssertPortFree(port, SocketType.Dgram);
        }

        [Fact]
        public void AServerWithoutARegistryLeavesNoListener()
        {
            int port = FreePort();
            Assert.Throws<ArgumentNullException>(() => new TcpServerSession(IPAddress.Loopback, port, 4, null!));
            AssertPortFree(port, SocketType.Stream);
        }
    }
}

using System;
using System.Net;
using System.Net.Sockets;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The Windows socket rules, run here by switching <see cref="PlatformRules.IsWindows"/>. The
    /// switch is process-wide, so these tests run alone.
    /// </summary>
    [CollectionDefinition(nameof(WindowsRulesCollection), DisableParallelization = true)]
    public sealed class WindowsRulesCollection
    {
    }

    [Collection(nameof(WindowsRulesCollection))]
    public sealed class WindowsRulesTests : IDisposable
    {
        private readonly bool _wasWindows = PlatformRules.IsWindows;

        public void Dispose() => PlatformRules.IsWindows = _wasWindows;

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void ListenersClaimTheirPortExclusivelyOnWindowsOnly(bool windows)
        {
            // .NET on Linux reports ExclusiveAddressUse as "SO_REUSEADDR is off", so a socket
            // that starts with SO_REUSEADDR on shows whether the claim was made.
            PlatformRules.IsWindows = windows;
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            PlatformRules.ClaimExclusively(socket);
            Assert.Equal(windows, socket.ExclusiveAddressUse);

            // The listeners bind with the rule in force (what the option reads without the claim
            // differs between runtimes, so only the claimed state is compared).
            using var tcp = new TcpListenerSession(IPAddress.Loopback, 0);
            using var udp = new UdpSession(IPAddress.Loopback, 0);
            if (windows)
            {
                Assert.True(tcp.Socket.ExclusiveAddressUse);
                Assert.True(udp.Socket.ExclusiveAddressUse);
            }
        }

        [Fact]
        public void RawTcpOnWindowsIsRefusedWithTheReasonBeforeAnySocketIsOpened()
        {
            PlatformRules.IsWindows = true;
            var ex = Assert.Throws<PSSocketException>(() => new RawSession(ProtocolType.Tcp, IPAddress.Loopback));
            Assert.Equal(SocketErrorKind.NotSupportedOnThisPlatform, ex.Kind);
            Assert.Contains("never delivers received TCP (or UDP) packets", ex.Message, StringComparison.Ordinal);
            Assert.Equal(ProtocolType.Tcp, ex.Target);
        }

        [Fact]
        public void RawUdpOnWindowsWarnsThatNothingWillBeReceivedAndOtherProtocolsPass()
        {
            PlatformRules.IsWindows = true;
            Assert.Contains("never delivers received UDP", PlatformRules.RawProtocolWarning(ProtocolType.Udp), StringComparison.Ordinal);
            Assert.Null(PlatformRules.RawProtocolRefusal(ProtocolType.Udp));
            Assert.Null(PlatformRules.RawProtocolRefusal(ProtocolType.Icmp));
            Assert.Null(PlatformRules.RawProtocolWarning(ProtocolType.Icmp));

            PlatformRules.IsWindows = false;
            Assert.Null(PlatformRules.RawProtocolRefusal(ProtocolType.Tcp));
            Assert.Null(PlatformRules.RawProtocolWarning(ProtocolType.Udp));
        }
    }
}

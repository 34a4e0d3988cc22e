using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class UnixSocketTests
    {
        /// <summary>The bytes after the family (the platform writes the family itself).</summary>
        private static byte[] PathBytes(SocketAddress address)
        {
            var bytes = new byte[address.Size - 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = address[i + 2];
            }

            return bytes;
        }

        [Fact]
        public void SerializesAFileSystemPathAsUtf8WithANul()
        {
            var address = new UnixSocketEndPoint("/run/hä.sock").Serialize();
            Assert.Equal(AddressFamily.Unix, address.Family);
            var expected = Encoding.UTF8.GetBytes("/run/hä.sock\0");
            Assert.Equal(2 + expected.Length, address.Size);
            Assert.Equal(expected, PathBytes(address));
        }

        [PlatformFact(Needs.Linux)]
        public void SerializesAnAbstractNameAsALeadingNulAndTheExactLength()
        {
            var endpoint = new UnixSocketEndPoint("@pssocket");
            Assert.True(endpoint.IsAbstract);
            Assert.Equal("pssocket", endpoint.Path);
            var address = endpoint.Serialize();
            Assert.Equal(2 + 1 + 8, address.Size);
            Assert.Equal(Encoding.ASCII.GetBytes("\0pssocket"), PathBytes(address));
        }

        [PlatformTheory(Needs.Linux)]
        [InlineData("/tmp/a.sock")]
        [InlineData("relative/b.sock")]
        [InlineData("@abstract-name")]
        public void ReadsBackWhatItWrote(string path)
        {
            var endpoint = new UnixSocketEndPoint(path);
            var back = (UnixSocketEndPoint)endpoint.Create(endpoint.Serialize());
            Assert.Equal(endpoint, back);
            Assert.Equal(path, back.ToString());
            Assert.Equal(AddressFamily.Unix, back.AddressFamily);
        }

        [Fact]
        public void ReadsAnUnboundPeerAsUnnamed()
        {
            var template = new UnixSocketEndPoint("/tmp/x.sock");
            var unnamed = (UnixSocketEndPoint)template.Create(new SocketAddress(AddressFamily.Unix, 2));
            Assert.True(unnamed.IsUnnamed);
            Assert.Equal("(unnamed)", unnamed.ToString());
            Assert.Equal(2, unnamed.Serialize().Size);
        }

        [Fact]
        public void StopsAPathAtItsNulWhenTheSystemPadsTheAddress()
        {
            var padded = new SocketAddress(AddressFamily.Unix, 110);
            var path = Encoding.ASCII.GetBytes("/tmp/p.sock");
            for (int i = 0; i < path.Length; i++)
            {
                padded[2 + i] = path[i];
            }

            Assert.Equal("/tmp/p.sock", new UnixSocketEndPoint("/x").Create(padded).ToString());
        }

        [Fact]
        public void RefusesAPathLongerThanSunPathAndSaysTheLimit()
        {
            int limit = UnixSocketEndPoint.MaxPathBytes;
            bool sunPath108 = System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)
                || System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows);
            Assert.Equal(sunPath108 ? 107 : 103, limit);
            _ = new UnixSocketEndPoint("/" + new string('a', limit - 1));
            var ex = Assert.Throws<PSSocketException>(() => new UnixSocketEndPoint("/" + new string('a', limit)));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
            Assert.Contains($"at most {limit} bytes", ex.Message);
        }

        [Fact]
        public void CountsTheLimitInUtf8Bytes()
        {
            // 54 two-byte characters are 108 bytes: one past the Linux limit although only 55 characters.
            var ex = Assert.Throws<PSSocketException>(() => new UnixSocketEndPoint("/" + new string('é', 54)));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }

        [Theory]
        [InlineData("")]
        [InlineData("/tmp/a\0b")]
        public void RefusesAnEmptyPathOrOneWithANul(string path)
        {
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => new UnixSocketEndPoint(path)).Kind);
        }

        [Theory]
        [InlineData(SocketError.AddressNotAvailable, "None", false, SocketErrorKind.SocketNotFound)]
        [InlineData(SocketError.ConnectionRefused, "None", false, SocketErrorKind.SocketNotFound)]
        [InlineData(SocketError.AccessDenied, "Socket", false, SocketErrorKind.PermissionDenied)]
        [InlineData(SocketError.ConnectionRefused, "Socket", false, SocketErrorKind.ConnectionRefused)]
        [InlineData(SocketError.ConnectionRefused, "Other", false, SocketErrorKind.NotASocket)]
        [InlineData(SocketError.ProtocolType, "Socket", false, SocketErrorKind.WrongSocketType)]
        [InlineData(SocketError.ProtocolType, "Socket", true, SocketErrorKind.WrongSocketType)]
        [InlineData(SocketError.TimedOut, "Socket", false, SocketErrorKind.ConnectionTimedOut)]
        public void ClassifiesAFailedConnect(SocketError error, string atPath, bool datagram, SocketErrorKind expected)
        {
            var (kind, message) = UnixSockets.ClassifyConnect(error, (UnixFileKind)Enum.Parse(typeof(UnixFileKind), atPath), datagram);
            Assert.Equal(expected, kind);
            Assert.DoesNotContain("Protocol wrong type", message);
        }

        [Fact]
        public void SaysWhichSwitchAWrongSocketTypeNeeds()
        {
            Assert.Contains("add -Datagram", UnixSockets.ClassifyConnect(SocketError.ProtocolType, UnixFileKind.Socket, false).Message);
            Assert.Contains("leave out -Datagram", UnixSockets.ClassifyConnect(SocketError.ProtocolType, UnixFileKind.Socket, true).Message);
        }

        [Theory]
        [InlineData("0600", 0x180)]
        [InlineData("600", 0x180)]
        [InlineData("0660", 0x1B0)]
        [InlineData("777", 0x1FF)]
        [InlineData("0", 0)]
        public void ReadsOctalModes(string text, int mode)
        {
            Assert.Equal(mode, UnixSockets.ParseMode(text));
        }

        [Theory]
        [InlineData("rw-------")]
        [InlineData("0800")]
        [InlineData("17777")]
        [InlineData("")]
        public void RefusesWhatIsNotAnOctalMode(string text)
        {
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => UnixSockets.ParseMode(text)).Kind);
        }

        [PlatformFact(Needs.Linux)]
        public async Task ConnectsAcceptsAndSeesThePeerThroughItsOwnEndPoint()
        {
            string dir = Path.Combine(Path.GetTempPath(), "pssx-" + Guid.NewGuid().ToString("n").Substring(0, 8));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "t.sock");
            try
            {
                using var listener = new UnixListenerSession(new UnixSocketEndPoint(path), mode: 0x180);
                Assert.Equal("0600", listener.Mode);
                using var client = await UnixSockets.ConnectAsync(new UnixSocketEndPoint(path), false, Deadline.AfterSeconds(10), CancellationToken.None);
                using var accepted = (UnixSession)await listener.AcceptSessionAsync(Deadline.AfterSeconds(10), CancellationToken.None);
                Assert.Equal(System.Diagnostics.Process.GetCurrentProcess().Id, accepted.ProcessId);
                Assert.Equal(path, accepted.Path);
                Assert.Equal(path, listener.LocalEndPoint!.ToString());
                using var session = new UnixSession(client, path);
                Assert.Equal(path, session.RemoteEndPoint!.ToString());
                listener.Close();
                Assert.False(File.Exists(path));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [PlatformFact(Needs.Linux)]
        public void NeverRemovesARegularFileEvenWithForce()
        {
            string path = Path.GetTempFileName();
            try
            {
                var ex = Assert.Throws<PSSocketException>(() => UnixSockets.Listen(new UnixSocketEndPoint(path), false, 1, null, force: true));
                Assert.Equal(SocketErrorKind.NotASocket, ex.Kind);
                Assert.True(File.Exists(path));
                UnixSockets.RemoveSocketFile(new UnixSocketEndPoint(path));
                Assert.True(File.Exists(path));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}

using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The transport when reads complete later rather than at once, as NetworkStream.ReadAsync
    /// does on .NET Framework and Mono (through BeginRead/EndRead).
    /// </summary>
    public sealed class TransportTests : LoopbackSessionTests
    {

        public TransportTests()
            : base(accepted => new TcpSession(accepted, new LaterStream(new NetworkStream(accepted, ownsSocket: true))))
        {
        }

        private Task<bool> StateBecomes(SessionState want) =>
            Eventually.TrueAsync(() =>
            {
                Session.RefreshState();
                return Session.State == want;
            });

        [Fact]
        public async Task ShowsRemoteClosedAfterThePeerClosesWhenReadsCompleteLater()
        {
            Peer.Shutdown(SocketShutdown.Both);
            Peer.Close();
            Assert.True(await StateBecomes(SessionState.RemoteClosed));
        }

        [Fact]
        public async Task StateReadsNothingFromTheSocket()
        {
            Peer.Send(new byte[] { 1, 2, 3 });
            Peer.Close();
            await Task.Delay(200);
            // The getter only reports what reads recorded: nothing was read yet.
            Assert.Equal(SessionState.Open, Session.State);
            Assert.Equal(0, Session.Available);
            var data = await Session.ReceiveCountAsync(3, Deadline.After(TimeSpan.FromSeconds(10)), CancellationToken.None);
            Assert.Equal(new byte[] { 1, 2, 3 }, data);
            Assert.True(await StateBecomes(SessionState.RemoteClosed));
        }

        [Fact]
        public async Task ReceivesLinesAndReportsEndOfStream()
        {
            Peer.Send(System.Text.Encoding.ASCII.GetBytes("one\ntwo\n"));
            var deadline = Deadline.After(TimeSpan.FromSeconds(10));
            Assert.Equal("one", System.Text.Encoding.ASCII.GetString(await Session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None)));
            Assert.Equal("two", System.Text.Encoding.ASCII.GetString(await Session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None)));
            Peer.Close();
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None));
            Assert.Equal(SocketErrorKind.RemoteClosed, ex.Kind);
            Assert.Equal(SessionState.RemoteClosed, Session.State);
        }
    }
}

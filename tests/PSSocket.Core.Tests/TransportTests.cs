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
    public sealed class TransportTests : IDisposable
    {
        private readonly TcpSession _session;
        private readonly Socket _peer;

        public TransportTests()
        {
            var (accepted, peer) = LoopbackPair.Open();
            _peer = peer;
            _session = new TcpSession(accepted, new LaterStream(new NetworkStream(accepted, ownsSocket: true)));
        }

        public void Dispose()
        {
            _session.Close("test over");
            _peer.Dispose();
        }

        private async Task<bool> StateBecomes(SessionState want)
        {
            for (int i = 0; i < 200; i++)
            {
                _session.RefreshState();
                if (_session.State == want)
                {
                    return true;
                }

                await Task.Delay(25);
            }

            return false;
        }

        [Fact]
        public async Task ShowsRemoteClosedAfterThePeerClosesWhenReadsCompleteLater()
        {
            _peer.Shutdown(SocketShutdown.Both);
            _peer.Close();
            Assert.True(await StateBecomes(SessionState.RemoteClosed));
        }

        [Fact]
        public async Task StateReadsNothingFromTheSocket()
        {
            _peer.Send(new byte[] { 1, 2, 3 });
            _peer.Close();
            await Task.Delay(200);
            // The getter only reports what reads recorded: nothing was read yet.
            Assert.Equal(SessionState.Open, _session.State);
            Assert.Equal(0, _session.Available);
            var data = await _session.ReceiveCountAsync(3, Deadline.After(TimeSpan.FromSeconds(10)), CancellationToken.None);
            Assert.Equal(new byte[] { 1, 2, 3 }, data);
            Assert.True(await StateBecomes(SessionState.RemoteClosed));
        }

        [Fact]
        public async Task ReceivesLinesAndReportsEndOfStream()
        {
            _peer.Send(System.Text.Encoding.ASCII.GetBytes("one\ntwo\n"));
            var deadline = Deadline.After(TimeSpan.FromSeconds(10));
            Assert.Equal("one", System.Text.Encoding.ASCII.GetString(await _session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None)));
            Assert.Equal("two", System.Text.Encoding.ASCII.GetString(await _session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None)));
            _peer.Close();
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => _session.ReceiveLineAsync(System.Text.Encoding.ASCII, 1024, deadline, CancellationToken.None));
            Assert.Equal(SocketErrorKind.RemoteClosed, ex.Kind);
            Assert.Equal(SessionState.RemoteClosed, _session.State);
        }
    }
}

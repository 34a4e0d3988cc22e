using System;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// A session closes one way, whoever closes it: through its connection (a fault path, a relay,
    /// a server client) or through the session, its clean-up runs once and its first reason stays.
    /// </summary>
    public sealed class ConnectionCloseTests : LoopbackSessionTests
    {
        private sealed class Resource : IDisposable
        {
            public int Disposed { get; private set; }

            public void Dispose() => Disposed++;
        }

        [Fact]
        public void ClosingTheConnectionRunsTheSessionsCleanUp()
        {
            var certificate = new Resource();
            int whenClosed = 0;
            Session.DisposeWhenClosed(certificate);
            Session.WhenClosed(_ => whenClosed++);

            Session.Connection.Close("The peer broke the protocol");

            Assert.Equal(1, certificate.Disposed);
            Assert.Equal(1, whenClosed);
            Assert.Equal(SessionState.Closed, Session.State);
            Assert.Equal("The peer broke the protocol", Session.CloseReason);
            Peer.ReceiveTimeout = 10_000;
            Assert.Equal(0, Peer.Receive(new byte[1]));

            Session.Close("Closed by the user");
            Assert.Equal(1, certificate.Disposed);
            Assert.Equal(1, whenClosed);
            Assert.Equal("The peer broke the protocol", Session.CloseReason);
        }

        [Fact]
        public void DisposingTheConnectionClosesTheSessionOnce()
        {
            var certificate = new Resource();
            Session.DisposeWhenClosed(certificate);

            Session.Connection.Dispose();
            Session.Connection.Dispose();

            Assert.Equal(1, certificate.Disposed);
            Assert.True(Session.IsClosed);
            Assert.Equal("Disposed", Session.CloseReason);
        }
    }
}

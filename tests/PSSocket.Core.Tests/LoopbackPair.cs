using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace PSSocket.Tests
{
    /// <summary>A connected TCP pair on 127.0.0.1 for engine tests that need a real socket.</summary>
    internal static class LoopbackPair
    {
        /// <summary>The accepted socket and the connecting one (NoDelay, so small writes go at once).</summary>
        public static (Socket Accepted, Socket Connected) Open()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var connected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            connected.Connect(listener.LocalEndPoint!);
            return (listener.Accept(), connected);
        }

        /// <summary>
        /// A loopback port that never answers a connect: Linux drops SYNs to a listener whose
        /// accept queue is full, as a firewall that drops would. Dispose the fillers and the listener.
        /// </summary>
        public static async Task<(Socket Listener, List<Socket> Fillers)> UnansweredPortAsync()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(0);
            var ep = (IPEndPoint)listener.LocalEndPoint!;
            var fillers = new List<Socket>();
            bool full = false;
            for (int i = 0; i < 8 && !full; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(s);
                var connect = s.ConnectAsync(ep);
                full = await Task.WhenAny(connect, Task.Delay(500)) != connect;
            }

            Xunit.Assert.True(full, "could not fill the accept queue");
            return (listener, fillers);
        }
    }

    /// <summary>
    /// The fixture of the tests that talk to one TcpSession: the session over the accepted side of
    /// a loopback pair, the connecting side as the peer; both closed after each test.
    /// </summary>
    public abstract class LoopbackSessionTests : IDisposable
    {
        /// <summary>A plain session over the accepted socket.</summary>
        protected LoopbackSessionTests()
            : this(accepted => new TcpSession(accepted))
        {
        }

        /// <summary>A session the test makes over the accepted socket (another stream under it).</summary>
        protected LoopbackSessionTests(Func<Socket, TcpSession> session)
        {
            var (accepted, peer) = LoopbackPair.Open();
            Peer = peer;
            Session = session(accepted);
        }

        /// <summary>The session under test.</summary>
        protected TcpSession Session { get; }

        /// <summary>The other end: what it sends, the session receives.</summary>
        protected Socket Peer { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            Session.Close("test over");
            Peer.Dispose();
            GC.SuppressFinalize(this);
        }
    }
}

using System.Net;
using System.Net.Sockets;

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
    }
}

using System.IO;
using System.Net.Sockets;

namespace PSSocket
{
    /// <summary>
    /// A client accepted by Start-SocketServer: a Tcp session that knows its server. It is
    /// registered while its script block runs and closed (gracefully, like every TcpSession)
    /// and removed when the script block ends.
    /// </summary>
    public sealed class ServerClientSession : TcpSession
    {
        internal ServerClientSession(Socket socket, Stream? stream, SocketServerSession server)
            : base(socket, stream, socket.AddressFamily == AddressFamily.Unix ? SessionKind.Unix : SessionKind.Tcp)
        {
            Server = server;
        }

        /// <summary>The server that accepted this client.</summary>
        public SocketServerSession Server { get; }

        /// <inheritdoc />
        public override bool IsTls => Server.IsTls;
    }
}

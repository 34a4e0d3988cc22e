using System.IO;
using System.Net.Sockets;

namespace PSSocket
{
    /// <summary>
    /// A client accepted by Start-SocketServer. Unlike other sessions it closes gracefully
    /// (FIN after the last reply, not a reset), so a client reading to the end, such as an
    /// HTTP client with "Connection: close", gets everything the script block sent.
    /// </summary>
    public sealed class ServerClientSession : TcpSession
    {
        internal ServerClientSession(Socket socket, Stream? stream, SocketServerSession server)
            : base(socket, stream)
        {
            Server = server;
        }

        /// <summary>The server that accepted this client.</summary>
        public SocketServerSession Server { get; }

        /// <inheritdoc />
        public override bool IsTls => Server.IsTls;

        /// <inheritdoc />
        protected override void OnClose()
        {
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
                Socket.Close();
            }
            catch (SocketException)
            {
                // The peer is already gone (reset): the base close below releases the handle.
            }
            catch (System.ObjectDisposedException)
            {
                // Already released.
            }

            base.OnClose();
        }
    }
}

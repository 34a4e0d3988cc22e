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
            if (socket.AddressFamily == AddressFamily.Unix)
            {
                (ProcessId, UserId, GroupId) = Net.UnixSockets.PeerCredentials(socket);
            }
        }

        /// <summary>For a client of a Unix socket server: the peer's process id (null for TCP, or where the platform does not say).</summary>
        public int? ProcessId { get; }

        /// <summary>For a client of a Unix socket server: the peer's user id (null for TCP, or where the platform does not say).</summary>
        public int? UserId { get; }

        /// <summary>For a client of a Unix socket server: the peer's group id (null for TCP, or where the platform does not say).</summary>
        public int? GroupId { get; }

        /// <summary>The server that accepted this client.</summary>
        public SocketServerSession Server { get; }

        /// <inheritdoc />
        public override bool IsTls => Server.IsTls;
    }
}

namespace PSSocket
{
    /// <summary>
    /// A connected Unix domain stream socket (Connect-UnixSocket, or a client accepted from a
    /// Unix listener). It is a <see cref="TcpSession"/> in all but name: the same transport,
    /// buffer and receive modes work over any stream socket, so every session cmdlet takes it.
    /// It also shows the peer's process, user and group where the platform tells them.
    /// </summary>
    public sealed class UnixSession : TcpSession
    {
        /// <summary>Wraps a connected Unix stream socket; path names the socket when the system does not say (an accepted client).</summary>
        public UnixSession(Socket socket, string? path = null)
            : base(socket, null, SessionKind.Unix)
        {
            (ProcessId, UserId, GroupId) = UnixSockets.PeerCredentials(socket);
            Path = path ?? UnixSockets.PathOf(RemoteEndPoint, LocalEndPoint);
            RemoteEndPoint ??= path is null ? null : new UnixSocketEndPoint(path);
        }

        /// <summary>The socket's path (or @name): the one connected to, or the listener's for an accepted client.</summary>
        public string Path { get; }

        /// <summary>The peer's process id (SO_PEERCRED on Linux, LOCAL_PEERPID on macOS), or null where the platform does not say.</summary>
        public int? ProcessId { get; }

        /// <summary>The peer's user id, or null where the platform does not say.</summary>
        public int? UserId { get; }

        /// <summary>The peer's group id, or null where the platform does not say.</summary>
        public int? GroupId { get; }
    }
}

namespace PSSocket
{
    /// <summary>
    /// A listening Unix domain socket (New-UnixListener) that Wait-TcpConnection accepts from;
    /// each client becomes a <see cref="UnixSession"/>. It removes its own socket file when it
    /// closes, and never a file it did not create.
    /// </summary>
    public sealed class UnixListenerSession : TcpListenerSession
    {
        /// <summary>Binds the path (replacing a stale socket file only with force), listens, and sets the file's mode.</summary>
        /// <exception cref="PSSocketException">AddressInUse, NotASocket, PermissionDenied, SocketNotFound, InvalidArgument, NotSupportedOnThisPlatform.</exception>
        public UnixListenerSession(UnixSocketEndPoint endpoint, int? mode = null, bool force = false, int backlog = 512)
            : base(UnixSockets.Listen(endpoint, datagram: false, backlog, mode, force), SessionKind.UnixListener)
        {
            Path = endpoint.ToString();
        }

        /// <summary>The socket file's path, or @name for an abstract name.</summary>
        public string Path { get; }

        /// <summary>The socket file's permissions as octal text ('0600'), or null for an abstract name or where they cannot be read.</summary>
        public string? Mode => UnixSockets.ModeOf(Path);

        /// <inheritdoc />
        public override TcpSession CreateAcceptedSession(Socket socket) =>
            new UnixSession(socket, Path) { Encoding = Encoding, NewLine = NewLine };

        /// <inheritdoc />
        protected override void OnClose()
        {
            base.OnClose();
            UnixSockets.RemoveSocketFile(LocalEndPoint);
        }
    }
}

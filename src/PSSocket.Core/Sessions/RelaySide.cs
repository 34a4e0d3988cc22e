namespace PSSocket.Sessions
{
    /// <summary>
    /// One side of a relayed connection: an unregistered session whose <see cref="Connection"/>
    /// carries the bytes (with TLS over it when that side speaks TLS).
    /// </summary>
    internal sealed class RelaySide
    {
        private readonly TcpSession _session;

        /// <summary>A side over a connected socket; the side owns the socket from here.</summary>
        public RelaySide(Socket socket)
            : this(new TcpSession(socket))
        {
        }

        /// <summary>A side whose TLS handshake is already done (a client the accept-ahead handed over).</summary>
        public RelaySide(TcpSession session) => _session = session;

        public EndPoint? LocalEndPoint => _session.LocalEndPoint;

        public EndPoint? RemoteEndPoint => _session.RemoteEndPoint;

        private Connection Connection => _session.Connection;

        /// <summary>Starts TLS on this side as the given handshake says (the session's own TLS code).</summary>
        public Task StartTlsAsync(Func<TcpSession, Task> handshake, string? connectedHost)
        {
            _session.ConnectedHost = connectedHost;
            return handshake(_session);
        }

        /// <summary>The socket when a relay may move this side's bytes below its connection (splice), else null.</summary>
        public Socket? BareSocket => Connection.BareSocket;

        /// <summary>Counts bytes a relay moved below the connection.</summary>
        public void CountRelayed(long received, long sent) => Connection.CountRelayed(received, sent);

        public Task<int> ReadAsync(byte[] buffer) => Connection.ReadSomeAsync(buffer);

        public Task WriteAsync(byte[] buffer, int count) => Connection.WriteAllAsync(buffer, count);

        /// <summary>Passes a half-close on: close_notify on TLS (bounded), then the TCP shutdown.</summary>
        public Task EndSendingAsync() => Connection.EndSendingAsync();

        /// <summary>Shuts both directions down: the peer reads end of stream and a pending read here returns.</summary>
        public void EndBoth() => Connection.ShutdownBoth();

        public void Abort() => Connection.Abort();

        public void Close(string reason) => _session.Close(reason);
    }
}

namespace PSSocket
{
    /// <summary>
    /// A Unix domain datagram socket connected to one socket path (Connect-UnixSocket -Datagram,
    /// e.g. /dev/log). Each item Send-SocketData sends is one datagram to that path; the datagram
    /// machinery (queue, limits, Receive-SocketData) is the UDP one. On Linux the socket has an
    /// autobound address, so the peer can answer.
    /// </summary>
    public sealed class UnixDatagramSession : DatagramSession
    {
        /// <summary>Takes over a Unix datagram socket connected to remote and starts receiving.</summary>
        public UnixDatagramSession(Socket socket, UnixSocketEndPoint remote)
            : base(SessionKind.UnixDatagram, socket)
        {
            // Some runtimes (Mono) do not report the remote of a socket connected to an endpoint type of our own.
            RemoteEndPoint = socket.RemoteEndPoint ?? remote;
            Path = RemoteEndPoint?.ToString() ?? "";
            StartReceiving();
        }

        /// <summary>The socket path (or @name) the datagrams go to.</summary>
        public string Path { get; }

        /// <inheritdoc />
        protected override int MaxPayload(AddressFamily family) => int.MaxValue;

        /// <inheritdoc />
        protected override SocketDatagram CreateDatagram(byte[] bytes, EndPoint from) => new(bytes, from, Encoding, System.DateTime.Now, Id);
    }
}

namespace PSSocket
{
    /// <summary>One datagram a UDP server received: handed to the script block as <c>$_</c>.</summary>
    public sealed class UdpServerRequest
    {
        internal UdpServerRequest(SocketServerSession server, EndPoint remote, byte[] bytes)
        {
            Server = server;
            RemoteEndPoint = remote;
            Bytes = bytes;
            ReceivedAt = DateTime.Now;
        }

        /// <summary>The server that received the datagram.</summary>
        public SocketServerSession Server { get; }

        /// <summary>The sender's address and port; replies go there.</summary>
        public EndPoint RemoteEndPoint { get; }

        /// <summary>The datagram's payload.</summary>
        public byte[] Bytes { get; }

        /// <summary>The payload decoded with the server's encoding.</summary>
        public string Text => Server.Encoding.GetString(Bytes);

        /// <summary>When the datagram arrived.</summary>
        public DateTime ReceivedAt { get; }

        /// <inheritdoc />
        public override string ToString() => $"{Net.Endpoints.Format(RemoteEndPoint)}: {Bytes.Length} bytes";
    }
}

namespace PSSocket
{
    /// <summary>The kind of socket a session holds.</summary>
    public enum SessionKind
    {
        /// <summary>A connected TCP stream, client or accepted.</summary>
        Tcp,
        /// <summary>A listening TCP socket that Wait-TcpConnection accepts from.</summary>
        TcpListener,
        /// <summary>A listener served by Start-SocketServer.</summary>
        TcpServer,
        /// <summary>A bound UDP socket.</summary>
        Udp,
        /// <summary>A UDP responder served by Start-SocketServer -Udp.</summary>
        UdpServer,
        /// <summary>A raw IP socket.</summary>
        Raw,
        /// <summary>A port forward from Start-SocketRelay.</summary>
        Relay,
        /// <summary>An SSH shell channel from Connect-SshShell.</summary>
        Ssh,
        /// <summary>A connected Unix domain stream socket, client or accepted.</summary>
        Unix,
        /// <summary>A Unix domain datagram socket.</summary>
        UnixDatagram,
        /// <summary>A listening Unix domain socket that Wait-TcpConnection accepts from.</summary>
        UnixListener,
    }

    /// <summary>Where a session is in its life.</summary>
    public enum SessionState
    {
        /// <summary>Connected or bound and usable.</summary>
        Open,
        /// <summary>Accepting connections.</summary>
        Listening,
        /// <summary>The peer closed its side; buffered data can still be read.</summary>
        RemoteClosed,
        /// <summary>Closed locally.</summary>
        Closed,
        /// <summary>The connection failed (reset, aborted); buffered data can still be read.</summary>
        Faulted,
        /// <summary>A server or relay stopped by Stop-SocketServer (Stop-SocketRelay): it stays listed, its records readable, until Remove-SocketSession.</summary>
        Stopped,
    }
}

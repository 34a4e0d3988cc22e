namespace PSSocket.Sessions
{
    /// <summary>One piece of a server's work: a client to serve, a datagram to answer, a connection to relay.</summary>
    public abstract class ServerWork
    {
        /// <summary>The client's address and port, for records and messages.</summary>
        public abstract EndPoint? Client { get; }

        /// <summary>Serves it and says what came out; the token is cancelled when the server closes.</summary>
        public abstract Task<ServerClientRecord> RunAsync(CancellationToken token);

        /// <summary>Stops it from outside (server closing): closes its socket with the reason. Must not block.</summary>
        public abstract void Interrupt(string reason);

        /// <summary>Releases it when the server stops before it ran.</summary>
        public virtual void Abandon() => Interrupt("The server was stopped");

        /// <summary>Who it is, for the list of clients a stop could not end.</summary>
        public virtual string Describe() => Endpoints.Format(Client);

        /// <summary>True when the client left before sending any data (a port probe, such as Test-TcpPort -Tls after its handshake): counted in ClientsReset, not ClientsFailed.</summary>
        public virtual bool GoneBeforeData => false;
    }
}

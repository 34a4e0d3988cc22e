namespace PSSocket.Commands
{
    /// <summary>
    /// A cmdlet that takes a server or relay (Stop-SocketServer, Stop-SocketRelay, Wait-SocketServer,
    /// Receive-SocketServerOutput): -Server as a session object, Id or Name. A server object stays
    /// usable after Remove-SocketSession unregistered it, so a script holding it can still read or
    /// wait on what it did.
    /// </summary>
    public abstract class ServerCmdlet : SessionCmdlet
    {
        /// <summary>The server or relay: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Session", "Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Server { get; set; } = null!;

        /// <inheritdoc />
        protected override object? SessionArgument => Server;

        /// <summary>
        /// Handles a server object that is no longer listed; false resolves it as usual (and fails as
        /// a session not found). By default it is processed like a listed one.
        /// </summary>
        /// <param name="server">The unlisted server.</param>
        protected virtual bool ProcessUnlisted(SocketServerSession server)
        {
            ProcessSession(server);
            return true;
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var raw = Server is PSObject pso ? pso.BaseObject : Server;
            if (raw is SocketServerSession server && SessionManager.Resolve(server) is null && ProcessUnlisted(server))
            {
                return;
            }

            base.ProcessRecord();
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Closes sessions and removes them from the registry.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "SocketSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(void))]
    public sealed class RemoveSocketSessionCommand : PSSocketCmdlet
    {
        /// <summary>The sessions: session objects, Ids or Names (wildcards allowed: redis-*). A session object whose session is already gone (a server took its clients with it) is not an error.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId", "Name")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [SupportsWildcards]
        [ValidateNotNull]
        public object[] Session { get; set; } = null!;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            foreach (var item in Session)
            {
                var raw = item is PSObject pso ? pso.BaseObject : item;
                if (raw is SocketSession given)
                {
                    if (SessionManager.Resolve(given) is not null)
                    {
                        Remove(given);
                        continue;
                    }

                    // Already unregistered (removed earlier, a stopped server, a server's client that ended):
                    // the wanted end state holds; make sure it is closed too.
                    given.Close("Removed by the user");
                    Verbose(() => $"Session {given} was already removed ({given.CloseReason})");
                    continue;
                }

                var found = raw is string name ? SessionNames.Match(SessionManager.GetAll(), name) : Listed(SessionManager.Resolve(raw));
                if (found is null)
                {
                    WriteError(ErrorRecords.SessionNotFound(raw));
                    continue;
                }

                foreach (var session in found)
                {
                    Remove(session);
                }
            }
        }

        private static SocketSession[]? Listed(SocketSession? session) => session is null ? null : new[] { session };

        private void Remove(SocketSession session)
        {
            string what = $"{session.Kind} session {session} ({Net.Endpoints.Format(session.LocalEndPoint)} -> {Net.Endpoints.Format(session.RemoteEndPoint)})";
            if (ShouldProcess(what, "Close and remove"))
            {
                SessionManager.Remove(session);
                Verbose(() => $"Removed {what}");
            }
        }
    }
}

using System.Management.Automation;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Closes sessions and removes them from the registry.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "SocketSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(void))]
    public sealed class RemoveSocketSessionCommand : PSSocketCmdlet
    {
        /// <summary>The sessions: session objects, Ids or Names.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId", "Name")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object[] Session { get; set; } = null!;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            foreach (var item in Session)
            {
                var raw = item is PSObject pso ? pso.BaseObject : item;
                var session = SessionManager.Resolve(raw);
                if (session is null && raw is SocketSession { IsClosed: true } gone)
                {
                    // Already closed and removed (a stopped server, a server's client that ended): nothing left to do.
                    Verbose(() => $"Session {gone} was already closed and removed ({gone.CloseReason})");
                    continue;
                }

                if (session is null)
                {
                    WriteError(ErrorRecords.SessionNotFound(raw));
                    continue;
                }

                string what = $"{session.Kind} session {session} ({Net.Endpoints.Format(session.LocalEndPoint)} -> {Net.Endpoints.Format(session.RemoteEndPoint)})";
                if (ShouldProcess(what, "Close and remove"))
                {
                    SessionManager.Remove(session);
                    Verbose(() => $"Removed {what}");
                }
            }
        }
    }
}

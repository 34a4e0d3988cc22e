using System.Management.Automation;

namespace PSSocket.Commands
{
    /// <summary>
    /// Base of cmdlets that take -Session: each declares the parameter with the pipeline
    /// binding it needs and this base resolves an object, an Id or a Name to the session.
    /// </summary>
    public abstract class SessionCmdlet : PSSocketCmdlet
    {
        /// <summary>The raw -Session argument as bound.</summary>
        protected abstract object? SessionArgument { get; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var session = ResolveSession(SessionArgument);
            if (session is null)
            {
                return;
            }

            try
            {
                ProcessSession(session);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, session);
            }
        }

        /// <summary>Does the cmdlet's work for one resolved session.</summary>
        protected abstract void ProcessSession(SocketSession session);

        /// <summary>Finds the session or writes SessionNotFound and returns null.</summary>
        protected SocketSession? ResolveSession(object? value)
        {
            var raw = value is PSObject pso ? pso.BaseObject : value;
            var session = SessionManager.Resolve(raw);
            if (session is null)
            {
                WriteError(ErrorRecords.SessionNotFound(raw));
            }

            return session;
        }
    }
}

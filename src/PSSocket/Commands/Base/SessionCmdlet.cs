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

        /// <summary>
        /// The session as the kind this command works on; otherwise null, with the WrongKind error
        /// written, whose message says what the command needs.
        /// </summary>
        protected T? Expect<T>(SocketSession session, string needs)
            where T : SocketSession
        {
            if (session is T typed)
            {
                return typed;
            }

            WriteError(ErrorRecords.WrongKind(session, needs));
            return null;
        }

        /// <summary>Does the cmdlet's work for one resolved session.</summary>
        protected abstract void ProcessSession(SocketSession session);

        /// <summary>Finds the session or writes SessionNotFound and returns null.</summary>
        protected SocketSession? ResolveSession(object? value)
        {
            var raw = value is PSObject pso ? pso.BaseObject : value;
            var session = SessionManager.Resolve(raw) ?? ResolveByProperty(value);
            if (session is null)
            {
                WriteError(ErrorRecords.SessionNotFound(raw));
            }

            return session;
        }

        // -Session takes pipeline input by value (as object) and by property name; PowerShell
        // binds by value first, so an object carrying SessionId, Id or Name arrives whole.
        private static SocketSession? ResolveByProperty(object? value)
        {
            if (value is not PSObject pso || pso.BaseObject is SocketSession or string or System.ValueType)
            {
                return null;
            }

            foreach (string property in new[] { "SessionId", "Id", "Name" })
            {
                var v = pso.Properties[property]?.Value;
                var found = SessionManager.Resolve(v is PSObject inner ? inner.BaseObject : v);
                if (found is not null)
                {
                    return found;
                }
            }

            return null;
        }
    }
}

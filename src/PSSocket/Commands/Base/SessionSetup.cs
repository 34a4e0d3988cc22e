namespace PSSocket.Commands
{
    /// <summary>The steps every cmdlet that opens a session takes the same way.</summary>
    internal static class SessionSetup
    {
        /// <summary>Gives the session the -Encoding and -NewLine the user asked for; null keeps the session's default.</summary>
        public static T WithText<T>(this T session, Encoding? encoding, string? newLine = null) where T : SocketSession
        {
            if (encoding is not null)
            {
                session.Encoding = encoding;
            }

            if (newLine is not null)
            {
                session.NewLine = newLine;
            }

            return session;
        }

        /// <summary>
        /// Registers the session under the name; when that fails (the name is taken) the session is
        /// closed before the error propagates, so no socket is left open and unlisted.
        /// </summary>
        public static T RegisterOrClose<T>(this T session, string? name) where T : SocketSession
        {
            try
            {
                return SessionManager.Register(session, name);
            }
            catch
            {
                session.Close("Not registered");
                throw;
            }
        }
    }
}

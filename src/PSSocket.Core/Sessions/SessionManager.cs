namespace PSSocket.Sessions
{
    /// <summary>
    /// The one process-wide registry of sessions. Static so every runspace of the process
    /// (ForEach-Object -Parallel, thread jobs) sees the same sessions.
    /// </summary>
    public static class SessionManager
    {
        private static readonly ConcurrentDictionary<int, SocketSession> s_sessions = new();
        private static readonly object s_nameLock = new();
        private static int s_lastId;

        /// <summary>Gives the session an Id (and Name), and registers it.</summary>
        /// <exception cref="PSSocketException">DuplicateSessionName when a live session has the name.</exception>
        public static T Register<T>(T session, string? name = null) where T : SocketSession
        {
            if (session is null)
            {
                throw new ArgumentNullException(nameof(session));
            }

            if (string.IsNullOrWhiteSpace(name))
            {
                name = null;
            }

            lock (s_nameLock)
            {
                if (name is not null)
                {
                    foreach (var other in s_sessions.Values)
                    {
                        if (string.Equals(other.Name, name, StringComparison.OrdinalIgnoreCase))
                        {
                            if (other.State is not (SessionState.Closed or SessionState.Stopped))
                            {
                                throw new PSSocketException(SocketErrorKind.DuplicateSessionName,
                                    $"A session named '{name}' already exists (Id {other.Id}). Remove it or choose another name.", target: name);
                            }

                            s_sessions.TryRemove(other.Id, out _);
                        }
                    }
                }

                session.Id = Interlocked.Increment(ref s_lastId);
                session.Name = name;
                s_sessions[session.Id] = session;
            }

            return session;
        }

        /// <summary>The session with that Id, or null.</summary>
        public static SocketSession? Get(int id) => s_sessions.TryGetValue(id, out var s) ? s : null;

        /// <summary>The session with that name (case-insensitive), preferring a live one, or null.</summary>
        public static SocketSession? Get(string name)
        {
            SocketSession? found = null;
            foreach (var s in s_sessions.Values)
            {
                if (string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase) && (found is null || found.State is SessionState.Closed or SessionState.Stopped))
                {
                    found = s;
                }
            }

            return found;
        }

        /// <summary>
        /// Finds a session from what a user typed or piped: a session, an Id (number or numeric
        /// string) or a Name. Returns null when there is none.
        /// </summary>
        public static SocketSession? Resolve(object? value)
        {
            switch (value)
            {
                case null:
                    return null;
                case SocketSession session:
                    return s_sessions.TryGetValue(session.Id, out var registered) && ReferenceEquals(registered, session) ? session : null;
                case int id:
                    return Get(id);
                case long or short or byte or uint or ushort or ulong:
                    var l = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                    return l is > 0 and <= int.MaxValue ? Get((int)l) : null;
                case string text:
                    var byName = Get(text);
                    if (byName is not null)
                    {
                        return byName;
                    }

                    return int.TryParse(text.Trim().TrimStart('#'), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? Get(n) : null;
                default:
                    return null;
            }
        }

        /// <summary>A copy of the registered sessions, ordered by Id: safe to enumerate while removing.</summary>
        public static SocketSession[] GetAll() => s_sessions.Values.OrderBy(s => s.Id).ToArray();

        /// <summary>Closes the session and removes it from the registry.</summary>
        public static bool Remove(SocketSession session, string reason = "Removed by the user")
        {
            if (session is null)
            {
                throw new ArgumentNullException(nameof(session));
            }

            // Unregister first: a session that is closed but still registered could be evicted
            // meanwhile by a Register that reuses its name, and this call would then report false.
            bool removed = Unregister(session);
            session.Close(reason);
            return removed;
        }

        /// <summary>Unregisters without closing (for sessions handed over to a new owner).</summary>
        internal static bool Unregister(SocketSession session) =>
            ((ICollection<KeyValuePair<int, SocketSession>>)s_sessions).Remove(new KeyValuePair<int, SocketSession>(session.Id, session));

        /// <summary>Closes and removes every session (module removal).</summary>
        public static int CloseAll(string reason)
        {
            int n = 0;
            foreach (var s in GetAll())
            {
                if (Remove(s, reason))
                {
                    n++;
                }
            }

            return n;
        }
    }
}

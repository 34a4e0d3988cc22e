namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the registered sessions, optionally filtered by Id, Name, Kind or State.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "SocketSession", DefaultParameterSetName = "All")]
    [OutputType(typeof(SocketSession))]
    public sealed class GetSocketSessionCommand : PSSocketCmdlet
    {
        /// <summary>Only the sessions with these Ids.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = "Id")]
        [Alias("SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        public int[]? Id { get; set; }

        /// <summary>Only the sessions whose Name matches (wildcards allowed); an Id given here (3 or '#3') finds that session, so `Get-SocketSession redis` and `Get-SocketSession 3` both work.</summary>
        [Parameter(Position = 0, ParameterSetName = "Name")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(SessionCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only sessions of these kinds.</summary>
        [Parameter]
        public SessionKind[]? Kind { get; set; }

        /// <summary>Only sessions in these states.</summary>
        [Parameter]
        public SessionState[]? State { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var all = SessionManager.GetAll();
            if (Id is not null)
            {
                foreach (int id in Id)
                {
                    var s = all.FirstOrDefault(x => x.Id == id);
                    if (s is null)
                    {
                        WriteError(ErrorRecords.SessionNotFound(id));
                    }
                    else if (Wanted(s))
                    {
                        WriteObject(s);
                    }
                }

                return;
            }

            if (Name is not null)
            {
                foreach (string name in Name)
                {
                    var hits = SessionNames.Match(all, name);
                    if (hits is null)
                    {
                        WriteError(ErrorRecords.SessionNotFound(name));
                        continue;
                    }

                    foreach (var s in hits.Where(Wanted))
                    {
                        WriteObject(s);
                    }
                }

                return;
            }

            // Servers and relays after the other sessions: the list then opens with the connections'
            // table, which shows a server's listening endpoint and a relay's target too.
            foreach (var s in all.Where(Wanted).OrderBy(x => x is SocketServerSession ? 1 : 0).ThenBy(x => x.Id))
            {
                WriteObject(s);
            }
        }

        private bool Wanted(SocketSession s)
        {
            // Listing is where a user expects fresh state (a peer that closed since the last read).
            s.RefreshState();
            return (Kind is null || Kind.Contains(s.Kind)) && (State is null || State.Contains(s.State));
        }
    }

    /// <summary>How Get-SocketSession and Remove-SocketSession read a name: a wildcard pattern, a Name, or an Id.</summary>
    internal static class SessionNames
    {
        /// <summary>
        /// The sessions a name selects: every Name a wildcard pattern matches (possibly none), else
        /// the session with that Name or Id; null when a plain name finds nothing.
        /// </summary>
        public static IReadOnlyList<SocketSession>? Match(SocketSession[] all, string name)
        {
            if (WildcardPattern.ContainsWildcardCharacters(name))
            {
                var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                return all.Where(s => s.Name is not null && pattern.IsMatch(s.Name)).ToArray();
            }

            var one = SessionManager.Resolve(name);
            return one is null ? null : new[] { one };
        }
    }
}

using System.Linq;
using System.Management.Automation;

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
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Id")]
        [Alias("SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        public int[]? Id { get; set; }

        /// <summary>Only the sessions whose Name matches (wildcards allowed).</summary>
        [Parameter(ParameterSetName = "Name")]
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
                    var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                    var hits = all.Where(s => s.Name is not null && pattern.IsMatch(s.Name)).ToArray();
                    if (hits.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                    {
                        WriteError(ErrorRecords.SessionNotFound(name));
                    }

                    foreach (var s in hits.Where(Wanted))
                    {
                        WriteObject(s);
                    }
                }

                return;
            }

            foreach (var s in all.Where(Wanted))
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
}

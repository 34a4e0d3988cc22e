namespace PSSocket.Commands
{
    /// <summary>
    /// The checks of parameters that parameter sets cannot say without splitting a cmdlet's sets
    /// for users (a parameter that means something only beside another, a -TlsServerName that
    /// is not a host name): written once, each error naming the parameters that do not go together.
    /// </summary>
    public abstract partial class PSSocketCmdlet
    {
        private int _targetEntries;

        /// <summary>
        /// Refuses (terminating InvalidArgument) any of <paramref name="given"/> bound without one of
        /// <paramref name="needs"/>: "-A and -B apply to WHAT: add -C (or -D)." names only the
        /// parameters the user gave. A switch given as :$false counts as not given.
        /// </summary>
        protected void Require(string what, string[] needs, params string[] given)
        {
            var bound = given.Where(IsGiven).ToArray();
            if (bound.Length == 0 || needs.Any(IsGiven))
            {
                return;
            }

            string names = Join(bound, "and");
            string verb = bound.Length == 1 ? "applies" : "apply";
            ThrowTerminatingError(ErrorRecords.InvalidArgument($"{names} {verb} to {what}: add {Join(needs, "or")}.", bound.Length == 1 ? bound[0] : null));
        }

        /// <summary>True when the parameter was bound with a value that says something (not null, not a switch set to $false).</summary>
        protected bool IsGiven(string parameter) =>
            MyInvocation.BoundParameters.TryGetValue(parameter, out var value)
            && value is not null and not SwitchParameter { IsPresent: false } and not false;

        /// <summary>Refuses (terminating InvalidArgument) a -TlsServerName that is not a host name, before anything connects.</summary>
        protected void CheckTlsServerName(string? name)
        {
            if (name is not null && TlsDiagnostics.CheckHostName(name) is { } badName)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument($"-TlsServerName '{TlsDiagnostics.Escape(name)}' is not a host name: {badName}.", "TlsServerName"));
            }
        }

        /// <summary>
        /// Checks or resolves an argument with the engine before any work starts: what the engine
        /// refuses (PSSocketException) is misuse, so a terminating error.
        /// </summary>
        protected T Checked<T>(Func<T> check)
        {
            try
            {
                return check();
            }
            catch (PSSocketException ex)
            {
                ThrowTerminatingError(ErrorRecords.From(ex));
                throw;
            }
        }

        /// <summary>Checks an argument with the engine before any work starts (see the other overload).</summary>
        protected void Checked(Action check) => Checked(() =>
        {
            check();
            return true;
        });

        /// <summary>
        /// Counts one entry of a target list (-ComputerName, piped or a list) and says whether it
        /// names something: a blank entry is that entry's non-terminating error, named by its
        /// position, and the rest goes on.
        /// </summary>
        protected bool IsTargetEntry(string? entry)
        {
            _targetEntries++;
            if (!string.IsNullOrWhiteSpace(entry))
            {
                return true;
            }

            WriteError(ErrorRecords.BlankTarget(entry, _targetEntries));
            return false;
        }

        private static string Join(IReadOnlyList<string> names, string conjunction)
        {
            var dashed = names.Select(n => "-" + n).ToArray();
            return dashed.Length == 1 ? dashed[0] : string.Join(", ", dashed.Take(dashed.Length - 1)) + $" {conjunction} " + dashed[dashed.Length - 1];
        }
    }
}

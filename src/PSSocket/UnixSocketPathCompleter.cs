using System.Management.Automation.Language;

namespace PSSocket
{
    /// <summary>
    /// Completes Unix socket paths: the folders and socket files under what is typed (other files
    /// are left out: they cannot be connected to), and with nothing typed the sockets daemons
    /// usually keep in /run, /var/run and /tmp.
    /// </summary>
    public sealed class UnixSocketPathCompleter : IArgumentCompleter
    {
        private const int Most = 100;

        private static readonly string[] s_usualFolders = { "/run", "/var/run", "/tmp" };

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            if (word.StartsWith("@", StringComparison.Ordinal))
            {
                return Array.Empty<CompletionResult>();
            }

            var candidates = word.Length == 0
                ? s_usualFolders.SelectMany(d => Entries(d, "")).Where(e => !e.IsFolder)
                : Entries(Path.GetDirectoryName(word) is { Length: > 0 } dir ? dir : ".", Path.GetFileName(word), word.Contains('/') ? null : ".");
            return candidates.Take(Most).Select(e => new CompletionResult(
                SessionCompleter.Quote(e.Path), e.Path, CompletionResultType.ParameterValue, e.IsFolder ? "folder" : "socket")).ToArray();
        }

        private static IEnumerable<(string Path, bool IsFolder)> Entries(string folder, string prefix, string? shownAs = null)
        {
            IEnumerable<string> names;
            try
            {
                names = Directory.EnumerateFileSystemEntries(folder, prefix + "*").ToArray();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Security.SecurityException)
            {
                yield break;
            }

            foreach (string full in names.OrderBy(n => n, StringComparer.Ordinal))
            {
                string path = shownAs is null ? full : Path.GetFileName(full);
                if (Directory.Exists(full))
                {
                    yield return (path + "/", true);
                }
                else if (UnixSockets.IsSocket(full))
                {
                    yield return (path, false);
                }
            }
        }
    }
}

using System.Management.Automation.Language;
using PSSocket.Sessions.Devices;

namespace PSSocket
{
    /// <summary>
    /// Device profiles from PowerShell data: the module's DeviceProfiles.psd1 (read once, on first
    /// use) and the hashtables or .psd1 files users give with -DeviceProfile.
    /// </summary>
    internal static class DeviceProfileArguments
    {
        /// <summary>The file of built-in profiles, beside the module's assembly.</summary>
        public const string FileName = "DeviceProfiles.psd1";

        /// <summary>Points the engine's catalog at the module's profile file.</summary>
        public static void EnsureBuiltIn()
        {
            string folder = Path.GetDirectoryName(typeof(DeviceProfileArguments).Assembly.Location) ?? ".";
            DeviceProfiles.SetBuiltInSource(() => ReadFile(Path.Combine(folder, FileName)));
        }

        /// <summary>
        /// Adds the profiles a -DeviceProfile argument holds (a hashtable or the path of a .psd1
        /// file: either one profile with a Name key, or a table of name = profile) and returns the
        /// one profile it holds, or null when it holds several.
        /// </summary>
        /// <exception cref="ArgumentException">The data is not a profile; the message says why.</exception>
        public static DeviceProfile? Add(PSCmdlet cmdlet, object argument)
        {
            EnsureBuiltIn();
            var raw = argument is PSObject pso ? pso.BaseObject : argument;
            string source = "Hashtable";
            IDictionary table;
            switch (raw)
            {
                case IDictionary d:
                    table = d;
                    break;
                case string path:
                    source = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                    table = ReadFile(source);
                    break;
                default:
                    throw new ArgumentException("-DeviceProfile takes a hashtable or the path of a .psd1 file.");
            }

            var nameKey = table.Keys.Cast<object>().FirstOrDefault(k => string.Equals(k as string, "Name", StringComparison.OrdinalIgnoreCase));
            if (nameKey is not null)
            {
                var single = new Hashtable(StringComparer.OrdinalIgnoreCase);
                foreach (DictionaryEntry e in table)
                {
                    if (!ReferenceEquals(e.Key, nameKey))
                    {
                        single[e.Key] = Unwrap(e.Value);
                    }
                }

                return DeviceProfiles.AddAll(new Hashtable { [Convert.ToString(table[nameKey], System.Globalization.CultureInfo.InvariantCulture) ?? ""] = single }, source)[0];
            }

            var added = DeviceProfiles.AddAll(Unwrapped(table), source);
            return added.Count == 1 ? added[0] : null;
        }

        /// <summary>
        /// The profile a command uses: the one -DeviceProfile gave, else -DeviceType, else the
        /// session's DeviceType, else generic.
        /// </summary>
        public static DeviceProfile Resolve(DeviceProfile? given, string? deviceType, SocketSession? session)
        {
            EnsureBuiltIn();
            if (!string.IsNullOrWhiteSpace(deviceType))
            {
                return DeviceProfiles.Get(deviceType);
            }

            return given ?? DeviceProfiles.Get(session?.DeviceType);
        }

        /// <summary>Reads a .psd1 file of profiles as data (no code runs).</summary>
        public static Hashtable ReadFile(string path)
        {
            if (!File.Exists(path))
            {
                throw new ArgumentException($"the device profile file '{path}' does not exist.");
            }

            var ast = Parser.ParseFile(path, out _, out var errors);
            if (errors.Length > 0)
            {
                throw new ArgumentException($"the device profile file '{path}' is not valid PowerShell data: {errors[0].Message} (line {errors[0].Extent.StartLineNumber}).");
            }

            if (ast.Find(a => a is HashtableAst, false) is not HashtableAst data)
            {
                throw new ArgumentException($"the device profile file '{path}' holds no hashtable.");
            }

            try
            {
                return (Hashtable)data.SafeGetValue();
            }
            catch (InvalidOperationException ex)
            {
                throw new ArgumentException($"the device profile file '{path}' may hold data only (strings, numbers, arrays, hashtables): {ex.Message}", ex);
            }
        }

        private static Hashtable Unwrapped(IDictionary table)
        {
            var copy = new Hashtable(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry e in table)
            {
                copy[e.Key] = Unwrap(e.Value);
            }

            return copy;
        }

        private static object? Unwrap(object? value) => value switch
        {
            PSObject p => Unwrap(p.BaseObject),
            IDictionary d => Unwrapped(d),
            string s => s,
            IEnumerable items => items.Cast<object?>().Select(Unwrap).ToArray(),
            _ => value,
        };
    }
}

using System.Collections;

namespace PSSocket.Sessions.Devices
{
    /// <summary>
    /// The device profiles of this process: the module's own file, loaded once, and the ones users
    /// add (which replace a profile of the same name). Thread-safe; every runspace sees the same.
    /// </summary>
    public static class DeviceProfiles
    {
        /// <summary>The type used when none is given or stored on the session.</summary>
        public const string DefaultType = "generic";

        private static readonly ConcurrentDictionary<string, DeviceProfile> s_profiles = new(StringComparer.OrdinalIgnoreCase);
        private static readonly object s_loadLock = new();
        private static Func<IDictionary>? s_builtIn;
        private static bool s_loaded;

        /// <summary>Tells the catalog where its built-in profiles come from (read on first use).</summary>
        public static void SetBuiltInSource(Func<IDictionary> read) => s_builtIn ??= read;

        /// <summary>Every profile, by name.</summary>
        public static IReadOnlyList<DeviceProfile> All
        {
            get
            {
                EnsureLoaded();
                return s_profiles.Values.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase).ToArray();
            }
        }

        /// <summary>The profile of that name, or null.</summary>
        public static DeviceProfile? Find(string name)
        {
            EnsureLoaded();
            return s_profiles.TryGetValue(name.Trim(), out var p) ? p : null;
        }

        /// <summary>The profile of that name; InvalidArgument naming the known types when there is none.</summary>
        public static DeviceProfile Get(string? name)
        {
            string wanted = string.IsNullOrWhiteSpace(name) ? DefaultType : name!.Trim();
            return Find(wanted) ?? throw new PSSocketException(SocketErrorKind.InvalidArgument,
                $"'{wanted}' is not a known device type. Known types: {string.Join(", ", All.Select(p => p.Name))}. Add one with Invoke-DeviceCommand -DeviceProfile (see about_PSSocket).",
                target: wanted);
        }

        /// <summary>Adds or replaces profiles from a table of name = keys (the shape of the profile file).</summary>
        public static IReadOnlyList<DeviceProfile> AddAll(IDictionary table, string source)
        {
            EnsureLoaded();
            return Load(table, source);
        }

        /// <summary>Adds or replaces one profile.</summary>
        public static DeviceProfile Add(DeviceProfile profile)
        {
            EnsureLoaded();
            s_profiles[profile.Name] = profile;
            return profile;
        }

        private static List<DeviceProfile> Load(IDictionary table, string source)
        {
            var added = new List<DeviceProfile>();
            var pending = table.Keys.Cast<object>().Select(k => Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToList();

            // Profiles may be based on others in the same table, in any order.
            while (pending.Count > 0)
            {
                int before = pending.Count;
                foreach (var name in pending.ToArray())
                {
                    if (table[name] is not IDictionary values)
                    {
                        throw new ArgumentException($"profile '{name}' is not a table of keys.");
                    }

                    string? baseName = values.Keys.Cast<object>().Where(k => string.Equals(k as string, "Base", StringComparison.OrdinalIgnoreCase)).Select(k => values[k] as string).FirstOrDefault();
                    if (baseName is not null && pending.Contains(baseName, StringComparer.OrdinalIgnoreCase) && !string.Equals(baseName, name, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    var profile = DeviceProfile.Parse(name, values, n => s_profiles.TryGetValue(n, out var b) ? b : null);
                    profile.Source = source;
                    s_profiles[profile.Name] = profile;
                    added.Add(profile);
                    pending.Remove(name);
                }

                if (pending.Count == before)
                {
                    throw new ArgumentException($"profiles {string.Join(", ", pending)} are based on each other in a circle.");
                }
            }

            return added;
        }

        private static void EnsureLoaded()
        {
            if (s_loaded)
            {
                return;
            }

            lock (s_loadLock)
            {
                if (!s_loaded && s_builtIn is not null)
                {
                    Load(s_builtIn(), "BuiltIn");
                    s_loaded = true;
                }
            }
        }
    }
}

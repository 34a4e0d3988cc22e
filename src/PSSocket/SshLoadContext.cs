#if NETSTANDARD
using System.Reflection;
using System.Runtime.Loader;

namespace PSSocket
{
    /// <summary>
    /// The SSH assemblies' own load context on PowerShell 7 (PowerShellEditorServices'
    /// PsesLoadContext is the model): SSH.NET and what it brings load from the module's ssh/
    /// folder here, whatever another module has loaded under the same names; the engine and the
    /// module resolve to the copies already loaded, so the interfaces are shared; the runtime's
    /// own assemblies come from the runtime.
    /// </summary>
    internal sealed class SshLoadContext : AssemblyLoadContext
    {
        private readonly string _folder;
        private readonly Dictionary<string, Assembly> _shared;
        private readonly HashSet<string> _platform;

        private SshLoadContext(string folder)
        {
            _folder = folder;
            var engine = typeof(Sessions.Ssh.ISshConnector).Assembly;
            var module = typeof(SshLoadContext).Assembly;
            _shared = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase)
            {
                [engine.GetName().Name!] = engine,
                [module.GetName().Name!] = module,
            };
            _platform = PlatformAssemblies();
        }

        /// <summary>Loads the SSH assembly into a new context over the folder.</summary>
        public static Assembly LoadSshAssembly(string folder, string path) => new SshLoadContext(folder).LoadFromAssemblyPath(path);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            string name = assemblyName.Name ?? "";
            if (_shared.TryGetValue(name, out var shared))
            {
                return shared;
            }

            if (_platform.Contains(name))
            {
                return null;
            }

            string candidate = Path.Combine(_folder, name + ".dll");
            return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
        }

        /// <summary>The runtime's own assembly names (its trusted platform assemblies): never taken from the folder, so System.Memory and the like stay the runtime's.</summary>
        private static HashSet<string> PlatformAssemblies()
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
            {
                foreach (var path in list.Split(Path.PathSeparator))
                {
                    if (path.Length > 0)
                    {
                        names.Add(Path.GetFileNameWithoutExtension(path));
                    }
                }
            }

            return names;
        }
    }
}
#endif

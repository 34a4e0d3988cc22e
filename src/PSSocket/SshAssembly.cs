using System.Reflection;
using System.Runtime.InteropServices;
using PSSocket.Sessions.Ssh;

namespace PSSocket
{
    /// <summary>
    /// Loads the SSH assembly (PSSocket.Ssh with SSH.NET and its dependencies, in the module's
    /// ssh/ folder, which PowerShell does not probe) on the first SSH call, never at import. On
    /// PowerShell 7 it goes into its own AssemblyLoadContext (SshLoadContext), so a different
    /// Renci.SshNet loaded by another module does not matter; on Windows PowerShell 5.1 a resolver
    /// answers for the names in that folder only. The module reaches it through ISshConnector.
    /// </summary>
    internal static class SshAssembly
    {
        private const string AssemblyName = "PSSocket.Ssh";
        private static readonly object s_lock = new();
        private static ISshConnector? s_connector;

        /// <summary>The folder beside the module's dll that holds the SSH assemblies.</summary>
        public static string Folder => Path.Combine(Path.GetDirectoryName(typeof(SshAssembly).Assembly.Location) ?? ".", "ssh");

        /// <summary>True once the SSH assembly is loaded.</summary>
        public static bool IsLoaded => s_connector is not null;

        /// <summary>The connector, loading the SSH assembly the first time.</summary>
        public static ISshConnector Connector
        {
            get
            {
                lock (s_lock)
                {
                    return s_connector ??= Load();
                }
            }
        }

        private static ISshConnector Load()
        {
            string path = Path.Combine(Folder, AssemblyName + ".dll");
            if (!File.Exists(path))
            {
                throw new PSSocketException(SocketErrorKind.NotSupportedOnThisPlatform, $"The SSH support of PSSocket is missing: '{path}' does not exist. Reinstall the module.", target: path);
            }

            var assembly = OnNetFramework ? LoadWithResolver(path) : LoadIntoOwnContext(path);
            var type = assembly.GetType("PSSocket.Ssh.SshConnector", throwOnError: true)!;
            return (ISshConnector)Activator.CreateInstance(type)!;
        }

        /// <summary>.NET Framework (Windows PowerShell 5.1) and Mono have no AssemblyLoadContext.</summary>
        private static bool OnNetFramework =>
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase)
            || Type.GetType("Mono.Runtime") is not null;

        private static Assembly LoadIntoOwnContext(string path)
        {
#if NETSTANDARD
            return SshLoadContext.LoadSshAssembly(Folder, path);
#else
            return LoadWithResolver(path);
#endif
        }

        private static Assembly LoadWithResolver(string path)
        {
            string folder = Folder;
            var engine = typeof(ISshConnector).Assembly;
            AppDomain.CurrentDomain.AssemblyResolve += (_, args) =>
            {
                string name = new AssemblyName(args.Name).Name ?? "";
                if (string.Equals(name, engine.GetName().Name, StringComparison.OrdinalIgnoreCase))
                {
                    return engine;
                }

                string candidate = Path.Combine(folder, name + ".dll");
                return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
            };
            return Assembly.LoadFrom(path);
        }
    }
}

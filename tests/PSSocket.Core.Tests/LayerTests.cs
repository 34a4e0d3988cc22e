using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The layers of the code base, checked on the built engine and on the source: the engine knows
    /// nothing of PowerShell, Net knows nothing of Sessions, and the cmdlets use only what the
    /// engine makes public.
    /// </summary>
    public class LayerTests
    {
        private static readonly System.Reflection.Assembly s_engine = typeof(SessionManager).Assembly;

        [Fact]
        public void TheEngineReferencesNoPowerShellAssembly()
        {
            var references = s_engine.GetReferencedAssemblies().Select(a => a.Name).ToArray();
            Assert.DoesNotContain(references, n => n!.StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase)
                || n.StartsWith("Microsoft.PowerShell", StringComparison.OrdinalIgnoreCase));
            Assert.Contains("netstandard", references);
        }

        [Fact]
        public void TheEngineSourceUsesNoPowerShellNamespace()
        {
            var offenders = SourceFiles("src/PSSocket.Core")
                .Where(f => Regex.IsMatch(WithoutComments(File.ReadAllText(f)), @"\bSystem\.Management\.Automation\b|\bPSObject\b|\bPSCmdlet\b"))
                .Select(Relative).ToArray();
            Assert.True(offenders.Length == 0, "These engine files use PowerShell types: " + string.Join(", ", offenders));
        }

        [Fact]
        public void NetUsesNoTypeOfSessions()
        {
            var sessionTypes = SourceFiles("src/PSSocket.Core/Sessions")
                .SelectMany(f => Regex.Matches(WithoutComments(File.ReadAllText(f)), @"\b(?:class|struct|enum|interface|record)\s+([A-Z]\w*)").Cast<Match>().Select(m => m.Groups[1].Value))
                .Distinct().ToArray();
            Assert.Contains("SocketSession", sessionTypes);
            Assert.Contains("SessionManager", sessionTypes);
            var word = new Regex(@"\b(" + string.Join("|", sessionTypes) + @")\b");
            var offenders = SourceFiles("src/PSSocket.Core/Net")
                .SelectMany(f => word.Matches(WithoutStrings(WithoutComments(File.ReadAllText(f)))).Cast<Match>().Select(m => $"{Relative(f)} uses {m.Value}"))
                .Distinct().ToArray();
            Assert.True(offenders.Length == 0, "Net must not depend on Sessions: " + string.Join("; ", offenders));
        }

        /// <summary>
        /// Types users name or meet in scripts, views, help and remoting (sessions, datagrams,
        /// results and records, the enums they pass or read) keep the module's root namespace
        /// wherever their file lives, so that PSSocket.TcpSession stays PSSocket.TcpSession.
        /// Everything else is machinery, and its namespace follows its folder.
        /// </summary>
        private static readonly string[] s_userVisible =
        {
            "SocketSession", "TcpSession", "UdpSession", "DatagramSession", "RawSession",
            "TcpListenerSession", "TlsListenerSession", "ServerClientSession",
            "SocketServerSession", "TcpServerSession", "UdpServerSession", "RelaySession", "UdpRelaySession",
            "SocketDatagram", "RawPacket", "ServerClientRecord", "UdpServerRequest", "SocketTranscriptInfo",
            "ConversationStepKind", "ConversationStepResult", "ConversationTranscript",
            "SessionKind", "SessionState", "TranscriptFormat", "IPFamily",
            "SshSession", "SshCommandResult",
            "DeviceProfile", "DeviceCommandResult", "DeviceTransport",
            "UnixSession", "UnixListenerSession", "UnixDatagramSession", "UnixSocketEndPoint",
        };

        [Fact]
        public void ANamespaceFollowsItsFolderExceptForTypesUsersSee()
        {
            var declared = NamespacesByType("src/PSSocket.Core").Concat(NamespacesByType("src/PSSocket")).ToArray();
            Assert.Contains(declared, d => d.Type == "Connection");
            Assert.Contains(declared, d => d.Type == "ConnectTcpSocketCommand");
            var offenders = declared
                .Where(d => d.Namespace != (s_userVisible.Contains(d.Type) ? "PSSocket" : d.Folder))
                .Select(d => $"{d.Type} in {d.File} is in {d.Namespace}, expected {(s_userVisible.Contains(d.Type) ? "PSSocket (users see it)" : d.Folder)}")
                .ToArray();
            Assert.True(offenders.Length == 0, "A type's namespace follows its folder: " + string.Join("; ", offenders));
        }

        [Fact]
        public void EveryTypeListedAsUserVisibleIsPublicInTheRootNamespace()
        {
            var missing = s_userVisible.Where(n => s_engine.GetType("PSSocket." + n) is not { IsPublic: true }).ToArray();
            Assert.True(missing.Length == 0, "Not public types of the engine: " + string.Join(", ", missing));
        }

        [Fact]
        public void OnlyTheEngineTestsSeeItsInternals()
        {
            var friends = s_engine.GetCustomAttributes(typeof(InternalsVisibleToAttribute), false)
                .Cast<InternalsVisibleToAttribute>().Select(a => a.AssemblyName.Split(',')[0].Trim()).ToArray();
            Assert.Equal(new[] { "PSSocket.Core.Tests" }, friends);
        }

        [Fact]
        public void TheCmdletsAreBuiltWithoutInternalsOfTheEngine()
        {
            string project = File.ReadAllText(Path.Combine(RepoRoot, "src/PSSocket.Core/PSSocket.Core.csproj"));
            Assert.DoesNotMatch(@"InternalsVisibleTo\s+Include=""PSSocket""", project);
            var cmdletSources = SourceFiles("src/PSSocket").Select(f => File.ReadAllText(f)).ToArray();
            Assert.DoesNotContain(cmdletSources, s => s.IndexOf("InternalsVisibleTo", StringComparison.Ordinal) >= 0 && s.IndexOf("PSSocket.Core", StringComparison.Ordinal) >= 0);
        }

        private static string RepoRoot
        {
            get
            {
                // The test assembly's own folder: on Mono the tests run in the runner's app domain
                // (-noappdomain), whose base directory is the runner's folder.
                string start = Path.GetDirectoryName(typeof(LayerTests).Assembly.Location)!;
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "PSSocket.sln")))
                    {
                        return dir.FullName;
                    }
                }

                throw new InvalidOperationException("PSSocket.sln not found above " + start);
            }
        }

        private static string[] SourceFiles(string folder) =>
            Directory.GetFiles(Path.Combine(RepoRoot, folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => f.IndexOf($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) < 0
                    && f.IndexOf($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal) < 0)
                .ToArray();

        /// <summary>
        /// Each top-level type a project declares, with its namespace and the one its folder
        /// gives: the project's root namespace and the folders below it. A Base folder holds a
        /// namespace's base classes and belongs to its parent (Commands/Base is PSSocket.Commands).
        /// </summary>
        private static (string Type, string Namespace, string Folder, string File)[] NamespacesByType(string project)
        {
            string root = Path.Combine(RepoRoot, project);
            var declaration = new Regex(@"^(?:namespace\s+(?<ns>[\w.]+)|(?:    )?(?:(?:public|internal|static|sealed|abstract|readonly|partial|unsafe)\s+)*(?:class|struct|enum|interface|record(?:\s+struct)?|delegate\s+[\w<>\[\],.?\s]+?)\s+(?<type>[A-Z]\w*))", RegexOptions.Multiline);
            return SourceFiles(project).SelectMany(file =>
            {
                var folders = Path.GetDirectoryName(file)!.Substring(root.Length)
                    .Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries)
                    .Where(f => f != "Base");
                string folder = string.Join(".", new[] { "PSSocket" }.Concat(folders));
                string ns = "";
                var types = new System.Collections.Generic.List<(string, string, string, string)>();
                foreach (Match m in declaration.Matches(WithoutComments(File.ReadAllText(file))))
                {
                    if (m.Groups["ns"].Success)
                    {
                        ns = m.Groups["ns"].Value;
                    }
                    else
                    {
                        types.Add((m.Groups["type"].Value, ns, folder, Relative(file)));
                    }
                }

                return types;
            }).ToArray();
        }

        private static string Relative(string path) => path.Substring(RepoRoot.Length).TrimStart(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);

        private static string WithoutComments(string source) =>
            Regex.Replace(source, @"//[^\n]*|/\*.*?\*/", "", RegexOptions.Singleline);

        /// <summary>Drops the text of string literals: a message that says "Connection refused" names no type.</summary>
        private static string WithoutStrings(string source) =>
            Regex.Replace(source, @"""(?:[^""\\\n]|\\.)*""", "\"\"");
    }
}

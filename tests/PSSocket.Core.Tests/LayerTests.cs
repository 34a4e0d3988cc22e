using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
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
                .SelectMany(f => word.Matches(WithoutComments(File.ReadAllText(f))).Cast<Match>().Select(m => $"{Relative(f)} uses {m.Value}"))
                .Distinct().ToArray();
            Assert.True(offenders.Length == 0, "Net must not depend on Sessions: " + string.Join("; ", offenders));
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
                for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "PSSocket.sln")))
                    {
                        return dir.FullName;
                    }
                }

                throw new InvalidOperationException("PSSocket.sln not found above " + AppContext.BaseDirectory);
            }
        }

        private static string[] SourceFiles(string folder) =>
            Directory.GetFiles(Path.Combine(RepoRoot, folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => f.IndexOf($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) < 0
                    && f.IndexOf($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal) < 0)
                .ToArray();

        private static string Relative(string path) => path.Substring(RepoRoot.Length).TrimStart(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);

        private static string WithoutComments(string source) =>
            Regex.Replace(source, @"//[^\n]*|/\*.*?\*/", "", RegexOptions.Singleline);
    }
}

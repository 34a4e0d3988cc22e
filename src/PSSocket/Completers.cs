using System.Management.Automation.Language;

namespace PSSocket
{
    /// <summary>
    /// Completes live session Ids and Names, offering only sessions the command can use: servers for
    /// the server cmdlets, listeners for -Listener, data sessions for the cmdlets that send and
    /// receive; only Ids for -Id and only Names for -Name.
    /// </summary>
    public sealed class SessionCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            bool namesOnly = string.Equals(parameterName, "Name", StringComparison.OrdinalIgnoreCase);
            bool idsOnly = string.Equals(parameterName, "Id", StringComparison.OrdinalIgnoreCase);
            var usable = UsableBy(commandName, parameterName);
            foreach (var s in SessionManager.GetAll())
            {
                if (!usable(s))
                {
                    continue;
                }

                string tip = $"{s.Kind} {s.State} {Net.Endpoints.Format(s.LocalEndPoint)} -> {Net.Endpoints.Format(s.RemoteEndPoint)}";
                if (!idsOnly && s.Name is not null && s.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                {
                    yield return new CompletionResult(Quote(s.Name), s.Name, CompletionResultType.ParameterValue, tip);
                }
                else if (!namesOnly)
                {
                    string id = s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (id.StartsWith(word, StringComparison.Ordinal))
                    {
                        yield return new CompletionResult(id, s.Name is null ? id : $"{id} ({s.Name})", CompletionResultType.ParameterValue, tip);
                    }
                }
            }
        }

        /// <summary>Which sessions a command's parameter accepts.</summary>
        internal static Func<SocketSession, bool> UsableBy(string? commandName, string? parameterName)
        {
            if (string.Equals(parameterName, "Listener", StringComparison.OrdinalIgnoreCase))
            {
                return s => s.Kind is SessionKind.TcpListener or SessionKind.UnixListener;
            }

            switch ((commandName ?? "").ToUpperInvariant())
            {
                case "STOP-SOCKETRELAY":
                    return s => s.Kind == SessionKind.Relay;
                case "STOP-SOCKETSERVER":
                case "WAIT-SOCKETSERVER":
                case "RECEIVE-SOCKETSERVEROUTPUT":
                    return s => s is SocketServerSession;
                case "SEND-SOCKETDATA":
                case "RECEIVE-SOCKETDATA":
                    return s => s is TcpSession or DatagramSession;
                case "INVOKE-SSHCOMMAND":
                    return s => s is SshSession;
                case "ENTER-SOCKETSESSION":
                case "INVOKE-SOCKETCONVERSATION":
                case "START-SOCKETTLS":
                case "START-SOCKETTRANSCRIPT":
                case "STOP-SOCKETTRANSCRIPT":
                    return s => s is TcpSession;
                default:
                    return _ => true;
            }
        }

        private static readonly char[] s_special = { ' ', '\'', '"', '$', '`', ';', '(', ')', '{', '}', ',', '&', '|', '@', '#' };

        internal static string Quote(string s) => s.IndexOfAny(s_special) >= 0 ? "'" + s.Replace("'", "''") + "'" : s;
    }

    /// <summary>Completes encoding names.</summary>
    public sealed class EncodingCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => TextEncoding.KnownNames;
    }

    /// <summary>Turns an encoding name or code page (or an Encoding object) into an Encoding.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class EncodingTransformationAttribute : PSSocketTransformationAttribute
    {
        /// <inheritdoc />
        protected override object? TransformValue(object? raw, object? inputData) => raw switch
        {
            null => null,
            System.Text.Encoding e => e,
            int cp => TextEncoding.Resolve(cp.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => TextEncoding.Resolve(raw.ToString() ?? ""),
        };
    }

    /// <summary>
    /// A parameter transformation of PSSocket: it sees the value unwrapped from its PSObject, and
    /// an invalid value the engine reports (PSSocketException) becomes PowerShell's transformation
    /// error, naming the parameter.
    /// </summary>
    public abstract class PSSocketTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public sealed override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            try
            {
                return TransformValue(inputData is PSObject pso ? pso.BaseObject : inputData, inputData);
            }
            catch (PSSocketException ex)
            {
                throw new ArgumentTransformationMetadataException(ex.Message, ex);
            }
        }

        /// <summary>The value for the parameter: <paramref name="raw"/> is the value unwrapped; return <paramref name="inputData"/> to leave it to PowerShell's own conversion.</summary>
        protected abstract object? TransformValue(object? raw, object? inputData);
    }
}

namespace PSSocket
{
    /// <summary>Completes from a fixed list of words.</summary>
    public abstract class WordCompleter : IArgumentCompleter
    {
        /// <summary>The words offered.</summary>
        protected abstract IEnumerable<string> Words { get; }

        /// <summary>The words offered to this command with these parameters bound so far (default: <see cref="Words"/>).</summary>
        protected virtual IEnumerable<string> WordsFor(string commandName, IDictionary fakeBoundParameters) => Words;

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            return WordsFor(commandName, fakeBoundParameters)
                .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }
    }

    /// <summary>
    /// Completes well-known service names for a single -Port: UDP names for the UDP cmdlets and for
    /// Start-SocketRelay -Udp, TCP names otherwise.
    /// </summary>
    public sealed class ServiceNameCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => ServiceTable.Tcp.Names;

        /// <inheritdoc />
        protected override IEnumerable<string> WordsFor(string commandName, IDictionary fakeBoundParameters) =>
            ServiceTables.For(commandName, fakeBoundParameters).Names;
    }

    /// <summary>Which service table a command's ports use.</summary>
    internal static class ServiceTables
    {
        /// <summary>UDP for the UDP cmdlets (Test-UdpPort, Invoke-UdpSend, New-UdpListener) and for a command given -Udp; TCP otherwise.</summary>
        public static ServiceTable For(string? commandName, IDictionary? boundParameters) =>
            (commandName ?? "").IndexOf("Udp", StringComparison.OrdinalIgnoreCase) >= 0
            || (boundParameters is not null && boundParameters.Contains("Udp") && LanguagePrimitives.IsTrue(boundParameters["Udp"]))
                ? ServiceTable.Udp
                : ServiceTable.Tcp;
    }

    /// <summary>The service names a port parameter takes.</summary>
    public enum ServiceProtocol
    {
        /// <summary>TCP service names (http, redis, ssh ...).</summary>
        Tcp,

        /// <summary>UDP service names (dns, ntp, snmp, syslog ...).</summary>
        Udp,

        /// <summary>Either (a command that relays TCP or, with -Udp, UDP): TCP names first, then UDP ones.</summary>
        Any,
    }

    /// <summary>Turns a well-known service name (http, redis, ntp ...) given for a port into its number.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class ServicePortTransformationAttribute : PSSocketTransformationAttribute
    {
        /// <summary>Which service names the parameter takes (default Tcp).</summary>
        public ServiceProtocol Protocol { get; set; }

        /// <inheritdoc />
        protected override object? TransformValue(object? raw, object? inputData)
        {
            if (raw is string text && !int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                string name = text.Trim();
                int port = 0;
                bool found = Protocol switch
                {
                    ServiceProtocol.Udp => ServiceTable.Udp.TryGetPort(name, out port),
                    ServiceProtocol.Any => ServiceTable.Tcp.TryGetPort(name, out port) || ServiceTable.Udp.TryGetPort(name, out port),
                    _ => ServiceTable.Tcp.TryGetPort(name, out port),
                };
                string examples = Protocol == ServiceProtocol.Udp ? "dns, ntp, snmp, syslog, tftp, ..." : "http, https, ssh, redis, ...";
                return found ? port
                    : throw new ArgumentTransformationMetadataException($"'{text}' is not a port number or a known service name ({examples}); give the number.");
            }

            return inputData;
        }
    }

    /// <summary>Turns a probe name (Dns, Ntp, Snmp, None, Auto, or a service such as domain) into a UdpProbe; a blank value (an empty CSV cell) is Auto.</summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class UdpProbeTransformationAttribute : PSSocketTransformationAttribute
    {
        /// <inheritdoc />
        protected override object? TransformValue(object? raw, object? inputData) => raw switch
        {
            null => UdpProbe.Auto,
            string text when string.IsNullOrWhiteSpace(text) => UdpProbe.Auto,
            string text => UdpProbePlan.ProbeNamed(text, text),
            _ => inputData,
        };
    }

    /// <summary>Completes the proxy schemes for -Proxy (never file names).</summary>
    public sealed class ProxyCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => new[] { "socks5://", "socks5h://", "socks4://", "socks4a://", "http://" };
    }

    /// <summary>Completes listener bind addresses.</summary>
    public sealed class BindAddressCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => new[] { "Loopback", "Any", "IPv6Loopback", "IPv4Any", "IPv6Any" };
    }

    /// <summary>Completes device type names (the profiles Get-DeviceProfile lists).</summary>
    public sealed class DeviceTypeCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words
        {
            get
            {
                DeviceProfileArguments.EnsureBuiltIn();
                return Sessions.Devices.DeviceProfiles.All.Select(p => p.Name);
            }
        }
    }
}

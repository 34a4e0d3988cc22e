using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace PSSocket
{
    /// <summary>Completes live session Ids and Names.</summary>
    public sealed class SessionCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            bool namesOnly = string.Equals(parameterName, "Name", StringComparison.OrdinalIgnoreCase);
            bool listenersOnly = string.Equals(parameterName, "Listener", StringComparison.OrdinalIgnoreCase);
            foreach (var s in SessionManager.GetAll())
            {
                if (listenersOnly && s.Kind != SessionKind.TcpListener)
                {
                    continue;
                }

                string tip = $"{s.Kind} {s.State} {Net.Endpoints.Format(s.LocalEndPoint)} -> {Net.Endpoints.Format(s.RemoteEndPoint)}";
                if (s.Name is not null && s.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
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
    public sealed class EncodingTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            var raw = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (raw)
            {
                case null:
                    return null;
                case System.Text.Encoding e:
                    return e;
                case int cp:
                    raw = cp.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }

            try
            {
                return TextEncoding.Resolve(raw.ToString() ?? "");
            }
            catch (PSSocketException ex)
            {
                throw new ArgumentTransformationMetadataException(ex.Message, ex);
            }
        }
    }
}

namespace PSSocket
{
    /// <summary>Completes from a fixed list of words.</summary>
    public abstract class WordCompleter : IArgumentCompleter
    {
        /// <summary>The words offered.</summary>
        protected abstract IEnumerable<string> Words { get; }

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            return Words
                .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
        }
    }

    /// <summary>Completes listener bind addresses.</summary>
    public sealed class BindAddressCompleter : WordCompleter
    {
        /// <inheritdoc />
        protected override IEnumerable<string> Words => new[] { "Loopback", "Any", "IPv6Loopback", "IPv4Any", "IPv6Any" };
    }
}

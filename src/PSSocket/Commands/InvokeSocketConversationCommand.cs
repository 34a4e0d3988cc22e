using System.Globalization;
using System.Text.RegularExpressions;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Runs an expect-style script on a session: send, wait for prompts, capture what arrives.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "SocketConversation")]
    [OutputType(typeof(ConversationTranscript))]
    public sealed class InvokeSocketConversationCommand : PipedSessionCmdlet
    {
        private List<ConversationStep> _steps = new();

        /// <summary>
        /// The steps, in order: hashtables or objects with the keys Expect (text to wait for),
        /// Regex ($true when Expect is a regular expression; its named groups become captures),
        /// Send (text: a string, char[], char or number; a SecureString that never appears in the
        /// transcript; or bytes: what Send-SocketData would send; anything else is InvalidArgument),
        /// Line (append the session NewLine to Send; default $true for text), Timeout (seconds),
        /// Capture (a name for the text received before the match), Delay (seconds to pause first),
        /// Fail (text, or with Regex a regular expression, that ends the step as failed when it
        /// arrives before Expect, such as '% Invalid input'),
        /// Page (a pager prompt regex such as '--More--' answered while waiting for Expect) and
        /// PageSend (the answer to the pager, default one space). A step that has both Send and
        /// Expect sends first.
        /// </summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public object[] Script { get; set; } = Array.Empty<object>();

        /// <summary>Seconds each expectation may wait unless its step says otherwise (default 10; 0 waits forever).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>The most bytes one expectation may buffer while looking for its match (default 16 MiB).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int MaxBytes { get; set; } = TcpSession.DefaultMaxBytes;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            _steps = new List<ConversationStep>(Script.Length);
            for (int i = 0; i < Script.Length; i++)
            {
                try
                {
                    _steps.Add(ParseStep(Script[i]));
                }
                catch (ArgumentException ex)
                {
                    ThrowTerminatingError(ErrorRecords.InvalidArgument($"Script step {i + 1}: {ex.Message}", Script[i]));
                }
            }
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpSession>(session, "Invoke-SocketConversation needs a connected Tcp session") is not { } tcp)
            {
                return;
            }

            var conversation = ConversationRunner.Begin(tcp);
            PSSocketException? failure = null;
            for (int i = 0; i < _steps.Count && failure is null; i++)
            {
                var step = _steps[i];
                int index = i + 1;
                try
                {
                    var result = Run(t => ConversationRunner.RunStepAsync(tcp, step, index, conversation, Seconds(Timeout), MaxBytes, t));
                    Verbose(() => Describe(tcp, result));
                }
                catch (PSSocketException ex)
                {
                    failure = ex;
                }
            }

            ConversationRunner.End(conversation);
            WriteObject(conversation);
            if (failure is not null)
            {
                WriteError(ErrorRecords.ConversationFailed(failure, conversation));
            }
        }

        private static string Describe(TcpSession tcp, ConversationStepResult r)
        {
            string what = r.Kind switch
            {
                ConversationStepKind.Send => $"sent '{r.Sent}'",
                ConversationStepKind.Expect => $"matched '{r.Match?.Value}'",
                ConversationStepKind.SendExpect => $"sent '{r.Sent}', matched '{r.Match?.Value}'",
                _ => "paused",
            };
            string pages = r.Pages > 0 ? $" after {r.Pages} pages" : "";
            return $"Session {tcp.Id} step {r.Index}: {what}{pages} ({r.Duration.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)} s)";
        }

        /// <summary>Turns a hashtable or object into a step; ArgumentException says what is wrong.</summary>
        internal static ConversationStep ParseStep(object? item)
        {
            var values = ToDictionary(item is PSObject pso && pso.BaseObject is IDictionary d ? d : item);
            foreach (var key in new List<string>(values.Keys))
            {
                // The engine knows SecureString; a PSCredential sends its password.
                if (values[key] is PSCredential credential)
                {
                    values[key] = credential.Password;
                }
            }

            return ConversationStep.Parse(values);
        }

        private static Dictionary<string, object?> ToDictionary(object? item)
        {
            var values = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            switch (item)
            {
                case null:
                    throw new ArgumentException("the step is null.");
                case IDictionary dictionary:
                    foreach (DictionaryEntry e in dictionary)
                    {
                        values[e.Key?.ToString() ?? ""] = Unwrap(e.Value);
                    }

                    break;
                default:
                    var pso = item as PSObject ?? PSObject.AsPSObject(item);
                    if (pso.BaseObject is string)
                    {
                        throw new ArgumentException("a step is a hashtable such as @{ Expect = 'login:' } or @{ Send = 'admin' }, not a string.");
                    }

                    foreach (var p in pso.Properties)
                    {
                        if (p.IsGettable)
                        {
                            values[p.Name] = Unwrap(p.Value);
                        }
                    }

                    break;
            }

            return values;
        }

        private static object? Unwrap(object? value) => value is PSObject p ? p.BaseObject : value;
    }
}

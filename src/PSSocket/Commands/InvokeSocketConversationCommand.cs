using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Security;
using System.Text.RegularExpressions;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Runs an expect-style script on a session: send, wait for prompts, capture what arrives.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "SocketConversation")]
    [OutputType(typeof(ConversationTranscript))]
    public sealed class InvokeSocketConversationCommand : SessionCmdlet
    {
        private static readonly string[] s_keys = { "Expect", "Regex", "Send", "Line", "Timeout", "Capture", "Delay", "Page", "PageSend" };
        private List<ConversationStep> _steps = new();

        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <summary>
        /// The steps, in order: hashtables or objects with the keys Expect (text to wait for),
        /// Regex ($true when Expect is a regular expression; its named groups become captures),
        /// Send (a string, a SecureString that never appears in the transcript, or bytes),
        /// Line (append the session NewLine to Send; default $true for text), Timeout (seconds),
        /// Capture (a name for the text received before the match), Delay (seconds to pause first),
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
        protected override object? SessionArgument => Session;

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
            if (session is not TcpSession tcp)
            {
                WriteError(ErrorRecords.WrongKind(session, "Invoke-SocketConversation needs a connected Tcp session"));
                return;
            }

            var transcript = ConversationRunner.Begin(tcp);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            PSSocketException? failure = null;
            for (int i = 0; i < _steps.Count && failure is null; i++)
            {
                var step = _steps[i];
                int index = i + 1;
                try
                {
                    var result = Run(t => ConversationRunner.RunStepAsync(tcp, step, index, transcript, Seconds(Timeout), MaxBytes, t));
                    Verbose(() => Describe(tcp, result));
                }
                catch (PSSocketException ex)
                {
                    failure = ex;
                }
            }

            transcript.Elapsed = watch.Elapsed;
            WriteObject(transcript);
            if (failure is not null)
            {
                var category = failure.Kind == SocketErrorKind.ExpectationFailed && failure.InnerException is PSSocketException inner
                    ? ErrorRecords.CategoryOf(inner.Kind)
                    : ErrorRecords.CategoryOf(failure.Kind);
                WriteError(new ErrorRecord(failure, failure.Kind.ToString(), category, transcript));
            }
        }

        private static string Describe(TcpSession tcp, ConversationStepResult r)
        {
            string what = r.Kind switch
            {
                "Send" => $"sent '{r.Sent}'",
                "Expect" => $"matched '{r.Match?.Value}'",
                "SendExpect" => $"sent '{r.Sent}', matched '{r.Match?.Value}'",
                _ => "paused",
            };
            string pages = r.Pages > 0 ? $" after {r.Pages} pages" : "";
            return $"Session {tcp.Id} step {r.Index}: {what}{pages} ({r.Duration.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)} s)";
        }

        /// <summary>Turns a hashtable or object into a step; ArgumentException says what is wrong.</summary>
        internal static ConversationStep ParseStep(object? item)
        {
            var values = ToDictionary(item is PSObject pso && pso.BaseObject is IDictionary d ? d : item);
            var step = new ConversationStep();
            foreach (var key in values.Keys)
            {
                if (Array.FindIndex(s_keys, k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) < 0)
                {
                    throw new ArgumentException($"unknown key '{key}'. A step takes {string.Join(", ", s_keys)}.");
                }
            }

            if (values.TryGetValue("Expect", out var expect) && expect is not null)
            {
                step.Expect = LanguagePrimitives.ConvertTo<string>(expect);
                if (string.IsNullOrEmpty(step.Expect))
                {
                    throw new ArgumentException("Expect is empty.");
                }
            }

            step.IsRegex = values.TryGetValue("Regex", out var isRegex) && LanguagePrimitives.IsTrue(isRegex);
            if (values.TryGetValue("Send", out var send) && send is not null)
            {
                switch (send)
                {
                    case SecureString secret:
                        step.SendSecret = secret;
                        break;
                    case PSCredential credential:
                        step.SendSecret = credential.Password;
                        break;
                    case byte[] bytes:
                        step.SendBytes = bytes;
                        break;
                    default:
                        step.SendText = LanguagePrimitives.ConvertTo<string>(send) ?? "";
                        break;
                }
            }

            if (values.TryGetValue("Line", out var line) && line is not null)
            {
                step.Line = LanguagePrimitives.IsTrue(line);
            }

            if (values.TryGetValue("Timeout", out var timeout) && timeout is not null)
            {
                step.Timeout = Seconds(ToSeconds(timeout, "Timeout"));
            }

            if (values.TryGetValue("Delay", out var delay) && delay is not null)
            {
                double s = ToSeconds(delay, "Delay");
                step.Delay = s > 0 ? TimeSpan.FromSeconds(s) : TimeSpan.Zero;
            }

            if (values.TryGetValue("Capture", out var capture) && capture is not null)
            {
                step.Capture = LanguagePrimitives.ConvertTo<string>(capture);
            }

            if (values.TryGetValue("Page", out var page) && page is not null)
            {
                step.Page = LanguagePrimitives.ConvertTo<string>(page);
            }

            if (values.TryGetValue("PageSend", out var pageSend) && pageSend is not null)
            {
                step.PageSend = LanguagePrimitives.ConvertTo<string>(pageSend) ?? " ";
            }

            if (step.Expect is null && !step.Sends && step.Delay == TimeSpan.Zero)
            {
                throw new ArgumentException("it has neither Expect, Send nor Delay.");
            }

            if (step.Page is not null && step.Expect is null)
            {
                throw new ArgumentException("Page needs an Expect to stop at.");
            }

            try
            {
                if (step.Expect is not null && step.IsRegex)
                {
                    _ = new Regex(step.Expect);
                }

                if (step.Page is not null)
                {
                    _ = new Regex(step.Page);
                }
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"the regular expression is not valid: {ex.Message}", ex);
            }

            return step;
        }

        private static double ToSeconds(object value, string name)
        {
            try
            {
                return LanguagePrimitives.ConvertTo<double>(value);
            }
            catch (PSInvalidCastException ex)
            {
                throw new ArgumentException($"{name} must be a number of seconds.", ex);
            }
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

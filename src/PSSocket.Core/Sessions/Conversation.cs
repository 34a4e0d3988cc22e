using System.Collections;
using System.Runtime.InteropServices;
using System.Security;
using System.Text.RegularExpressions;

namespace PSSocket.Sessions
{
    /// <summary>One step of a conversation: optionally wait, send, then expect.</summary>
    public sealed class ConversationStep
    {
        /// <summary>The keys a step is written with (case-insensitive).</summary>
        public static IReadOnlyList<string> Keys { get; } = new[] { "Expect", "Regex", "Fail", "Send", "Line", "Timeout", "Capture", "Delay", "Page", "PageSend" };

        /// <summary>Text (or, with IsRegex, a regular expression) that ends the step as failed when it arrives before Expect, such as "% Invalid input".</summary>
        public string? Fail { get; set; }

        /// <summary>Text (or, with IsRegex, a regular expression) to wait for.</summary>
        public string? Expect { get; set; }

        /// <summary>True when Expect is a regular expression (matched with Multiline).</summary>
        public bool IsRegex { get; set; }

        /// <summary>Text to send, encoded with the session encoding.</summary>
        public string? SendText { get; set; }

        /// <summary>Bytes to send as they are.</summary>
        public byte[]? SendBytes { get; set; }

        /// <summary>A secret to send; it never appears in the step results or the traffic transcript.</summary>
        public SecureString? SendSecret { get; set; }

        /// <summary>Whether to append the session line terminator; null means yes for text and secrets, no for bytes.</summary>
        public bool? Line { get; set; }

        /// <summary>How long the expectation may wait; null uses the conversation default.</summary>
        public TimeSpan? Timeout { get; set; }

        /// <summary>The name under which the text received before the match is stored in Captures.</summary>
        public string? Capture { get; set; }

        /// <summary>A pause before the step.</summary>
        public TimeSpan Delay { get; set; }

        /// <summary>A pager prompt (regular expression, e.g. "--More--") answered with PageSend while waiting for Expect.</summary>
        public string? Page { get; set; }

        /// <summary>What answers the pager prompt (default one space, no line terminator).</summary>
        public string PageSend { get; set; } = " ";

        /// <summary>True when the step sends something.</summary>
        public bool Sends => SendText is not null || SendBytes is not null || SendSecret is not null;

        /// <summary>What the step does.</summary>
        public ConversationStepKind Kind => Expect is null
            ? Sends ? ConversationStepKind.Send : ConversationStepKind.Delay
            : Sends ? ConversationStepKind.SendExpect : ConversationStepKind.Expect;

        /// <summary>
        /// Builds a step from its keys (see Keys). Send takes what <see cref="Payload"/> can send
        /// (text, a char[] or char, a number, bytes, a SecureString); other values are read as text,
        /// numbers (seconds) or truth values.
        /// </summary>
        /// <exception cref="ArgumentException">The step is wrong; the message says how.</exception>
        public static ConversationStep Parse(IDictionary<string, object?> values)
        {
            if (values is null)
            {
                throw new ArgumentNullException(nameof(values));
            }

            foreach (var key in values.Keys)
            {
                if (!Keys.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new ArgumentException($"unknown key '{key}'. A step takes {string.Join(", ", Keys)}.");
                }
            }

            object? Get(string key) => values.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)).Value;
            var step = new ConversationStep
            {
                Expect = Text(Get("Expect")),
                IsRegex = IsTrue(Get("Regex")),
                Fail = Text(Get("Fail")),
                Capture = Text(Get("Capture")),
                Page = Text(Get("Page")),
                PageSend = Text(Get("PageSend")) ?? " ",
            };
            if (step.Expect is { Length: 0 })
            {
                throw new ArgumentException("Expect is empty.");
            }

            if (step.Fail is { Length: 0 })
            {
                throw new ArgumentException("Fail is empty.");
            }

            if (Get("Send") is { } send)
            {
                // What goes on the wire is the engine's one rule (Payload), as for Send-SocketData.
                if (!Payload.CanSend(send))
                {
                    throw new ArgumentException(Payload.Refused(send, " as Send").Message);
                }

                switch (Payload.Normalize(send))
                {
                    case SecureString secret:
                        step.SendSecret = secret;
                        break;
                    case byte[] bytes:
                        step.SendBytes = bytes;
                        break;
                    case var text:
                        step.SendText = (string)text;
                        break;
                }
            }

            if (Get("Line") is { } line)
            {
                step.Line = IsTrue(line);
            }

            if (Get("Timeout") is { } timeout)
            {
                double t = ToSeconds(timeout, "Timeout");
                step.Timeout = t <= 0 || double.IsNaN(t) || t > 2_000_000 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(t);
            }

            if (Get("Delay") is { } delay)
            {
                double d = ToSeconds(delay, "Delay");
                step.Delay = d > 0 ? TimeSpan.FromSeconds(d) : TimeSpan.Zero;
            }

            step.Validate();
            return step;
        }

        private void Validate()
        {
            if (Expect is null && !Sends && Delay == TimeSpan.Zero)
            {
                throw new ArgumentException("it has neither Expect, Send nor Delay.");
            }

            if (Page is not null && Expect is null)
            {
                throw new ArgumentException("Page needs an Expect to stop at.");
            }

            if (Fail is not null && Expect is null)
            {
                throw new ArgumentException("Fail needs an Expect: it names what may arrive instead of it.");
            }

            try
            {
                foreach (var regex in new[] { IsRegex ? Expect : null, IsRegex ? Fail : null, Page })
                {
                    if (regex is not null)
                    {
                        _ = new Regex(regex);
                    }
                }
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"the regular expression is not valid: {ex.Message}", ex);
            }
        }

        private static string? Text(object? value) => value switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };

        private static bool IsTrue(object? value) => value switch
        {
            null => false,
            bool b => b,
            string s => s.Length > 0,
            IConvertible c when c.GetTypeCode() is >= TypeCode.SByte and <= TypeCode.Decimal => c.ToDouble(System.Globalization.CultureInfo.InvariantCulture) != 0,
            _ => true,
        };

        private static double ToSeconds(object value, string name)
        {
            try
            {
                return Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException)
            {
                throw new ArgumentException($"{name} must be a number of seconds.", ex);
            }
        }
    }

    /// <summary>Runs conversation steps on a TCP session.</summary>
    public static class ConversationRunner
    {
        /// <summary>The most pager prompts one step answers.</summary>
        public const int MaxPages = 10000;

        private const int TailBytes = Connection.TailBytes;
        private const string PageGroup = "__page";
        private const string FailGroup = "__fail";

        /// <summary>Starts the record of a conversation on a session.</summary>
        public static ConversationTranscript Begin(TcpSession session) => new(session);

        /// <summary>Ends the record: its Elapsed is the time since Begin.</summary>
        public static void End(ConversationTranscript conversation)
        {
            if (conversation is null)
            {
                throw new ArgumentNullException(nameof(conversation));
            }

            conversation.Elapsed = conversation.Clock.Elapsed;
        }

        /// <summary>
        /// Runs one step and records it in the conversation. A failed expectation throws
        /// ExpectationFailed (the cause as inner exception, none when the step's Fail text came first; the conversation as target) with the
        /// last bytes received in the message; other failures propagate as they are.
        /// </summary>
        public static async Task<ConversationStepResult> RunStepAsync(TcpSession session, ConversationStep step, int index, ConversationTranscript conversation, TimeSpan defaultTimeout, int maxBytes, CancellationToken token)
        {
            var result = new ConversationStepResult
            {
                Index = index,
                Kind = step.Kind,
                Expect = step.Expect,
            };
            var watch = Stopwatch.StartNew();
            var timeout = step.Timeout ?? defaultTimeout;
            conversation.Steps.Add(result);
            try
            {
                if (step.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(step.Delay, token).ConfigureAwait(false);
                }

                if (step.Sends)
                {
                    await SendAsync(session, step, result, timeout, token).ConfigureAwait(false);
                    if (step.Expect is null && step.Capture is not null)
                    {
                        conversation.PendingCapture = step.Capture;
                    }
                }

                if (step.Expect is not null)
                {
                    await ExpectAsync(session, step, result, conversation, timeout, maxBytes, token).ConfigureAwait(false);
                }

                result.Success = true;
                return result;
            }
            catch (Exception ex)
            {
                result.Success = false;
                result.Error = ex.Message;
                conversation.Success = false;
                conversation.FailedStep = index;
                throw;
            }
            finally
            {
                result.Duration = watch.Elapsed;
            }
        }

        private static async Task SendAsync(TcpSession session, ConversationStep step, ConversationStepResult result, TimeSpan timeout, CancellationToken token)
        {
            bool line = step.Line ?? step.SendBytes is null;
            bool secret = step.SendSecret is not null;
            var data = Payload.Encode(step.SendSecret ?? step.SendBytes ?? (object?)step.SendText, session.Encoding, line ? session.LineTerminator : null);
            result.Sent = secret ? SessionTranscript.Redacted : step.SendBytes is not null ? Hex(step.SendBytes) : step.SendText;
            // A secret's array is the engine's to clear, once no write holds it.
            await (secret
                ? session.SendSecretAsync(data, Deadline.After(timeout), token)
                : session.SendAsync(data, 0, data.Length, Deadline.After(timeout), token)).ConfigureAwait(false);
        }

        private static async Task ExpectAsync(TcpSession session, ConversationStep step, ConversationStepResult result, ConversationTranscript conversation, TimeSpan timeout, int maxBytes, CancellationToken token)
        {
            var options = RegexOptions.CultureInvariant | RegexOptions.Multiline;
            string expect = step.IsRegex ? step.Expect! : Regex.Escape(step.Expect!);
            string? fail = step.Fail is null ? null : step.IsRegex ? step.Fail : Regex.Escape(step.Fail);
            var pattern = new Regex(
                (step.Page is null ? "" : $"(?<{PageGroup}>{step.Page})|") + (fail is null ? "" : $"(?<{FailGroup}>{fail})|") + $"(?:{expect})",
                options,
                TimeSpan.FromSeconds(2));
            var received = new StringBuilder();
            var before = new StringBuilder();
            try
            {
                if (!step.IsRegex && step.Page is null && step.Fail is null && !session.StripAnsi)
                {
                    // Literal text: an incremental byte search, linear however much arrives first.
                    var delimiter = session.Encoding.GetBytes(step.Expect!);
                    var data = await session.ReceiveUntilAsync(delimiter, maxBytes, Deadline.After(timeout), token).ConfigureAwait(false);
                    string text = session.Encoding.GetString(data);
                    var last = new Regex(expect, options | RegexOptions.RightToLeft, TimeSpan.FromSeconds(2)).Match(text);
                    received.Append(text);
                    before.Append(text, 0, last.Success ? last.Index : text.Length);
                    result.Match = last;
                }

                for (int page = 0; result.Match is null; page++)
                {
                    var (text, match) = await session.ReceivePatternAsync(pattern, session.Encoding, session.StripAnsi, maxBytes, Deadline.After(timeout), token).ConfigureAwait(false);
                    if (fail is not null && match.Groups[FailGroup].Success)
                    {
                        received.Append(text);
                        result.Received = received.ToString();
                        result.Match = match;
                        throw new PSSocketException(SocketErrorKind.ExpectationFailed,
                            $"Step {result.Index} saw '{TextEncoding.Escape(match.Value)}' (its Fail {(step.IsRegex ? "pattern" : "text")}) before '{step.Expect}' on session {session}. {LastReceived(session, received)}",
                            target: conversation);
                    }

                    if (step.Page is not null && match.Groups[PageGroup].Success)
                    {
                        if (page >= MaxPages)
                        {
                            throw new PSSocketException(SocketErrorKind.ReceiveLimitExceeded, $"Answered {MaxPages} pager prompts without seeing the expectation.", target: session);
                        }

                        // Blanks just before the prompt belong to it (" --More-- "): the pager's
                        // erase would remove them on a terminal.
                        string content = text.Substring(0, match.Index).TrimEnd(' ', '\t');
                        received.Append(content);
                        before.Append(content);
                        result.Pages++;
                        var answer = session.Encoding.GetBytes(step.PageSend);
                        await session.SendAsync(answer, 0, answer.Length, Deadline.After(timeout), token).ConfigureAwait(false);
                        continue;
                    }

                    received.Append(text);
                    before.Append(text, 0, match.Index);
                    result.Match = match;
                    break;
                }
            }
            catch (PSSocketException ex) when (ex.Kind is SocketErrorKind.ReceiveTimeout or SocketErrorKind.RemoteClosed or SocketErrorKind.ReceiveLimitExceeded)
            {
                result.Received = received.ToString();
                string why = ex.Kind switch
                {
                    SocketErrorKind.ReceiveTimeout => $"nothing matching arrived within {Seconds(timeout)}",
                    SocketErrorKind.RemoteClosed => "the peer closed the connection first",
                    _ => "the receive limit was reached first",
                };
                throw new PSSocketException(SocketErrorKind.ExpectationFailed,
                    $"Step {result.Index} expected {(step.IsRegex ? "pattern" : "text")} '{step.Expect}' on session {session}, but {why}. {LastReceived(session, received)}",
                    ex, target: conversation);
            }

            result.Received = received.ToString();
            var match2 = result.Match!;
            foreach (var name in pattern.GetGroupNames())
            {
                if (name is PageGroup or FailGroup || int.TryParse(name, out _))
                {
                    continue;
                }

                var group = match2.Groups[name];
                if (group.Success)
                {
                    conversation.Captures[name] = group.Value;
                }
            }

            string? captureName = step.Capture ?? conversation.PendingCapture;
            conversation.PendingCapture = null;
            if (captureName is not null)
            {
                conversation.Captures[captureName] = before.ToString();
            }
        }

        private static string LastReceived(TcpSession session, StringBuilder received)
        {
            if (session.DescribeBufferedTail() is { } tail)
            {
                return tail;
            }

            if (received.Length > 0)
            {
                string r = received.ToString();
                return $"Last text received: \"{TextEncoding.Escape(r.Length > TailBytes ? r.Substring(r.Length - TailBytes) : r)}\"";
            }

            return "Nothing was received.";
        }

        private static string Seconds(TimeSpan t) =>
            t == System.Threading.Timeout.InfiniteTimeSpan ? "the timeout" : $"{t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";

        private static string Hex(byte[] data)
        {
            var sb = new StringBuilder(data.Length * 3);
            foreach (var b in data)
            {
                if (sb.Length > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }

            return sb.ToString();
        }
    }
}

using System.Runtime.CompilerServices;
using System.Security;
using System.Text.RegularExpressions;

namespace PSSocket.Sessions.Devices
{
    /// <summary>
    /// Runs CLI commands on an interactive session (telnet, raw TCP, an SSH shell) and returns the
    /// device's clean answer: the prompt is found once per session and followed as it changes,
    /// paging is turned off as the profile says and pager prompts that still come are answered,
    /// questions are answered only from the caller's answers.
    /// </summary>
    public static class DeviceCommandRunner
    {
        /// <summary>The most pager prompts one command answers.</summary>
        public const int MaxPages = 10000;

        /// <summary>How long a device may stay silent after a login before an Enter asks it for its prompt.</summary>
        private static readonly TimeSpan s_firstPromptSilence = TimeSpan.FromSeconds(1);

        private static readonly ConditionalWeakTable<TcpSession, DeviceState> s_states = new();

        /// <summary>The prompt the session's device showed last, or null before the first command.</summary>
        public static string? PromptOf(TcpSession session) => s_states.TryGetValue(session, out var st) ? st.Prompt : null;

        /// <summary>Keeps the enable secret for the session (Connect-SshShell -EnableSecret): commands that give none use it.</summary>
        public static void RememberEnableSecret(TcpSession session, SecureString secret) =>
            s_states.GetValue(session, _ => new DeviceState()).EnableSecret = secret;

        /// <summary>Runs one command and returns the device's answer.</summary>
        public static async Task<DeviceCommandResult> RunAsync(TcpSession session, string command, DeviceCommandOptions options, CancellationToken token)
        {
            var state = s_states.GetValue(session, _ => new DeviceState());
            await state.Gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await PrepareAsync(session, state, options, token).ConfigureAwait(false);
                return await RunOneAsync(session, state, command, options, token).ConfigureAwait(false);
            }
            finally
            {
                state.Gate.Release();
            }
        }

        /// <summary>
        /// Enters configuration mode, sends each line and checks the answer against the profile's
        /// error patterns, stops at the first error (unless ContinueOnError) and leaves
        /// configuration mode. Returns the answer to each line sent and the errors (DeviceError).
        /// </summary>
        public static async Task<DeviceConfigurationResult> ConfigureAsync(TcpSession session, IReadOnlyList<string> lines, DeviceCommandOptions options, CancellationToken token)
        {
            var profile = options.Profile;
            if (profile.ConfigCommand is null)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Device type '{profile.Name}' has no configuration mode (its profile has no ConfigCommand).", target: session);
            }

            var state = s_states.GetValue(session, _ => new DeviceState());
            var result = new DeviceConfigurationResult();
            await state.Gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await PrepareAsync(session, state, options, token).ConfigureAwait(false);
                bool entered = !(profile.ConfigPromptRegex?.IsMatch(state.Prompt ?? "") ?? false);
                if (entered)
                {
                    await RunCheckedAsync(session, state, profile.ConfigCommand, options, result, token).ConfigureAwait(false);
                }

                // A line the device rejects stops the run here and still leaves configuration mode; a
                // timeout or a question does not (the device may still be busy, or would take the
                // exit command as the answer), and its exception says so.
                foreach (var line in lines)
                {
                    if (!await RunCheckedAsync(session, state, line, options, result, token).ConfigureAwait(false) && !options.ContinueOnError)
                    {
                        break;
                    }
                }

                if (profile.CommitCommand is { } commit && (result.Errors.Count == 0 || options.ContinueOnError))
                {
                    await RunCheckedAsync(session, state, commit, options, result, token).ConfigureAwait(false);
                }

                if (entered && profile.ConfigExitCommand is { } exit)
                {
                    result.Exit = await RunOneAsync(session, state, exit, Plain(options), token).ConfigureAwait(false);
                }
            }
            finally
            {
                state.Gate.Release();
            }

            return result;
        }

        private static async Task<bool> RunCheckedAsync(TcpSession session, DeviceState state, string line, DeviceCommandOptions options, DeviceConfigurationResult result, CancellationToken token)
        {
            var answer = await RunOneAsync(session, state, line, options, token).ConfigureAwait(false);
            result.Results.Add(answer);
            if (DeviceText.FirstMatchingLine(options.Profile.ErrorRegex, answer.Output) is { } message)
            {
                result.Errors.Add(new PSSocketException(SocketErrorKind.DeviceError,
                    $"Device {answer.ComputerName} rejected configuration line '{line}': {message}",
                    target: line));
                return false;
            }

            return true;
        }

        /// <summary>Finds the prompt (once per session), enters privileged mode when asked to and needed, and turns paging off (once per session and profile).</summary>
        private static async Task PrepareAsync(TcpSession session, DeviceState state, DeviceCommandOptions options, CancellationToken token)
        {
            var profile = options.Profile;
            bool fresh = state.Prompt is null || !string.Equals(state.Profile?.Name, profile.Name, StringComparison.OrdinalIgnoreCase);
            state.Profile = profile;
            var plain = Plain(options);
            if (state.Prompt is null)
            {
                // What is left of a banner or a login goes first. When it ends with a prompt, that is
                // the prompt; otherwise (a second of silence) an Enter asks for one. (An Enter sent
                // while the device is still starting its shell would be answered with one prompt more
                // than expected.) A profile that turns paging off takes the prompt the moment it
                // shows, as Netmiko's find_prompt does: the paging command's answer ends with the
                // device's prompt, which replaces a line that only looked like one.
                state.Prompt = await FirstPromptAsync(session, options, token).ConfigureAwait(false);
                if (state.Prompt is null && (await RunOneAsync(session, state, "", plain, token).ConfigureAwait(false)).Prompt.Length == 0)
                {
                    throw new PSSocketException(SocketErrorKind.ReceiveTimeout, $"No prompt of device type '{profile.Name}' was found on session {session}.", target: session);
                }
            }

            var secret = options.EnableSecret ?? state.EnableSecret;
            if (secret is not null && profile.EnableCommand is { } enable && profile.UserPromptRegex?.IsMatch(state.Prompt!) == true)
            {
                await EnableAsync(session, state, enable, secret, options, token).ConfigureAwait(false);
            }

            foreach (var command in fresh ? profile.PagingCommand : Array.Empty<string>())
            {
                await RunOneAsync(session, state, command, plain, token).ConfigureAwait(false);
            }
        }

        private static async Task EnableAsync(TcpSession session, DeviceState state, string enable, SecureString enableSecret, DeviceCommandOptions options, CancellationToken token)
        {
            var profile = options.Profile;
            var asks = Plain(options);
            asks.Answers.Add(new KeyValuePair<Regex, string>(profile.EnablePromptRegex, ""));
            var first = await RunOneAsync(session, state, enable, asks, token, stopAtAnswer: true).ConfigureAwait(false);
            string said = first.Output;
            if (first.Prompt.Length == 0)
            {
                // It asked for the secret: send it (never shown or recorded), and see what prompt comes.
                var secret = SecretText.Encode(enableSecret, session.Encoding, session.LineTerminator);
                try
                {
                    await session.SendAsync(secret, 0, secret.Length, redacted: true, Deadline.After(options.Timeout), token).ConfigureAwait(false);
                }
                finally
                {
                    Array.Clear(secret, 0, secret.Length);
                }

                var after = await ReadAnswerAsync(session, state, "", asks, echoDone: true, Stopwatch.StartNew(), token, stopAtAnswer: true).ConfigureAwait(false);
                said = after.Output;
                for (int i = 0; i < 3 && after.Prompt.Length == 0; i++)
                {
                    // Asked again: the secret was wrong. Empty answers end the device's retries.
                    after = await RunOneAsync(session, state, "", asks, token, stopAtAnswer: true).ConfigureAwait(false);
                }
            }

            if (profile.UserPromptRegex?.IsMatch(state.Prompt ?? "") != false)
            {
                throw new PSSocketException(SocketErrorKind.PrivilegeDenied,
                    $"The device on session {session} did not enter privileged mode with '{enable}' and the secret given (the prompt is still '{state.Prompt}'{(said.Trim().Length > 0 ? $"; it said: {said.Trim()}" : "")}). Check -EnableSecret.",
                    target: session);
            }
        }

        /// <summary>
        /// Reads what a banner or a login left until its last line is a prompt of the profile (and,
        /// for a profile without a paging command, the device has paused for the options' Quiet);
        /// returns that prompt, or null when the device went silent for a second (or the timeout
        /// passed) with no prompt at the end.
        /// </summary>
        private static async Task<string?> FirstPromptAsync(TcpSession session, DeviceCommandOptions options, CancellationToken token)
        {
            var quiet = options.Profile.PagingCommand.Length > 0 ? TimeSpan.Zero : options.Quiet;
            var watch = new DeviceWatch(options.Profile, null, Array.Empty<Regex>(), null, s_firstPromptSilence, quiet);
            try
            {
                var r = await session.ReceiveRuleAsync(new DeviceFrame(watch, "", echoDone: true, session.Encoding, TcpSession.DefaultMaxBytes), TcpSession.DefaultMaxBytes, Deadline.After(options.Timeout), token).ConfigureAwait(false);
                return r.Stop == DeviceStop.Prompt && r.Marker.Length > 0 ? r.Marker : null;
            }
            catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout)
            {
                return null;
            }
        }

        private static DeviceCommandOptions Plain(DeviceCommandOptions options) => new()
        {
            Profile = options.Profile,
            Timeout = options.Timeout,
            MaxBytes = options.MaxBytes,
            Quiet = options.Quiet,
        };

        private static async Task<DeviceCommandResult> RunOneAsync(TcpSession session, DeviceState state, string command, DeviceCommandOptions options, CancellationToken token, bool stopAtAnswer = false)
        {
            var clock = Stopwatch.StartNew();
            if (session.Available > 0 || session.HasUnreadInput)
            {
                // Bytes that arrived since the last command (a late line, a log message) are not this command's answer.
                await session.ReceiveAvailableAsync(TcpSession.DefaultMaxBytes, null, Deadline.After(TimeSpan.FromMilliseconds(1)), token).ConfigureAwait(false);
            }

            var line = session.Encoding.GetBytes(command + session.LineTerminator);
            await session.SendAsync(line, 0, line.Length, Deadline.After(options.Timeout), token).ConfigureAwait(false);
            return await ReadAnswerAsync(session, state, command, options, echoDone: false, clock, token, stopAtAnswer).ConfigureAwait(false);
        }

        private static async Task<DeviceCommandResult> ReadAnswerAsync(TcpSession session, DeviceState state, string command, DeviceCommandOptions options, bool echoDone, Stopwatch clock, CancellationToken token, bool stopAtAnswer = false)
        {
            var deadline = options.Timeout == Timeout.InfiniteTimeSpan ? Deadline.Infinite
                : Deadline.After(options.Timeout - clock.Elapsed > TimeSpan.Zero ? options.Timeout - clock.Elapsed : TimeSpan.FromMilliseconds(1));
            var watch = new DeviceWatch(options.Profile, state.Prompt, options.Answers.Select(a => a.Key).ToArray(), options.Expect, options.IdleTimeout, options.Quiet);
            var text = new StringBuilder();
            string prompt = "";
            int pages = 0;
            while (true)
            {
                DeviceReceipt r;
                try
                {
                    r = await session.ReceiveRuleAsync(new DeviceFrame(watch, command, echoDone, session.Encoding, options.MaxBytes), options.MaxBytes, deadline, token).ConfigureAwait(false);
                }
                catch (PSSocketException ex) when (ex.Kind is SocketErrorKind.ReceiveTimeout or SocketErrorKind.RemoteClosed or SocketErrorKind.ReceiveLimitExceeded)
                {
                    throw Waited(session, watch, command, options.Timeout, ex, text.Length);
                }

                echoDone = true;
                if (r.Stop == DeviceStop.Pager)
                {
                    text.Append(AnsiText.Strip(r.Text.Substring(0, r.MarkerStart)).TrimEnd(' ', '\t'));
                    if (++pages > MaxPages)
                    {
                        throw new PSSocketException(SocketErrorKind.ReceiveLimitExceeded, $"Answered {MaxPages} pager prompts to '{command}' on session {session} without seeing the prompt.", target: session);
                    }

                    var key = session.Encoding.GetBytes(options.Profile.PagerKey);
                    await session.SendAsync(key, 0, key.Length, deadline, token).ConfigureAwait(false);
                    continue;
                }

                if (r.Stop == DeviceStop.Question)
                {
                    string cancelled = await CancelQuestionAsync(session, watch, deadline, token).ConfigureAwait(false);
                    throw new PSSocketException(SocketErrorKind.UnansweredQuestion,
                        $"The device on session {session} asked \"{TextEncoding.Escape(r.Marker)}\" after '{command}', and no -Answer answers it; {cancelled} Give -Answer @{{ '<pattern>' = '<reply>' }} to answer it.",
                        target: session);
                }

                if (r.Stop == DeviceStop.Answer)
                {
                    text.Append(AnsiText.Strip(r.Text));
                    if (stopAtAnswer)
                    {
                        break;
                    }

                    var reply = session.Encoding.GetBytes(options.Answers[r.Answer].Value + session.LineTerminator);
                    await session.SendAsync(reply, 0, reply.Length, deadline, token).ConfigureAwait(false);
                    continue;
                }

                if (r.Stop == DeviceStop.Prompt)
                {
                    text.Append(AnsiText.Strip(r.Text.Substring(0, r.MarkerStart)));
                    prompt = r.Marker;
                    state.Prompt = prompt;
                }
                else
                {
                    text.Append(AnsiText.Strip(r.Text));
                }

                break;
            }

            return new DeviceCommandResult
            {
                ComputerName = HostOf(session),
                DeviceType = options.Profile.Name,
                Session = session,
                Command = command,
                Output = DeviceText.Answer(DeviceText.Render(text.ToString()), command),
                Prompt = prompt,
                Elapsed = clock.Elapsed,
                Pages = pages,
            };
        }

        /// <summary>
        /// Cancels a question nobody answers with Ctrl+C (which every CLI takes as "abort", never as
        /// "yes"), so the next command is not taken as its answer; says what became of it.
        /// </summary>
        private static async Task<string> CancelQuestionAsync(TcpSession session, DeviceWatch watch, Deadline deadline, CancellationToken token)
        {
            var etx = new byte[] { 3 };
            try
            {
                await session.SendAsync(etx, 0, 1, deadline, token).ConfigureAwait(false);
                var noQuestions = new DeviceWatch(watch.Profile, watch.KnownPrompt, Array.Empty<Regex>(), null, null, watch.Quiet);
                var wait = Deadline.After(deadline.Remaining == Timeout.InfiniteTimeSpan || deadline.Remaining > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : deadline.Remaining);
                await session.ReceiveRuleAsync(new DeviceFrame(noQuestions, "", echoDone: true, session.Encoding, TcpSession.DefaultMaxBytes), TcpSession.DefaultMaxBytes, wait, token).ConfigureAwait(false);
                return "it was cancelled with Ctrl+C and the device is back at its prompt.";
            }
            catch (PSSocketException ex)
            {
                return $"cancelling it with Ctrl+C did not bring the prompt back ({ex.Kind}), so the device may still wait for an answer.";
            }
        }

        private static PSSocketException Waited(TcpSession session, DeviceWatch watch, string command, TimeSpan timeout, PSSocketException cause, int taken)
        {
            string what = watch.Expect is not null ? $"the -Expect pattern '{watch.Expect}'"
                : watch.KnownPrompt is not null ? $"the prompt '{watch.KnownPrompt}' (or a line matching the {watch.Profile.Name} prompt pattern '{watch.Profile.Prompt}')"
                : $"a prompt matching the {watch.Profile.Name} pattern '{watch.Profile.Prompt}'";
            if (watch.Idle is { } idle)
            {
                what += $" or {Seconds(idle)} of silence";
            }

            int buffered = session.Available;
            string got = buffered + taken == 0 ? "nothing arrived" : $"{buffered + taken} characters arrived";
            string tail = session.DescribeBufferedTail() is { } t ? $" {t}." : "";
            string why = cause.Kind switch
            {
                SocketErrorKind.RemoteClosed => "the device closed the connection first",
                SocketErrorKind.ReceiveLimitExceeded => "the -MaxBytes limit was reached first",
                _ => $"it did not come within {Seconds(timeout)}",
            };
            return new PSSocketException(cause.Kind,
                $"After '{command}' on session {session}, Invoke-DeviceCommand waited for {what}, but {why}: {got}.{tail} What arrived stays buffered (Receive-SocketData reads it); the session is still open.",
                cause, target: session);
        }

        private static string Seconds(TimeSpan t) =>
            t == Timeout.InfiniteTimeSpan ? "the timeout" : $"{t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";

        /// <summary>The device's name for results: the host connected to, or the peer address.</summary>
        public static string HostOf(TcpSession session) =>
            !string.IsNullOrEmpty(session.ConnectedHost) ? session.ConnectedHost! : (session.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? session.ToString();

        private sealed class DeviceState
        {
            public SemaphoreSlim Gate { get; } = new(1, 1);

            public DeviceProfile? Profile { get; set; }

            public string? Prompt { get; set; }

            public SecureString? EnableSecret { get; set; }
        }
    }

    /// <summary>What a configuration run sent and answered, and the lines the device rejected.</summary>
    public sealed class DeviceConfigurationResult
    {
        /// <summary>The answer to each line sent, in order (entering configuration mode included).</summary>
        public List<DeviceCommandResult> Results { get; } = new();

        /// <summary>One DeviceError per rejected line.</summary>
        public List<PSSocketException> Errors { get; } = new();

        /// <summary>The answer to the command that left configuration mode, if it was sent.</summary>
        public DeviceCommandResult? Exit { get; set; }
    }
}

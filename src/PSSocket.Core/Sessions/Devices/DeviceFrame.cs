using System.Text.RegularExpressions;

namespace PSSocket.Sessions.Devices
{
    /// <summary>Why a device read stopped.</summary>
    internal enum DeviceStop
    {
        /// <summary>The prompt is the last line: the command is done.</summary>
        Prompt,

        /// <summary>A pager prompt is the last line: answer it and read on.</summary>
        Pager,

        /// <summary>A question the caller gave an answer for is the last line.</summary>
        Answer,

        /// <summary>A question nobody answers is the last line, and the device went quiet.</summary>
        Question,

        /// <summary>The caller's -Expect pattern matched.</summary>
        Expect,

        /// <summary>Nothing arrived for the idle timeout.</summary>
        Idle,
    }

    /// <summary>What a device read took: the raw text, why it stopped and where the marker (prompt, pager, question) starts in it.</summary>
    internal readonly struct DeviceReceipt
    {
        public DeviceReceipt(string text, DeviceStop stop, int markerStart, string marker, int answer = -1)
        {
            Text = text;
            Stop = stop;
            MarkerStart = markerStart;
            Marker = marker;
            Answer = answer;
        }

        public string Text { get; }

        public DeviceStop Stop { get; }

        public int MarkerStart { get; }

        public string Marker { get; }

        public int Answer { get; }
    }

    /// <summary>What a device read watches for; the same for every read of one command.</summary>
    internal sealed class DeviceWatch
    {
        public DeviceWatch(DeviceProfile profile, string? knownPrompt, IReadOnlyList<Regex> answers, Regex? expect, TimeSpan? idle, TimeSpan quiet)
        {
            Profile = profile;
            KnownPrompt = knownPrompt;
            Answers = answers;
            Expect = expect;
            Idle = idle;
            Quiet = quiet;
        }

        public DeviceProfile Profile { get; }

        /// <summary>The prompt seen last (trailing blanks trimmed); seeing it again ends a read at once.</summary>
        public string? KnownPrompt { get; }

        public IReadOnlyList<Regex> Answers { get; }

        public Regex? Expect { get; }

        public TimeSpan? Idle { get; }

        /// <summary>How long the device must stay silent before a new prompt or an unanswered question counts.</summary>
        public TimeSpan Quiet { get; }
    }

    /// <summary>
    /// The stop rule of a device command. Prompts, pager prompts and questions are on the last line
    /// of what arrived, so each attempt looks at that line only (escape sequences stripped), however
    /// long the output: the prompt seen last ends the read at once; a line that merely looks like a
    /// prompt (a new prompt after "hostname", a mode change) or a question counts once the device has
    /// been silent for a moment, so output that happens to pause after such a line does not end it.
    /// </summary>
    internal sealed class DeviceFrame : FrameRule<DeviceReceipt>
    {
        private const int MaxTail = 2048;

        private readonly DeviceWatch _watch;
        private readonly string _command;
        private readonly bool _echoDone;
        private readonly DecodedText _decoded;
        private long _lastGrowth = Stopwatch.GetTimestamp();
        private int _scanned;
        private int _lastBreak = -1;
        private int _lineStart;
        private int _echoEnd = -1;
        private bool _pending;
        private int _expectChecked = -1;

        /// <param name="watch">What ends the read.</param>
        /// <param name="command">The command sent, whose echo is looked for.</param>
        /// <param name="echoDone">True when the echo was taken by an earlier read of the same command (after a pager prompt or an answer).</param>
        /// <param name="encoding">The session's encoding.</param>
        /// <param name="maxBytes">The most bytes the read may buffer.</param>
        public DeviceFrame(DeviceWatch watch, string command, bool echoDone, Encoding encoding, int maxBytes)
        {
            _watch = watch;
            _command = command;
            _echoDone = echoDone;
            _decoded = new DecodedText(encoding, maxBytes);
        }

        /// <summary>The echo of the command has arrived (or was taken before): the prompt seen last now ends the read at once.</summary>
        private bool EchoSeen => _echoDone || _echoEnd >= 0;

        public override bool WantsWholeBurst => true;

        private TimeSpan Silent => TimeSpan.FromTicks((long)((Stopwatch.GetTimestamp() - _lastGrowth) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency)));

        public override TimeSpan Settle
        {
            get
            {
                var wait = TimeSpan.MaxValue;
                if (_pending)
                {
                    wait = _watch.Quiet - Silent;
                }

                if (_watch.Idle is { } idle && idle - Silent < wait)
                {
                    wait = idle - Silent;
                }

                return wait == TimeSpan.MaxValue ? TimeSpan.Zero : wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1);
            }
        }

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out DeviceReceipt result)
        {
            result = default;
            _decoded.Extend(buffer.Segment);
            int length = _decoded.Length;
            if (length > _scanned)
            {
                for (int i = _scanned; i < length; i++)
                {
                    char c = _decoded[i];
                    if (c == '\r')
                    {
                        _lastBreak = i;
                    }
                    else if (c == '\n')
                    {
                        _lastBreak = i;
                        if (!EchoSeen && DeviceText.IsEcho(DeviceText.Clean(_decoded.Substring(_lineStart, i - _lineStart)), _command))
                        {
                            _echoEnd = i + 1;
                        }

                        _lineStart = i + 1;
                    }
                }

                _scanned = length;
                _lastGrowth = Stopwatch.GetTimestamp();
            }

            bool quiet = Silent >= _watch.Quiet;
            _pending = false;
            int tailStart = _lastBreak + 1;
            if (length - tailStart is > 0 and <= MaxTail && TryTail(buffer, tailStart, length, quiet, out result))
            {
                return true;
            }

            if (_watch.Expect is not null && length != _expectChecked && TryExpect(buffer, length, out result))
            {
                return true;
            }

            if (_watch.Idle is { } idle && Silent >= idle)
            {
                result = Take(buffer, length, DeviceStop.Idle, length, "");
                return true;
            }

            return false;
        }

        private bool TryTail(ReceiveBuffer buffer, int tailStart, int length, bool quiet, out DeviceReceipt result)
        {
            result = default;
            var ends = new List<int>(length - tailStart);
            string tail = AnsiText.Strip(_decoded.Substring(tailStart, length - tailStart), ends);
            var profile = _watch.Profile;
            if (profile.PagerRegex?.Match(tail) is { Success: true } page)
            {
                int rawStart = tailStart + (page.Index == 0 ? 0 : ends[page.Index - 1]);
                result = Take(buffer, length, DeviceStop.Pager, rawStart, page.Value);
                return true;
            }

            for (int i = 0; i < _watch.Answers.Count; i++)
            {
                if (_watch.Answers[i].IsMatch(tail))
                {
                    result = Take(buffer, length, DeviceStop.Answer, tailStart, tail, i);
                    return true;
                }
            }

            if (_watch.Expect is null)
            {
                string line = tail.TrimEnd();
                if (line.Length > 0 && line == _watch.KnownPrompt && (EchoSeen || quiet))
                {
                    result = Take(buffer, length, DeviceStop.Prompt, tailStart, line);
                    return true;
                }

                if (profile.PromptRegex.IsMatch(tail))
                {
                    if (quiet)
                    {
                        result = Take(buffer, length, DeviceStop.Prompt, tailStart, line);
                        return true;
                    }

                    _pending = true;
                }
            }

            if (profile.QuestionRegex?.IsMatch(tail) == true)
            {
                if (quiet)
                {
                    result = Take(buffer, length, DeviceStop.Question, tailStart, tail.Trim());
                    return true;
                }

                _pending = true;
            }

            return false;
        }

        private bool TryExpect(ReceiveBuffer buffer, int length, out DeviceReceipt result)
        {
            result = default;
            _expectChecked = length;
            var ends = new List<int>(length);
            string clean = AnsiText.Strip(_decoded.ToString(), ends);
            // The echo of the command must not match; what follows it may.
            int from = 0;
            if (!EchoSeen && clean.IndexOf('\n') < 0 && _command.Trim().StartsWith(clean.Trim(), StringComparison.Ordinal))
            {
                return false;
            }

            if (_echoEnd > 0)
            {
                from = AnsiText.Strip(_decoded.Substring(0, _echoEnd)).Length;
            }

            var m = _watch.Expect!.Match(clean, from);
            if (!m.Success)
            {
                return false;
            }

            int cleanEnd = m.Index + m.Length;
            int rawEnd = cleanEnd == 0 ? 0 : ends[cleanEnd - 1];
            result = Take(buffer, rawEnd, DeviceStop.Expect, rawEnd, m.Value);
            return true;
        }

        private DeviceReceipt Take(ReceiveBuffer buffer, int charEnd, DeviceStop stop, int markerStart, string marker, int answer = -1)
        {
            string text = _decoded.Substring(0, charEnd);
            buffer.Skip(_decoded.ByteEnd(buffer.Segment, charEnd));
            return new DeviceReceipt(text, stop, markerStart, marker, answer);
        }
    }
}

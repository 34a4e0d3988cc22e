using System.Text.RegularExpressions;

namespace PSSocket.Sessions
{
    /// <summary>
    /// A stop condition over the receive buffer: it looks at the bytes buffered so far and either
    /// says "not yet" or takes one result out of the buffer, leaving what follows the stop point
    /// buffered. It never reads a socket; the session's receive loop reads and asks again.
    /// </summary>
    internal abstract class FrameRule<T>
    {
        /// <summary>True when the loop should move everything the kernel already holds into the buffer before asking (rules whose attempts cost more than a read).</summary>
        public virtual bool WantsWholeBurst => false;

        /// <summary>How many bytes the rule needs in all, when it knows (for timeout messages).</summary>
        public virtual int? Needs => null;

        /// <summary>
        /// How long the loop should wait for more bytes before telling the rule it went quiet
        /// (<see cref="OnQuiet"/>); zero when the rule has looked at everything buffered.
        /// </summary>
        public virtual TimeSpan Settle => TimeSpan.Zero;

        /// <summary>Nothing more arrived within <see cref="Settle"/>.</summary>
        public virtual void OnQuiet()
        {
        }

        /// <summary>Takes a result when its stop point is buffered. peerClosed: no more bytes will come.</summary>
        public abstract bool TryTake(ReceiveBuffer buffer, bool peerClosed, out T result);
    }

    /// <summary>Whatever is buffered (up to a limit), optionally only whole characters.</summary>
    internal sealed class AvailableFrame : FrameRule<byte[]>
    {
        private readonly int _maxBytes;
        private readonly Encoding? _wholeCharsOf;

        public AvailableFrame(int maxBytes, Encoding? wholeCharsOf)
        {
            _maxBytes = maxBytes;
            _wholeCharsOf = wholeCharsOf;
        }

        public override bool WantsWholeBurst => true;

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            result = Array.Empty<byte>();
            if (buffer.Count == 0)
            {
                return false;
            }

            int n = Math.Min(buffer.Count, _maxBytes);
            if (_wholeCharsOf is not null && !peerClosed)
            {
                var seg = buffer.Segment;
                n = TextEncoding.CompleteLength(_wholeCharsOf, new ReceiveBufferView(seg.Array!, seg.Offset), n);
                if (n == 0)
                {
                    return false;
                }
            }

            result = buffer.Take(n);
            return true;
        }
    }

    /// <summary>Exactly count bytes.</summary>
    internal sealed class CountFrame : FrameRule<byte[]>
    {
        private readonly int _count;

        public CountFrame(int count) => _count = count;

        public override int? Needs => _count;

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            if (buffer.Count < _count)
            {
                result = Array.Empty<byte>();
                return false;
            }

            result = buffer.Take(_count);
            return true;
        }
    }

    /// <summary>Everything up to and including a delimiter. Bytes already searched are not searched again.</summary>
    internal sealed class DelimiterFrame : FrameRule<byte[]>
    {
        private readonly byte[] _delimiter;
        private int _scanned;

        public DelimiterFrame(byte[] delimiter)
        {
            if (delimiter is null || delimiter.Length == 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The delimiter is empty.");
            }

            _delimiter = delimiter;
        }

        public int DelimiterLength => _delimiter.Length;

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            int at = buffer.IndexOf(_delimiter, _scanned);
            if (at < 0)
            {
                _scanned = Math.Max(0, buffer.Count - _delimiter.Length + 1);
                result = Array.Empty<byte>();
                return false;
            }

            result = buffer.Take(at + _delimiter.Length);
            return true;
        }
    }

    /// <summary>One line ended by a fixed terminator, without it; with a "\r" to strip, "\r\n" ends a line as well as "\n".</summary>
    internal sealed class LineFrame : FrameRule<byte[]>
    {
        private readonly DelimiterFrame _until;
        private readonly byte[]? _cr;

        public LineFrame(byte[] terminator, byte[]? cr)
        {
            _until = new DelimiterFrame(terminator);
            _cr = cr;
        }

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            if (!_until.TryTake(buffer, peerClosed, out var data))
            {
                result = data;
                return false;
            }

            int len = data.Length - _until.DelimiterLength;
            if (_cr is not null && len >= _cr.Length && EndsWith(data, len, _cr))
            {
                len -= _cr.Length;
            }

            if (len == data.Length)
            {
                result = data;
                return true;
            }

            result = new byte[len];
            Buffer.BlockCopy(data, 0, result, 0, len);
            return true;
        }

        private static bool EndsWith(byte[] data, int end, byte[] suffix)
        {
            for (int i = 0; i < suffix.Length; i++)
            {
                if (data[end - suffix.Length + i] != suffix[i])
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// One line ended by "\r\n", "\n" or a bare "\r" (ASCII-compatible encodings). A "\r" that is
    /// the last byte buffered ends the line at once; the buffer then drops a "\n" that arrives
    /// next (<see cref="ReceiveBuffer.LineEndedAtCr"/>), whatever receive mode comes next.
    /// </summary>
    internal sealed class AnyLineFrame : FrameRule<byte[]>
    {
        private int _scanned;

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            for (int i = _scanned; i < buffer.Count; i++)
            {
                byte b = buffer[i];
                if (b != (byte)'\r' && b != (byte)'\n')
                {
                    continue;
                }

                result = buffer.Take(i);
                buffer.Skip(1);
                if (b == (byte)'\r')
                {
                    if (buffer.Count == 0)
                    {
                        buffer.LineEndedAtCr();
                    }
                    else if (buffer[0] == (byte)'\n')
                    {
                        buffer.Skip(1);
                    }
                }

                return true;
            }

            _scanned = buffer.Count;
            if (peerClosed && buffer.Count > 0)
            {
                // The last line of a stream may lack its terminator.
                result = buffer.Take(buffer.Count);
                return true;
            }

            result = Array.Empty<byte>();
            return false;
        }
    }

    /// <summary>Everything until the peer closes its side.</summary>
    internal sealed class ToEndFrame : FrameRule<byte[]>
    {
        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out byte[] result)
        {
            result = peerClosed ? buffer.Take(buffer.Count) : Array.Empty<byte>();
            return peerClosed;
        }
    }

    /// <summary>The text a pattern receive consumed and the match that ended it.</summary>
    internal readonly struct PatternReceipt
    {
        public PatternReceipt(byte[] bytes, string text, Match match)
        {
            Bytes = bytes;
            Text = text;
            Match = match;
        }

        /// <summary>The bytes the rule took out of the buffer, as they arrived.</summary>
        public byte[] Bytes { get; }

        /// <summary>Those bytes decoded (escape sequences removed when asked).</summary>
        public string Text { get; }

        public Match Match { get; }
    }

    /// <summary>
    /// Text up to the end of the first match of a regular expression; bytes after the match stay
    /// buffered. The buffered bytes are decoded once, as they arrive. A regex may match anywhere,
    /// so every attempt matches the whole text: to keep the cost linear in the bytes received,
    /// an attempt is made once the text has doubled since the last one, or when no
    /// more bytes came for a while (short, and growing with the text), or at end of stream.
    /// </summary>
    internal sealed class PatternFrame : FrameRule<PatternReceipt>
    {
        /// <summary>Below this many characters every arrival is matched at once.</summary>
        internal const int EagerChars = 64 * 1024;

        private readonly Regex _pattern;
        private readonly bool _stripAnsi;
        private readonly DecodedText _decoded;
        private readonly object? _owner;
        private int _attempted = -1;
        private bool _quiet;
        private bool _deferred;

        public PatternFrame(Regex pattern, Encoding encoding, bool stripAnsi, int maxBytes, object? owner = null)
        {
            _pattern = pattern;
            _stripAnsi = stripAnsi;
            _decoded = new DecodedText(encoding, maxBytes);
            _owner = owner;
        }

        public override bool WantsWholeBurst => true;

        /// <summary>Match attempts made so far (for tests of the cost).</summary>
        public int Attempts { get; private set; }

        public override TimeSpan Settle =>
            _deferred
                // Waiting a little per attempt bounds matching to a small share of the time waited.
                ? TimeSpan.FromMilliseconds(Math.Min(100, 5 + (_decoded.Length / 50_000)))
                : TimeSpan.Zero;

        public override void OnQuiet() => _quiet = true;

        public override bool TryTake(ReceiveBuffer buffer, bool peerClosed, out PatternReceipt result)
        {
            result = default;
            if (buffer.Count == 0)
            {
                return false;
            }

            // Nothing is taken from the buffer until the match, so what was decoded on an earlier
            // pass stays valid and only the new bytes are decoded.
            _decoded.Extend(buffer.Segment);
            int length = _decoded.Length;
            if (length == _attempted)
            {
                return false;
            }

            _deferred = !(peerClosed || _quiet || length <= EagerChars || _attempted < 0 || length - _attempted >= _attempted);
            if (_deferred)
            {
                return false;
            }

            _quiet = false;
            _attempted = length;
            Attempts++;
            string haystack = _decoded.ToString();
            List<int>? cleanEnds = null;
            if (_stripAnsi)
            {
                cleanEnds = new List<int>(haystack.Length);
                haystack = AnsiText.Strip(haystack, cleanEnds);
            }

            Match m;
            try
            {
                m = _pattern.Match(haystack);
            }
            catch (RegexMatchTimeoutException ex)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The pattern '{Endpoints.Shorten(_pattern.ToString())}' took longer than {ex.MatchTimeout.TotalSeconds:0.#} s to match {haystack.Length} characters{(_owner is null ? "" : $" on session {_owner}")}; simplify it. The data stays buffered.",
                    ex, target: _owner);
            }

            if (!m.Success)
            {
                return false;
            }

            int charEnd = m.Index + m.Length;
            int rawCharEnd = cleanEnds is null || charEnd == 0 ? charEnd : cleanEnds[charEnd - 1];
            var taken = buffer.Take(_decoded.ByteEnd(buffer.Segment, rawCharEnd));
            result = new PatternReceipt(taken, haystack.Substring(0, charEnd), m);
            return true;
        }
    }

    /// <summary>
    /// Buffered bytes decoded as they arrive. Bytes of an incomplete trailing character produce
    /// no char yet, so a match never includes them and they stay buffered. Memory: the chars
    /// (at most what maxBytes decodes to) and one checkpoint per decoded burst, from which the
    /// byte offset of a char is found again when a match needs it.
    /// </summary>
    internal sealed class DecodedText
    {
        private static readonly byte[] s_none = Array.Empty<byte>();
        private readonly Encoding _encoding;
        private readonly Decoder _decoder;
        private readonly int _maxChars;
        private readonly List<(int Bytes, int Chars)> _checkpoints = new() { (0, 0) };
        private char[] _chars = Array.Empty<char>();
        private int _bytes;

        public DecodedText(Encoding encoding, int maxBytes)
        {
            _encoding = encoding;
            _decoder = encoding.GetDecoder();
            _maxChars = encoding.GetMaxCharCount(Math.Min(maxBytes, (int.MaxValue / 2) - 64));
        }

        /// <summary>Chars decoded so far.</summary>
        public int Length { get; private set; }

        /// <summary>Chars held (for tests of the memory bound).</summary>
        internal int Capacity => _chars.Length;

        /// <summary>Decodes the bytes of data not decoded yet (data starts where the first call's did).</summary>
        public void Extend(ArraySegment<byte> data)
        {
            int count = data.Count - _bytes;
            if (count <= 0)
            {
                return;
            }

            int offset = data.Offset + _bytes;
            int need = _decoder.GetCharCount(data.Array!, offset, count, flush: false);
            Reserve(Length + need);
            int produced = _decoder.GetChars(data.Array!, offset, count, _chars, Length, flush: false);
            _bytes += count;
            Length += produced;

            // A clean point (no partial character held by the decoder: a flush would add nothing)
            // is a place ByteEnd can start decoding again from.
            if (_decoder.GetCharCount(s_none, 0, 0, flush: true) == 0 && _checkpoints[_checkpoints.Count - 1].Bytes != _bytes)
            {
                _checkpoints.Add((_bytes, Length));
            }
        }

        private void Reserve(int needed)
        {
            if (_chars.Length >= needed)
            {
                return;
            }

            int size = (int)Math.Max(needed, Math.Min((long)_chars.Length * 2, Math.Max(_maxChars, needed)));
            var bigger = new char[Math.Max(size, 256)];
            Array.Copy(_chars, bigger, Length);
            _chars = bigger;
        }

        public override string ToString() => new(_chars, 0, Length);

        /// <summary>The decoded char at i (i below Length).</summary>
        public char this[int i] => _chars[i];

        /// <summary>Part of the decoded text.</summary>
        public string Substring(int start, int length) => new(_chars, start, length);

        /// <summary>The byte offset in data (the bytes decoded so far) just after the char at charEnd - 1 (0 for 0).</summary>
        public int ByteEnd(ArraySegment<byte> data, int charEnd)
        {
            if (charEnd <= 0)
            {
                return 0;
            }

            int i = _checkpoints.Count - 1;
            while (_checkpoints[i].Chars > charEnd)
            {
                i--;
            }

            var (bytes, chars) = _checkpoints[i];
            if (chars == charEnd)
            {
                return bytes;
            }

            // Decode again from the checkpoint, one byte at a time, to the byte that completes the char.
            var decoder = _encoding.GetDecoder();
            var one = new byte[1];
            var sink = new char[4];
            int at = bytes;
            while (chars < charEnd && at < _bytes)
            {
                one[0] = data.Array![data.Offset + at];
                chars += decoder.GetChars(one, 0, 1, sink, 0, flush: false);
                at++;
            }

            return at;
        }
    }
}

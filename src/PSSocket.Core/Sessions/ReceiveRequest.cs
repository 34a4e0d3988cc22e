using System.Text.RegularExpressions;

namespace PSSocket.Sessions
{
    /// <summary>Where a receive from a byte stream stops.</summary>
    public enum ReceiveMode
    {
        /// <summary>What is buffered, or else what arrives first.</summary>
        Available,
        /// <summary>Exactly <see cref="ReceiveRequest.Count"/> bytes.</summary>
        Count,
        /// <summary>Up to and including a delimiter.</summary>
        Until,
        /// <summary>Up to the end of the first match of a regular expression.</summary>
        Pattern,
        /// <summary><see cref="ReceiveRequest.Count"/> lines, one piece each.</summary>
        Line,
        /// <summary>Until the peer closes its side.</summary>
        ToEnd,
    }

    /// <summary>
    /// One receive from a TCP session as a caller states it (Receive-SocketData's parameters):
    /// which framing rule stops it, how the bytes become text, and how much may be buffered. It
    /// picks the session's receive method for the mode; the caller only waits and writes.
    /// </summary>
    public sealed class ReceiveRequest
    {
        private Regex? _pattern;

        /// <summary>Where the receive stops.</summary>
        public ReceiveMode Mode { get; set; }

        /// <summary>Bytes for <see cref="ReceiveMode.Count"/>, lines for <see cref="ReceiveMode.Line"/>.</summary>
        public int Count { get; set; } = 1;

        /// <summary>The delimiter text for <see cref="ReceiveMode.Until"/>, encoded with the request's encoding.</summary>
        public string Until { get; set; } = "";

        /// <summary>The regular expression for <see cref="ReceiveMode.Pattern"/>.</summary>
        public string Pattern
        {
            get => _pattern?.ToString() ?? "";
            set => _pattern = new Regex(value, RegexOptions.CultureInvariant | RegexOptions.Multiline, TimeSpan.FromSeconds(2));
        }

        /// <summary>Decodes (and encodes the delimiter) with this instead of the session's encoding.</summary>
        public Encoding? Encoding { get; set; }

        /// <summary>The most bytes the framing rule may buffer while looking for its stop point.</summary>
        public int MaxBytes { get; set; } = TcpSession.DefaultMaxBytes;

        /// <summary>Removes ANSI/VT escape sequences from the text (also when the session's StripAnsi is set).</summary>
        public bool StripAnsi { get; set; }

        /// <summary>The caller wants bytes: what arrives is not cut at a character boundary.</summary>
        public bool AsBytes { get; set; }

        /// <summary>How many pieces one request gives: <see cref="Count"/> lines, else one.</summary>
        public int Pieces => Mode == ReceiveMode.Line ? Count : 1;

        /// <summary>Whether a file destination is written as the bytes stream in (constant memory) rather than piece by piece.</summary>
        public bool StreamsToFile => Mode is ReceiveMode.Available or ReceiveMode.Count or ReceiveMode.ToEnd;

        /// <summary>The encoding the request uses on this session.</summary>
        public Encoding EncodingFor(TcpSession session) => Encoding ?? session.Encoding;

        /// <summary>Receives one piece: waits until the mode's stop point, the deadline or the token.</summary>
        public async Task<ReceivedPiece> ReceiveAsync(TcpSession session, Deadline deadline, CancellationToken token)
        {
            if (session is null)
            {
                throw new ArgumentNullException(nameof(session));
            }

            var encoding = EncodingFor(session);
            bool strip = StripAnsi || session.StripAnsi;
            switch (Mode)
            {
                case ReceiveMode.Count:
                    return Piece(await session.ReceiveCountAsync(Count, deadline, token).ConfigureAwait(false), encoding, strip);
                case ReceiveMode.Until:
                    return Piece(await session.ReceiveUntilAsync(encoding.GetBytes(Until), MaxBytes, deadline, token).ConfigureAwait(false), encoding, strip);
                case ReceiveMode.Pattern:
                    var pattern = _pattern ?? throw new InvalidOperationException("A Pattern receive needs its Pattern.");
                    // The text was decoded (and cleaned) once by the rule, from the very bytes it took.
                    var receipt = await session.ReceiveMatchAsync(pattern, encoding, strip, MaxBytes, deadline, token).ConfigureAwait(false);
                    return new ReceivedPiece(receipt.Bytes, AsBytes ? null : receipt.Text, receipt.Match, null);
                case ReceiveMode.Line:
                    var line = await session.ReceiveLineAsync(encoding, MaxBytes, deadline, token).ConfigureAwait(false);
                    var piece = Piece(line, encoding, strip);
                    return new ReceivedPiece(piece.Bytes, piece.Text, null, encoding.GetBytes(session.LineTerminator));
                case ReceiveMode.ToEnd:
                    return Piece(await session.ReceiveToEndAsync(MaxBytes, deadline, token).ConfigureAwait(false), encoding, strip);
                default:
                    return Piece(await session.ReceiveAvailableAsync(MaxBytes, AsBytes ? null : encoding, deadline, token).ConfigureAwait(false), encoding, strip);
            }
        }

        private ReceivedPiece Piece(byte[] data, Encoding encoding, bool strip)
        {
            if (AsBytes)
            {
                return new ReceivedPiece(data, null, null, null);
            }

            string text = encoding.GetString(data);
            return new ReceivedPiece(data, strip ? AnsiText.Strip(text) : text, null, null);
        }
    }

    /// <summary>What one receive took from a session: the bytes, their text, and for a pattern its match.</summary>
    public sealed class ReceivedPiece
    {
        private readonly byte[]? _terminator;

        internal ReceivedPiece(byte[] bytes, string? text, Match? match, byte[]? terminator)
        {
            Bytes = bytes;
            Text = text;
            Match = match;
            _terminator = terminator;
        }

        /// <summary>The bytes taken out of the session's buffer (a line without its terminator).</summary>
        public byte[] Bytes { get; }

        /// <summary>The bytes as text (escape sequences removed where asked); null when bytes were asked for.</summary>
        public string? Text { get; }

        /// <summary>For a pattern: the match, with its groups.</summary>
        public Match? Match { get; }

        /// <summary>Writes the piece to a file: its bytes, and a line's terminator after a line.</summary>
        public void WriteTo(Stream destination)
        {
            if (destination is null)
            {
                throw new ArgumentNullException(nameof(destination));
            }

            destination.Write(Bytes, 0, Bytes.Length);
            if (_terminator is not null)
            {
                destination.Write(_terminator, 0, _terminator.Length);
            }
        }
    }
}

namespace PSSocket.Sessions
{
    /// <summary>
    /// What ends a line on a session: a fixed text ("\n", "\r\n", or any other), or
    /// <see cref="Any"/>, with which a received line ends at "\r\n", "\n" or a bare "\r" and
    /// -Line sends "\r\n" (the network's line ending: telnet, SMTP, HTTP and most devices read
    /// it, and those that want "\n" alone ignore the "\r"). The word "Any" names the value; it is
    /// never text to send: what goes on the wire is always <see cref="Text"/>.
    /// </summary>
    public sealed class LineEnding : IEquatable<LineEnding>
    {
        private const string AnyName = "Any";
        private readonly string _text;

        private LineEnding(string text, bool isAny)
        {
            _text = text;
            IsAny = isAny;
        }

        /// <summary>
        /// A line ending from text: "Any" (any case) is <see cref="Any"/>; any other non-empty
        /// text is sent as it is and ends a received line.
        /// </summary>
        public LineEnding(string text)
        {
            if (string.IsNullOrEmpty(text))
            {
                throw new ArgumentException("NewLine cannot be empty.", nameof(text));
            }

            IsAny = string.Equals(text, AnyName, StringComparison.OrdinalIgnoreCase);
            _text = IsAny ? "\r\n" : text;
        }

        /// <summary>"\n", the default.</summary>
        public static LineEnding Lf { get; } = new("\n", false);

        /// <summary>"\r\n".</summary>
        public static LineEnding CrLf { get; } = new("\r\n", false);

        /// <summary>A received line ends at "\r\n", "\n" or a bare "\r"; -Line sends "\r\n".</summary>
        public static LineEnding Any { get; } = new("\r\n", true);

        /// <summary>True for <see cref="Any"/>.</summary>
        public bool IsAny { get; }

        /// <summary>What -Line appends when sending ("\r\n" for Any).</summary>
        public string Text => _text;

        /// <summary>
        /// True when a received line ends at "\r\n", "\n" or a bare "\r" alike (Any, and a lone
        /// "\r", since "\r\n" senders end their lines with "\r" too).
        /// </summary>
        internal bool EndsAtAnyBreak => IsAny || _text == "\r";

        /// <summary>The same as the constructor; for PowerShell's conversions and callers that prefer a method.</summary>
        public static LineEnding Parse(string text) => string.Equals(text, AnyName, StringComparison.OrdinalIgnoreCase) ? Any : new LineEnding(text);

        /// <summary>The same as <see cref="Parse"/>.</summary>
        public static LineEnding FromString(string text) => Parse(text);

        /// <summary>Text converts to a line ending (so `$s.NewLine = "`r`n"` and -NewLine strings work).</summary>
        public static implicit operator LineEnding(string text) => Parse(text);

        /// <summary>"Any", or the text itself: what a user set, and what `$s.NewLine -eq "`n"` compares.</summary>
        public override string ToString() => IsAny ? AnyName : _text;

        /// <inheritdoc />
        public bool Equals(LineEnding? other) => other is not null && IsAny == other.IsAny && string.Equals(_text, other._text, StringComparison.Ordinal);

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is LineEnding other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode() => IsAny ? 1 : StringComparer.Ordinal.GetHashCode(_text);

        /// <summary>Equality.</summary>
        public static bool operator ==(LineEnding? left, LineEnding? right) => left is null ? right is null : left.Equals(right);

        /// <summary>Inequality.</summary>
        public static bool operator !=(LineEnding? left, LineEnding? right) => !(left == right);
    }
}

namespace PSSocket.Net
{
    /// <summary>Encoding names users type, and text helpers that respect character boundaries.</summary>
    public static class TextEncoding
    {
        /// <summary>UTF-8 without a byte order mark, replacing invalid bytes with U+FFFD.</summary>
        public static readonly Encoding Utf8NoBom = new UTF8Encoding(false, false);

        private static readonly Dictionary<string, Func<Encoding>> s_names = new(StringComparer.OrdinalIgnoreCase)
        {
            ["utf8"] = () => Utf8NoBom,
            ["utf-8"] = () => Utf8NoBom,
            ["utf8NoBOM"] = () => Utf8NoBom,
            ["utf8BOM"] = () => new UTF8Encoding(true, false),
            ["ascii"] = () => Encoding.ASCII,
            ["us-ascii"] = () => Encoding.ASCII,
            ["latin1"] = () => Encoding.GetEncoding(28591),
            ["iso-8859-1"] = () => Encoding.GetEncoding(28591),
            ["unicode"] = () => new UnicodeEncoding(false, false),
            ["utf16"] = () => new UnicodeEncoding(false, false),
            ["utf-16"] = () => new UnicodeEncoding(false, false),
            ["utf-16le"] = () => new UnicodeEncoding(false, false),
            ["bigendianunicode"] = () => new UnicodeEncoding(true, false),
            ["utf-16be"] = () => new UnicodeEncoding(true, false),
            ["utf32"] = () => new UTF32Encoding(false, false),
            ["utf-32"] = () => new UTF32Encoding(false, false),
            ["bigendianutf32"] = () => new UTF32Encoding(true, false),
        };

        /// <summary>The names offered to tab completion.</summary>
        public static IReadOnlyList<string> KnownNames { get; } = new[]
        {
            "utf8", "utf8BOM", "ascii", "latin1", "unicode", "bigendianunicode", "utf32", "bigendianutf32", "utf-16le", "utf-16be", "iso-8859-1",
        };

        /// <summary>Resolves a name, an alias or a code page number.</summary>
        /// <exception cref="PSSocketException">InvalidArgument when the name is unknown.</exception>
        public static Encoding Resolve(string name)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "The encoding name is empty. " + Hint, target: name);
            }

            name = name.Trim();
            if (s_names.TryGetValue(name, out var make))
            {
                return make();
            }

            try
            {
                var found = int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int codePage)
                    ? Encoding.GetEncoding(codePage)
                    : Encoding.GetEncoding(name);
                return found is UTF8Encoding ? Utf8NoBom : found;
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"'{name}' is not an encoding this system knows. " + Hint, ex, target: name);
            }
        }

        private const string Hint = "Use a name such as utf8, ascii, latin1, unicode, bigendianunicode or utf32, or a code page number.";

        /// <summary>
        /// How many of the count bytes form whole characters, so text is never cut inside one.
        /// The incomplete tail stays buffered for the next read.
        /// </summary>
        public static int CompleteLength(Encoding encoding, ReceiveBufferView data, int count)
        {
            if (count <= 0)
            {
                return 0;
            }

            switch (encoding)
            {
                case UTF8Encoding:
                    // Walk back over at most three continuation bytes to the lead byte of the last character.
                    int i = count - 1;
                    int back = 0;
                    while (i >= 0 && back < 3 && (data[i] & 0xC0) == 0x80)
                    {
                        i--;
                        back++;
                    }

                    if (i < 0)
                    {
                        return count;
                    }

                    byte lead = data[i];
                    int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                    if (lead >= 0xF8 || (lead & 0xC0) == 0x80)
                    {
                        return count;
                    }

                    return count - i >= need ? count : i;
                case UnicodeEncoding:
                    int even = count & ~1;
                    if (even >= 2)
                    {
                        bool bigEndian = encoding.GetPreamble() is { Length: 2 } p ? p[0] == 0xFE : encoding.CodePage == 1201;
                        int hi = bigEndian ? data[even - 2] : data[even - 1];
                        if (hi is >= 0xD8 and <= 0xDB)
                        {
                            return even - 2;
                        }
                    }

                    return even;
                case UTF32Encoding:
                    return count & ~3;
                default:
                    return count;
            }
        }

        /// <summary>
        /// The text with control characters written as escapes (\r, \n, \t, \e, \xNN, \uNNNN),
        /// for messages, tables and transcripts: the one escaping of peer-chosen text (banners,
        /// datagram details, certificate names, received data), so no terminal escape sequence, line
        /// break or reordering mark a peer sends reaches the console as such. C0 and C1 controls,
        /// DEL, the Unicode line and paragraph separators and the bidirectional overrides are escaped.
        /// </summary>
        /// <param name="s">The text.</param>
        /// <param name="keepTabs">Leaves tabs as they are (transcript lines keep their layout).</param>
        public static string Escape(string s, bool keepTabs = false)
        {
            if (s is null)
            {
                throw new ArgumentNullException(nameof(s));
            }

            StringBuilder? sb = null;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if ((c >= ' ' && c != '\u007f' && !(c >= '\u0080' && c <= '\u009f') && !IsLayoutControl(c)) || (keepTabs && c == '\t'))
                {
                    sb?.Append(c);
                    continue;
                }

                sb ??= new StringBuilder(s, 0, i, s.Length + 16);
                sb.Append(c switch
                {
                    '\r' => "\\r",
                    '\n' => "\\n",
                    '\t' => "\\t",
                    '\u001b' => "\\e",
                    _ when c > '\u00ff' => "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture),
                    _ => "\\x" + ((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture),
                });
            }

            return sb?.ToString() ?? s;
        }

        /// <summary>
        /// Appends one received byte so a person can read it: printable ASCII as it is, \r \n \t
        /// and \\ escaped, any other byte as \x and two hex digits (<paramref name="hexFormat"/>
        /// "X2" or "x2": each output keeps the case it has always shown).
        /// </summary>
        internal static void AppendByte(StringBuilder sb, byte b, string hexFormat)
        {
            switch (b)
            {
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                default:
                    if (b is >= 0x20 and < 0x7F)
                    {
                        sb.Append((char)b);
                    }
                    else
                    {
                        sb.Append("\\x").Append(b.ToString(hexFormat, System.Globalization.CultureInfo.InvariantCulture));
                    }

                    break;
            }
        }

        // Line and paragraph separators break a line; the bidirectional embeddings, overrides and
        // isolates reorder what follows them on screen.
        private static bool IsLayoutControl(char c) =>
            c is '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069');
    }

    /// <summary>Indexed read access to buffered bytes without copying them.</summary>
    public readonly struct ReceiveBufferView
    {
        private readonly byte[] _array;
        private readonly int _offset;

        /// <summary>Views the array from offset.</summary>
        public ReceiveBufferView(byte[] array, int offset)
        {
            _array = array;
            _offset = offset;
        }

        /// <summary>The byte at i.</summary>
        public byte this[int i] => _array[_offset + i];
    }
}

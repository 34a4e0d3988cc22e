namespace PSSocket.Net
{
    /// <summary>
    /// Removes what a terminal would interpret rather than print: ANSI/VT escape sequences
    /// (CSI such as colours and cursor moves, OSC such as window titles, charset selection and
    /// other two-byte ESC sequences) and backspace overstrikes ("a\bb" shows as "b"), which
    /// device CLIs and pagers emit.
    /// </summary>
    public static class AnsiText
    {
        private const char Esc = '\u001b';
        private const char Bel = '\u0007';
        private const char Backspace = '\b';
        private const char Csi8Bit = '\u009b';
        private const char Osc8Bit = '\u009d';
        private const char St8Bit = '\u009c';

        /// <summary>The text without escape sequences and with backspaces applied.</summary>
        public static string Strip(string text)
        {
            if (string.IsNullOrEmpty(text) || !NeedsWork(text))
            {
                return text;
            }

            return Strip(text, null);
        }

        /// <summary>
        /// Strips like <see cref="Strip(string)"/> and, for each kept char, records the index in
        /// the original text just after it, so a match in the clean text maps back to the raw text.
        /// </summary>
        public static string Strip(string text, List<int>? originalEnds)
        {
            var sb = new StringBuilder(text.Length);
            int i = 0;
            while (i < text.Length)
            {
                char c = text[i];
                if (c == Esc || c == Csi8Bit || c == Osc8Bit)
                {
                    i = SkipSequence(text, i);
                    continue;
                }

                if (c == Backspace)
                {
                    // A terminal's cursor does not move back past the start of the line.
                    if (sb.Length > 0 && sb[sb.Length - 1] != '\n')
                    {
                        sb.Length--;
                        originalEnds?.RemoveAt(originalEnds.Count - 1);
                    }

                    i++;
                    continue;
                }

                sb.Append(c);
                originalEnds?.Add(i + 1);
                i++;
            }

            return sb.ToString();
        }

        private static bool NeedsWork(string text)
        {
            foreach (char c in text)
            {
                if (c == Esc || c == Backspace || c == Csi8Bit || c == Osc8Bit)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Returns the index just after the sequence that starts at i (or the end of text when it is cut off).</summary>
        private static int SkipSequence(string text, int i)
        {
            char c = text[i];
            if (c == Csi8Bit)
            {
                return SkipCsiBody(text, i + 1);
            }

            if (c == Osc8Bit)
            {
                return SkipStringBody(text, i + 1);
            }

            if (i + 1 >= text.Length)
            {
                return text.Length;
            }

            char next = text[i + 1];
            switch (next)
            {
                case '[':
                    return SkipCsiBody(text, i + 2);
                case ']':
                case 'P': // DCS
                case 'X': // SOS
                case '^': // PM
                case '_': // APC
                    return SkipStringBody(text, i + 2);
                default:
                    // ESC, zero or more intermediates (0x20-0x2F), one final byte: "ESC ( B", "ESC 7", "ESC =".
                    int j = i + 1;
                    while (j < text.Length && text[j] >= ' ' && text[j] <= '/')
                    {
                        j++;
                    }

                    return j < text.Length ? j + 1 : text.Length;
            }
        }

        private static int SkipCsiBody(string text, int j)
        {
            // Parameters and intermediates (0x20-0x3F) then one final byte (0x40-0x7E).
            while (j < text.Length && text[j] >= ' ' && text[j] <= '?')
            {
                j++;
            }

            return j < text.Length ? j + 1 : text.Length;
        }

        private static int SkipStringBody(string text, int j)
        {
            // Ends at BEL, ST (ESC \) or the 8-bit ST.
            while (j < text.Length)
            {
                char c = text[j];
                if (c == Bel || c == St8Bit)
                {
                    return j + 1;
                }

                if (c == Esc && j + 1 < text.Length && text[j + 1] == '\\')
                {
                    return j + 2;
                }

                j++;
            }

            return text.Length;
        }
    }
}

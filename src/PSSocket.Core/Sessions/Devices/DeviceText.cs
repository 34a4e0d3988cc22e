namespace PSSocket.Sessions.Devices
{
    /// <summary>
    /// Turns what a device CLI sent into the text a person reads: escape sequences and backspace
    /// overstrikes removed, a bare carriage return overwriting its line as on a terminal, line
    /// endings as "\n", the echoed command and the trailing prompt cut off.
    /// </summary>
    internal static class DeviceText
    {
        /// <summary>
        /// Renders text as a terminal would show it, lines ended by "\n": "\r\n", "\n\r" and
        /// "\r\r\n" end a line; a bare "\r" moves back to the start of the line, so what follows
        /// overwrites it (blanks that only erased are trimmed from such a line).
        /// </summary>
        public static string Render(string text)
        {
            if (text.IndexOf('\r') < 0)
            {
                return text;
            }

            var sb = new StringBuilder(text.Length);
            var line = new StringBuilder();
            int col = 0;
            bool overwritten = false;
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '\n')
                {
                    EndLine(sb, line, overwritten);
                    sb.Append('\n');
                    col = 0;
                    overwritten = false;
                    continue;
                }

                if (c == '\r')
                {
                    if (i + 1 < text.Length && (text[i + 1] == '\n' || text[i + 1] == '\r'))
                    {
                        continue;
                    }

                    if (col > 0)
                    {
                        overwritten = true;
                    }

                    col = 0;
                    continue;
                }

                if (col < line.Length)
                {
                    line[col] = c;
                }
                else
                {
                    line.Append(c);
                }

                col++;
            }

            EndLine(sb, line, overwritten);
            return sb.ToString();
        }

        private static void EndLine(StringBuilder sb, StringBuilder line, bool overwritten)
        {
            if (overwritten)
            {
                int n = line.Length;
                while (n > 0 && line[n - 1] == ' ')
                {
                    n--;
                }

                line.Length = n;
            }

            sb.Append(line);
            line.Clear();
        }

        /// <summary>The clean text of what arrived: escape sequences removed, then rendered.</summary>
        public static string Clean(string raw) => Render(AnsiText.Strip(raw));

        /// <summary>
        /// The device's answer to a command: the clean text without the echoed command line (the
        /// first line, when it ends with the command) and without the line end before the prompt.
        /// </summary>
        public static string Answer(string clean, string command)
        {
            string text = clean;
            int firstBreak = text.IndexOf('\n');
            string first = firstBreak < 0 ? text : text.Substring(0, firstBreak);
            if (IsEcho(first, command))
            {
                text = firstBreak < 0 ? "" : text.Substring(firstBreak + 1);
            }

            if (text.EndsWith("\n", StringComparison.Ordinal))
            {
                text = text.Substring(0, text.Length - 1);
            }

            return text;
        }

        /// <summary>True when the line is the command as the device echoed it (after a re-printed prompt, if any).</summary>
        public static bool IsEcho(string line, string command)
        {
            string want = command.Trim();
            string got = line.TrimEnd();
            return want.Length == 0 ? got.Trim().Length == 0 : got.EndsWith(want, StringComparison.Ordinal);
        }

        /// <summary>The line of the text where the pattern (an error message of the device) matches first, trimmed; null when it does not match.</summary>
        public static string? FirstMatchingLine(System.Text.RegularExpressions.Regex? pattern, string text)
        {
            var m = pattern?.Match(text);
            if (m is null || !m.Success)
            {
                return null;
            }

            int start = m.Index == 0 ? 0 : text.LastIndexOf('\n', m.Index - 1) + 1;
            int end = text.IndexOf('\n', m.Index);
            return text.Substring(start, (end < 0 ? text.Length : end) - start).Trim();
        }
    }
}

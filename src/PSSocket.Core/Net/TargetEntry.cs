namespace PSSocket.Net
{
    /// <summary>
    /// Checks one entry of a list of targets (-ComputerName, pipeline input) before anything is
    /// resolved: a blank entry (empty, spaces, a bare line break, as a trailing line of a text file
    /// gives) is a per-entry InvalidArgument error naming its position, so the other entries still run.
    /// </summary>
    public static class TargetEntry
    {
        /// <summary>The error for a blank entry, or null when the entry names something.</summary>
        /// <param name="text">The entry as given.</param>
        /// <param name="position">Its 1-based position in the list or the pipeline.</param>
        /// <param name="parameter">The parameter it came from, without the dash.</param>
        public static PSSocketException? CheckBlank(string? text, long position, string parameter = "ComputerName")
        {
            if (text is not null && text.Trim().Length > 0)
            {
                return null;
            }

            string shown = text is null ? "$null" : "'" + Escape(text) + "'";
            return new PSSocketException(SocketErrorKind.InvalidArgument,
                $"Entry {position.ToString(CultureInfo.InvariantCulture)} of -{parameter} is blank ({shown}): it names no host, so it is skipped. Remove empty lines from the list.",
                target: text);
        }

        /// <summary>
        /// Refuses a host name with a control character (CR, LF, NUL, ESC ...), which no host name has
        /// and which a proxy request would carry as extra protocol lines: InvalidArgument, before
        /// anything is sent anywhere.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument naming the character.</exception>
        public static void CheckHostCharacters(string? host, string parameter = "ComputerName")
        {
            if (host is null)
            {
                return;
            }

            foreach (char c in host)
            {
                if (char.IsControl(c))
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"-{parameter} '{Escape(host)}' holds a control character ({Escape(c.ToString())}); a host name has none, so nothing was sent. Remove line breaks and other control characters from the name.",
                        target: Escape(host));
                }
            }
        }

        /// <summary>The text with control characters written as escapes (\r, \n, \t, \0, \xNN), at most 80 characters.</summary>
        public static string Escape(string text)
        {
            var sb = new StringBuilder(text.Length + 8);
            foreach (char c in text)
            {
                switch (c)
                {
                    case '\r': sb.Append("\\r"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\0': sb.Append("\\0"); break;
                    default:
                        if (char.IsControl(c))
                        {
                            sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            sb.Append(c);
                        }

                        break;
                }
            }

            return Endpoints.Shorten(sb.ToString());
        }
    }
}

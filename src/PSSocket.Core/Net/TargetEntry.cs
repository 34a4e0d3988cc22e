using System.Globalization;
using System.Text;

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

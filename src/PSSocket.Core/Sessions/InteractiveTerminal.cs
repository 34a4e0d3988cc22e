namespace PSSocket.Sessions
{
    /// <summary>
    /// The session side of Enter-SocketSession, apart from the console: turns typed characters
    /// into what to echo and what to send (line editing, or keys as typed once a telnet server
    /// echoes), and what arrives into what to print (text, ANSI stripped where the session asks,
    /// or a running hex dump). Where the keys come from and where the text goes is the caller's.
    /// </summary>
    public sealed class InteractiveTerminal
    {
        /// <summary>Ctrl+]: the key that returns to PowerShell.</summary>
        public const char EscapeChar = '\u001d';

        private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(50);

        // F5-F12 as an xterm numbers them (16 and 22 are skipped, as on the VT220).
        private static readonly string[] s_functionKeys = { "15", "17", "18", "19", "20", "21", "23", "24" };
        private static readonly TimeSpan s_sendTimeout = TimeSpan.FromSeconds(30);
        private readonly StringBuilder _line = new();
        private readonly bool _hex;
        private long _hexOffset;

        /// <summary>A terminal on the session; with hex, what arrives is printed as a hex dump.</summary>
        public InteractiveTerminal(TcpSession session, bool hex)
        {
            Session = session ?? throw new ArgumentNullException(nameof(session));
            _hex = hex;
        }

        /// <summary>The session typed into.</summary>
        public TcpSession Session { get; }

        /// <summary>Why the session ended, once <see cref="ReceiveAsync"/> has returned null.</summary>
        public string? EndReason { get; private set; }

        /// <summary>
        /// What arrived within one short poll, ready to print ("" when nothing did); null once the
        /// session has ended (peer closed, reset or closed here), with <see cref="EndReason"/> set.
        /// </summary>
        public async Task<string?> ReceiveAsync(CancellationToken token)
        {
            byte[] data;
            try
            {
                data = await Session.ReceiveAvailableAsync(64 * 1024, _hex ? null : Session.Encoding, Deadline.After(s_poll), token).ConfigureAwait(false);
            }
            catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout)
            {
                return "";
            }
            catch (PSSocketException ex) when (ex.Kind is SocketErrorKind.RemoteClosed or SocketErrorKind.ConnectionReset or SocketErrorKind.SessionClosed)
            {
                EndReason = ex.Kind == SocketErrorKind.RemoteClosed ? "the peer closed the connection" : ex.Message;
                return null;
            }

            if (_hex)
            {
                return HexDump(data);
            }

            string text = Session.Encoding.GetString(data);
            return Session.StripAnsi ? AnsiText.Strip(text) : text;
        }

        /// <summary>
        /// One typed character: returns what to echo (when the caller's input does not echo by
        /// itself, echo is true) and sets send to the bytes to send now, or null. A telnet server
        /// that echoes, or an SSH terminal, gets keys as they are typed (character mode: Tab, Ctrl+C and
        /// the like reach the remote side), as a telnet or ssh client sends them; everything else
        /// gets whole lines, edited with backspace.
        /// </summary>
        public string Type(char c, bool echo, out byte[]? send) => Type(c, 0, echo, out send);

        /// <summary>
        /// One typed key, as <see cref="Type(char, bool, out byte[])"/>; a key with no character (an
        /// arrow, Home, End, Insert, Delete, Page Up/Down, F1-F12, by its virtual key code) is sent in
        /// character mode as the escape sequence an xterm sends for it, so the remote shell's history
        /// and line editing work; in line mode it is ignored.
        /// </summary>
        public string Type(char c, int virtualKey, bool echo, out byte[]? send)
        {
            if (echo && Session.RemoteEchoes && c == '\0' && KeySequence(virtualKey) is { } sequence)
            {
                send = Encode(TakeLine(terminate: false) + sequence);
                return "";
            }

            if (echo && Session.RemoteEchoes)
            {
                string key = c switch
                {
                    '\r' or '\n' => Session.LineTerminator,
                    '\b' => "\u007f",
                    '\0' => "",
                    _ => c.ToString(),
                };
                send = Encode(TakeLine(terminate: false) + key);
                return "";
            }

            send = null;
            switch (c)
            {
                case '\r':
                case '\n':
                    send = Encode(TakeLine(terminate: true));
                    return echo ? Environment.NewLine : "";
                case '\b':
                case '\u007f':
                    if (_line.Length == 0)
                    {
                        return "";
                    }

                    _line.Length--;
                    return echo ? "\b \b" : "";
                default:
                    if (c < ' ' && c != '\t')
                    {
                        return "";
                    }

                    _line.Append(c);
                    return echo ? c.ToString() : "";
            }
        }

        /// <summary>
        /// What an xterm (in its normal cursor mode, which readline, vi and device CLIs all take) sends
        /// for a key with no character, by virtual key code (ConsoleKey's numbers, Windows' VK codes);
        /// null for any other key.
        /// </summary>
        public static string? KeySequence(int virtualKey) => virtualKey switch
        {
            33 => "\u001b[5~",
            34 => "\u001b[6~",
            35 => "\u001b[F",
            36 => "\u001b[H",
            37 => "\u001b[D",
            38 => "\u001b[A",
            39 => "\u001b[C",
            40 => "\u001b[B",
            45 => "\u001b[2~",
            46 => "\u001b[3~",
            >= 112 and <= 115 => "\u001bO" + (char)('P' + virtualKey - 112),
            >= 116 and <= 123 => "\u001b[" + s_functionKeys[virtualKey - 116] + "~",
            _ => null,
        };

        /// <summary>Input has ended: the bytes of the line typed so far (with the session's line end), or null when there is none.</summary>
        public byte[]? EndOfInput() => _line.Length == 0 ? null : Encode(TakeLine(terminate: true));

        /// <summary>Sends bytes from <see cref="Type(char, int, bool, out byte[])"/> or <see cref="EndOfInput"/>.</summary>
        public Task SendAsync(byte[] bytes, CancellationToken token) =>
            Session.SendAsync(bytes, 0, bytes.Length, Deadline.After(s_sendTimeout), token);

        private string TakeLine(bool terminate)
        {
            string text = terminate ? _line + Session.LineTerminator : _line.ToString();
            _line.Clear();
            return text;
        }

        private byte[]? Encode(string text) => text.Length == 0 ? null : Session.Encoding.GetBytes(text);

        /// <summary>hexdump -C style rows: offset since the terminal started, 16 bytes, printable characters.</summary>
        private string HexDump(byte[] data)
        {
            var sb = new StringBuilder();
            for (int row = 0; row < data.Length; row += 16)
            {
                sb.Append((_hexOffset + row).ToString("x8", CultureInfo.InvariantCulture)).Append("  ");
                for (int i = 0; i < 16; i++)
                {
                    sb.Append(row + i < data.Length ? data[row + i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
                    if (i == 7)
                    {
                        sb.Append(' ');
                    }
                }

                sb.Append(" |");
                for (int i = row; i < Math.Min(row + 16, data.Length); i++)
                {
                    sb.Append(data[i] is >= 0x20 and < 0x7f ? (char)data[i] : '.');
                }

                sb.Append('|').Append('\n');
            }

            _hexOffset += data.Length;
            return sb.ToString();
        }
    }
}

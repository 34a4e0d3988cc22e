namespace PSSocket.Sessions
{
    /// <summary>Which way data moved.</summary>
    public enum DataDirection
    {
        /// <summary>Written to the peer.</summary>
        Sent,
        /// <summary>Read from the peer.</summary>
        Received,
    }

    /// <summary>
    /// Sees every byte a session moves, once, as it moves: sends after the peer took them,
    /// receives as they come off the stream (after TLS and telnet decoding). Called from the
    /// send path and the receive path, possibly at the same time, so implementations lock.
    /// </summary>
    public interface ISessionObserver
    {
        /// <summary>Data moved. When redacted is true the bytes are a secret and must not be kept.</summary>
        void OnData(DataDirection direction, byte[] data, int offset, int count, bool redacted);
    }

    /// <summary>
    /// Writes a session's traffic to a file, created readable by its owner only on Unix. Text
    /// (the default): one line per received or sent line, with an ISO timestamp and a direction
    /// marker ("&gt;&gt;" sent, "&lt;&lt;" received); control characters other than line ends are
    /// written as escapes. Hex: per chunk a line "time marker N bytes" and then the lines
    /// <c>ncat -x</c> writes for it. Secrets are written as ********, never their bytes. Any
    /// byte mover (a session, a relay) can feed it through <see cref="ISessionObserver"/>.
    /// </summary>
    public sealed class SessionTranscript : ISessionObserver, IDisposable
    {
        /// <summary>What a redacted send is written as.</summary>
        public const string Redacted = "********";

        private readonly object _lock = new();
        private readonly StreamWriter _writer;
        private readonly Decoder _sentDecoder;
        private readonly Decoder _receivedDecoder;
        private readonly Encoding _encoding;
        private readonly EchoRedactor _echo = new();
        private bool _disposed;

        /// <summary>Opens (creates, or appends to) the file.</summary>
        /// <param name="path">The full path.</param>
        /// <param name="sessionEncoding">How Text decodes the bytes.</param>
        /// <param name="append">Adds to an existing file instead of replacing it.</param>
        /// <param name="noClobber">Refuses to replace an existing file (PSSocketException NoClobber).</param>
        /// <param name="format">Text or Hex.</param>
        public SessionTranscript(string path, Encoding sessionEncoding, bool append, bool noClobber = false, TranscriptFormat format = TranscriptFormat.Text)
        {
            Path = path;
            Format = format;
            var stream = OutputFile.Open(path, append, noClobber, ownerOnly: true);
            _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
            if (format == TranscriptFormat.Hex)
            {
                // ncat -x writes \n on every platform; so does this, to stay comparable.
                _writer.NewLine = "\n";
            }

            _encoding = sessionEncoding;
            _sentDecoder = sessionEncoding.GetDecoder();
            _receivedDecoder = sessionEncoding.GetDecoder();
        }

        /// <summary>The file written to.</summary>
        public string Path { get; }

        /// <summary>Text or Hex.</summary>
        public TranscriptFormat Format { get; }

        /// <summary>Writes a note line (start, stop) with the "##" marker.</summary>
        public void Note(string text)
        {
            lock (_lock)
            {
                if (!_disposed)
                {
                    _writer.WriteLine($"{Stamp()} ## {text}");
                }
            }
        }

        /// <summary>
        /// Writes what moved. After a secret is sent, its echo in what is received next is written
        /// as ******** too (a peer that echoes input, a telnet login), see <see cref="EchoRedactor"/>.
        /// </summary>
        public void OnData(DataDirection direction, byte[] data, int offset, int count, bool redacted)
        {
            lock (_lock)
            {
                if (direction == DataDirection.Sent)
                {
                    WriteHeld();
                    if (redacted && data is not null)
                    {
                        _echo.Watch(data, offset, count, _encoding);
                    }

                    Write(null, _sentDecoder, direction, data!, offset, count, redacted);
                    return;
                }

                if (!_echo.Watching || redacted)
                {
                    Write(null, _receivedDecoder, direction, data!, offset, count, redacted);
                    return;
                }

                var now = _echo.Received(data!, offset, count);
                if (now.Length > 0)
                {
                    Write(null, _receivedDecoder, direction, now, 0, now.Length, redacted: false);
                }
            }
        }

        private void WriteHeld()
        {
            var held = _echo.Flush();
            if (held.Length > 0)
            {
                Write(null, _receivedDecoder, DataDirection.Received, held, 0, held.Length, redacted: false);
            }
        }

        /// <summary>
        /// An observer that writes into this file with every record labelled by its source (a
        /// relayed client's endpoint, written after the time), each with its own text decoders, so
        /// the traffic of many connections can share one file and still be told apart.
        /// </summary>
        public ISessionObserver ForSource(string source) => new SourceObserver(this, source ?? throw new ArgumentNullException(nameof(source)));

        private void Write(string? source, Decoder decoder, DataDirection direction, byte[] data, int offset, int count, bool redacted)
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                string marker = direction == DataDirection.Sent ? ">>" : "<<";
                string stamp = source is null ? Stamp() : $"{Stamp()} {source}";
                if (redacted)
                {
                    _writer.WriteLine($"{stamp} {marker} {Redacted}");
                    return;
                }

                if (Format == TranscriptFormat.Hex)
                {
                    _writer.WriteLine($"{stamp} {marker} {count.ToString(CultureInfo.InvariantCulture)} bytes");
                    WriteHex(_writer, data, offset, count);
                    return;
                }

                var chars = new char[decoder.GetCharCount(data, offset, count)];
                decoder.GetChars(data, offset, count, chars, 0);
                foreach (var line in SplitLines(new string(chars)))
                {
                    _writer.WriteLine($"{stamp} {marker} {line}");
                }
            }
        }

        /// <summary>
        /// The lines <c>ncat -x</c> writes for one chunk: the offset in the chunk (4 hex digits),
        /// three spaces, 16 bytes in hex with an extra space after the eighth, then the bytes
        /// 0x21-0x7e as themselves and every other byte as '.', padded to 16.
        /// </summary>
        internal static void WriteHex(TextWriter writer, byte[] data, int offset, int count)
        {
            var line = new StringBuilder(80);
            for (int row = 0; row < count; row += 16)
            {
                line.Clear();
                line.Append(row.ToString("x4", CultureInfo.InvariantCulture)).Append("   ");
                int n = Math.Min(16, count - row);
                for (int i = 0; i < 16; i++)
                {
                    line.Append(i < n ? data[offset + row + i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
                    if (i == 7)
                    {
                        line.Append(' ');
                    }
                }

                line.Append(' ');
                for (int i = 0; i < 16; i++)
                {
                    byte b = i < n ? data[offset + row + i] : (byte)' ';
                    line.Append(i >= n ? ' ' : b is > 0x20 and < 0x7f ? (char)b : '.');
                }

                writer.WriteLine(line.ToString());
            }
        }

        private static string Stamp() => DateTimeOffset.Now.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

        /// <summary>Splits a chunk at line ends; each piece is escaped so a record is always one line.</summary>
        internal static string[] SplitLines(string text)
        {
            if (text.Length == 0)
            {
                return Array.Empty<string>();
            }

            var parts = text.Split('\n');
            int n = parts.Length;
            if (text.EndsWith("\n", StringComparison.Ordinal))
            {
                n--;
            }

            var lines = new string[n];
            for (int i = 0; i < n; i++)
            {
                var p = parts[i];
                if (p.EndsWith("\r", StringComparison.Ordinal))
                {
                    p = p.Substring(0, p.Length - 1);
                }

                lines[i] = Escape(p);
            }

            return lines;
        }

        /// <summary>The text with control characters written as escapes (\r, \n, \e, \xNN).</summary>
        internal static string Escape(string s) => TextEncoding.Escape(s, keepTabs: true);

        private sealed class SourceObserver : ISessionObserver
        {
            private readonly SessionTranscript _file;
            private readonly string _source;
            private readonly Decoder _sent;
            private readonly Decoder _received;

            public SourceObserver(SessionTranscript file, string source)
            {
                _file = file;
                _source = source;
                _sent = file._encoding.GetDecoder();
                _received = file._encoding.GetDecoder();
            }

            public void OnData(DataDirection direction, byte[] data, int offset, int count, bool redacted) =>
                _file.Write(_source, direction == DataDirection.Sent ? _sent : _received, direction, data, offset, count, redacted);
        }

        /// <summary>Closes the file.</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                WriteHeld();
                _disposed = true;
                _writer.Dispose();
            }
        }
    }
}

namespace PSSocket.Net
{
    /// <summary>What a telnet client says about itself when the server asks.</summary>
    public sealed class TelnetOptions
    {
        /// <summary>The terminal type sent for TERMINAL-TYPE (default "xterm").</summary>
        public string TerminalType { get; set; } = "xterm";

        /// <summary>The window width sent for NAWS (default 80).</summary>
        public ushort Width { get; set; } = 80;

        /// <summary>The window height sent for NAWS (default 24).</summary>
        public ushort Height { get; set; } = 24;
    }

    /// <summary>
    /// A telnet (RFC 854) layer over a stream: reads return the data with option negotiation
    /// (IAC DO/DONT/WILL/WONT, subnegotiation) removed and IAC IAC turned back into 0xFF;
    /// writes double 0xFF. Negotiation is answered as a plain client would: the server may
    /// suppress go-ahead and echo, we send our terminal type and window size when asked,
    /// and every other option is refused.
    /// </summary>
    public sealed class TelnetStream : Stream
    {
        /// <summary>Interpret As Command.</summary>
        public const byte Iac = 255;
        /// <summary>Refuses an option the peer offers, or asks it to stop.</summary>
        public const byte Dont = 254;
        /// <summary>Asks the peer to use an option, or agrees to its offer.</summary>
        public const byte Do = 253;
        /// <summary>Refuses to use an option, or stops using it.</summary>
        public const byte Wont = 252;
        /// <summary>Offers to use an option, or agrees to a request.</summary>
        public const byte Will = 251;
        /// <summary>Subnegotiation begin.</summary>
        public const byte Sb = 250;
        /// <summary>Subnegotiation end.</summary>
        public const byte Se = 240;
        /// <summary>Option ECHO (RFC 857).</summary>
        public const byte OptEcho = 1;
        /// <summary>Option SUPPRESS-GO-AHEAD (RFC 858).</summary>
        public const byte OptSuppressGoAhead = 3;
        /// <summary>Option TERMINAL-TYPE (RFC 1091).</summary>
        public const byte OptTerminalType = 24;
        /// <summary>Option NAWS, window size (RFC 1073).</summary>
        public const byte OptWindowSize = 31;

        private const int MaxSubnegotiation = 4096;

        private enum ParseState
        {
            Data,
            Iac,
            Option,
            Sub,
            SubIac,
            AfterCr,
        }

        private readonly Stream _inner;
        private readonly TelnetOptions _options;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly byte[] _raw = new byte[16 * 1024];
        private readonly List<byte> _sub = new();
        private readonly bool[] _weDo = new bool[256];
        private readonly bool[] _theyDo = new bool[256];
        private ParseState _state;
        private byte _verb;
        private int _rawStart;
        private int _rawEnd;

        /// <summary>Wraps a connected stream; the telnet stream owns it.</summary>
        public TelnetStream(Stream inner, TelnetOptions? options = null)
        {
            _inner = inner ?? throw new ArgumentNullException(nameof(inner));
            _options = options ?? new TelnetOptions();
        }

        /// <summary>True once the server agreed to echo what we type.</summary>
        public bool RemoteEcho => _theyDo[OptEcho];

        /// <summary>True once the server agreed to suppress go-ahead.</summary>
        public bool SuppressGoAhead => _theyDo[OptSuppressGoAhead];

        /// <summary>How many negotiation commands were received.</summary>
        public int CommandsReceived { get; private set; }

        /// <inheritdoc />
        public override bool CanRead => true;

        /// <inheritdoc />
        public override bool CanSeek => false;

        /// <inheritdoc />
        public override bool CanWrite => true;

        /// <inheritdoc />
        public override long Length => throw new NotSupportedException();

        /// <inheritdoc />
        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        /// <inheritdoc />
        public override void Flush() => _inner.Flush();

        /// <inheritdoc />
        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

        /// <inheritdoc />
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        /// <inheritdoc />
        public override void SetLength(long value) => throw new NotSupportedException();

        /// <inheritdoc />
        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        /// <inheritdoc />
        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>Reads data with telnet commands removed; never returns 0 except at end of stream.</summary>
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (count == 0)
            {
                return 0;
            }

            while (true)
            {
                if (_rawStart == _rawEnd)
                {
                    int n = await _inner.ReadAsync(_raw, 0, _raw.Length, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return 0;
                    }

                    _rawStart = 0;
                    _rawEnd = n;
                }

                var replies = new List<byte>();
                int produced = Parse(buffer, offset, count, replies);
                if (replies.Count > 0)
                {
                    await WriteRawAsync(replies.ToArray(), cancellationToken).ConfigureAwait(false);
                }

                if (produced > 0)
                {
                    return produced;
                }
            }
        }

        /// <summary>Parses buffered raw bytes into the caller's buffer; collects negotiation replies.</summary>
        internal int Parse(byte[] buffer, int offset, int count, List<byte> replies)
        {
            int o = offset;
            int end = offset + count;
            while (_rawStart < _rawEnd && o < end)
            {
                byte b = _raw[_rawStart++];
                switch (_state)
                {
                    case ParseState.Data:
                        if (b == Iac)
                        {
                            _state = ParseState.Iac;
                        }
                        else
                        {
                            buffer[o++] = b;
                            if (b == (byte)'\r')
                            {
                                _state = ParseState.AfterCr;
                            }
                        }

                        break;
                    case ParseState.AfterCr:
                        // NVT sends a bare carriage return as CR NUL: keep the CR, drop the NUL.
                        _state = ParseState.Data;
                        if (b == 0)
                        {
                            break;
                        }

                        _rawStart--;
                        break;
                    case ParseState.Iac:
                        _state = ParseState.Data;
                        if (b == Iac)
                        {
                            buffer[o++] = Iac;
                        }
                        else if (b is Will or Wont or Do or Dont)
                        {
                            _verb = b;
                            _state = ParseState.Option;
                        }
                        else if (b == Sb)
                        {
                            _sub.Clear();
                            _state = ParseState.Sub;
                        }
                        else
                        {
                            // NOP, GA, DM, BRK, IP, AO, AYT, EC, EL: nothing to show or answer.
                            CommandsReceived++;
                        }

                        break;
                    case ParseState.Option:
                        _state = ParseState.Data;
                        CommandsReceived++;
                        Negotiate(_verb, b, replies);
                        break;
                    case ParseState.Sub:
                        if (b == Iac)
                        {
                            _state = ParseState.SubIac;
                        }
                        else if (_sub.Count < MaxSubnegotiation)
                        {
                            _sub.Add(b);
                        }

                        break;
                    case ParseState.SubIac:
                        if (b == Se)
                        {
                            _state = ParseState.Data;
                            CommandsReceived++;
                            Subnegotiate(replies);
                        }
                        else
                        {
                            // IAC IAC inside a subnegotiation is a data 255.
                            _state = ParseState.Sub;
                            if (b == Iac && _sub.Count < MaxSubnegotiation)
                            {
                                _sub.Add(Iac);
                            }
                        }

                        break;
                }
            }

            return o - offset;
        }

        /// <summary>Feeds raw bytes as if they had been read (for tests of the parser).</summary>
        internal void Feed(byte[] raw)
        {
            Buffer.BlockCopy(raw, 0, _raw, 0, raw.Length);
            _rawStart = 0;
            _rawEnd = raw.Length;
        }

        private void Negotiate(byte verb, byte option, List<byte> replies)
        {
            switch (verb)
            {
                case Will:
                    // The server offers to do something: let it echo and suppress go-ahead.
                    bool accept = option is OptEcho or OptSuppressGoAhead;
                    if (accept && !_theyDo[option])
                    {
                        _theyDo[option] = true;
                        Reply(replies, Do, option);
                    }
                    else if (!accept)
                    {
                        Reply(replies, Dont, option);
                    }

                    break;
                case Wont:
                    if (_theyDo[option])
                    {
                        _theyDo[option] = false;
                        Reply(replies, Dont, option);
                    }

                    break;
                case Do:
                    // The server asks us to do something.
                    bool agree = option is OptSuppressGoAhead or OptTerminalType or OptWindowSize;
                    if (agree && !_weDo[option])
                    {
                        _weDo[option] = true;
                        Reply(replies, Will, option);
                        if (option == OptWindowSize)
                        {
                            SendWindowSize(replies);
                        }
                    }
                    else if (agree && option == OptWindowSize)
                    {
                        SendWindowSize(replies);
                    }
                    else if (!agree)
                    {
                        Reply(replies, Wont, option);
                    }

                    break;
                case Dont:
                    if (_weDo[option])
                    {
                        _weDo[option] = false;
                        Reply(replies, Wont, option);
                    }

                    break;
            }
        }

        private void Subnegotiate(List<byte> replies)
        {
            // TERMINAL-TYPE SEND (1) asks for our terminal type: answer IS (0) "name".
            if (_sub.Count >= 2 && _sub[0] == OptTerminalType && _sub[1] == 1)
            {
                replies.Add(Iac);
                replies.Add(Sb);
                replies.Add(OptTerminalType);
                replies.Add(0);
                replies.AddRange(Encoding.ASCII.GetBytes(_options.TerminalType));
                replies.Add(Iac);
                replies.Add(Se);
            }
        }

        private void SendWindowSize(List<byte> replies)
        {
            replies.Add(Iac);
            replies.Add(Sb);
            replies.Add(OptWindowSize);
            AddEscaped(replies, (byte)(_options.Width >> 8));
            AddEscaped(replies, (byte)(_options.Width & 0xFF));
            AddEscaped(replies, (byte)(_options.Height >> 8));
            AddEscaped(replies, (byte)(_options.Height & 0xFF));
            replies.Add(Iac);
            replies.Add(Se);
        }

        private static void AddEscaped(List<byte> to, byte b)
        {
            to.Add(b);
            if (b == Iac)
            {
                to.Add(Iac);
            }
        }

        private static void Reply(List<byte> replies, byte verb, byte option)
        {
            replies.Add(Iac);
            replies.Add(verb);
            replies.Add(option);
        }

        /// <summary>
        /// Writes data with 0xFF doubled and a trailing or bare CR sent as CR NUL, as the NVT requires.
        /// The escaped copy is cleared once written: the data may be a secret (-AsSecureString),
        /// and the caller clears only its own buffer.
        /// </summary>
        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            var wire = Escape(buffer, offset, count);
            try
            {
                await WriteRawAsync(wire, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(wire, 0, wire.Length);
            }
        }

        /// <summary>The bytes to put on the wire for data, in one array of the exact size (no copies left behind).</summary>
        internal static byte[] Escape(byte[] buffer, int offset, int count)
        {
            int size = count;
            for (int i = offset; i < offset + count; i++)
            {
                if (buffer[i] == Iac || NeedsNul(buffer, i, offset + count))
                {
                    size++;
                }
            }

            var output = new byte[size];
            int at = 0;
            for (int i = offset; i < offset + count; i++)
            {
                byte b = buffer[i];
                output[at++] = b;
                if (b == Iac)
                {
                    output[at++] = Iac;
                }
                else if (NeedsNul(buffer, i, offset + count))
                {
                    output[at++] = 0;
                }
            }

            return output;
        }

        private static bool NeedsNul(byte[] buffer, int i, int end) =>
            buffer[i] == (byte)'\r' && (i + 1 == end || buffer[i + 1] != (byte)'\n');

        private async Task WriteRawAsync(byte[] data, CancellationToken token)
        {
            // Negotiation replies are written from the read path while a send may be running.
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await _inner.WriteAsync(data, 0, data.Length, token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _writeLock.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

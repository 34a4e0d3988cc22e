namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads from a session: what arrives, a byte count, up to a delimiter or pattern, a line, or to the end.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "SocketData", DefaultParameterSetName = AvailableSet)]
    [OutputType(typeof(string), typeof(byte[]))]
    [OutputType(typeof(System.Text.RegularExpressions.Match), ParameterSetName = new[] { PatternSet })]
    public sealed partial class ReceiveSocketDataCommand : PipedSessionCmdlet
    {
        private const string AvailableSet = "Available";
        private const string CountSet = "Count";
        private const string UntilSet = "Until";
        private const string PatternSet = "Pattern";
        private const string LineSet = "Line";
        private const string ToEndSet = "ToEnd";

        /// <summary>Exactly this many bytes; with -Line, this many lines.</summary>
        [Parameter(Mandatory = true, ParameterSetName = CountSet)]
        [Parameter(ParameterSetName = LineSet)]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; } = 1;

        /// <summary>Everything up to and including this text (encoded with the session encoding). What follows stays buffered.</summary>
        [Parameter(Mandatory = true, ParameterSetName = UntilSet)]
        [ValidateNotNullOrEmpty]
        public string Until { get; set; } = "";

        /// <summary>Text up to the end of the first match of this regular expression. What follows stays buffered.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PatternSet)]
        [ValidateNotNullOrEmpty]
        public string Pattern { get; set; } = "";

        /// <summary>With -Pattern, outputs the Match object (groups, captures) instead of the text.</summary>
        [Parameter(ParameterSetName = PatternSet)]
        public SwitchParameter AsMatch { get; set; }

        /// <summary>One line (ended by the session NewLine; "`n" and "`r`n" both end a line by default), without its terminator.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LineSet)]
        public SwitchParameter Line { get; set; }

        /// <summary>Everything until the peer closes the connection.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ToEndSet)]
        public SwitchParameter ToEnd { get; set; }

        /// <summary>Seconds to wait (default 10; 0 waits forever). With -Path, the longest pause allowed between chunks. A timeout leaves the session open and its data buffered.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 10;

        /// <summary>Outputs bytes (byte[]) instead of text: exactly the bytes the receive took, as they arrived (with -Pattern, everything up to the end of the match).</summary>
        [Parameter]
        public SwitchParameter AsBytes { get; set; }

        /// <summary>Writes what is received to this file instead of the pipeline; -Count and -ToEnd stream with constant memory.</summary>
        [Parameter]
        [Alias("OutFile", "FilePath")]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>With -Path, appends to the file instead of replacing it.</summary>
        [Parameter]
        public SwitchParameter Append { get; set; }

        /// <summary>With -Path, refuses to replace an existing file (error NoClobber; the data stays buffered), as Out-File -NoClobber does.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>The most bytes -Until, -Pattern, -Line and -ToEnd may buffer while looking for their stop point (default 16 MiB).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int MaxBytes { get; set; } = TcpSession.DefaultMaxBytes;

        /// <summary>Removes ANSI/VT escape sequences and backspace overstrikes from the text (always on when the session's StripAnsi is set). With -Pattern the expression is matched against the clean text. -AsBytes and -Path always get the bytes as they arrived.</summary>
        [Parameter]
        public SwitchParameter StripAnsi { get; set; }

        /// <summary>Decodes (and encodes -Until) with this encoding instead of the session's.</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        private ReceiveRequest _request = null!;
        private bool _fileStarted;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            _request = new ReceiveRequest
            {
                Mode = ParameterSetName switch
                {
                    CountSet => ReceiveMode.Count,
                    UntilSet => ReceiveMode.Until,
                    PatternSet => ReceiveMode.Pattern,
                    LineSet => ReceiveMode.Line,
                    ToEndSet => ReceiveMode.ToEnd,
                    _ => ReceiveMode.Available,
                },
                Count = Count,
                Until = Until,
                Encoding = Encoding,
                MaxBytes = MaxBytes,
                StripAnsi = StripAnsi,
                AsBytes = AsBytes,
            };
            if (ParameterSetName == PatternSet)
            {
                try
                {
                    _request.Pattern = Pattern;
                }
                catch (ArgumentException ex)
                {
                    ThrowTerminatingError(ErrorRecords.InvalidPattern(ex, Pattern));
                }
            }
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (session is TcpSession tcp)
            {
                try
                {
                    ReceiveTcp(tcp);
                }
                finally
                {
                    // So $s.State shows a peer close that came right behind the data just read.
                    tcp.RefreshState();
                }

                return;
            }

            if (session is DatagramSession datagrams)
            {
                ReceiveDatagrams(datagrams);
                return;
            }

            WriteError(ErrorRecords.WrongKind(session, "Receive-SocketData needs a connected Tcp session"));
        }

        private void ReceiveTcp(TcpSession tcp)
        {
            if (Path is not null && _request.StreamsToFile)
            {
                StreamToFile(tcp);
                return;
            }

            if (Path is not null)
            {
                // Open (and create or truncate) the file before reading, so a bad path fails
                // while the data is still buffered in the session.
                using var probe = TryOpenOutput();
                if (probe is null)
                {
                    return;
                }
            }

            var deadline = Deadline.AfterSeconds(Timeout);
            for (int i = 0; i < _request.Pieces; i++)
            {
                Emit(tcp, Run(t => _request.ReceiveAsync(tcp, deadline, t)));
            }
        }

        private void Emit(TcpSession tcp, ReceivedPiece piece)
        {
            if (AsMatch)
            {
                WriteObject(piece.Match);
                return;
            }

            var data = piece.Bytes;
            if (DebugOn)
            {
                WriteDebug($"Received {data.Length} bytes on session {tcp.Id}: {Hex.Preview(data)}");
            }
            else if (VerboseOn)
            {
                WriteVerbose($"Received {data.Length} bytes on session {tcp.Id} ({tcp.Available} still buffered)");
            }

            if (Path is not null)
            {
                using var file = OpenOutput();
                piece.WriteTo(file);
            }
            else if (AsBytes)
            {
                WriteObject(data, enumerateCollection: false);
            }
            else
            {
                WriteObject(piece.Text);
            }
        }
    }
}

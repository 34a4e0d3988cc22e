namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends text, bytes or a file over a session.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Send, "SocketData", DefaultParameterSetName = DataSet)]
    [OutputType(typeof(SocketSession))]
    public sealed partial class SendSocketDataCommand : SessionCmdlet
    {
        private const string DataSet = "Data";
        private const string PathSet = "Path";
        private readonly List<byte> _pendingBytes = new();
        private SocketSession? _session;

        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <summary>What to send: text (encoded with the session encoding), bytes (as they are), a char, a number (as text), a stream or a file (Get-Item: its contents), a SecureString or a PSCredential (its password; recorded as ******** in transcripts and never shown in Verbose or Debug). Anything else is refused. Pipeline items are sent in order.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ParameterSetName = DataSet)]
        [AllowEmptyString]
        [AllowEmptyCollection]
        public object Data { get; set; } = null!;

        /// <summary>A file to stream to the peer with constant memory.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PathSet)]
        [Alias("FilePath", "LiteralPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Appends the session NewLine to each item.</summary>
        [Parameter(ParameterSetName = DataSet)]
        public SwitchParameter Line { get; set; }

        /// <summary>Encodes strings with this encoding instead of the session's.</summary>
        [Parameter(ParameterSetName = DataSet)]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>Seconds the peer may refuse to take data before the send fails (default 30; 0 waits forever). The session stays open.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 30;

        /// <summary>Outputs the session after sending.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (_session is not null && !ReferenceEquals(_session, session))
            {
                FlushBytes();
                FlushBatch();
            }

            _session = session;
            if (session is not TcpSession and not DatagramSession)
            {
                WriteError(ErrorRecords.WrongKind(session, "Send-SocketData needs a connected Tcp session, a Udp session or a Raw session"));
                return;
            }

            if (ParameterSetName == PathSet)
            {
                SendPath(session);
                return;
            }

            var raw = OutgoingData.Unwrap(Data);
            if (raw is byte b && !Line && !(session is TcpSession && Batching))
            {
                // A byte[] enumerated by the pipeline arrives a byte at a time: send it as one write (one datagram).
                FlushBatch();
                _pendingBytes.Add(b);
                if (_pendingBytes.Count >= 64 * 1024 && session is TcpSession)
                {
                    FlushBytes();
                }

                return;
            }

            FlushBytes();
            int position = raw is IList and not byte[] and not char[]? 1 : 0;
            foreach (var item in OutgoingData.Items(raw))
            {
                if (OutgoingData.Check(item, position) is { } refused)
                {
                    WriteError(refused);
                }
                else if (session is DatagramSession datagrams)
                {
                    SendDatagram(datagrams, item);
                }
                else
                {
                    SendItem((TcpSession)session, item);
                }

                position += position > 0 ? 1 : 0;
            }

            if (PassThru)
            {
                WriteObject(session);
            }
        }

        private void SendPath(SocketSession session)
        {
            if (session is TcpSession tcp)
            {
                FlushBatch();
                SendFile(tcp, SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path), Path);
                if (PassThru)
                {
                    WriteObject(tcp);
                }
            }
            else
            {
                WriteError(ErrorRecords.InvalidArgument($"-Path streams a file over a Tcp session; session {session} is {session.Kind}: send the bytes with -Data (one datagram each).", session));
            }
        }

        private void SendFile(TcpSession tcp, string full, object target)
        {
            FileStream file;
            try
            {
                file = OutgoingData.OpenRead(full);
            }
            catch (Exception ex) when (ErrorRecords.IsFileOpenFailure(ex))
            {
                WriteError(ErrorRecords.FileOpenFailed(ex, target));
                return;
            }

            using (file)
            {
                long length = file.Length;
                string activity = $"Sending {System.IO.Path.GetFileName(full)} on session {tcp.Id}";
                long n = RunWithProgress((t, report) => tcp.SendStreamAsync(file, Seconds(Timeout), t, report), activity, length);
                Verbose(() => $"Sent {n} of {length} bytes from {full} on session {tcp.Id}");
            }
        }
    }
}

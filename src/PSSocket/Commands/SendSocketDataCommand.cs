using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using PSSocket.Net;

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

        /// <summary>What to send: strings are encoded with the session encoding, byte arrays go as they are, a SecureString is sent but recorded as ******** in transcripts. Pipeline items are sent in order.</summary>
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
            if (session is DatagramSession datagrams)
            {
                SendDatagram(datagrams);
                return;
            }

            if (session is not TcpSession tcp)
            {
                WriteError(ErrorRecords.WrongKind(session, "Send-SocketData needs a connected Tcp session"));
                return;
            }

            if (ParameterSetName == PathSet)
            {
                FlushBatch();
                SendFile(tcp);
                return;
            }

            var raw = Data is PSObject pso ? pso.BaseObject : Data;
            if (Batchable(raw))
            {
                FlushBytes();
                Gather(tcp, raw);
                return;
            }

            FlushBatch();
            if (raw is byte b && !Line)
            {
                // A byte[] enumerated by the pipeline arrives a byte at a time: send it as one write.
                _pendingBytes.Add(b);
                if (_pendingBytes.Count >= 64 * 1024)
                {
                    FlushBytes();
                }

                return;
            }

            FlushBytes();
            if (raw is object[] items)
            {
                // -Data 'a', 'b' sends each item as the pipeline would, not the array's string form.
                foreach (var item in items)
                {
                    SendItem(tcp, item is PSObject p ? p.BaseObject : item);
                }
            }
            else
            {
                SendItem(tcp, raw);
            }

            if (PassThru)
            {
                WriteObject(session);
            }
        }

        private SendBatcher? _batcher;

        /// <summary>
        /// Small items from the pipeline are gathered into fewer writes (see SendBatcher); -PassThru,
        /// streams and secrets keep one write per item.
        /// </summary>
        private bool Batchable(object? raw) =>
            MyInvocation.ExpectingInput && !PassThru && raw is string or byte[] or char[] or ValueType;

        private void Gather(TcpSession tcp, object? raw)
        {
            if (_batcher is not null && !ReferenceEquals(_batcher.Session, tcp))
            {
                FlushBatch();
            }

            var bytes = ToBytes(raw, Encoding ?? tcp.Encoding, Line ? tcp.LineTerminator : null);
            if (DebugOn)
            {
                WriteDebug($"Queued {bytes.Length} bytes for session {tcp.Id}: {Hex.Preview(bytes)}");
            }

            _batcher ??= new SendBatcher(tcp, Seconds(Timeout), Token);
            try
            {
                _batcher.Add(bytes);
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        private void FlushBatch()
        {
            if (_batcher is null)
            {
                return;
            }

            var batcher = _batcher;
            _batcher = null;
            try
            {
                batcher.Flush();
                Verbose(() => $"Sent {batcher.Written} bytes from the pipeline on session {batcher.Session.Id}");
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            finally
            {
                batcher.Dispose();
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _batcher?.Dispose();
            }

            base.Dispose(disposing);
        }

        private void SendItem(TcpSession tcp, object? raw)
        {
            if (raw is Stream stream)
            {
                long n = Run(t => tcp.SendStreamAsync(stream, Seconds(Timeout), t));
                Verbose(() => $"Sent {n} bytes from a stream on session {tcp.Id}");
            }
            else if (raw is System.Security.SecureString secret)
            {
                // Decoded only into a byte array that is cleared after the send; transcripts record ********.
                var bytes = ConversationRunner.SecretBytes(secret, Encoding ?? tcp.Encoding, Line ? tcp.LineTerminator : null);
                try
                {
                    Run(t => tcp.SendAsync(bytes, 0, bytes.Length, redacted: true, Deadline.AfterSeconds(Timeout), t));
                }
                finally
                {
                    Array.Clear(bytes, 0, bytes.Length);
                }

                Verbose(() => $"Sent a secret ({bytes.Length} bytes) on session {tcp.Id}");
            }
            else
            {
                var bytes = ToBytes(raw, Encoding ?? tcp.Encoding, Line ? tcp.LineTerminator : null);
                Run(t => tcp.SendAsync(bytes, 0, bytes.Length, Deadline.AfterSeconds(Timeout), t));
                if (DebugOn)
                {
                    WriteDebug($"Sent {bytes.Length} bytes on session {tcp.Id}: {Hex.Preview(bytes)}");
                }
                else
                {
                    Verbose(() => $"Sent {bytes.Length} bytes on session {tcp.Id}");
                }
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            try
            {
                FlushBytes();
                FlushBatch();
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, _session);
            }
        }

        private void FlushBytes()
        {
            if (_session is DatagramSession datagrams)
            {
                FlushDatagramBytes(datagrams);
                return;
            }

            if (_pendingBytes.Count == 0 || _session is not TcpSession tcp)
            {
                return;
            }

            var bytes = _pendingBytes.ToArray();
            _pendingBytes.Clear();
            Run(t => tcp.SendAsync(bytes, 0, bytes.Length, Deadline.AfterSeconds(Timeout), t));
            Verbose(() => $"Sent {bytes.Length} bytes on session {tcp.Id}");
            if (PassThru)
            {
                WriteObject(tcp);
            }
        }

        private void SendFile(TcpSession tcp)
        {
            string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            FileStream file;
            try
            {
                file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                WriteError(new ErrorRecord(ex, "FileOpenFailed", ex is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.ObjectNotFound, Path));
                return;
            }

            using (file)
            {
                long length = file.Length;
                string activity = $"Sending {System.IO.Path.GetFileName(full)} on session {tcp.Id}";
                long n = RunWithProgress((t, report) => tcp.SendStreamAsync(file, Seconds(Timeout), t, report), activity, length);
                Verbose(() => $"Sent {n} of {length} bytes from {full} on session {tcp.Id}");
            }

            if (PassThru)
            {
                WriteObject(tcp);
            }
        }

        /// <summary>Turns a pipeline item into the bytes to send.</summary>
        internal static byte[] ToBytes(object? raw, Encoding encoding, string? newLine)
        {
            byte[] body = raw switch
            {
                null => Array.Empty<byte>(),
                byte[] b => b,
                string s => encoding.GetBytes(s),
                char[] c => encoding.GetBytes(c),
                byte one => new[] { one },
                _ => encoding.GetBytes(LanguagePrimitives.ConvertTo<string>(raw) ?? ""),
            };
            if (newLine is null)
            {
                return body;
            }

            var nl = encoding.GetBytes(newLine);
            var all = new byte[body.Length + nl.Length];
            Buffer.BlockCopy(body, 0, all, 0, body.Length);
            Buffer.BlockCopy(nl, 0, all, body.Length, nl.Length);
            return all;
        }
    }
}

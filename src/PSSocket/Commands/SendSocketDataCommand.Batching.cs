namespace PSSocket.Commands
{
    /// <summary>Send-SocketData from the pipeline: small items gathered into fewer writes (SendBatcher), bytes gathered into one send, and what is left sent at the end.</summary>
    public sealed partial class SendSocketDataCommand
    {
        private SendBatcher? _batcher;

        /// <summary>
        /// Small items from the pipeline are gathered into fewer writes (see SendBatcher); -PassThru,
        /// streams and secrets keep one write per item.
        /// </summary>
        private bool Batching => MyInvocation.ExpectingInput && !PassThru;

        private Encoding EncodingFor(SocketSession session) => Encoding ?? session.Encoding;

        private string? TerminatorFor(SocketSession session) => Line ? session.LineTerminator : null;

        private void Gather(TcpSession tcp, object? raw)
        {
            if (_batcher is not null && !ReferenceEquals(_batcher.Session, tcp))
            {
                FlushBatch();
            }

            var bytes = OutgoingData.Encode(raw, EncodingFor(tcp), TerminatorFor(tcp));
            if (DebugOn)
            {
                WriteDebug($"Queued {OutgoingData.Describe(raw, bytes, debug: true)} for session {tcp.Id}");
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
            bool secret = OutgoingData.SecretOf(raw) is not null;
            if (Batching && !secret && OutgoingData.IsInMemory(raw))
            {
                FlushBytes();
                Gather(tcp, raw);
                return;
            }

            FlushBatch();
            if (raw is FileInfo file)
            {
                SendFile(tcp, file.FullName, file);
                return;
            }

            if (raw is Stream stream)
            {
                long n = Run(t => tcp.SendStreamAsync(stream, Seconds(Timeout), t));
                Verbose(() => $"Sent {n} bytes from a stream on session {tcp.Id}");
                return;
            }

            // A secret is decoded only into this array, which the engine clears once no write holds it; transcripts record ********.
            var bytes = OutgoingData.Encode(raw, EncodingFor(tcp), TerminatorFor(tcp));
            // Described before the send (a secret's array is cleared after it), and only when shown: a line round trip is mostly such small costs.
            string? sent = DebugOn || VerboseOn ? OutgoingData.Describe(raw, bytes, DebugOn) : null;
            if (secret)
            {
                Run(t => tcp.SendSecretAsync(bytes, Deadline.AfterSeconds(Timeout), t));
            }
            else
            {
                Run(t => tcp.SendAsync(bytes, 0, bytes.Length, Deadline.AfterSeconds(Timeout), t));
            }

            if (sent is not null)
            {
                Report($"Sent {sent} on session {tcp.Id}");
            }
        }

        /// <summary>Debug when on (the message then carries a hex preview), else Verbose.</summary>
        private void Report(string message)
        {
            if (DebugOn)
            {
                WriteDebug(message);
            }
            else
            {
                Verbose(() => message);
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
            if (_pendingBytes.Count == 0 || _session is null)
            {
                return;
            }

            var bytes = _pendingBytes.ToArray();
            _pendingBytes.Clear();
            if (_session is DatagramSession datagrams)
            {
                SendDatagram(datagrams, bytes);
            }
            else
            {
                var tcp = (TcpSession)_session;
                Run(t => tcp.SendAsync(bytes, 0, bytes.Length, Deadline.AfterSeconds(Timeout), t));
                Verbose(() => $"Sent {bytes.Length} bytes on session {tcp.Id}");
            }

            if (PassThru)
            {
                WriteObject(_session);
            }
        }
    }
}

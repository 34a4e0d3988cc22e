namespace PSSocket.Commands
{
    /// <summary>Invoke-UdpSend's end: the gathered bytes go out, then -WaitForReply collects the replies (one per datagram, -Count, or every reply of a group within -Timeout).</summary>
    public sealed partial class InvokeUdpSendCommand
    {
        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (_socket is null)
            {
                return;
            }

            try
            {
                FlushBytes();
                if (_sent == 0 && !_failed && !MyInvocation.ExpectingInput && !MyInvocation.BoundParameters.ContainsKey(nameof(Data)))
                {
                    // Nothing was piped: a bare probe still sends one empty datagram.
                    SendOne(Array.Empty<byte>());
                }

                if (WaitForReply && _sent > 0)
                {
                    CollectReplies();
                }
            }
            finally
            {
                _socket?.Close("Invoke-UdpSend finished");
            }
        }

        private void CollectReplies()
        {
            bool untilTimeout = Count == 0 && IsGroupTarget;
            int want = Count > 0 ? Count : untilTimeout ? int.MaxValue : _sent;
            var deadline = Deadline.AfterSeconds(Timeout);
            int got = 0;
            while (got < want)
            {
                SocketDatagram reply;
                try
                {
                    reply = Run(t => _socket!.ReceiveAsync(deadline, t));
                }
                catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout)
                {
                    if (untilTimeout && got > 0)
                    {
                        return;
                    }

                    string more = got == 0 ? "No reply" : $"Only {got} of {want} replies";
                    WriteError(ErrorRecords.Create(SocketErrorKind.ReceiveTimeout,
                        $"{more} from {Endpoints.Format(_target)} arrived within {Timeout} s.{_socket!.UnreachableHint}", Endpoints.Format(_target)));
                    return;
                }

                got++;
                WriteObject(reply);
            }
        }
    }
}

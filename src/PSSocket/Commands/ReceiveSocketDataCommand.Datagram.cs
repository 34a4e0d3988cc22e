namespace PSSocket.Commands
{
    /// <summary>Receive-SocketData on Udp and Raw sessions: one object per datagram, boundaries kept.</summary>
    [OutputType(typeof(SocketDatagram), typeof(RawPacket), ParameterSetName = new[] { AvailableSet, CountSet })]
    public sealed partial class ReceiveSocketDataCommand
    {
        private void ReceiveDatagrams(DatagramSession session)
        {
            if (ParameterSetName is not (AvailableSet or CountSet) || Path is not null)
            {
                string what = Path is not null ? "-Path" : $"-{ParameterSetName}";
                WriteError(ErrorRecords.InvalidArgument(
                    $"{what} reads a byte stream; {session.Kind} session {session} delivers whole datagrams. Use -Count N for N datagrams, or no stop parameter for what arrives within -Timeout.", session));
                return;
            }

            var deadline = Deadline.AfterSeconds(Timeout);
            if (ParameterSetName == CountSet)
            {
                for (int i = 0; i < Count; i++)
                {
                    SocketDatagram d;
                    try
                    {
                        d = Run(t => session.ReceiveAsync(deadline, t));
                    }
                    catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout && i > 0)
                    {
                        throw new PSSocketException(SocketErrorKind.ReceiveTimeout,
                            $"Only {i} of {Count} datagrams arrived on session {session} within the timeout (they were output).{session.UnreachableHint} The session is still open.", ex, target: session);
                    }

                    EmitDatagram(session, d);
                }

                return;
            }

            // What is queued, or else the first datagram to arrive and whatever queued up meanwhile.
            EmitDatagram(session, Run(t => session.ReceiveAsync(deadline, t)));
            for (int left = session.Available; left > 0; left--)
            {
                var d = session.TryReceive();
                if (d is null)
                {
                    break;
                }

                EmitDatagram(session, d);
            }
        }

        private void EmitDatagram(DatagramSession session, SocketDatagram d)
        {
            if (Encoding is not null)
            {
                d.Stamp(Encoding, session.Id);
            }

            if (DebugOn)
            {
                WriteDebug($"Received a datagram of {d.Length} bytes from {Endpoints.Format(d.RemoteEndPoint)} on session {session.Id}: {Hex.Preview(d.Bytes)}");
            }
            else
            {
                Verbose(() => $"Received a datagram of {d.Length} bytes from {Endpoints.Format(d.RemoteEndPoint)} on session {session.Id} ({session.Available} still queued)");
            }

            if (AsBytes)
            {
                WriteObject(d.Bytes, enumerateCollection: false);
            }
            else
            {
                WriteObject(d);
            }
        }
    }
}

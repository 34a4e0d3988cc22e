namespace PSSocket.Commands
{
    /// <summary>Send-SocketData on Udp and Raw sessions: each item is one datagram.</summary>
    public sealed partial class SendSocketDataCommand
    {
        private DatagramSession? _targetSession;
        private IPEndPoint? _target;

        /// <summary>Udp sessions: where the datagram goes, as host:port ([address]:port for IPv6) or an IPEndPoint. Without it a datagram goes to the session's default remote, else to the sender of the datagram received last (a reply).</summary>
        [Parameter(ParameterSetName = DataSet)]
        [ValidateNotNull]
        public object? RemoteEndPoint { get; set; }

        /// <summary>Raw sessions: the address the packet goes to (raw sockets have no ports).</summary>
        [Parameter(ParameterSetName = DataSet)]
        [ValidateNotNull]
        public object? RemoteAddress { get; set; }

        private void SendDatagram(DatagramSession session, object? item)
        {
            var target = DatagramTarget(session);
            byte[] bytes;
            try
            {
                bytes = OutgoingData.Datagram(item, EncodingFor(session), TerminatorFor(session));
            }
            catch (Exception ex) when (item is FileInfo && ErrorRecords.IsFileOpenFailure(ex))
            {
                WriteError(ErrorRecords.FileOpenFailed(ex, item));
                return;
            }

            try
            {
                Run(t => session.SendAsync(bytes, target, Deadline.AfterSeconds(Timeout), t));
                Report($"Sent a datagram of {OutgoingData.Describe(item, bytes, DebugOn)} on session {session.Id} to {Endpoints.Format(target ?? session.DefaultDestination)}");
            }
            finally
            {
                if (OutgoingData.SecretOf(item) is not null)
                {
                    Array.Clear(bytes, 0, bytes.Length);
                }
            }
        }

        /// <summary>The resolved -RemoteEndPoint / -RemoteAddress (resolved once per session), or null for the session's default.</summary>
        private IPEndPoint? DatagramTarget(DatagramSession session)
        {
            var value = RemoteEndPoint ?? RemoteAddress;
            if (value is PSObject pso)
            {
                value = pso.BaseObject;
            }

            if (value is null)
            {
                return null;
            }

            if (ReferenceEquals(_targetSession, session) && _target is not null)
            {
                return _target;
            }

            bool isRaw = session is RawSession;
            if (RemoteAddress is not null && !isRaw)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {session} is {session.Kind}: give the destination with -RemoteEndPoint host:port (-RemoteAddress is for raw sessions).", target: session);
            }

            var ep = Run(t => session.ResolveEndPointAsync(value, isRaw ? 0 : null, Deadline.AfterSeconds(Timeout), t));
            _target = isRaw && ep.Port != 0 ? new IPEndPoint(ep.Address, 0) : ep;
            _targetSession = session;
            return _target;
        }
    }
}

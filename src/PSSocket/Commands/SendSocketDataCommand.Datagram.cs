using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Net;
using PSSocket.Net;

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

        private void SendDatagram(DatagramSession session)
        {
            if (ParameterSetName == PathSet)
            {
                WriteError(ErrorRecords.InvalidArgument($"-Path streams a file over a Tcp session; session {session} is {session.Kind}: send the bytes with -Data (one datagram each).", session));
                return;
            }

            var raw = Data is PSObject pso ? pso.BaseObject : Data;
            if (raw is byte b && !Line)
            {
                // A byte[] enumerated by the pipeline arrives a byte at a time: it is one datagram.
                _pendingBytes.Add(b);
                return;
            }

            FlushDatagramBytes(session);
            foreach (var item in DatagramItems(raw))
            {
                SendOneDatagram(session, item);
            }

            if (PassThru)
            {
                WriteObject(session);
            }
        }

        /// <summary>
        /// Splits a -Data value into datagrams: a byte[] or an array of only bytes (what a function
        /// returning bytes yields) is one datagram; any other array is one datagram per element.
        /// </summary>
        internal static IEnumerable<object?> DatagramItems(object? raw)
        {
            if (raw is not IList list || raw is byte[] or char[])
            {
                yield return raw;
                yield break;
            }

            var bytes = new byte[list.Count];
            bool allBytes = list.Count > 0;
            for (int i = 0; i < list.Count && allBytes; i++)
            {
                var v = list[i] is PSObject p ? p.BaseObject : list[i];
                if (v is byte b)
                {
                    bytes[i] = b;
                }
                else
                {
                    allBytes = false;
                }
            }

            if (allBytes)
            {
                yield return bytes;
                yield break;
            }

            foreach (var item in list)
            {
                yield return item is PSObject p ? p.BaseObject : item;
            }
        }

        private void FlushDatagramBytes(DatagramSession session)
        {
            if (_pendingBytes.Count == 0)
            {
                return;
            }

            var bytes = _pendingBytes.ToArray();
            _pendingBytes.Clear();
            SendOneDatagram(session, bytes);
            if (PassThru)
            {
                WriteObject(session);
            }
        }

        private void SendOneDatagram(DatagramSession session, object? item)
        {
            var bytes = ToBytes(item, Encoding ?? session.Encoding, Line ? session.LineTerminator : null);
            var target = DatagramTarget(session);
            Run(t => session.SendAsync(bytes, target, Deadline.AfterSeconds(Timeout), t));
            if (DebugOn)
            {
                WriteDebug($"Sent a datagram of {bytes.Length} bytes on session {session.Id} to {Endpoints.Format(target ?? session.DefaultDestination)}: {Hex.Preview(bytes)}");
            }
            else
            {
                Verbose(() => $"Sent a datagram of {bytes.Length} bytes on session {session.Id} to {Endpoints.Format(target ?? session.DefaultDestination)}");
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

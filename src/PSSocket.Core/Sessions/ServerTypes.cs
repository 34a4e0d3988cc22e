using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket
{
    /// <summary>
    /// Serves one client of a <see cref="SocketServerSession"/>: a <see cref="TcpSession"/> for a
    /// TCP server, a <see cref="UdpServerRequest"/> for a UDP server. The cmdlet layer runs a
    /// script block on a runspace pool; tests use plain delegates.
    /// </summary>
    public interface IServerClientHandler : IDisposable
    {
        /// <summary>Serves the client; the token is cancelled when the server stops.</summary>
        Task<ServerHandlerResult> HandleAsync(object client, CancellationToken token);

        /// <summary>
        /// True when called from inside a client's handler (a script block stopping its own
        /// server), which must not wait for the handlers to end: it is one of them.
        /// </summary>
        bool IsServingThread { get; }
    }

    /// <summary>What serving one client produced.</summary>
    public sealed class ServerHandlerResult
    {
        /// <summary>Creates a result.</summary>
        public ServerHandlerResult(IList<object>? output, IList<object>? errors, bool threw, IList<byte[]>? replies = null)
        {
            Output = output ?? Array.Empty<object>();
            Errors = errors ?? Array.Empty<object>();
            Threw = threw;
            Replies = replies ?? Array.Empty<byte[]>();
        }

        /// <summary>What the handler output.</summary>
        public IList<object> Output { get; }

        /// <summary>The errors it reported (ErrorRecords in PowerShell).</summary>
        public IList<object> Errors { get; }

        /// <summary>True when the handler ended with an exception (a terminating error).</summary>
        public bool Threw { get; }

        /// <summary>For a UDP server: the datagrams to send back to the sender.</summary>
        public IList<byte[]> Replies { get; }
    }

    /// <summary>One served client (or, for a UDP server, one datagram): who, when, how long and what came out.</summary>
    public sealed class ServerClientRecord
    {
        internal ServerClientRecord(SocketServerSession server, int sessionId, EndPoint? client, DateTime startedAt, TimeSpan duration, ServerHandlerResult result)
        {
            ServerId = server.Id;
            SessionId = sessionId;
            ClientEndPoint = client;
            StartedAt = startedAt;
            Duration = duration;
            Output = new List<object>(result.Output).ToArray();
            Errors = new List<object>(result.Errors).ToArray();
            Succeeded = !result.Threw;
        }

        /// <summary>The Id of the server session.</summary>
        public int ServerId { get; }

        /// <summary>The Id the client's session had (0 for a UDP datagram).</summary>
        public int SessionId { get; }

        /// <summary>The client's address and port.</summary>
        public EndPoint? ClientEndPoint { get; }

        /// <summary>When the client was accepted (the datagram arrived).</summary>
        public DateTime StartedAt { get; }

        /// <summary>How long the script block ran for this client.</summary>
        public TimeSpan Duration { get; }

        /// <summary>What the script block output for this client.</summary>
        public object[] Output { get; }

        /// <summary>The errors it reported, including the one that ended it if it threw.</summary>
        public object[] Errors { get; }

        /// <summary>False when the script block threw (a terminating error) or could not start.</summary>
        public bool Succeeded { get; }
    }

    /// <summary>One datagram a UDP server received: handed to the script block as <c>$_</c>.</summary>
    public sealed class UdpServerRequest
    {
        internal UdpServerRequest(SocketServerSession server, EndPoint remote, byte[] bytes)
        {
            Server = server;
            RemoteEndPoint = remote;
            Bytes = bytes;
            ReceivedAt = DateTime.Now;
        }

        /// <summary>The server that received the datagram.</summary>
        public SocketServerSession Server { get; }

        /// <summary>The sender's address and port; replies go there.</summary>
        public EndPoint RemoteEndPoint { get; }

        /// <summary>The datagram's payload.</summary>
        public byte[] Bytes { get; }

        /// <summary>The payload decoded with the server's encoding.</summary>
        public string Text => Server.Encoding.GetString(Bytes);

        /// <summary>When the datagram arrived.</summary>
        public DateTime ReceivedAt { get; }

        /// <inheritdoc />
        public override string ToString() => $"{Net.Endpoints.Format(RemoteEndPoint)}: {Bytes.Length} bytes";
    }

    /// <summary>Turns what a UDP server's script block output into reply datagrams.</summary>
    public static class ServerReplies
    {
        /// <summary>
        /// A byte[] is one datagram as is; a string (or anything else, as text) is encoded into
        /// one datagram; a run of single bytes (what PowerShell makes of an unwrapped byte[])
        /// is joined into one datagram. Nulls are skipped.
        /// </summary>
        public static IList<byte[]> ToDatagrams(IEnumerable<object?> items, Encoding encoding)
        {
            if (items is null)
            {
                throw new ArgumentNullException(nameof(items));
            }

            if (encoding is null)
            {
                throw new ArgumentNullException(nameof(encoding));
            }

            var datagrams = new List<byte[]>();
            MemoryStream? run = null;
            void EndRun()
            {
                if (run is not null)
                {
                    datagrams.Add(run.ToArray());
                    run = null;
                }
            }

            foreach (var item in items)
            {
                switch (item)
                {
                    case null:
                        continue;
                    case byte b:
                        run ??= new MemoryStream();
                        run.WriteByte(b);
                        continue;
                    case byte[] bytes:
                        EndRun();
                        datagrams.Add(bytes);
                        continue;
                    default:
                        EndRun();
                        datagrams.Add(encoding.GetBytes(Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
                        continue;
                }
            }

            EndRun();
            return datagrams;
        }
    }
}

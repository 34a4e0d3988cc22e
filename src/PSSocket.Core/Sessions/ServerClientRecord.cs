using System;
using System.Collections.Generic;
using System.Net;
using PSSocket.Sessions;

namespace PSSocket
{
    /// <summary>One served client (or, for a UDP server, one datagram): who, when, how long, what came out and how it ended.</summary>
    public sealed class ServerClientRecord
    {
        internal ServerClientRecord(SocketServerSession server, EndPoint? client, DateTime startedAt, TimeSpan duration, ServerHandlerResult result, string? closeReason, int sessionId = 0)
        {
            ServerId = server.Id;
            SessionId = sessionId;
            ClientEndPoint = client;
            StartedAt = startedAt;
            Duration = duration;
            Output = new List<object>(result.Output).ToArray();
            Errors = new List<object>(result.Errors).ToArray();
            Succeeded = !result.Threw;
            CloseReason = closeReason;
            EstimatedBytes = 256 + result.EstimatedBytes;
        }

        /// <summary>The Id of the server session.</summary>
        public int ServerId { get; }

        /// <summary>The Id the client's session had (0 for a UDP datagram or a relayed connection).</summary>
        public int SessionId { get; }

        /// <summary>The client's address and port.</summary>
        public EndPoint? ClientEndPoint { get; }

        /// <summary>When the client was accepted (the datagram arrived).</summary>
        public DateTime StartedAt { get; }

        /// <summary>How long the client was served.</summary>
        public TimeSpan Duration { get; }

        /// <summary>What the script block output for this client (for a relay: the bytes moved each way).</summary>
        public object[] Output { get; }

        /// <summary>The errors it reported, including the one that ended it if it threw.</summary>
        public object[] Errors { get; }

        /// <summary>False when the script block threw (a terminating error), could not start (TLS handshake, reset before any data) or the client was closed for a timeout.</summary>
        public bool Succeeded { get; }

        /// <summary>Why the client's connection ended (for example closed by -IdleTimeout), when the server knows.</summary>
        public string? CloseReason { get; }

        /// <summary>The record's number in the order its server kept them (1 for the first client that finished).</summary>
        public long Sequence { get; internal set; }

        /// <summary>Roughly how many bytes keeping this record costs (what -MaxRecordBytes counts).</summary>
        public long EstimatedBytes { get; }
    }
}

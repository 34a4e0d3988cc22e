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

        /// <summary>The close reason of a server's client whose script block ended (the usual end).</summary>
        public const string ScriptBlockEnded = "The server's script block for this client ended";

        /// <summary>
        /// The record in one line for the table view: the output (one item as text, more as a
        /// count), the errors, then why the connection closed unless an error already says it.
        /// </summary>
        public static string Summary(object[]? output, string[]? errors, string? closeReason)
        {
            var parts = new List<string>();
            if (output is { Length: 1 } && output[0] is not null)
            {
                parts.Add(output[0].ToString());
            }
            else if (output is { Length: > 1 })
            {
                parts.Add($"({output.Length} items)");
            }

            foreach (var e in errors ?? Array.Empty<string>())
            {
                if (!string.IsNullOrEmpty(e))
                {
                    parts.Add(e);
                }
            }

            string text = string.Join("; ", parts);
            // A server's client ends that way when all went as planned: saying so on every row is noise.
            if (!string.IsNullOrEmpty(closeReason) && closeReason != ScriptBlockEnded && text.IndexOf(closeReason, StringComparison.Ordinal) < 0)
            {
                text = text.Length == 0 ? closeReason! : $"{text} ({closeReason})";
            }

            return text;
        }
    }
}

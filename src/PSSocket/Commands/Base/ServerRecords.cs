using System.Globalization;

namespace PSSocket.Commands
{
    /// <summary>
    /// Follows a server's client records as clients finish, for Wait-SocketServer, Start-SocketServer
    /// and Start-SocketRelay -Wait and Receive-SocketServerOutput -Wait: the one loop that waits on the
    /// pipeline thread and hands each record to the cmdlet to write there.
    /// </summary>
    internal static class ServerRecords
    {
        /// <summary>
        /// Hands each record to <paramref name="write"/> as it comes, until the server has completed
        /// (true) or the deadline passes (false). <paramref name="take"/> removes them (Receive-SocketServerOutput);
        /// otherwise they stay for Receive-SocketServerOutput and only those newer than <paramref name="after"/> are handed on; <paramref name="after"/> becomes the newest handed on.
        /// </summary>
        public static bool Follow(SocketServerSession server, Deadline deadline, bool take, ref long after, Action<ServerClientRecord> write, Func<Func<CancellationToken, Task<bool>>, bool> wait)
        {
            while (true)
            {
                Task changed = server.NextChange;
                bool done = server.Completion.IsCompleted;
                foreach (var record in take ? server.TakeRecords() : server.PeekRecords(after))
                {
                    after = Math.Max(after, record.Sequence);
                    write(Present(record));
                }

                if (done)
                {
                    return true;
                }

                if (!wait(t => deadline.WaitAsync(changed, t)))
                {
                    return false;
                }
            }
        }

        /// <summary>The record as users read it: the failures it holds as ErrorRecords (ErrorId, message, the client as target), never .NET exceptions with their stack traces.</summary>
        public static ServerClientRecord Present(ServerClientRecord record)
        {
            var errors = record.Errors;
            for (int i = 0; i < errors.Length; i++)
            {
                if (errors[i] is Exception ex)
                {
                    errors[i] = ErrorRecords.ForRecord(ex, record.ClientEndPoint);
                }
            }

            return record;
        }

        /// <summary>One line for -Verbose about a client that finished, as ncat -v says it.</summary>
        public static string Describe(SocketServerSession server, ServerClientRecord record)
        {
            string outcome = record.Succeeded ? "done" : "failed";
            string why = record.CloseReason is null ? "" : $" ({record.CloseReason})";
            string errors = record.Errors.Length == 0 ? "" : $"; {record.Errors.Length} error(s): {record.Errors[0]}";
            return string.Format(CultureInfo.InvariantCulture, "{0} {1}: {2} after {3:0.###} s{4}{5}",
                server, Endpoints.Format(record.ClientEndPoint), outcome, record.Duration.TotalSeconds, why, errors);
        }
    }
}

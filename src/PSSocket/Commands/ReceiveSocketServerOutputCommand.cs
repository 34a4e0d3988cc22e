namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Returns what a server's script block produced for each client that has finished: endpoint, timing, output and errors.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "SocketServerOutput")]
    [OutputType(typeof(ServerClientRecord))]
    public sealed class ReceiveSocketServerOutputCommand : ServerCmdlet
    {
        /// <summary>Keeps returning records as clients finish until the server has stopped (or -Timeout passes, or Ctrl+C).</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>With -Wait: stop waiting after this many seconds (no error); 0 (the default) waits until the server stops.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<SocketServerSession>(session, "Receive-SocketServerOutput reads servers from Start-SocketServer (use Receive-SocketData for other sessions)") is not { } server)
            {
                return;
            }

            long dropped = server.RecordsDropped;
            if (dropped > 0)
            {
                WriteWarning($"Server {server} dropped {dropped} unread client records ({server.RecordBytesDropped:N0} bytes estimated; it keeps the last {server.MaxRecords:N0} records within {server.MaxRecordBytes:N0} bytes); read them more often or raise Start-SocketServer -MaxRecordBytes.");
            }

            if (!Wait)
            {
                foreach (var record in server.TakeRecords())
                {
                    WriteObject(ServerRecords.Present(record));
                }

                return;
            }

            long after = 0;
            ServerRecords.Follow(server, Deadline.AfterSeconds(Timeout), take: true, ref after, WriteObject, work => Run(work));
        }
    }
}

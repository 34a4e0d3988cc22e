namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Waits in the foreground for a server or relay to stop (or -Timeout, or Ctrl+C), showing each client as it finishes with -Verbose and outputting its record with -PassThru.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Wait, "SocketServer")]
    [OutputType(typeof(ServerClientRecord))]
    public sealed class WaitSocketServerCommand : ServerCmdlet
    {
        /// <summary>Seconds to wait; 0 (the default) waits until the server stops. When they pass, the command ends without an error and the server keeps running.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        [ValidateRange(0, 31536000)]
        public double Timeout { get; set; }

        /// <summary>Outputs each client's record as the client finishes (the records stay readable with Receive-SocketServerOutput).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<SocketServerSession>(session, "Wait-SocketServer waits for servers from Start-SocketServer and relays from Start-SocketRelay (use Receive-SocketData to wait on other sessions)") is not { } server)
            {
                return;
            }

            long after = server.LastRecordSequence;
            bool completed = ServerRecords.Follow(server, Deadline.AfterSeconds(Timeout), take: false, ref after, record =>
            {
                Verbose(() => ServerRecords.Describe(server, record));
                if (PassThru)
                {
                    WriteObject(record);
                }
            }, work => Run(work));
            Verbose(() => completed ? $"{server} has stopped ({server.CloseReason})" : $"{Timeout} s passed; {server} is still {server.State}");
        }
    }
}

using System.Management.Automation;
using PSSocket.Net;
using PSSocket.Sessions;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Stops a server from Start-SocketServer: stops accepting, optionally lets clients finish, closes the rest and releases its runspaces.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "SocketServer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(SocketServerSession))]
    public sealed class StopSocketServerCommand : SessionCmdlet
    {
        /// <summary>The server: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Session", "Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Server { get; set; } = null!;

        /// <summary>Lets clients being served finish their script blocks before closing them (until -Timeout, or Ctrl+C, which stops the server at once).</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>Seconds to wait for clients before closing the rest (implies -Wait); 0 (the default) with -Wait waits until they finish. Script blocks that do not stop within 3 seconds after that are reported with a warning and left behind; they never keep the process alive.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; }

        /// <summary>Outputs the stopped server session.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>How long stopped script blocks get to end after the server closes before they are reported and given up on.</summary>
        private static readonly System.TimeSpan s_stopGrace = System.TimeSpan.FromSeconds(3);

        /// <inheritdoc />
        protected override object? SessionArgument => Server;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            // A stopped server has left the registry; stopping its object again does nothing.
            var raw = Server is PSObject pso ? pso.BaseObject : Server;
            if (raw is SocketServerSession { IsClosed: true } stopped && SessionManager.Resolve(stopped) is null)
            {
                Verbose(() => $"Server {stopped} is already stopped ({stopped.CloseReason})");
                if (PassThru)
                {
                    WriteObject(stopped);
                }

                return;
            }

            base.ProcessRecord();
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (session is not SocketServerSession server)
            {
                WriteError(ErrorRecords.WrongKind(session, "Stop-SocketServer stops servers from Start-SocketServer (use Remove-SocketSession for other sessions)"));
                return;
            }

            if (!ShouldProcess($"{server.Kind} session {server} ({Endpoints.Format(server.LocalEndPoint)}, {server.ClientsActive} clients active)", "Stop"))
            {
                return;
            }

            int active = server.ClientsActive;
            bool wait = Wait.IsPresent || Timeout > 0;
            var stuck = Run(t => server.StopAsync(Deadline.AfterSeconds(Timeout), wait, s_stopGrace, t));
            foreach (var client in stuck)
            {
                WriteWarning($"Server {server}: the script block of {client} did not stop (it is inside a call PowerShell cannot interrupt). Its connection is closed and the server no longer waits for it; it ends on its own or with the process.");
            }

            Verbose(() => $"Stopped {server}: {server.ClientsAccepted} clients accepted, {server.ClientsFailed} failed, {active} were active");
            if (PassThru)
            {
                WriteObject(server);
            }
        }
    }
}

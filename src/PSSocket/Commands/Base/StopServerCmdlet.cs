namespace PSSocket.Commands
{
    /// <summary>
    /// What Stop-SocketServer and Stop-SocketRelay share: stop accepting, optionally let clients
    /// finish, close the rest; the stopped server stays listed (State Stopped) with its records until
    /// Remove-SocketSession, as Stop-Job leaves a job.
    /// </summary>
    public abstract class StopServerCmdlet : ServerCmdlet
    {
        /// <summary>How long stopped script blocks get to end after the server closes before they are reported and given up on.</summary>
        private static readonly System.TimeSpan s_stopGrace = System.TimeSpan.FromSeconds(3);

        /// <summary>Lets clients being served finish (their script blocks, their relayed connections) before closing them (until -Timeout, or Ctrl+C, which stops at once).</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>Seconds to wait for clients before closing the rest (implies -Wait); 0 (the default) with -Wait waits until they finish. Script blocks that do not stop within 3 seconds after that are reported with a warning and left behind; they never keep the process alive.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; }

        /// <summary>Outputs the stopped session.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>The command's name, for messages and the CloseReason.</summary>
        protected abstract string CommandName { get; }

        /// <summary>Null when the command stops this session; otherwise what to say (the session is of the wrong kind).</summary>
        protected abstract string? Refuses(SocketSession session);

        /// <inheritdoc />
        protected override bool ProcessUnlisted(SocketServerSession server)
        {
            // A stopped server that was also removed is no longer listed; stopping its object again does nothing.
            if (!server.IsClosed)
            {
                return false;
            }

            AlreadyStopped(server);
            return true;
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            string? refused = Refuses(session);
            if (refused is not null || session is not SocketServerSession server)
            {
                WriteError(ErrorRecords.WrongKind(session, refused ?? $"{CommandName} stops servers and relays"));
                return;
            }

            if (server.IsClosed)
            {
                AlreadyStopped(server);
                return;
            }

            if (!ShouldProcess($"{server.Kind} session {server} ({Endpoints.Format(server.LocalEndPoint)}, {server.ClientsActive} clients active)", "Stop"))
            {
                return;
            }

            int active = server.ClientsActive;
            bool wait = Wait.IsPresent || Timeout > 0;
            var stuck = Run(t => server.StopAsync(Deadline.AfterSeconds(Timeout), wait, s_stopGrace, t, CommandName));
            foreach (var client in stuck)
            {
                WriteWarning($"Server {server}: the script block of {client} did not stop (it is inside a call PowerShell cannot interrupt). Its connection is closed and the server no longer waits for it; it ends on its own or with the process.");
            }

            Verbose(() => $"Stopped {server}: {server.ClientsAccepted} clients accepted, {server.ClientsFailed} failed, {active} were active; it stays listed (State Stopped) until Remove-SocketSession");
            if (PassThru)
            {
                WriteObject(server);
            }
        }

        private void AlreadyStopped(SocketServerSession stopped)
        {
            Verbose(() => $"Server {stopped} is already stopped ({stopped.CloseReason})");
            if (PassThru)
            {
                WriteObject(stopped);
            }
        }
    }
}

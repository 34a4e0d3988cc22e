namespace PSSocket.Commands
{
    /// <summary>
    /// What Start-SocketServer and Start-SocketRelay share beyond starting: -Wait holds the command in
    /// the foreground (for -Duration, until the server stops, or Ctrl+C) and then stops the server,
    /// writing each client's record as it finishes with -PassThru and a line per client with -Verbose.
    /// </summary>
    public abstract class StartServerCmdlet : NewSessionCmdlet
    {
        /// <summary>Stays in the foreground after starting, until -Duration passes, the server is stopped (Stop-SocketServer from elsewhere), or Ctrl+C; then stops it. Without -Wait the session is output and the server runs in the background.</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>With -Wait: seconds to stay in the foreground (a maintenance window); 0 (the default) waits until the server is stopped or Ctrl+C.</summary>
        [Parameter]
        [ValidateRange(0, 31536000)]
        public double Duration { get; set; }

        /// <summary>With -Wait: outputs each client's record (as Receive-SocketServerOutput returns it) as the client finishes, instead of the session.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>The command's name, for the CloseReason when -Wait ends.</summary>
        protected string CommandName => MyInvocation.MyCommand.Name;

        /// <summary>Refuses -Duration and -PassThru without -Wait (terminating InvalidArgument).</summary>
        protected void CheckWaitParameters()
        {
            Require("the foreground mode", new[] { nameof(Wait) }, nameof(Duration), nameof(PassThru));
        }

        /// <summary>
        /// The one way a server cmdlet starts what it made: <paramref name="create"/> makes the server,
        /// it is listed under <paramref name="name"/>, <paramref name="start"/> starts it. When a step
        /// fails the server is closed (the close takes it out of the registry and releases what it
        /// owns) or, when none was made, <paramref name="release"/> frees what was loaded for it;
        /// the error is written against <paramref name="target"/> (a transcript file that cannot be
        /// opened, against <paramref name="file"/>). Returns the started server, or null.
        /// </summary>
        protected T? Launch<T>(Func<T> create, Action<T> start, string? name, object target, Action? release = null, Func<string?>? file = null)
            where T : SocketServerSession
        {
            T? server = null;
            try
            {
                server = create();
                server.Register(name);
                start(server);
                return server;
            }
            catch (Exception ex)
            {
                if (server is not null)
                {
                    server.Close("Not started");
                }
                else
                {
                    release?.Invoke();
                }

                if (ex is PSSocketException socketError)
                {
                    WriteSocketError(socketError, socketError.Target ?? target);
                    return null;
                }

                if (file?.Invoke() is { } path && ErrorRecords.IsFileOpenFailure(ex))
                {
                    WriteError(ErrorRecords.FileOpenFailed(ex, path));
                    return null;
                }

                throw;
            }
        }

        /// <summary>Outputs the started server, or with -Wait holds it in the foreground and stops it at the end.</summary>
        protected void Emit(SocketServerSession server)
        {
            if (!Wait)
            {
                WriteObject(server);
                return;
            }

            bool stopped = false;
            try
            {
                Verbose(() => $"{CommandName}: serving {server} on {Endpoints.Format(server.LocalEndPoint)} in the foreground{(Duration > 0 ? $" for {Duration} s" : "")}; Ctrl+C stops it");
                // Every record of the server this command just started: a client may finish before this line runs.
                long after = 0;
                void Write(ServerClientRecord record)
                {
                    Verbose(() => ServerRecords.Describe(server, record));
                    if (PassThru)
                    {
                        WriteObject(record);
                    }
                }

                bool completed = ServerRecords.Follow(server, Deadline.AfterSeconds(Duration), take: false, ref after, Write, work => Run(work));
                Verbose(() => completed ? $"{server} was stopped ({server.CloseReason})" : $"{Duration} s passed: stopping {server}");
                Run(t => server.StopAsync(Deadline.AfterSeconds(0), false, System.TimeSpan.FromSeconds(3), t, CommandName));
                stopped = true;

                // The clients the stop ended (or that ended with it) are written too.
                ServerRecords.Follow(server, Deadline.After(SocketServerSession.TeardownWait), take: false, ref after, Write, work => Run(work));
            }
            finally
            {
                if (!stopped && !server.IsClosed)
                {
                    // Ctrl+C: the foreground server stops with the command, as ncat's does.
                    _ = server.StopAsync(Deadline.AfterSeconds(0), false, System.TimeSpan.FromSeconds(3), System.Threading.CancellationToken.None, CommandName);
                }
            }
        }
    }
}

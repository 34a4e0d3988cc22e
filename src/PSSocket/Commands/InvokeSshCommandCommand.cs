using System.Collections.Concurrent;
using System.Diagnostics;
using PSSocket.Sessions.Ssh;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Runs a command over SSH without a shell (an exec channel) on many hosts in parallel, or on an open SSH session.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "SshCommand", DefaultParameterSetName = ComputerNameSet)]
    [OutputType(typeof(SshCommandResult))]
    public sealed class InvokeSshCommandCommand : SshCmdlet
    {
        private const string SessionSet = "Session";
        private readonly List<string> _targets = new();

        /// <summary>The SSH servers: host names or addresses, optionally as user@host or host:port. Each connects, runs the command and disconnects; a host that fails is an error for that host while the others run.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ComputerNameSet)]
        [Alias("HostName", "CN", "Address", "IPAddress", "Host")]
        [AllowEmptyString]
        public string[] ComputerName { get; set; } = Array.Empty<string>();

        /// <summary>An open SSH session (object, Id or Name): the command runs on a new channel of its connection, the shell is not touched.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = SessionSet)]
        [Alias("SessionId", "Id")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        public object? Session { get; set; }

        /// <summary>The command line, run by the user's login shell on the server (as ssh host 'command' does).</summary>
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = ComputerNameSet)]
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = SessionSet)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        /// <summary>The SSH port of every host (default 22; host:port in -ComputerName sets it per host).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateRange(1, 65535)]
        public override int Port { get; set; } = 22;

        /// <summary>How many hosts run at once (default 32).</summary>
        [Parameter(ParameterSetName = ComputerNameSet)]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = 32;

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <summary>How long the command may run: -Timeout when it was given, otherwise until it ends.</summary>
        private TimeSpan CommandLimit => MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Seconds(Timeout) : System.Threading.Timeout.InfiniteTimeSpan;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (ParameterSetName == SessionSet)
            {
                base.ProcessRecord();
                return;
            }

            foreach (var target in ComputerName)
            {
                if (!IsTargetEntry(target))
                {
                    continue;
                }

                _targets.Add(target.Trim());
            }
        }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<SshSession>(session, "Invoke-SshCommand -Session takes an SSH session (Connect-SshShell)") is not { } ssh)
            {
                return;
            }

            Verbose(() => $"Running '{Command}' on session {ssh}");
            WriteObject(Run(t => ssh.InvokeCommandAsync(Command, CommandLimit, t)));
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (_targets.Count == 0)
            {
                return;
            }

            var connector = SshAssembly.Connector;
            var done = new ConcurrentQueue<(string Target, SshCommandResult? Result, PSSocketException? Error)>();
            // Not disposed: after a stop, hosts still finishing signal them.
            var slots = new SemaphoreSlim(ThrottleLimit);
            var finished = new SemaphoreSlim(0);
            foreach (var target in _targets)
            {
                var options = OptionsFor(target);
                _ = RunOneAsync(connector, options, slots, Token).ContinueWith(
                    t =>
                    {
                        done.Enqueue(t.Status == TaskStatus.RanToCompletion ? (options.Target, t.Result, null)
                            : (options.Target, null, t.Exception?.GetBaseException() as PSSocketException
                                ?? new PSSocketException(SocketErrorKind.SocketError, $"Running the command on {options.Target} failed: {t.Exception?.GetBaseException().Message ?? "cancelled"}", t.Exception, target: options.Target)));
                        finished.Release();
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            var bar = new ProgressBar(this, "Invoke-SshCommand", firstAfterMs: 500);
            int count = 0;
            try
            {
                while (count < _targets.Count)
                {
                    try
                    {
                        finished.Wait(250, Token);
                    }
                    catch (OperationCanceledException)
                    {
                        throw new PipelineStoppedException();
                    }

                    while (done.TryDequeue(out var item))
                    {
                        count++;
                        if (item.Result is not null)
                        {
                            WriteObject(item.Result);
                        }
                        else
                        {
                            WriteSocketError(item.Error!, item.Target);
                        }
                    }

                    bar.Report($"{count} of {_targets.Count} hosts done", count, _targets.Count);
                }
            }
            finally
            {
                bar.Complete();
            }
        }

        private async Task<SshCommandResult> RunOneAsync(ISshConnector connector, SshConnectOptions options, SemaphoreSlim slots, CancellationToken token)
        {
            await slots.WaitAsync(token).ConfigureAwait(false);
            try
            {
                var clock = Stopwatch.StartNew();
                using var connection = await SshConnect.ConnectAsync(connector, options, token).ConfigureAwait(false);
                var result = await SshExec.RunAsync(connection, Command, options.Encoding, CommandLimit, options.Host, options.Port, options.Target, token).ConfigureAwait(false);
                result.Elapsed = clock.Elapsed;
                return result;
            }
            finally
            {
                slots.Release();
            }
        }
    }
}

using System.Management.Automation.Runspaces;

namespace PSSocket
{
    /// <summary>
    /// Runs Start-SocketServer's script block for each client on a runspace from a pool of
    /// ThrottleLimit runspaces that import this module. The block is re-created from its text
    /// inside the pool runspace: a ScriptBlock object belongs to the runspace that made it and
    /// must not run on another thread. Each invocation runs on a background thread of its own
    /// (the pool runs pipelines on the calling thread), so a script block stuck in a .NET call
    /// that cannot be stopped never keeps the process alive; the pool is released in the
    /// background for the same reason.
    /// </summary>
    internal sealed class ScriptBlockServerHandler : IServerClientHandler
    {
        // $_ is the client (also in a process block), so is the first argument; -ArgumentList
        // follows it. $using: references were rewritten to the variables set here.
        private const string Wrapper = @"
param([string] $__PSSocketScript, $__PSSocketClient, [object[]] $__PSSocketArguments, [System.Collections.IDictionary] $__PSSocketUsing)
foreach ($__PSSocketEntry in $__PSSocketUsing.GetEnumerator()) { Set-Variable -Name $__PSSocketEntry.Key -Value $__PSSocketEntry.Value }
$__PSSocketBlock = [scriptblock]::Create($__PSSocketScript)
if ($null -eq $__PSSocketArguments) { $__PSSocketArguments = @() }
Remove-Variable -Name __PSSocketScript, __PSSocketUsing, __PSSocketEntry -ErrorAction Ignore
,$__PSSocketClient | ForEach-Object -Process { $_ | & $__PSSocketBlock $_ @__PSSocketArguments }
";

        // PowerShell's own pipeline threads get this much stack: deep scripts must not overflow here.
        private const int PipelineStackSize = 10_000_000;

        [ThreadStatic]
        private static ScriptBlockServerHandler? s_serving;

        private readonly RunspacePool _pool;
        private readonly ServerScript _script;
        private readonly object[] _arguments;
        private readonly System.Text.Encoding _encoding;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Thread, PowerShell> _running = new();
        private int _disposed;

        public ScriptBlockServerHandler(ServerScript script, object[]? arguments, int throttleLimit, string? modulePath, System.Text.Encoding encoding)
        {
            _script = script;
            _arguments = arguments ?? Array.Empty<object>();
            _encoding = encoding;
            var iss = InitialSessionState.CreateDefault2();
            if (!string.IsNullOrEmpty(modulePath))
            {
                iss.ImportPSModule(new[] { modulePath });
            }

            _pool = RunspaceFactory.CreateRunspacePool(iss);
            _pool.SetMaxRunspaces(throttleLimit);
            _pool.ThreadOptions = PSThreadOptions.UseCurrentThread;
            _pool.Open();
        }

        public Task<ServerHandlerResult> HandleAsync(object client, CancellationToken token)
        {
            token.ThrowIfCancellationRequested();
            var done = new TaskCompletionSource<ServerHandlerResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                s_serving = this;
                try
                {
                    done.TrySetResult(Invoke(client, token));
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
                finally
                {
                    _running.TryRemove(Thread.CurrentThread, out _);
                }
            }, PipelineStackSize)
            {
                IsBackground = true,
                Name = "PSSocket server client",
            };
            thread.Start();
            return done.Task;
        }

        private ServerHandlerResult Invoke(object client, CancellationToken token)
        {
            var output = new List<PSObject>();
            using var ps = PowerShell.Create();
            _running[Thread.CurrentThread] = ps;
            ps.RunspacePool = _pool;
            ps.AddScript(Wrapper, useLocalScope: true)
                .AddArgument(_script.Text)
                .AddArgument(client)
                .AddArgument(_arguments)
                .AddArgument(_script.UsingValues);
            var errors = new List<object>();
            bool threw = false;
            using (token.Register(() => StopQuietly(ps)))
            {
                try
                {
                    token.ThrowIfCancellationRequested();
                    ps.Invoke(null, output);
                }
                catch (Exception ex) when (token.IsCancellationRequested && ex is PipelineStoppedException or OperationCanceledException or ThreadInterruptedException)
                {
                    threw = true;
                    errors.Add(ErrorRecords.StoppedByServer(ex, client));
                }
                catch (Exception ex) when (ex is RuntimeException or InvalidOperationException or InvalidRunspacePoolStateException)
                {
                    threw = true;
                    errors.Add(ex is IContainsErrorRecord ier ? ier.ErrorRecord : ex);
                }
            }

            errors.InsertRange(0, ps.Streams.Error.ToArray());
            var items = output.ToArray();
            IList<byte[]>? replies = client is UdpServerRequest
                ? ServerReplies.ToDatagrams(items.Select(o => o?.BaseObject), _encoding)
                : null;
            long size = ServerHandlerResult.Estimate(items.Select(o => o?.BaseObject))
                + errors.Sum(e => e is ErrorRecord r ? 256 + (2L * (r.ErrorDetails?.Message ?? r.Exception?.Message ?? "").Length) : ServerHandlerResult.Estimate(new[] { e }));
            return new ServerHandlerResult(items, errors, threw, replies, size);
        }

        public bool IsServingThread => ReferenceEquals(s_serving, this);

        /// <summary>
        /// Wakes script blocks that a stop did not end because they wait inside .NET (a sleep, a
        /// lock, a wait handle): the wait throws and the pipeline ends. A busy loop or a blocking
        /// native call is not reached; those threads are background threads and end with the process.
        /// </summary>
        public void Interrupt()
        {
            foreach (var entry in _running)
            {
                StopQuietly(entry.Value);
                entry.Key.Interrupt();
            }
        }

        private static void StopQuietly(PowerShell ps)
        {
            try
            {
                ps.BeginStop(null, null);
            }
            catch (ObjectDisposedException)
            {
                // The invocation already ended and was disposed: nothing to stop.
            }
            catch (InvalidOperationException)
            {
                // Not running (yet or any more): nothing to stop.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                // Closing the pool waits for its runspaces, and one stuck in a .NET call never ends:
                // release it on a background thread so neither the caller nor the process waits.
                new Thread(() => _pool.Dispose()) { IsBackground = true, Name = "PSSocket server release" }.Start();
            }
        }
    }
}

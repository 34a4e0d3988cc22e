using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket
{
    /// <summary>
    /// Runs Start-SocketServer's script block for each client on its own runspace from a pool
    /// of ThrottleLimit runspaces that import this module. The block is re-created from its
    /// text inside the pool runspace: a ScriptBlock object belongs to the runspace that made it
    /// and must not run on another thread.
    /// </summary>
    internal sealed class ScriptBlockServerHandler : IServerClientHandler
    {
        // $_ is the client (also in a process block), so is the first argument; -ArgumentList follows it.
        private const string Wrapper = @"
param([string] $__PSSocketScript, $__PSSocketClient, [object[]] $__PSSocketArguments, [Action] $__PSSocketEnter)
$__PSSocketEnter.Invoke()
$__PSSocketBlock = [scriptblock]::Create($__PSSocketScript)
if ($null -eq $__PSSocketArguments) { $__PSSocketArguments = @() }
Remove-Variable -Name __PSSocketScript, __PSSocketEnter
,$__PSSocketClient | ForEach-Object -Process { $_ | & $__PSSocketBlock $_ @__PSSocketArguments }
";

        private readonly RunspacePool _pool;
        private readonly string _script;
        private readonly object[] _arguments;
        private readonly System.Text.Encoding _encoding;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, bool> _poolRunspaces = new();
        private readonly Action _enter;
        private int _disposed;

        public ScriptBlockServerHandler(string script, object[]? arguments, int throttleLimit, string? modulePath, System.Text.Encoding encoding)
        {
            _script = script;
            _arguments = arguments ?? Array.Empty<object>();
            _encoding = encoding;
            _enter = () =>
            {
                if (Runspace.DefaultRunspace is { } runspace)
                {
                    _poolRunspaces[runspace.InstanceId] = true;
                }
            };
            var iss = InitialSessionState.CreateDefault2();
            if (!string.IsNullOrEmpty(modulePath))
            {
                iss.ImportPSModule(new[] { modulePath });
            }

            _pool = RunspaceFactory.CreateRunspacePool(iss);
            _pool.SetMaxRunspaces(throttleLimit);
            _pool.Open();
        }

        public async Task<ServerHandlerResult> HandleAsync(object client, CancellationToken token)
        {
            var output = new PSDataCollection<PSObject>();
            using var ps = PowerShell.Create();
            ps.RunspacePool = _pool;
            ps.AddScript(Wrapper, useLocalScope: true)
                .AddArgument(_script)
                .AddArgument(client)
                .AddArgument(_arguments)
                .AddArgument(_enter);
            var errors = new List<object>();
            bool threw = false;
            token.ThrowIfCancellationRequested();
            using (token.Register(() => StopQuietly(ps)))
            {
                try
                {
                    var invocation = ps.BeginInvoke<PSObject, PSObject>(null, output);
                    await Task.Factory.FromAsync(invocation, r => ps.EndInvoke(r)).ConfigureAwait(false);
                }
                catch (PipelineStoppedException ex) when (token.IsCancellationRequested)
                {
                    threw = true;
                    errors.Add(new ErrorRecord(ex, "StoppedByServer", ErrorCategory.OperationStopped, client)
                    {
                        ErrorDetails = new ErrorDetails("The server was stopped while this client's script block was running."),
                    });
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
            return new ServerHandlerResult(items, errors, threw, replies);
        }

        public bool IsServingThread => Runspace.DefaultRunspace is { } runspace && _poolRunspaces.ContainsKey(runspace.InstanceId);

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
                _pool.Dispose();
            }
        }
    }
}

using System.Reflection;

namespace PSSocket.Ssh
{
    /// <summary>
    /// A shell channel as the stream a session reads and writes: reads never hold a thread while
    /// they wait (they await the channel's data event), return 0 once the channel closed and all
    /// it sent was read, and throw IOException when the connection was lost instead.
    /// </summary>
    internal sealed class ShellChannel : Stream, ISshShell
    {
        /// <summary>How long a waiting read sleeps at most before it looks again (in case an event came before its data).</summary>
        private const int RecheckMs = 200;

        private readonly ShellStream _shell;
        private readonly SshClient _client;
        private readonly string _target;
        private TaskCompletionSource<bool> _signal = NewSignal();
        private volatile bool _closed;
        private volatile Exception? _error;
        private int _ended;
        private int? _exitStatus;
        private string? _exitSignal;

        public ShellChannel(ShellStream shell, SshClient client, string target)
        {
            _shell = shell;
            _client = client;
            _target = target;
            _shell.DataReceived += (_, _) => Signal();
            _shell.Closed += (_, _) => OnChannelClosed();
            _shell.ErrorOccurred += (_, e) => OnError(e.Exception);
            _client.ErrorOccurred += (_, e) => OnError(e.Exception);
            WatchExitStatus();
        }

        public Stream Stream => this;

        public int? ExitStatus => _exitStatus;

        public Action<string>? Ended { get; set; }

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public void SendEof()
        {
            // ShellStream has no public EOF; its channel has (reached like the exit status).
            var channel = typeof(ShellStream).GetField("_channel", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(_shell);
            var sendEof = typeof(ShellStream).Assembly.GetType("Renci.SshNet.Channels.IChannel")?.GetMethod("SendEof");
            if (channel is null || sendEof is null)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, $"This SSH.NET cannot end the input of the shell to {_target}; close the session instead.", target: _target);
            }

            sendEof.Invoke(channel, null);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (true)
            {
                var waiter = Volatile.Read(ref _signal).Task;
                if (TryReadNow(buffer, offset, count, out int n))
                {
                    return n;
                }

                waiter.Wait(RecheckMs);
            }
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (true)
            {
                var waiter = Volatile.Read(ref _signal).Task;
                if (TryReadNow(buffer, offset, count, out int n))
                {
                    return n;
                }

                cancellationToken.ThrowIfCancellationRequested();
                await Task.WhenAny(waiter, Task.Delay(RecheckMs, cancellationToken)).ConfigureAwait(false);
            }
        }

        private bool TryReadNow(byte[] buffer, int offset, int count, out int n)
        {
            n = 0;
            if (_shell.DataAvailable)
            {
                try
                {
                    n = _shell.Read(buffer, offset, count);
                }
                catch (ObjectDisposedException)
                {
                    n = 0;
                }

                if (n > 0)
                {
                    return true;
                }
            }

            if (_error is { } error && !_shell.DataAvailable)
            {
                throw new IOException($"The SSH connection to {_target} was lost: {error.Message}", error);
            }

            return _closed && !_shell.DataAvailable;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_closed || _error is not null)
            {
                throw new IOException($"The SSH shell channel to {_target} is closed.");
            }

            try
            {
                _shell.Write(buffer, offset, count);
                _shell.Flush();
            }
            catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException)
            {
                throw new IOException($"Sending on the SSH shell channel to {_target} failed: {ex.Message}", ex);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.Run(() => Write(buffer, offset, count), CancellationToken.None);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _closed = true;
                Signal();
                try
                {
                    _shell.Dispose();
                }
                catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException)
                {
                    // The connection is going away with it; nothing is left to close.
                }
            }

            base.Dispose(disposing);
        }

        private void OnChannelClosed()
        {
            if (_exitStatus is null && _exitSignal is null && !_client.IsConnected && _error is null)
            {
                _error = new SshConnectionException("the server closed the connection without ending the shell");
            }

            _closed = true;
            End(_error is { } e
                ? $"The SSH connection to {_target} was lost: {e.Message}"
                : _exitSignal is not null ? $"The remote shell was ended by signal {_exitSignal}"
                : _exitStatus is int s ? $"The remote shell exited with status {s}"
                : "The server closed the shell channel");
            Signal();
        }

        private void OnError(Exception ex)
        {
            if (_closed && _error is null && (_exitStatus is not null || _exitSignal is not null))
            {
                return;
            }

            _error ??= ex;
            End($"The SSH connection to {_target} was lost: {ex.Message}");
            Signal();
        }

        private void End(string reason)
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                Ended?.Invoke(reason);
            }
        }

        private void Signal() => Interlocked.Exchange(ref _signal, NewSignal()).TrySetResult(true);

        private static TaskCompletionSource<bool> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// ShellStream does not pass the channel's exit-status on; its channel does, through types
        /// SSH.NET keeps internal. They are reached by reflection (SSH.NET's version is pinned, and
        /// a miss only leaves ExitStatus empty).
        /// </summary>
        private void WatchExitStatus()
        {
            var channel = typeof(ShellStream).GetField("_channel", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(_shell);
            var channelInterface = typeof(ShellStream).Assembly.GetType("Renci.SshNet.Channels.IChannel");
            var requests = channelInterface?.GetEvent("RequestReceived");
            if (channel is null || requests is null)
            {
                return;
            }

            var handler = Delegate.CreateDelegate(requests.EventHandlerType!, this, typeof(ShellChannel).GetMethod(nameof(OnChannelRequest), BindingFlags.NonPublic | BindingFlags.Instance)!);
            requests.AddEventHandler(channel, handler);
        }

        private void OnChannelRequest(object? sender, EventArgs e)
        {
            var info = e.GetType().GetProperty("Info")?.GetValue(e);
            switch (info?.GetType().Name)
            {
                case "ExitStatusRequestInfo":
                    _exitStatus = unchecked((int)Convert.ToUInt32(info.GetType().GetProperty("ExitStatus")?.GetValue(info), System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case "ExitSignalRequestInfo":
                    _exitSignal = info.GetType().GetProperty("SignalName")?.GetValue(info) as string;
                    break;
            }
        }
    }
}

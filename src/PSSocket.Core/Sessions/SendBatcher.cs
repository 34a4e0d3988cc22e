using System;
using System.IO;
using System.Threading;
using PSSocket.Net;

namespace PSSocket.Sessions
{
    /// <summary>
    /// Gathers the small writes of one pipeline (`Get-Content log | Send-SocketData $s -Line`) into
    /// fewer socket writes. What is gathered goes out when 64 KiB have built up, when no new item
    /// came for a few milliseconds (a timer, so a slow producer's lines are not held back), or on
    /// Flush. Order is kept: the timer and the pipeline thread flush under one lock. A failure of
    /// a timer flush is kept and thrown by the next Add or Flush.
    /// </summary>
    public sealed class SendBatcher : IDisposable
    {
        /// <summary>How much is gathered before it is written at once.</summary>
        public const int FlushBytes = 64 * 1024;

        private static readonly TimeSpan s_idle = TimeSpan.FromMilliseconds(5);
        private readonly TcpSession _session;
        private readonly TimeSpan _stallTimeout;
        private readonly CancellationToken _token;
        private readonly object _lock = new();
        private readonly Timer _timer;
        private readonly MemoryStream _gathered = new();
        private Exception? _timerFailure;
        private bool _disposed;

        /// <summary>Gathers for one session; stallTimeout bounds each write as in SendAsync.</summary>
        public SendBatcher(TcpSession session, TimeSpan stallTimeout, CancellationToken token)
        {
            _session = session ?? throw new ArgumentNullException(nameof(session));
            _stallTimeout = stallTimeout;
            _token = token;
            _timer = new Timer(_ => OnIdle(), null, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>The session written to.</summary>
        public TcpSession Session => _session;

        /// <summary>Bytes written so far by this batcher.</summary>
        public long Written { get; private set; }

        /// <summary>Adds bytes; writes at once if 64 KiB have gathered.</summary>
        public void Add(byte[] data)
        {
            if (data is null)
            {
                throw new ArgumentNullException(nameof(data));
            }

            lock (_lock)
            {
                ThrowTimerFailure();
                _gathered.Write(data, 0, data.Length);
                if (_gathered.Length >= FlushBytes)
                {
                    FlushLocked();
                }
                else
                {
                    _timer.Change(s_idle, Timeout.InfiniteTimeSpan);
                }
            }
        }

        /// <summary>Writes whatever has gathered.</summary>
        public void Flush()
        {
            lock (_lock)
            {
                ThrowTimerFailure();
                FlushLocked();
            }
        }

        private void OnIdle()
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                try
                {
                    FlushLocked();
                }
                catch (Exception ex) when (ex is PSSocketException or OperationCanceledException)
                {
                    _timerFailure ??= ex;
                }
            }
        }

        private void FlushLocked()
        {
            int n = (int)_gathered.Length;
            if (n == 0)
            {
                return;
            }

            var bytes = _gathered.GetBuffer();
            try
            {
                _session.SendAsync(bytes, 0, n, Deadline.After(_stallTimeout), _token).GetAwaiter().GetResult();
                Written += n;
            }
            finally
            {
                _gathered.SetLength(0);
            }
        }

        private void ThrowTimerFailure()
        {
            var failure = _timerFailure;
            if (failure is not null)
            {
                _timerFailure = null;
                throw failure;
            }
        }

        /// <summary>Stops the timer; anything not flushed is dropped (the pipeline was stopped).</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
            }

            _timer.Dispose();
        }
    }
}

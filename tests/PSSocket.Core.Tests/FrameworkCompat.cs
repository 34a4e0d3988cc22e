#if NETFRAMEWORK
using System;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket.Tests
{
    /// <summary>
    /// Task.WaitAsync for the net472 build (it came with .NET 6), so the same tests run on Mono.
    /// Like the real one it gives up waiting, not the task: a timeout throws TimeoutException.
    /// </summary>
    internal static class FrameworkCompat
    {
        public static async Task WaitAsync(this Task task, TimeSpan timeout, CancellationToken token = default)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            var first = await Task.WhenAny(task, Task.Delay(timeout, cts.Token)).ConfigureAwait(false);
            if (first != task)
            {
                token.ThrowIfCancellationRequested();
                throw new TimeoutException();
            }

            cts.Cancel();
            await task.ConfigureAwait(false);
        }

        public static async Task<T> WaitAsync<T>(this Task<T> task, TimeSpan timeout, CancellationToken token = default)
        {
            await ((Task)task).WaitAsync(timeout, token).ConfigureAwait(false);
            return await task.ConfigureAwait(false);
        }
    }
}
#endif

#if NETFRAMEWORK
using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket.Tests
{
    /// <summary>
    /// .NET Core APIs the tests use, for the net472 build that runs on Mono: Task.WaitAsync (.NET 6;
    /// like the real one it gives up waiting, not the task: a timeout throws TimeoutException) and
    /// the whole-array Stream.ReadAsync/WriteAsync (whose ValueTask .AsTask() is the task itself here).
    /// </summary>
    internal static class FrameworkCompat
    {
        public static Task<int> ReadAsync(this Stream stream, byte[] buffer, CancellationToken token = default) =>
            stream.ReadAsync(buffer, 0, buffer.Length, token);

        public static Task WriteAsync(this Stream stream, byte[] buffer, CancellationToken token = default) =>
            stream.WriteAsync(buffer, 0, buffer.Length, token);

        public static Task<T> AsTask<T>(this Task<T> task) => task;

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

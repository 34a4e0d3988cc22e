using System.Runtime.InteropServices;
using PSSocket.Net.Native;

namespace PSSocket.Sessions
{
    /// <summary>
    /// File transfers moved by the kernel on Linux (Send-SocketData -Path, Receive-SocketData
    /// -Path) where nobody must see the bytes: a plain socket, no observer or transcript, a regular
    /// file. Receiving splices socket -> pipe -> file, sending uses sendfile(2): no copy through
    /// the process. Counted, timed (the stall timeout bounds each wait) and cancelled as the managed
    /// copy is, on a thread of their own that polls the socket in short slices; the socket's
    /// SafeHandle is held meanwhile, so a close from another thread waits for the thread.
    /// </summary>
    internal sealed partial class Connection
    {
        /// <summary>How long one poll waits before the thread looks at the deadline and the token again.</summary>
        private const int SpliceSliceMs = 200;

        /// <summary>Bytes one sendfile call is asked for (progress is reported per call).</summary>
        private const int SendFileChunk = 4 << 20;

        /// <summary>The socket's handle when the kernel may move this connection's bytes to or from file, else null.</summary>
        private SafeHandle? SpliceHandle(FileStream file) =>
            LinuxSplice.IsAvailable && IsPlain && _observers.IsEmpty && file.CanSeek && Socket is { SocketType: SocketType.Stream } socket
            && LinuxSplice.HandleOf(socket) is { } handle && LinuxSplice.MakeNonBlocking(socket, handle) ? handle : null;

        /// <summary>
        /// Receives into a regular file in the kernel: up to limit bytes (all until the peer's end
        /// when null); the bytes written; null when the kernel cannot do it here (the managed copy then does).
        /// </summary>
        private Task<long>? TrySpliceToFile(Stream destination, long? limit, long written, long? count, TimeSpan stall, Action<long>? progress, CancellationToken token)
        {
            if (destination is not FileStream file || _buffer.HasLineEndingRest || SpliceHandle(file) is not { } socket
                || !LinuxSplice.TryCreatePipe(out int readEnd, out int writeEnd, out int capacity))
            {
                return null;
            }

            var fileHandle = file.SafeFileHandle;
            long start = file.Position;
            return Task.Factory.StartNew(() =>
            {
                bool held = false;
                long got = 0;
                try
                {
                    socket.DangerousAddRef(ref held);
                    int fd = socket.DangerousGetHandle().ToInt32(), fileFd = fileHandle.DangerousGetHandle().ToInt32();
                    while (limit is null || got < limit)
                    {
                        long n = LinuxSplice.Splice(fd, writeEnd, (int)Math.Min(capacity, (limit ?? long.MaxValue) - got));
                        if (n == -LinuxSplice.WouldBlock)
                        {
                            WaitSpliced(fd, LinuxSplice.PollIn, stall, () => StallTimeout(stall, written + got, count), token);
                            continue;
                        }

                        if (n < 0)
                        {
                            throw Failed(LinuxSplice.SocketFailure((int)-n), "Receiving");
                        }

                        OnReadCompleted((int)n);
                        if (n == 0)
                        {
                            break;
                        }

                        long at = start + got;
                        DrainPipe(readEnd, fileFd, ref at, (int)n);
                        got += n;
                        progress?.Invoke(written + got);
                    }

                    return got;
                }
                finally
                {
                    if (held)
                    {
                        socket.DangerousRelease();
                    }

                    LinuxSplice.Close(readEnd);
                    LinuxSplice.Close(writeEnd);
                    // The stream goes on where the kernel stopped writing.
                    file.Seek(start + got, SeekOrigin.Begin);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        /// <summary>Writes the n bytes in the pipe to the file at offset (copied through memory where the file takes no splice).</summary>
        private static void DrainPipe(int pipe, int file, ref long offset, int n)
        {
            byte[]? copy = null;
            while (n > 0)
            {
                long m = copy is null ? LinuxSplice.SpliceToFile(pipe, file, ref offset, n) : CopyOnce(pipe, file, copy, ref offset, n);
                if (m == -LinuxSplice.InvalidArgument && copy is null)
                {
                    // EINVAL: this file system takes no splice; the bytes already in the pipe go through memory.
                    copy = new byte[64 * 1024];
                    continue;
                }

                if (m <= 0)
                {
                    throw new IOException($"Writing the received bytes to the file failed (errno {-m}).");
                }

                n -= (int)m;
            }
        }

        private static long CopyOnce(int pipe, int file, byte[] copy, ref long offset, int n)
        {
            long got = LinuxSplice.Read(pipe, copy, Math.Min(copy.Length, n));
            for (long done = 0; got > 0 && done < got;)
            {
                long m = LinuxSplice.WriteAt(file, copy, (int)done, (int)(got - done), offset);
                if (m <= 0)
                {
                    return m;
                }

                done += m;
                offset += m;
            }

            return got;
        }

        /// <summary>Sends a regular file with sendfile(2) from its position to its end; the bytes sent, or null when the kernel cannot do it here.</summary>
        private Task<long>? TrySendFile(Stream source, TimeSpan stall, Action<long>? progress, CancellationToken token)
        {
            if (source is not FileStream file || _pendingWrite is not null || SpliceHandle(file) is not { } socket)
            {
                return null;
            }

            var fileHandle = file.SafeFileHandle;
            long start = file.Position;
            return Task.Factory.StartNew(() =>
            {
                bool held = false;
                long offset = start;
                try
                {
                    socket.DangerousAddRef(ref held);
                    int fd = socket.DangerousGetHandle().ToInt32(), fileFd = fileHandle.DangerousGetHandle().ToInt32();
                    while (true)
                    {
                        long n = LinuxSplice.SendFile(fd, fileFd, ref offset, SendFileChunk);
                        if (n == -LinuxSplice.WouldBlock)
                        {
                            long went = offset - start;
                            WaitSpliced(fd, LinuxSplice.PollOut, stall, () => new PSSocketException(SocketErrorKind.SendTimeout,
                                $"The peer of session {_owner} did not take the data within {Describe(stall)} (it is not reading): {went} bytes of the file went. The session is still open.", target: _owner), token);
                            continue;
                        }

                        if (n < 0)
                        {
                            throw Failed(LinuxSplice.SocketFailure((int)-n), "Sending");
                        }

                        if (n == 0)
                        {
                            return offset - start;
                        }

                        _ledger.CountSent(n);
                        progress?.Invoke(offset - start);
                    }
                }
                finally
                {
                    if (held)
                    {
                        socket.DangerousRelease();
                    }

                    file.Seek(offset, SeekOrigin.Begin);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        /// <summary>Waits in short slices until the socket is ready; throws the timeout once the stall timeout passes, OperationCanceledException on cancellation, SessionClosed once closed.</summary>
        private void WaitSpliced(int fd, short events, TimeSpan stall, Func<PSSocketException> timeout, CancellationToken token)
        {
            var deadline = Deadline.After(stall);
            while (true)
            {
                token.ThrowIfCancellationRequested();
                _ledger.ThrowIfClosed(_owner);
                if (deadline.Expired)
                {
                    throw timeout();
                }

                int slice = deadline.IsInfinite ? SpliceSliceMs : (int)Math.Min(SpliceSliceMs, Math.Ceiling(deadline.Remaining.TotalMilliseconds));
                if (LinuxSplice.Wait(fd, events, -1, slice))
                {
                    return;
                }
            }
        }
    }
}

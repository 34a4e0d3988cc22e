using System.Runtime.InteropServices;
using PSSocket.Net.Native;

namespace PSSocket.Sessions
{
    /// <summary>
    /// A relayed connection's bytes moved by the kernel on Linux: each direction has its own pipe
    /// and thread, and splice(2) moves the pages socket -> pipe -> socket without a copy through
    /// the process (the managed copy reads and writes every byte). Used only where nobody must
    /// see the bytes: both sides plain stream sockets with nothing buffered and nobody observing,
    /// no transcript. One thread per direction keeps the order; a chunk is counted once written;
    /// <see cref="Stop"/> wakes both threads at once and waits until they no longer use the sockets,
    /// so the sockets close only after them.
    /// </summary>
    internal sealed class SplicedRelay : IDisposable
    {
        private readonly object _gate = new();
        private readonly int[] _pipes;
        private readonly int[] _capacity = new int[2];
        private readonly CountdownEvent _running = new(2);
        private int _waker;
        private volatile bool _stopped;

        private SplicedRelay(int waker, int[] pipes, int upCapacity, int downCapacity)
        {
            _waker = waker;
            _pipes = pipes;
            _capacity[0] = upCapacity;
            _capacity[1] = downCapacity;
        }

        /// <summary>A spliced relay between two sockets, or null where the managed copy must do (not Linux, a layer, a failure).</summary>
        public static SplicedRelay? TryCreate(Socket? client, Socket? target)
        {
            if (!LinuxSplice.IsAvailable || client is not { SocketType: SocketType.Stream } || target is not { SocketType: SocketType.Stream })
            {
                return null;
            }

            int waker = LinuxSplice.CreateWaker();
            var pipes = new[] { -1, -1, -1, -1 };
            if (waker < 0 || !LinuxSplice.TryCreatePipe(out pipes[0], out pipes[1], out int up) || !LinuxSplice.TryCreatePipe(out pipes[2], out pipes[3], out int down))
            {
                LinuxConnect.Close(waker);
                Array.ForEach(pipes, LinuxConnect.Close);
                return null;
            }

            // A splice on a blocking socket waits inside the kernel; non-blocking, it returns and the thread polls.
            if (LinuxSplice.HandleOf(client) is not { } clientHandle || LinuxSplice.HandleOf(target) is not { } targetHandle
                || !LinuxSplice.MakeNonBlocking(client, clientHandle) || !LinuxSplice.MakeNonBlocking(target, targetHandle))
            {
                LinuxConnect.Close(waker);
                Array.ForEach(pipes, LinuxConnect.Close);
                return null;
            }

            return new SplicedRelay(waker, pipes, up, down);
        }

        /// <summary>
        /// Copies one direction (0 toward the target, 1 back) on its own thread until from's end;
        /// moved is told each chunk once it is written. Fails as the sockets do; ObjectDisposedException once stopped.
        /// </summary>
        public Task PumpAsync(int direction, Socket from, Socket to, Action<int> moved) =>
            Task.Factory.StartNew(() => Pump(direction, from, to, moved), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        private void Pump(int direction, Socket from, Socket to, Action<int> moved)
        {
            SafeHandle source = LinuxSplice.HandleOf(from)!, destination = LinuxSplice.HandleOf(to)!;
            bool sourceHeld = false, destinationHeld = false;
            int readEnd = _pipes[2 * direction], writeEnd = _pipes[(2 * direction) + 1], capacity = _capacity[direction];
            try
            {
                // Held while the descriptors are in use: a close from another thread waits for this one.
                source.DangerousAddRef(ref sourceHeld);
                destination.DangerousAddRef(ref destinationHeld);
                int inFd = source.DangerousGetHandle().ToInt32(), outFd = destination.DangerousGetHandle().ToInt32();
                while (true)
                {
                    ThrowIfStopped();
                    long n = LinuxSplice.Splice(inFd, writeEnd, capacity);
                    if (n == -LinuxSplice.WouldBlock)
                    {
                        WaitFor(inFd, LinuxSplice.PollIn);
                        continue;
                    }

                    if (n < 0)
                    {
                        throw LinuxSplice.SocketFailure((int)-n);
                    }

                    if (n == 0)
                    {
                        ThrowIfStopped();
                        return;
                    }

                    while (n > 0)
                    {
                        long m = LinuxSplice.Splice(readEnd, outFd, (int)n);
                        if (m < 0 && m != -LinuxSplice.WouldBlock)
                        {
                            throw LinuxSplice.SocketFailure((int)-m);
                        }

                        if (m <= 0)
                        {
                            WaitFor(outFd, LinuxSplice.PollOut);
                            continue;
                        }

                        n -= m;
                        moved((int)m);
                    }
                }
            }
            catch (SocketException) when (_stopped)
            {
                throw new ObjectDisposedException(nameof(Socket), "The relayed connection was stopped.");
            }
            finally
            {
                LinuxConnect.Close(Interlocked.Exchange(ref _pipes[2 * direction], -1));
                LinuxConnect.Close(Interlocked.Exchange(ref _pipes[(2 * direction) + 1], -1));
                if (sourceHeld)
                {
                    source.DangerousRelease();
                }

                if (destinationHeld)
                {
                    destination.DangerousRelease();
                }

                _running.Signal();
            }
        }

        private void WaitFor(int fd, short events)
        {
            ThrowIfStopped();
            LinuxSplice.Wait(fd, events, _waker, -1);
            ThrowIfStopped();
        }

        private void ThrowIfStopped()
        {
            if (_stopped)
            {
                throw new ObjectDisposedException(nameof(Socket), "The relayed connection was stopped.");
            }
        }

        /// <summary>Wakes both directions to end, and waits (up to 5 s) until neither uses the sockets any more.</summary>
        public void Stop()
        {
            _stopped = true;
            lock (_gate)
            {
                if (_waker >= 0)
                {
                    LinuxSplice.Wake(_waker);
                }
            }

            _running.Wait(TimeSpan.FromSeconds(5));
        }

        /// <summary>Closes what is left once both directions have ended.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                LinuxConnect.Close(_waker);
                _waker = -1;
            }

            for (int i = 0; i < _pipes.Length; i++)
            {
                LinuxConnect.Close(Interlocked.Exchange(ref _pipes[i], -1));
            }
        }
    }
}

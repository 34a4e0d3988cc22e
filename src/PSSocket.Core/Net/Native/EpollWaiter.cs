namespace PSSocket.Net.Native
{
    /// <summary>
    /// One thread that waits, with epoll, for many non-blocking connects to end and hands the key of
    /// each one that did to a callback (on this thread, in batches of up to 256 per wake-up). A
    /// descriptor is watched once (EPOLLONESHOT); closing it stops the watch. Started on the first
    /// <see cref="Watch"/>; Dispose stops it within its 100 ms wait.
    /// </summary>
    internal sealed class EpollWaiter : IDisposable
    {
        private const int MaxEvents = 256;
        private const int WaitMs = 100;

        private readonly Action<long> _ready;
        private readonly object _gate = new();
        private int _epfd = -1;
        private Thread? _thread;
        private volatile bool _disposed;

        /// <summary>Makes the waiter; <paramref name="ready"/> gets the key of each connect that ended (it must not throw).</summary>
        public EpollWaiter(Action<long> ready) => _ready = ready;

        /// <summary>Watches <paramref name="fd"/> until its connect ends: 0, or the errno (then nothing watches it).</summary>
        public int Watch(int fd, long key)
        {
            int epfd = Volatile.Read(ref _epfd);
            if (epfd < 0)
            {
                epfd = Start();
                if (epfd < 0)
                {
                    return 9; // EBADF: no epoll instance (disposed, or none could be made).
                }
            }

            return LinuxConnect.EpollWatch(epfd, fd, key);
        }

        private int Start()
        {
            lock (_gate)
            {
                if (_epfd >= 0 || _disposed)
                {
                    return _epfd;
                }

                int epfd = LinuxConnect.EpollCreate();
                if (epfd < 0)
                {
                    return -1;
                }

                _thread = new Thread(Run) { IsBackground = true, Name = "PSSocket connect waiter" };
                Volatile.Write(ref _epfd, epfd);
                _thread.Start();
                return epfd;
            }
        }

        private void Run()
        {
            var events = new byte[MaxEvents * LinuxConnect.EpollEventSize];
            int epfd = Volatile.Read(ref _epfd);
            try
            {
                while (!_disposed)
                {
                    int n = LinuxConnect.EpollWait(epfd, events, WaitMs);
                    if (n < 0)
                    {
                        // EBADF, EINVAL: the instance is gone; the probes still watched end by their timeout.
                        return;
                    }

                    for (int i = 0; i < n && !_disposed; i++)
                    {
                        _ready(LinuxConnect.EpollKey(events, i));
                    }
                }
            }
            finally
            {
                lock (_gate)
                {
                    _epfd = -1;
                    LinuxConnect.Close(epfd);
                }
            }
        }

        /// <summary>Stops the thread (within its 100 ms wait); descriptors still watched stay open for their owners to close.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
            }
        }
    }
}

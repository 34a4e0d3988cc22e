using PSSocket.Net.Native;

namespace PSSocket.Net
{
    /// <summary>
    /// The Linux fast path of a TCP connect probe (see PortScanner.cs): the connect is made with the
    /// system calls themselves (<see cref="LinuxConnect"/>), no Socket object. On loopback the
    /// answer (a reset, a SYN-ACK) is there when connect returns, so a closed port costs socket,
    /// connect, getsockopt(SO_ERROR) and close; a connect still waiting goes to one epoll thread
    /// (<see cref="EpollWaiter"/>), and its timeout and hedged retries stay with the sweeper as for
    /// any probe. The verdict is the same code as the Socket path (Finish). Used for plain
    /// open/closed/filtered checks; -Tls, -Banner and proxies need a Socket and take the other path,
    /// and so does every probe after a native call failed in a way the path does not foresee.
    /// </summary>
    public sealed partial class PortScanner
    {
        // Attempt.Fd: no descriptor (Socket path, or the descriptor was taken by whoever closes it) ...
        private const int NoFd = -1;
        // ... or held by the thread starting the connect, which hands it over in a moment.
        private const int HeldFd = -2;

        private readonly ConcurrentDictionary<long, Attempt> _nativeWaiting = new();
        // A refused socket of each family (IPv4, IPv6), ready for the next connect, or NoFd.
        private readonly int[] _spare = { NoFd, NoFd };
        private EpollWaiter? _waiter;
        private volatile bool _native;
        private long _nextKey;
        private long _nativeConnects;

        /// <summary>Connects made through the Linux fast path (tests check that it ran).</summary>
        internal long NativeConnects => Interlocked.Read(ref _nativeConnects);

        private void InitNative(PortScanOptions options)
        {
            _native = options.NativeConnect && options.Proxy is null && !options.Tls && !options.Banner && LinuxConnect.IsAvailable;
            if (_native)
            {
                _waiter = new EpollWaiter(OnNativeReady);
            }
        }

        /// <summary>Starts the attempt's connect on the fast path: false when the fast path is off (the caller uses a Socket).</summary>
        private bool ConnectNative(Attempt attempt)
        {
            if (!_native)
            {
                return false;
            }

            var run = attempt.Run;
            var probe = run.Probe;
            var address = probe.Address!;
            int family = address.AddressFamily == AddressFamily.InterNetworkV6 ? 1 : 0;
            bool bound = _options.LocalEndPointFor is not null;
            int fd = bound ? NoFd : Interlocked.Exchange(ref _spare[family], NoFd);
            if (fd < 0)
            {
                fd = LinuxConnect.Open(address.AddressFamily, out int errno);
                if (fd < 0)
                {
                    SocketFailed(attempt, LinuxConnect.ToSocketError(errno));
                    return true;
                }
            }

            try
            {
                if (_options.LocalEndPointFor?.Invoke(new IPEndPoint(address, probe.Port)) is IPEndPoint local && LinuxConnect.Bind(fd, local) is int bindError && bindError != 0)
                {
                    LinuxConnect.Close(fd);
                    SocketFailed(attempt, LinuxConnect.ToSocketError(bindError));
                    return true;
                }
            }
            catch
            {
                LinuxConnect.Close(fd);
                throw;
            }

            // Held while this thread connects: a close of the probe meanwhile waits for the hand-over.
            attempt.Fd = HeldFd;
            if (!run.Join(attempt))
            {
                attempt.Fd = NoFd;
                LinuxConnect.Close(fd);
                return true;
            }

            Interlocked.Increment(ref _nativeConnects);
            attempt.Started = Stopwatch.GetTimestamp();
            var sockAddr = LinuxConnect.SockAddr(address, probe.Port);
            int result = LinuxConnect.Connect(fd, sockAddr);
            if (result == LinuxConnect.EInProgress)
            {
                // The peer may have answered already (loopback does, within the connect call): asked
                // again, connect says connected (0), refused (and makes the socket ready for another
                // connect), or EALREADY while the answer is awaited.
                result = LinuxConnect.Connect(fd, sockAddr);
            }

            if (result != LinuxConnect.EInProgress)
            {
                attempt.Ended = Stopwatch.GetTimestamp();
                Volatile.Write(ref attempt.Fd, NoFd);
                if (result == LinuxConnect.ERefused && !bound && Interlocked.CompareExchange(ref _spare[family], fd, NoFd) == NoFd)
                {
                    // The refused socket is kept for the next probe: no socket() and close() per closed port.
                    if (IsDisposed)
                    {
                        CloseSpares();
                    }

                    Finish(attempt, SocketError.ConnectionRefused, new ProbeSocket(NoFd));
                    return true;
                }

                Finish(attempt, LinuxConnect.ToSocketError(result), new ProbeSocket(fd));
                return true;
            }

            WatchRun(run);
            if (attempt.LocalRetry == 0 && attempt.Try < _options.Retries)
            {
                _timeouts?.Add(HedgeLane, run, attempt.Started);
            }

            long key = Interlocked.Increment(ref _nextKey);
            attempt.Key = key;
            _nativeWaiting[key] = attempt;
            if (_waiter!.Watch(fd, key) != 0)
            {
                // No way to wait for this one: the probe goes on with a Socket, and so does the scan.
                _native = false;
                _nativeWaiting.TryRemove(key, out _);
                Volatile.Write(ref attempt.Fd, NoFd);
                LinuxConnect.Close(fd);
                if (run.Leave(attempt))
                {
                    Connect(run, attempt.Try, attempt.LocalRetry);
                }

                return true;
            }

            Volatile.Write(ref attempt.Fd, fd);
            if (Token.IsCancellationRequested)
            {
                run.Abort();
            }

            return true;
        }

        private void CloseSpares()
        {
            for (int i = 0; i < _spare.Length; i++)
            {
                int fd = Interlocked.Exchange(ref _spare[i], NoFd);
                if (fd >= 0)
                {
                    LinuxConnect.Close(fd);
                }
            }
        }

        // On the epoll thread: a watched connect ended. An exception must not escape.
        private void OnNativeReady(long key)
        {
            if (!_nativeWaiting.TryRemove(key, out var attempt))
            {
                return;
            }

            int fd = TakeFd(attempt);
            if (fd < 0)
            {
                return;
            }

            try
            {
                int error = LinuxConnect.PendingError(fd);
                attempt.Ended = Stopwatch.GetTimestamp();
                Finish(attempt, LinuxConnect.ToSocketError(error), new ProbeSocket(fd));
            }
            catch (Exception ex)
            {
                Fail(attempt.Run.Probe, ex);
            }
        }

        /// <summary>The probe closed: closes the attempt's descriptor unless another thread took it first.</summary>
        private void CancelNative(Attempt attempt)
        {
            int fd = TakeFd(attempt);
            if (fd >= 0)
            {
                _nativeWaiting.TryRemove(attempt.Key, out _);
                LinuxConnect.Close(fd);
            }
        }

        /// <summary>Takes the attempt's descriptor, once: whoever gets it closes it (-1: none, or taken already).</summary>
        private static int TakeFd(Attempt attempt)
        {
            var spin = default(SpinWait);
            while (true)
            {
                int fd = Volatile.Read(ref attempt.Fd);
                if (fd == NoFd)
                {
                    return NoFd;
                }

                if (fd == HeldFd)
                {
                    spin.SpinOnce();
                    continue;
                }

                if (Interlocked.CompareExchange(ref attempt.Fd, NoFd, fd) == fd)
                {
                    return fd;
                }
            }
        }

        /// <summary>The socket of a connect that came back: a Socket, or a descriptor of the fast path.</summary>
        private readonly struct ProbeSocket
        {
            private readonly Socket? _socket;
            private readonly int _fd;

            public ProbeSocket(Socket socket)
            {
                _socket = socket;
                _fd = NoFd;
            }

            public ProbeSocket(int fd)
            {
                _socket = null;
                _fd = fd;
            }

            /// <summary>The Socket (-Tls and -Banner, which never take the fast path).</summary>
            public Socket Socket => _socket ?? throw new InvalidOperationException("The probe has no Socket.");

            public void Dispose()
            {
                if (_socket is not null)
                {
                    _socket.Dispose();
                }
                else if (_fd >= 0)
                {
                    LinuxConnect.Close(_fd);
                }
            }

            public void CloseAbortive()
            {
                if (_socket is not null)
                {
                    PortScanner.CloseAbortive(_socket);
                }
                else if (_fd >= 0)
                {
                    LinuxConnect.CloseAbortive(_fd);
                }
            }

            public bool IsSelfConnect() => _socket is not null ? PortScanner.IsSelfConnect(_socket) : LinuxConnect.IsSelfConnected(_fd);
        }
    }
}

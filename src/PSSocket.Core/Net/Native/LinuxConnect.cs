using System.Runtime.InteropServices;

namespace PSSocket.Net.Native
{
    /// <summary>
    /// The system calls of one TCP connect probe on Linux, called directly (libc): a non-blocking
    /// socket, connect, its error (SO_ERROR), its names, a close with a reset. No Socket object, no
    /// SafeHandle, no registration with the runtime's own event loop: on loopback a probe then costs
    /// about the four system calls it needs. <see cref="IsAvailable"/> says whether this process can
    /// use them (Linux, 64-bit x64 or Arm64, libc answers); elsewhere the probe uses Socket.
    /// </summary>
    internal static class LinuxConnect
    {
        public const int EInProgress = 115;
        public const int ERefused = 111;

        private const int AfInet = 2;
        private const int AfInet6 = 10;
        private const int SockStream = 1;
        private const int SockNonBlock = 0x800;
        private const int SockCloExec = 0x80000;
        private const int SolSocket = 1;
        private const int SoReuseAddr = 2;
        private const int SoError = 4;
        private const int SoLinger = 13;
        private const int EIntr = 4;
        private const int EAlready = 114;
        private const int EIsConn = 106;

        private static readonly Lazy<bool> s_available = new(Probe);

        /// <summary>True when this process can probe through these calls (checked once).</summary>
        public static bool IsAvailable => s_available.Value;

        /// <summary>The size of one epoll_event: packed (12 bytes) on x64, 16 bytes on Arm64.</summary>
        public static int EpollEventSize => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

        /// <summary>Where the 64-bit data of an epoll_event starts.</summary>
        public static int EpollDataOffset => RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        private static bool Probe()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || IntPtr.Size != 8)
            {
                return false;
            }

            var arch = RuntimeInformation.ProcessArchitecture;
            if (arch != Architecture.X64 && arch != Architecture.Arm64)
            {
                return false;
            }

            try
            {
                int ep = EpollCreate();
                if (ep < 0)
                {
                    return false;
                }

                _ = close(ep);
                return true;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or MarshalDirectiveException)
            {
                return false;
            }
        }

        /// <summary>A non-blocking, close-on-exec TCP socket: its descriptor, or -1 with <paramref name="errno"/>.</summary>
        public static int Open(AddressFamily family, out int errno)
        {
            int fd = socket(family == AddressFamily.InterNetworkV6 ? AfInet6 : AfInet, SockStream | SockNonBlock | SockCloExec, 0);
            errno = fd < 0 ? Marshal.GetLastWin32Error() : 0;
            return fd;
        }

        /// <summary>Binds the socket to a local endpoint (SO_REUSEADDR first): 0, or the errno.</summary>
        public static int Bind(int fd, IPEndPoint local)
        {
            var one = BitConverter.GetBytes(1);
            if (setsockopt(fd, SolSocket, SoReuseAddr, one, one.Length) != 0)
            {
                return Marshal.GetLastWin32Error();
            }

            var address = SockAddr(local.Address, local.Port);
            return bind(fd, address, address.Length) == 0 ? 0 : Marshal.GetLastWin32Error();
        }

        /// <summary>
        /// Starts the connect: 0 when it is connected, <see cref="EInProgress"/> while the answer is
        /// awaited, else the errno of the failure.
        /// </summary>
        public static int Connect(int fd, byte[] address)
        {
            if (connect(fd, address, address.Length) == 0)
            {
                return 0;
            }

            int errno = Marshal.GetLastWin32Error();
            // Interrupted or already under way: the connect goes on in the background as EINPROGRESS says;
            // already connected (a connect asked again after it completed): connected.
            return errno is EIntr or EAlready ? EInProgress : errno == EIsConn ? 0 : errno;
        }

        /// <summary>The socket's pending error (SO_ERROR, read and cleared): 0 when none.</summary>
        public static int PendingError(int fd)
        {
            int value = 0;
            int length = sizeof(int);
            return getsockopt(fd, SolSocket, SoError, ref value, ref length) == 0 ? value : Marshal.GetLastWin32Error();
        }

        /// <summary>True when the socket is connected to itself (its local and remote names are equal).</summary>
        public static bool IsSelfConnected(int fd)
        {
            var local = new byte[128];
            var peer = new byte[128];
            int localLength = local.Length, peerLength = peer.Length;
            if (getsockname(fd, local, ref localLength) != 0 || getpeername(fd, peer, ref peerLength) != 0 || localLength != peerLength)
            {
                return false;
            }

            for (int i = 0; i < localLength; i++)
            {
                if (local[i] != peer[i])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Closes with a reset (linger 0), so a sweep of open ports leaves nothing in TIME_WAIT.</summary>
        public static void CloseAbortive(int fd)
        {
            // struct linger { int l_onoff; int l_linger; }: on, 0 seconds.
            var linger = new byte[8];
            linger[0] = 1;
            _ = setsockopt(fd, SolSocket, SoLinger, linger, linger.Length);
            _ = close(fd);
        }

        /// <summary>Closes the descriptor, if there is one (fd &gt;= 0; on Linux it is closed even when close reports an error).</summary>
        public static void Close(int fd)
        {
            if (fd >= 0)
            {
                _ = close(fd);
            }
        }

        /// <summary>sockaddr_in or sockaddr_in6 of an address and port.</summary>
        public static byte[] SockAddr(IPAddress address, int port)
        {
            bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
            var sa = new byte[v6 ? 28 : 16];
            ushort family = (ushort)(v6 ? AfInet6 : AfInet);
            sa[0] = (byte)family;
            sa[1] = (byte)(family >> 8);
            sa[2] = (byte)(port >> 8);
            sa[3] = (byte)port;
            var bytes = address.GetAddressBytes();
            if (v6)
            {
                Buffer.BlockCopy(bytes, 0, sa, 8, 16);
                uint scope = (uint)address.ScopeId;
                sa[24] = (byte)scope;
                sa[25] = (byte)(scope >> 8);
                sa[26] = (byte)(scope >> 16);
                sa[27] = (byte)(scope >> 24);
            }
            else
            {
                Buffer.BlockCopy(bytes, 0, sa, 4, 4);
            }

            return sa;
        }

        /// <summary>The SocketError .NET gives for a Linux errno of a socket call (socket, bind, connect, splice).</summary>
        public static SocketError ToSocketError(int errno) => errno switch
        {
            0 => SocketError.Success,
            1 or 13 => SocketError.AccessDenied,
            11 => SocketError.TryAgain,
            12 or 105 => SocketError.NoBufferSpaceAvailable,
            23 or 24 => SocketError.TooManyOpenSockets,
            97 => SocketError.AddressFamilyNotSupported,
            98 => SocketError.AddressAlreadyInUse,
            99 => SocketError.AddressNotAvailable,
            100 => SocketError.NetworkDown,
            101 => SocketError.NetworkUnreachable,
            103 => SocketError.ConnectionAborted,
            104 => SocketError.ConnectionReset,
            106 => SocketError.IsConnected,
            107 => SocketError.NotConnected,
            110 => SocketError.TimedOut,
            111 => SocketError.ConnectionRefused,
            112 => SocketError.HostDown,
            113 => SocketError.HostUnreachable,
            _ => SocketError.SocketError,
        };

        /// <summary>A close-on-exec epoll instance, or -1.</summary>
        public static int EpollCreate() => epoll_create1(SockCloExec);

        /// <summary>Watches <paramref name="fd"/> once (EPOLLONESHOT) for the end of its connect: 0, or the errno.</summary>
        public static int EpollWatch(int epfd, int fd, long key)
        {
            const uint EpollOut = 0x004, EpollErr = 0x008, EpollHup = 0x010, EpollOneShot = 1u << 30;
            const int EpollCtlAdd = 1;
            var ev = new byte[EpollEventSize];
            WriteUInt32(ev, 0, EpollOut | EpollErr | EpollHup | EpollOneShot);
            WriteInt64(ev, EpollDataOffset, key);
            return epoll_ctl(epfd, EpollCtlAdd, fd, ev) == 0 ? 0 : Marshal.GetLastWin32Error();
        }

        /// <summary>Waits for watched descriptors: the count of events in <paramref name="events"/>, 0 on timeout or interruption, -1 on failure.</summary>
        public static int EpollWait(int epfd, byte[] events, int timeoutMs)
        {
            int n = epoll_wait(epfd, events, events.Length / EpollEventSize, timeoutMs);
            if (n < 0 && Marshal.GetLastWin32Error() == EIntr)
            {
                return 0;
            }

            return n;
        }

        /// <summary>The key of event <paramref name="index"/> of an <see cref="EpollWait"/> buffer.</summary>
        public static long EpollKey(byte[] events, int index) => BitConverter.ToInt64(events, (index * EpollEventSize) + EpollDataOffset);

        private static void WriteUInt32(byte[] b, int at, uint v)
        {
            for (int i = 0; i < 4; i++)
            {
                b[at + i] = (byte)(v >> (8 * i));
            }
        }

        private static void WriteInt64(byte[] b, int at, long v)
        {
            for (int i = 0; i < 8; i++)
            {
                b[at + i] = (byte)(v >> (8 * i));
            }
        }

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int socket(int domain, int type, int protocol);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int connect(int fd, byte[] address, int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int bind(int fd, byte[] address, int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int getsockopt(int fd, int level, int name, ref int value, ref int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int setsockopt(int fd, int level, int name, byte[] value, int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int getsockname(int fd, byte[] address, ref int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int getpeername(int fd, byte[] address, ref int length);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int epoll_create1(int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int epoll_ctl(int epfd, int op, int fd, byte[] ev);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int epoll_wait(int epfd, byte[] events, int maxEvents, int timeoutMs);
    }
}

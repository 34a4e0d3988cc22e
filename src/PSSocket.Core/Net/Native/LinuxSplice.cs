using System.Reflection;
using System.Runtime.InteropServices;

namespace PSSocket.Net.Native
{
    /// <summary>
    /// Linux's zero-copy system call for relaying where nobody must see the bytes: splice(2)
    /// moves pages between a socket and a pipe without a copy through user memory. Available only on Linux under .NET
    /// (not Mono, whose sockets do not expose their SafeHandle); every caller keeps its managed
    /// copy for everywhere else and for the first failure of a call here.
    /// </summary>
    internal static class LinuxSplice
    {
        public const short PollIn = 0x001;
        public const short PollOut = 0x004;
        private const short PollErrorBits = 0x008 | 0x010 | 0x020;

        private const uint SpliceMove = 1;
        private const uint SpliceNonBlock = 2;
        private const int OCloExec = 0x80000;
        private const int ONonBlock = 0x800;
        private const int FSetPipeSize = 1031;
        private const int FGetPipeSize = 1032;
        private const int EIntr = 4;
        private const int FGetFl = 3;

        /// <summary>The errno of a call that would block (EAGAIN).</summary>
        public const int WouldBlock = 11;

        /// <summary>Bytes a pipe is asked to hold (the system's default limit for a user): fewer calls per GiB.</summary>
        public const int PipeBytes = 1 << 20;

        private static readonly PropertyInfo? s_safeHandle = typeof(Socket).GetProperty("SafeHandle", BindingFlags.Public | BindingFlags.Instance);
        private static volatile bool s_broken = !RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || IntPtr.Size != 8
            || Type.GetType("Mono.Runtime") is not null || s_safeHandle is null || Environment.GetEnvironmentVariable("PSSOCKET_NO_SPLICE") == "1";

        /// <summary>Whether the calls may be tried here (64-bit Linux, .NET, no earlier failure to load them, PSSOCKET_NO_SPLICE not 1).</summary>
        public static bool IsAvailable => !s_broken;

        /// <summary>The socket's handle (to hold with DangerousAddRef while its descriptor is in use), or null.</summary>
        public static SafeHandle? HandleOf(Socket socket) => s_safeHandle?.GetValue(socket) as SafeHandle;

        /// <summary>A pipe (close-on-exec, non-blocking) as large as the system lets a user have, or false.</summary>
        public static bool TryCreatePipe(out int readEnd, out int writeEnd, out int capacity)
        {
            readEnd = writeEnd = -1;
            capacity = 0;
            var fds = new int[2];
            try
            {
                if (pipe2(fds, OCloExec | ONonBlock) != 0)
                {
                    return false;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                s_broken = true;
                return false;
            }

            readEnd = fds[0];
            writeEnd = fds[1];
            _ = fcntl(writeEnd, FSetPipeSize, PipeBytes);
            capacity = fcntl(writeEnd, FGetPipeSize, 0);
            if (capacity <= 0)
            {
                capacity = 64 * 1024;
            }

            return true;
        }

        /// <summary>An eventfd (close-on-exec, non-blocking) to wake a <see cref="Wait"/>, or -1.</summary>
        public static int CreateWaker()
        {
            try
            {
                return eventfd(0, OCloExec | ONonBlock);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                s_broken = true;
                return -1;
            }
        }

        /// <summary>Makes every <see cref="Wait"/> on this waker return from now on.</summary>
        public static void Wake(int waker)
        {
            long one = 1;
            _ = write(waker, ref one, (UIntPtr)8);
        }

        /// <summary>
        /// Moves up to count bytes from one descriptor to the other, one of them a pipe: the bytes
        /// moved, 0 at the end of the source, or minus the errno (<see cref="WouldBlock"/> when it would block).
        /// </summary>
        public static long Splice(int from, int to, int count)
        {
            while (true)
            {
                long n = splice(from, IntPtr.Zero, to, IntPtr.Zero, (UIntPtr)(uint)count, SpliceMove | SpliceNonBlock).ToInt64();
                int errno = n < 0 ? Marshal.GetLastWin32Error() : 0;
                if (errno != EIntr)
                {
                    return n < 0 ? -errno : n;
                }
            }
        }

        /// <summary>
        /// Makes the socket's descriptor non-blocking without changing what the socket's own calls
        /// do: the runtime keeps a descriptor it once made non-blocking so, and emulates blocking
        /// for its blocking calls. False when the descriptor is still blocking afterwards.
        /// </summary>
        public static bool MakeNonBlocking(Socket socket, SafeHandle handle)
        {
            try
            {
                bool blocking = socket.Blocking;
                socket.Blocking = false;
                socket.Blocking = blocking;
                return (fcntl(handle.DangerousGetHandle().ToInt32(), FGetFl, 0) & ONonBlock) != 0;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }

        /// <summary>
        /// Waits until fd is ready for events (or has an error or hang-up), the waker was woken, or
        /// timeoutMs passed (-1: no limit); true when fd is ready, false otherwise.
        /// </summary>
        public static bool Wait(int fd, short events, int waker, int timeoutMs)
        {
            var fds = new PollFd[] { new() { Fd = fd, Events = events }, new() { Fd = waker, Events = PollIn } };
            int n = poll(fds, (UIntPtr)(uint)(waker >= 0 ? 2 : 1), timeoutMs);
            if (n < 0)
            {
                int errno = Marshal.GetLastWin32Error();
                return errno == EIntr ? false : throw SocketFailure(errno);
            }

            return n > 0 && (fds[0].Revents & (events | PollErrorBits)) != 0;
        }

        /// <summary>Whether the waker was woken.</summary>
        public static bool IsWoken(int waker)
        {
            var fds = new PollFd[] { new() { Fd = waker, Events = PollIn } };
            return poll(fds, (UIntPtr)1, 0) > 0;
        }

        /// <summary>The error a failed splice on a socket reports, as the socket layer names it (the errno table is <see cref="LinuxConnect.ToSocketError"/>'s).</summary>
        public static SocketException SocketFailure(int errno) => new((int)(errno switch
        {
            32 => SocketError.Shutdown,
            9 => SocketError.OperationAborted,
            _ => LinuxConnect.ToSocketError(errno),
        }));

        [StructLayout(LayoutKind.Sequential)]
        private struct PollFd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int pipe2(int[] fds, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int eventfd(uint initial, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr splice(int fdIn, IntPtr offIn, int fdOut, IntPtr offOut, UIntPtr length, uint flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int poll([In, Out] PollFd[] fds, UIntPtr count, int timeout);

        [DllImport("libc", SetLastError = true)]
        private static extern int fcntl(int fd, int command, int argument);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr write(int fd, ref long value, UIntPtr count);

    }
}

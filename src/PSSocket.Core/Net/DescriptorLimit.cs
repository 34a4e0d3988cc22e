using System.Runtime.InteropServices;

namespace PSSocket.Net
{
    /// <summary>
    /// How many file descriptors this process may still open (Unix: the soft RLIMIT_NOFILE minus
    /// those open now). Every probe in flight holds a socket, so a sweep with more probes in flight
    /// than that fails to create sockets, and the runtime itself then fails where it needs one.
    /// </summary>
    internal static class DescriptorLimit
    {
        /// <summary>Descriptors left for the host (modules, files, the runtime) beyond those a scan may use.</summary>
        public static int Headroom(long soft) => (int)Math.Max(48, Math.Min(1024, soft / 8));

        /// <summary>The probes a scan may keep in flight without running the process out of descriptors; null where there is no such limit to read.</summary>
        public static int? ProbeBudget()
        {
            long? soft = SoftLimit();
            if (soft is not long limit || limit <= 0 || limit >= int.MaxValue)
            {
                return null;
            }

            long open = OpenNow() ?? 64;
            return (int)Math.Max(1, limit - open - Headroom(limit));
        }

        /// <summary>The soft RLIMIT_NOFILE, or null on Windows and where it cannot be read.</summary>
        public static long? SoftLimit()
        {
            int resource;
            if (IntPtr.Size != 8)
            {
                // rlim_t is 32 bits there; not worth a second layout.
                return null;
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                resource = 7;
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX) || RuntimeInformation.IsOSPlatform(OSPlatform.Create("FREEBSD")))
            {
                resource = 8;
            }
            else
            {
                return null;
            }

            try
            {
                if (getrlimit(resource, out var limit) != 0)
                {
                    return null;
                }

                // RLIM_INFINITY is all ones.
                return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                return null;
            }
        }

        /// <summary>The descriptors open now (Linux /proc/self/fd, macOS /dev/fd), or null.</summary>
        public static int? OpenNow()
        {
            foreach (string dir in new[] { "/proc/self/fd", "/dev/fd" })
            {
                try
                {
                    if (Directory.Exists(dir))
                    {
                        int n = 0;
                        foreach (string _ in Directory.EnumerateFileSystemEntries(dir))
                        {
                            n++;
                        }

                        return n;
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Not readable here: the caller assumes a typical count.
                }
            }

            return null;
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct RLimit
        {
            // rlim_t is 64 bits on 64-bit Linux and on macOS.
            public ulong Current;
            public ulong Maximum;
        }

        [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
        private static extern int getrlimit(int resource, out RLimit limit);
    }
}

using System.Runtime.InteropServices;

namespace PSSocket.Net
{
    /// <summary>
    /// The few system calls netstandard2.0 does not wrap for Unix sockets: the file type (lstat,
    /// through the runtime's own System.Native shim (libSystem.Native in .NET, libmono-native in Mono), whose FileStatus keeps the mode at the same
    /// place on every platform), chmod and the peer's credentials (getsockopt). Each answers
    /// "unknown" rather than failing where the call does not exist (Windows, Mono).
    /// </summary>
    internal static class NativeMethods
    {
        private const int SolSocket = 1;
        private const int SoPeerCred = 17;
        private const int SolLocal = 0;
        private const int LocalPeerPid = 2;

        private static volatile bool s_noLStat = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>The st_mode of a path (not following a final link), or false when it cannot be read.</summary>
        public static bool TryLStat(string path, out int mode)
        {
            mode = 0;
            if (s_noLStat)
            {
                return false;
            }

            // FileStatus is under 200 bytes in every runtime so far; Flags (int) then Mode (int) lead it.
            var status = new byte[512];
            try
            {
                if (LStat(CString(path), status) != 0)
                {
                    return false;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                s_noLStat = true;
                return false;
            }

            mode = BitConverter.ToInt32(status, 4);
            return true;
        }

        private static volatile bool s_lstat2;

        /// <summary>SystemNative_LStat; Mono's shim has it under its older name, SystemNative_LStat2 (the same FileStatus).</summary>
        private static int LStat(byte[] path, byte[] status)
        {
            if (!s_lstat2)
            {
                try
                {
                    return SystemNativeLStat(path, status);
                }
                catch (EntryPointNotFoundException)
                {
                    s_lstat2 = true;
                }
            }

            return SystemNativeLStat2(path, status);
        }

        /// <summary>chmod(2); 0 or -1 with the errno in Marshal.GetLastWin32Error.</summary>
        public static int ChMod(string path, int mode) => chmod(CString(path), (uint)mode);

        /// <summary>A path as the system wants it: UTF-8 and a NUL.</summary>
        private static byte[] CString(string text)
        {
            var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 1];
            System.Text.Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The peer's pid, uid and gid as far as this platform tells them.</summary>
        public static (int? ProcessId, int? UserId, int? GroupId) PeerCredentials(IntPtr handle)
        {
            int fd = handle.ToInt32();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                var cred = new byte[12];
                uint length = (uint)cred.Length;
                if (getsockopt(fd, SolSocket, SoPeerCred, cred, ref length) == 0 && length >= 12)
                {
                    return (BitConverter.ToInt32(cred, 0), BitConverter.ToInt32(cred, 4), BitConverter.ToInt32(cred, 8));
                }

                return (null, null, null);
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                int? pid = null;
                var value = new byte[4];
                uint length = 4;
                if (getsockopt(fd, SolLocal, LocalPeerPid, value, ref length) == 0)
                {
                    pid = BitConverter.ToInt32(value, 0);
                }

                return getpeereid(fd, out uint uid, out uint gid) == 0 ? (pid, (int)uid, (int)gid) : (pid, null, null);
            }

            return (null, null, null);
        }

        [DllImport("System.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
        private static extern int SystemNativeLStat(byte[] path, byte[] status);

        [DllImport("System.Native", EntryPoint = "SystemNative_LStat2", SetLastError = true)]
        private static extern int SystemNativeLStat2(byte[] path, byte[] status);

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(byte[] path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int getsockopt(int socket, int level, int name, byte[] value, ref uint length);

        [DllImport("libc", SetLastError = true)]
        private static extern int getpeereid(int socket, out uint uid, out uint gid);
    }
}

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PSSocket.Sessions
{
    /// <summary>
    /// open(2) with O_NOFOLLOW for <see cref="OutputFile"/>: the check that the last component is
    /// no symbolic link and the open are one system call, so nothing can swap a link in between.
    /// Only where the flag values are known and open's variadic mode argument is passed like a fixed
    /// one: Linux on x86, x64, Arm and Arm64, and macOS on x64.
    /// </summary>
    internal static class UnixOpen
    {
        private const int OwnerReadWrite = 0x180; // 0600
        private const int EveryoneReadWrite = 0x1b6; // 0666, narrowed by the umask

        /// <summary>The flags of this platform, or null where PSSocket does not call open(2) itself.</summary>
        public static OpenFlags? Flags()
        {
            // Mono's FileStream takes only handles of its own handle table, not a descriptor from open(2).
            if (Type.GetType("Mono.Runtime") is not null)
            {
                return null;
            }

            var arch = RuntimeInformation.OSArchitecture;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                int noFollow = arch switch
                {
                    Architecture.X64 or Architecture.X86 => 0x20000,
                    Architecture.Arm or Architecture.Arm64 => 0x8000,
                    _ => 0,
                };
                return noFollow == 0 ? null : new OpenFlags(write: 0x1, create: 0x40, exclusive: 0x80, truncate: 0x200, append: 0x400, nonBlock: 0x800, noFollow, closeOnExec: 0x80000, loop: 40, exists: 17);
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX) && arch == Architecture.X64)
            {
                return new OpenFlags(write: 0x1, create: 0x200, exclusive: 0x800, truncate: 0x400, append: 0x8, nonBlock: 0x4, noFollow: 0x100, closeOnExec: 0x1000000, loop: 62, exists: 17);
            }

            return null;
        }

        /// <summary>Opens for writing without following a final symbolic link; a FIFO without a reader fails instead of blocking.</summary>
        public static FileStream NoFollow(string path, OpenFlags f, bool append, bool noClobber, bool ownerOnly, int bufferSize)
        {
            int flags = f.Write | f.Create | f.NoFollow | f.CloseOnExec | f.NonBlock | (append ? f.Append : noClobber ? f.Exclusive : f.Truncate);
            int fd = Open(path, flags, ownerOnly ? OwnerReadWrite : EveryoneReadWrite);
            if (fd < 0)
            {
                int errno = Marshal.GetLastWin32Error();
                if (errno == f.Loop)
                {
                    throw OutputFile.SymbolicLink(path);
                }

                if (errno == f.Exists)
                {
                    throw OutputFile.Clobber(path, null);
                }

                throw errno switch
                {
                    1 or 13 => new UnauthorizedAccessException($"Access to the path '{path}' is denied (errno {errno})."),
                    2 => new DirectoryNotFoundException($"Could not find a part of the path '{path}'."),
                    _ => new IOException($"Could not open '{path}' for writing (errno {errno})."),
                };
            }

            var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
            try
            {
                // The create mode applies to new files only; an old one is narrowed before a byte is written.
                if (ownerOnly && Fchmod(fd, OwnerReadWrite) != 0)
                {
                    throw new IOException($"Could not make '{path}' readable by its owner only (fchmod failed with errno {Marshal.GetLastWin32Error()}).");
                }

                var stream = new FileStream(handle, FileAccess.Write, bufferSize);
                if (append && stream.CanSeek)
                {
                    stream.Seek(0, SeekOrigin.End);
                }

                return stream;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Open([MarshalAs(UnmanagedType.LPStr)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "fchmod", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Fchmod(int fd, int mode);
    }

    /// <summary>open(2)'s flag values and the errno values PSSocket tells apart, for one platform.</summary>
    internal sealed class OpenFlags
    {
        public OpenFlags(int write, int create, int exclusive, int truncate, int append, int nonBlock, int noFollow, int closeOnExec, int loop, int exists)
        {
            Write = write;
            Create = create;
            Exclusive = exclusive;
            Truncate = truncate;
            Append = append;
            NonBlock = nonBlock;
            NoFollow = noFollow;
            CloseOnExec = closeOnExec;
            Loop = loop;
            Exists = exists;
        }

        public int Write { get; }

        public int Create { get; }

        public int Exclusive { get; }

        public int Truncate { get; }

        public int Append { get; }

        public int NonBlock { get; }

        public int NoFollow { get; }

        public int CloseOnExec { get; }

        /// <summary>ELOOP: the last component is a symbolic link.</summary>
        public int Loop { get; }

        /// <summary>EEXIST: O_EXCL met an existing file.</summary>
        public int Exists { get; }
    }
}

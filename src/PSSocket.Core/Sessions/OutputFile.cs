using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace PSSocket.Sessions
{
    /// <summary>
    /// Opens the files the module writes (transcripts, received data) with PowerShell's
    /// conventions: replace or append, -NoClobber refuses an existing file; files that hold
    /// decrypted traffic are created readable by their owner only (0600) on Unix. A path whose
    /// last component is a symbolic link is refused (PermissionDenied), never followed: in a
    /// shared folder another user could plant one that points at a file of the caller's (O_NOFOLLOW
    /// on Linux and Intel macOS, where the check and the open are one call; elsewhere the link is
    /// looked for just before the open).
    /// </summary>
    public static class OutputFile
    {
        private const int OwnerReadWrite = 0x180; // S_IRUSR | S_IWUSR (0600)

        private static readonly Type? s_optionsType = typeof(FileStream).Assembly.GetType("System.IO.FileStreamOptions");
        private static readonly ConstructorInfo? s_optionsCtor = s_optionsType is null ? null : typeof(FileStream).GetConstructor(new[] { typeof(string), s_optionsType });
        private static readonly Type? s_unixFileMode = typeof(FileStream).Assembly.GetType("System.IO.UnixFileMode");
        private static readonly MethodInfo? s_setUnixFileMode = s_unixFileMode is null ? null : typeof(File).GetMethod("SetUnixFileMode", new[] { typeof(string), s_unixFileMode });

        /// <summary>Opens the file for writing (shared for reading).</summary>
        /// <param name="path">The full path.</param>
        /// <param name="append">Adds to the end of an existing file (then -NoClobber does not apply).</param>
        /// <param name="noClobber">Refuses to replace an existing file: PSSocketException NoClobber.</param>
        /// <param name="ownerOnly">On Unix, creates the file with mode 0600 and narrows an existing one to it.</param>
        /// <param name="bufferSize">The FileStream buffer.</param>
        public static FileStream Open(string path, bool append, bool noClobber, bool ownerOnly, int bufferSize = 4096)
        {
            if (path is null)
            {
                throw new ArgumentNullException(nameof(path));
            }

            if (UnixOpen.Flags() is { } flags)
            {
                return UnixOpen.NoFollow(path, flags, append, noClobber, ownerOnly, bufferSize);
            }

            var mode = append ? FileMode.Append : noClobber ? FileMode.CreateNew : FileMode.Create;
            if (IsSymbolicLink(path))
            {
                throw SymbolicLink(path);
            }

            if (mode == FileMode.CreateNew && File.Exists(path))
            {
                throw Clobber(path, null);
            }

            bool existed = File.Exists(path);
            try
            {
                if (!ownerOnly || RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                {
                    return new FileStream(path, mode, FileAccess.Write, FileShare.Read, bufferSize);
                }

                var stream = OpenOwnerOnly(path, mode, bufferSize);
                if (existed || s_optionsCtor is null)
                {
                    // The create mode applies to new files only; an old one is narrowed before a byte is written.
                    NarrowToOwner(path);
                }

                return stream;
            }
            catch (IOException ex) when (mode == FileMode.CreateNew && File.Exists(path))
            {
                throw Clobber(path, ex);
            }
        }

        private static bool IsSymbolicLink(string path)
        {
            try
            {
                // The attributes of the link itself: a symbolic link (dangling or not) is a reparse point.
                return (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0;
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                return false;
            }
        }

        internal static PSSocketException SymbolicLink(string path) =>
            new(SocketErrorKind.PermissionDenied, $"'{path}' is a symbolic link, and PSSocket does not write through one: in a shared folder another user could point it at a file of yours. Give the path of the file itself (or remove the link).", target: path);

        internal static PSSocketException Clobber(string path, Exception? inner) =>
            new(SocketErrorKind.NoClobber, $"The file '{path}' already exists and -NoClobber keeps it. Give another path, or leave out -NoClobber to replace it.", inner, target: path);

        private static FileStream OpenOwnerOnly(string path, FileMode mode, int bufferSize)
        {
            if (s_optionsType is null || s_optionsCtor is null || s_unixFileMode is null)
            {
                return new FileStream(path, mode, FileAccess.Write, FileShare.Read, bufferSize);
            }

            // FileStreamOptions.UnixCreateMode (.NET 7+) creates the file with the mode in one call;
            // netstandard2.0 cannot name it, so it is set by reflection where the runtime has it.
            var options = Activator.CreateInstance(s_optionsType)!;
            s_optionsType.GetProperty("Mode")!.SetValue(options, mode);
            s_optionsType.GetProperty("Access")!.SetValue(options, FileAccess.Write);
            s_optionsType.GetProperty("Share")!.SetValue(options, FileShare.Read);
            s_optionsType.GetProperty("BufferSize")!.SetValue(options, bufferSize);
            s_optionsType.GetProperty("UnixCreateMode")!.SetValue(options, Enum.ToObject(s_unixFileMode, OwnerReadWrite));
            try
            {
                return (FileStream)s_optionsCtor.Invoke(new[] { path, options });
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }
        }

        private static void NarrowToOwner(string path)
        {
            if (s_setUnixFileMode is not null && s_unixFileMode is not null)
            {
                try
                {
                    s_setUnixFileMode.Invoke(null, new[] { path, Enum.ToObject(s_unixFileMode, OwnerReadWrite) });
                }
                catch (TargetInvocationException ex) when (ex.InnerException is not null)
                {
                    ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                }

                return;
            }

            // Runtimes without File.SetUnixFileMode (Mono): libc's chmod.
            if (Chmod(path, OwnerReadWrite) != 0)
            {
                throw new IOException($"Could not make '{path}' readable by its owner only (chmod failed with errno {Marshal.GetLastWin32Error()}).");
            }
        }

        [DllImport("libc", EntryPoint = "chmod", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int Chmod([MarshalAs(UnmanagedType.LPStr)] string path, int mode);
    }
}

using System.Runtime.InteropServices;

namespace PSSocket.Net
{
    /// <summary>
    /// Connecting to and listening on Unix domain sockets, with the failures a person can act on:
    /// no such socket, not a socket, nobody listening (a stale socket file), a datagram socket
    /// reached as a stream or the other way round. A listener never removes a regular file or a
    /// live socket: only a stale socket file, and only when asked (-Force).
    /// </summary>
    public static class UnixSockets
    {
        /// <summary>Opens a socket of the kind for AF_UNIX, or says this platform has none.</summary>
        /// <exception cref="PSSocketException">NotSupportedOnThisPlatform.</exception>
        public static Socket NewSocket(bool datagram, object? target)
        {
            try
            {
                return new Socket(AddressFamily.Unix, datagram ? SocketType.Dgram : SocketType.Stream, ProtocolType.Unspecified);
            }
            catch (Exception ex) when (ex is SocketException or NotSupportedException or PlatformNotSupportedException)
            {
                throw new PSSocketException(SocketErrorKind.NotSupportedOnThisPlatform,
                    $"This system has no Unix domain sockets ({ex.Message}); Windows has them from Windows 10 version 1803 (stream sockets only).", ex, target: target);
            }
        }

        /// <summary>Connects to the socket at the endpoint; the deadline bounds the wait (a full accept queue).</summary>
        /// <exception cref="PSSocketException">SocketNotFound, PermissionDenied, ConnectionRefused, NotASocket, WrongSocketType, ConnectionTimedOut.</exception>
        public static async Task<Socket> ConnectAsync(UnixSocketEndPoint endpoint, bool datagram, Deadline deadline, CancellationToken token)
        {
            if (endpoint is null)
            {
                throw new ArgumentNullException(nameof(endpoint));
            }

            Socket? socket = NewSocket(datagram, endpoint.ToString());
            try
            {
                if (datagram && RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
                {
                    // An address of our own (autobind) lets the peer answer our datagrams.
                    socket.Bind(UnixSocketEndPoint.Unnamed);
                }

                var connect = socket.ConnectAsync(endpoint);
                bool done;
                try
                {
                    done = await deadline.WaitAsync(connect, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _ = connect.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    throw;
                }

                if (!done)
                {
                    _ = connect.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    throw new PSSocketException(SocketErrorKind.ConnectionTimedOut,
                        $"Connecting to the Unix socket {endpoint} timed out: its listener does not accept (its queue is full).", socketError: SocketError.TimedOut, target: endpoint.ToString());
                }

                await connect.ConfigureAwait(false);
                var result = socket;
                socket = null;
                return result;
            }
            catch (SocketException ex)
            {
                throw ConnectFailed(ex.SocketErrorCode, endpoint, datagram, ex);
            }
            finally
            {
                socket?.Dispose();
            }
        }

        /// <summary>What a failed connect to a Unix socket means, from the error and what the path is.</summary>
        internal static PSSocketException ConnectFailed(SocketError error, UnixSocketEndPoint endpoint, bool datagram, Exception? inner = null)
        {
            var kind = endpoint.IsAbstract ? UnixFileKind.Socket : FileKindOf(endpoint.Path);
            var (errorKind, message) = ClassifyConnect(error, kind, datagram);
            return new PSSocketException(errorKind, $"Connecting to the Unix socket {endpoint} failed: {message}", inner, error, endpoint.ToString());
        }

        /// <summary>The kind and the sentence for a failed connect, given what is at the path (pure, for tests).</summary>
        internal static (SocketErrorKind Kind, string Message) ClassifyConnect(SocketError error, UnixFileKind atPath, bool datagram)
        {
            if (atPath == UnixFileKind.None && error is SocketError.AddressNotAvailable or SocketError.ConnectionRefused or SocketError.SocketError)
            {
                return (SocketErrorKind.SocketNotFound, "no such socket (nothing exists at that path). Check the path, and that the daemon is running.");
            }

            return error switch
            {
                SocketError.ProtocolType when datagram => (SocketErrorKind.WrongSocketType, "it is a stream socket, not a datagram socket: leave out -Datagram."),
                SocketError.ProtocolType => (SocketErrorKind.WrongSocketType, "it is a datagram socket, not a stream socket: add -Datagram."),
                SocketError.AccessDenied => (SocketErrorKind.PermissionDenied, "permission denied (the socket file's mode or its folder does not let this user write to it)."),
                SocketError.ConnectionRefused when atPath == UnixFileKind.Other => (SocketErrorKind.NotASocket, "the path is not a socket (it is a file or folder)."),
                SocketError.ConnectionRefused => (SocketErrorKind.ConnectionRefused, "nobody listens on it (a stale socket file left by a daemon that stopped)."),
                SocketError.AddressNotAvailable => (SocketErrorKind.SocketNotFound, "no such socket."),
                _ => (PSSocketException.Classify(error), error.ToString()),
            };
        }

        /// <summary>
        /// Binds a socket at the endpoint (and listens, for a stream socket), then sets the file's
        /// mode. A path that exists is refused, unless force is set and it is a socket nobody
        /// listens on (a stale socket), which is removed first.
        /// </summary>
        /// <exception cref="PSSocketException">AddressInUse, NotASocket, PermissionDenied, SocketNotFound (no such folder), InvalidArgument.</exception>
        public static Socket Listen(UnixSocketEndPoint endpoint, bool datagram, int backlog, int? mode, bool force)
        {
            if (endpoint is null)
            {
                throw new ArgumentNullException(nameof(endpoint));
            }

            if (!endpoint.IsAbstract)
            {
                ClearStale(endpoint, force);
            }

            var socket = NewSocket(datagram, endpoint.ToString());
            try
            {
                socket.Bind(endpoint);
                if (!datagram)
                {
                    socket.Listen(backlog <= 0 ? 512 : backlog);
                }

                if (mode is int m && !endpoint.IsAbstract)
                {
                    SetMode(endpoint.Path, m);
                }

                return socket;
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                var kind = ex.SocketErrorCode == SocketError.AddressNotAvailable ? SocketErrorKind.SocketNotFound : PSSocketException.Classify(ex.SocketErrorCode);
                string why = kind switch
                {
                    SocketErrorKind.SocketNotFound => "its folder does not exist",
                    SocketErrorKind.AddressInUse => "that name is already taken",
                    SocketErrorKind.PermissionDenied => "permission denied (this user may not create files in that folder)",
                    _ => ex.Message,
                };
                throw new PSSocketException(kind, $"Listening on the Unix socket {endpoint} failed: {why}.", ex, ex.SocketErrorCode, endpoint.ToString());
            }
            catch
            {
                socket.Dispose();
                RemoveSocketFile(endpoint);
                throw;
            }
        }

        private static void ClearStale(UnixSocketEndPoint endpoint, bool force)
        {
            var kind = FileKindOf(endpoint.Path);
            if (kind == UnixFileKind.None)
            {
                return;
            }

            if (kind != UnixFileKind.Socket)
            {
                throw new PSSocketException(SocketErrorKind.NotASocket,
                    $"'{endpoint}' exists and is not a socket; it is never removed. Choose another path.", target: endpoint.ToString());
            }

            if (IsLive(endpoint))
            {
                throw new PSSocketException(SocketErrorKind.AddressInUse,
                    $"Another process listens on the Unix socket {endpoint}; it is left alone. Choose another path, or stop that process.", socketError: SocketError.AddressAlreadyInUse, target: endpoint.ToString());
            }

            if (!force)
            {
                throw new PSSocketException(SocketErrorKind.AddressInUse,
                    $"The Unix socket file {endpoint} exists and nobody listens on it (a stale socket); add -Force to replace it.", socketError: SocketError.AddressAlreadyInUse, target: endpoint.ToString());
            }

            File.Delete(endpoint.Path);
        }

        /// <summary>True when a process listens on (or has bound, for datagrams) the socket file: a connect is not refused.</summary>
        private static bool IsLive(UnixSocketEndPoint endpoint)
        {
            foreach (bool datagram in new[] { false, true })
            {
                using var probe = NewSocket(datagram, endpoint.ToString());
                try
                {
                    probe.Connect(endpoint);
                    return true;
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ProtocolType)
                {
                    // The other kind of socket is there; the next turn tries it.
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    return false;
                }
                catch (SocketException)
                {
                    // Permission denied and the like: someone's socket, maybe live; never removed.
                    return true;
                }
            }

            return true;
        }

        /// <summary>Removes the socket file at the endpoint when it is still a socket (never a regular file); a listener calls it when it stops.</summary>
        public static void RemoveSocketFile(System.Net.EndPoint? endpoint)
        {
            if (endpoint is not UnixSocketEndPoint { IsAbstract: false, IsUnnamed: false } unix || FileKindOf(unix.Path) != UnixFileKind.Socket)
            {
                return;
            }

            try
            {
                File.Delete(unix.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone already, or its folder is no longer ours: nothing else to do.
            }
        }

        /// <summary>The path a connected socket is about: the peer's when it is named, else our own (an accepted client).</summary>
        public static string PathOf(System.Net.EndPoint? remote, System.Net.EndPoint? local) =>
            remote is UnixSocketEndPoint { IsUnnamed: false } r ? r.ToString() : local?.ToString() ?? "";

        /// <summary>Reads an octal mode such as '0600' or '660'.</summary>
        /// <exception cref="PSSocketException">InvalidArgument.</exception>
        public static int ParseMode(string text)
        {
            string t = (text ?? "").Trim();
            if (t.Length is >= 1 and <= 4 && t.TrimStart('0').Length <= 3)
            {
                int value = 0;
                bool ok = true;
                foreach (char c in t)
                {
                    ok &= c is >= '0' and <= '7';
                    value = (value * 8) + (c - '0');
                }

                if (ok && value <= 0x1FF)
                {
                    return value;
                }
            }

            throw new PSSocketException(SocketErrorKind.InvalidArgument, $"-Mode '{text}' is not a file mode: give octal digits such as '0600' (owner only) or '0660' (owner and group).", target: text);
        }

        /// <summary>Sets the permission bits of the socket file (chmod).</summary>
        private static void SetMode(string path, int mode)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return;
            }

            if (NativeMethods.ChMod(path, mode) != 0)
            {
                int errno = Marshal.GetLastWin32Error();
                throw new PSSocketException(errno == 1 ? SocketErrorKind.PermissionDenied : SocketErrorKind.SocketError,
                    $"Setting the mode of {path} to {Convert.ToString(mode, 8).PadLeft(4, '0')} failed (error {errno}).", target: path);
            }
        }

        /// <summary>The mode bits of a file as octal text ('0600'), or null where they cannot be read.</summary>
        public static string? ModeOf(string path) =>
            !path.StartsWith("@", StringComparison.Ordinal) && NativeMethods.TryLStat(path, out int mode) ? Convert.ToString(mode & 0xFFF, 8).PadLeft(4, '0') : null;

        /// <summary>True when the path is a socket file (for completion: other files cannot be connected to).</summary>
        public static bool IsSocket(string path) => FileKindOf(path) == UnixFileKind.Socket;

        /// <summary>What exists at a path: nothing, a socket, something else, or (no way to tell) unknown.</summary>
        internal static UnixFileKind FileKindOf(string path)
        {
            if (NativeMethods.TryLStat(path, out int mode))
            {
                return (mode & 0xF000) == 0xC000 ? UnixFileKind.Socket : UnixFileKind.Other;
            }

            if (!File.Exists(path) && !Directory.Exists(path))
            {
                return UnixFileKind.None;
            }

            // Windows marks a socket file as a reparse point; elsewhere without lstat we cannot tell.
            return RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                ? (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0 ? UnixFileKind.Socket : UnixFileKind.Other
                : UnixFileKind.Unknown;
        }

        /// <summary>
        /// The peer's process id, user id and group id: SO_PEERCRED on Linux, getpeereid and
        /// LOCAL_PEERPID on macOS; nulls where the platform does not say.
        /// </summary>
        public static (int? ProcessId, int? UserId, int? GroupId) PeerCredentials(Socket socket)
        {
            if (socket is null)
            {
                throw new ArgumentNullException(nameof(socket));
            }

            try
            {
                return NativeMethods.PeerCredentials(socket.Handle);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or ObjectDisposedException)
            {
                return (null, null, null);
            }
        }
    }

    /// <summary>What exists at a socket path.</summary>
    internal enum UnixFileKind
    {
        None,
        Socket,
        Other,
        Unknown,
    }
}

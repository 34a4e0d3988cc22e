using System.Runtime.InteropServices;

namespace PSSocket
{
    /// <summary>
    /// The address of a Unix domain socket: a file system path, or (Linux) an abstract-namespace
    /// name written "@name". netstandard2.0 has no UnixDomainSocketEndPoint, so this one turns
    /// itself into the sockaddr_un bytes the operating system wants, on .NET Framework 4.7.2+
    /// (Windows 10 1803 and later) and .NET alike: the family (AF_UNIX, written by SocketAddress
    /// in the platform's layout), then the path in UTF-8 and a NUL; an abstract name is a NUL and
    /// the name's bytes, the length exact (its bytes after the NUL are the whole name).
    /// </summary>
    public sealed class UnixSocketEndPoint : EndPoint
    {
        /// <summary>Where the path starts in a sockaddr_un (after the two bytes of the family).</summary>
        private const int PathOffset = 2;

        private readonly byte[] _bytes;

        /// <summary>An endpoint for a path, or for "@name" (the Linux abstract namespace).</summary>
        /// <exception cref="PSSocketException">InvalidArgument (empty, a NUL inside, too long for sun_path), NotSupportedOnThisPlatform (an abstract name off Linux).</exception>
        public UnixSocketEndPoint(string path)
        {
            if (string.IsNullOrEmpty(path))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "A Unix socket path is empty; give the path of the socket file (or @name for a Linux abstract name).", target: path);
            }

            if (path.IndexOf('\0') >= 0)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "A Unix socket path cannot hold a NUL character.", target: path);
            }

            IsAbstract = path[0] == '@';
            if (IsAbstract && !RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                throw new PSSocketException(SocketErrorKind.NotSupportedOnThisPlatform, $"'{path}' is an abstract socket name (it starts with '@'), which only Linux has. Give the path of a socket file.", target: path);
            }

            Path = IsAbstract ? path.Substring(1) : path;
            _bytes = Encoding.UTF8.GetBytes(Path);
            if (_bytes.Length > MaxPathBytes)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The Unix socket {(IsAbstract ? "name" : "path")} '{path}' is {_bytes.Length} bytes long in UTF-8; this operating system allows at most {MaxPathBytes} bytes (sun_path). Use a shorter path (a relative one, or a shorter folder).",
                    target: path);
            }
        }

        private UnixSocketEndPoint(byte[] bytes, bool isAbstract)
        {
            _bytes = bytes;
            IsAbstract = isAbstract;
            Path = Encoding.UTF8.GetString(bytes);
        }

        /// <summary>The address of a socket never bound; binding it makes Linux choose an abstract name (autobind).</summary>
        internal static UnixSocketEndPoint Unnamed { get; } = new(Array.Empty<byte>(), false);

        /// <summary>
        /// The most bytes a path (or abstract name) may have: sun_path less its NUL, 107 on Linux
        /// and Windows (sun_path is 108 bytes), 103 on macOS and the BSDs (104).
        /// </summary>
        public static int MaxPathBytes { get; } =
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? 107 : 103;

        /// <summary>The path of the socket file, or the abstract name without its '@'; empty for an unnamed socket.</summary>
        public string Path { get; }

        /// <summary>True for a Linux abstract-namespace name (no file).</summary>
        public bool IsAbstract { get; }

        /// <summary>True for the address of a socket that was never bound (a client's own end).</summary>
        public bool IsUnnamed => _bytes.Length == 0 && !IsAbstract;

        /// <inheritdoc />
        public override AddressFamily AddressFamily => AddressFamily.Unix;

        /// <inheritdoc />
        public override SocketAddress Serialize()
        {
            if (IsUnnamed)
            {
                // Just the family: binding it asks Linux for an autobound (abstract) name.
                return new SocketAddress(AddressFamily.Unix, PathOffset);
            }

            // Filesystem: family, path, NUL. Abstract: family, NUL, name (no NUL: the length says where it ends).
            int size = PathOffset + _bytes.Length + 1;
            var address = new SocketAddress(AddressFamily.Unix, size);
            int at = PathOffset;
            if (IsAbstract)
            {
                address[at++] = 0;
            }

            foreach (byte b in _bytes)
            {
                address[at++] = b;
            }

            if (!IsAbstract)
            {
                address[at] = 0;
            }

            return address;
        }

        /// <inheritdoc />
        public override EndPoint Create(SocketAddress socketAddress)
        {
            if (socketAddress is null)
            {
                throw new ArgumentNullException(nameof(socketAddress));
            }

            int size = socketAddress.Size;
            if (size <= PathOffset)
            {
                return Unnamed;
            }

            bool isAbstract = socketAddress[PathOffset] == 0;
            int start = isAbstract ? PathOffset + 1 : PathOffset;
            int end = start;
            if (isAbstract)
            {
                end = size;
            }
            else
            {
                while (end < size && socketAddress[end] != 0)
                {
                    end++;
                }
            }

            var bytes = new byte[end - start];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = socketAddress[start + i];
            }

            // Linux reports an unbound socket as just the family; some runtimes (Mono) pad it with NULs.
            if (isAbstract && Array.TrueForAll(bytes, b => b == 0))
            {
                return Unnamed;
            }

            return new UnixSocketEndPoint(bytes, isAbstract);
        }

        /// <summary>The path, "@name" for an abstract name, or "(unnamed)" for a socket never bound.</summary>
        public override string ToString() => IsAbstract ? "@" + Path : IsUnnamed ? "(unnamed)" : Path;

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is UnixSocketEndPoint other && other.IsAbstract == IsAbstract && other.Path == Path;

        /// <inheritdoc />
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Path) ^ (IsAbstract ? 1 : 0);
    }
}

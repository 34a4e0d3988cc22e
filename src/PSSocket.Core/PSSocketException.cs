namespace PSSocket
{
    /// <summary>What went wrong, as a stable identifier the cmdlet layer turns into an ErrorId.</summary>
    public enum SocketErrorKind
    {
        /// <summary>Anything the other kinds do not name.</summary>
        SocketError,
        /// <summary>The peer answered the connect with a reset: nothing listens there.</summary>
        ConnectionRefused,
        /// <summary>No answer to the connect within the timeout.</summary>
        ConnectionTimedOut,
        /// <summary>The name did not resolve.</summary>
        HostNotFound,
        /// <summary>No route to the network or host.</summary>
        NetworkUnreachable,
        /// <summary>The connection was reset or aborted while in use.</summary>
        ConnectionReset,
        /// <summary>The peer closed its side before the stop point was reached.</summary>
        RemoteClosed,
        /// <summary>The session was closed locally.</summary>
        SessionClosed,
        /// <summary>No session with that Id or Name is registered.</summary>
        SessionNotFound,
        /// <summary>A live session already carries that name.</summary>
        DuplicateSessionName,
        /// <summary>The operation does not apply to this kind of session.</summary>
        WrongSessionKind,
        /// <summary>The local address and port are taken.</summary>
        AddressInUse,
        /// <summary>The local address does not belong to this machine.</summary>
        AddressNotAvailable,
        /// <summary>Nothing (or not enough) arrived within the timeout.</summary>
        ReceiveTimeout,
        /// <summary>The peer did not take our data within the timeout.</summary>
        SendTimeout,
        /// <summary>No client connected within the timeout.</summary>
        AcceptTimeout,
        /// <summary>More data would have to be buffered than the limit allows.</summary>
        ReceiveLimitExceeded,
        /// <summary>A datagram is larger than the protocol allows.</summary>
        DatagramTooLarge,
        /// <summary>An argument has a value that cannot work.</summary>
        InvalidArgument,
        /// <summary>The operating system refused for lack of privilege.</summary>
        PermissionDenied,
        /// <summary>TLS negotiation or certificate validation failed, or an SSH server refused the login.</summary>
        AuthenticationFailed,
        /// <summary>The revocation status of a peer certificate could not be learned (its CRL was unreachable) while -CheckRevocation asked for it.</summary>
        RevocationUnknown,
        /// <summary>The file exists and -NoClobber forbids replacing it (PowerShell's Out-File convention).</summary>
        NoClobber,
        /// <summary>An address range holds more addresses than allowed without -Force.</summary>
        RangeTooLarge,
        /// <summary>A conversation step did not see what it expected (timeout, peer closed, limit).</summary>
        ExpectationFailed,
        /// <summary>This operating system cannot do what was asked (e.g. raw TCP on Windows).</summary>
        NotSupportedOnThisPlatform,
        /// <summary>The proxy itself could not be reached (refused, timed out, name not found).</summary>
        ProxyUnreachable,
        /// <summary>The proxy wants credentials, or rejected the ones given.</summary>
        ProxyAuthenticationFailed,
        /// <summary>The proxy reached the target host, which refused the connection.</summary>
        ProxyTargetRefused,
        /// <summary>The proxy could not reach the target (network or host unreachable, name not found there).</summary>
        ProxyTargetUnreachable,
        /// <summary>The proxy's connection to the target timed out (SOCKS5 "TTL expired").</summary>
        ProxyTtlExpired,
        /// <summary>The proxy's rules do not allow a connection to that target.</summary>
        ProxyNotAllowed,
        /// <summary>The proxy failed or answered outside its protocol (general failure, unsupported request, not a proxy).</summary>
        ProxyError,
        /// <summary>The SSH server's host key is in no known_hosts file and matches no fingerprint given.</summary>
        HostKeyUnknown,
        /// <summary>The SSH server's host key differs from the known one (or was revoked, or matches none of the fingerprints given).</summary>
        HostKeyMismatch,
        /// <summary>A device refused privileged mode: the enable secret was wrong or missing.</summary>
        PrivilegeDenied,
        /// <summary>A device answered a configuration line with an error (its profile's error patterns).</summary>
        DeviceError,
        /// <summary>A device asked a question (a confirmation) that no -Answer answers.</summary>
        UnansweredQuestion,
        /// <summary>A command run over SSH did not finish within the time it was given.</summary>
        CommandTimeout,
        /// <summary>No Unix socket exists at that path (or abstract name).</summary>
        SocketNotFound,
        /// <summary>The path exists but is not a socket (a regular file, a folder).</summary>
        NotASocket,
        /// <summary>A datagram socket reached as a stream, or a stream socket reached with -Datagram.</summary>
        WrongSocketType,
    }

    /// <summary>The one exception type the engine throws; the cmdlet layer turns it into an ErrorRecord.</summary>
    [Serializable]
    public sealed class PSSocketException : Exception
    {
        /// <summary>Creates an exception of the given kind.</summary>
        public PSSocketException(SocketErrorKind kind, string message, Exception? inner = null, SocketError socketError = System.Net.Sockets.SocketError.Success, object? target = null)
            : base(message, inner)
        {
            Kind = kind;
            SocketError = socketError;
            Target = target;
        }

        /// <summary>The stable kind of failure.</summary>
        public SocketErrorKind Kind { get; }

        /// <summary>The operating system's socket error, where there was one.</summary>
        public SocketError SocketError { get; }

        /// <summary>What the failure is about: an endpoint, a host name or a session.</summary>
        public object? Target { get; }

        /// <summary>Maps an operating system socket error onto a kind.</summary>
        public static SocketErrorKind Classify(SocketError error) => error switch
        {
            SocketError.ConnectionRefused => SocketErrorKind.ConnectionRefused,
            SocketError.TimedOut => SocketErrorKind.ConnectionTimedOut,
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain or SocketError.NoRecovery => SocketErrorKind.HostNotFound,
            SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.HostDown or SocketError.NetworkDown => SocketErrorKind.NetworkUnreachable,
            SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NetworkReset or SocketError.NotConnected => SocketErrorKind.ConnectionReset,
            SocketError.AddressAlreadyInUse => SocketErrorKind.AddressInUse,
            SocketError.AddressNotAvailable => SocketErrorKind.AddressNotAvailable,
            SocketError.AccessDenied => SocketErrorKind.PermissionDenied,
            SocketError.MessageSize => SocketErrorKind.DatagramTooLarge,
            SocketError.InvalidArgument or SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported => SocketErrorKind.InvalidArgument,
            _ => SocketErrorKind.SocketError,
        };

        /// <summary>Wraps an operating system socket failure with a sentence a person can act on.</summary>
        public static PSSocketException From(SocketException ex, string doing, object? target = null)
        {
            var kind = Classify(ex.SocketErrorCode);
            return new PSSocketException(kind, $"{doing}: {Describe(kind, ex.Message)}", ex, ex.SocketErrorCode, target);
        }

        private static string Describe(SocketErrorKind kind, string osMessage) => kind switch
        {
            SocketErrorKind.ConnectionRefused => "the connection was refused (nothing listens on that port, or a firewall rejects it)",
            SocketErrorKind.HostNotFound => $"the host name could not be resolved ({osMessage})",
            SocketErrorKind.AddressInUse => "the address and port are already in use by another socket",
            SocketErrorKind.ConnectionReset => "the connection was reset by the peer",
            SocketErrorKind.PermissionDenied => $"permission denied ({osMessage})",
            _ => osMessage,
        };
    }
}

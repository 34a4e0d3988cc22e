using System.Runtime.InteropServices;

namespace PSSocket.Net
{
    /// <summary>
    /// Where Windows sockets behave differently, as decisions made in one place. Tests set
    /// <see cref="IsWindows"/> to run the Windows decisions on Linux.
    /// </summary>
    public static class PlatformRules
    {
        /// <summary>Whether the Windows rules apply (the OS, unless a test says otherwise).</summary>
        public static bool IsWindows { get; internal set; } = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>
        /// Asks for exclusive use of a listener's port before it binds. On Windows another socket
        /// that sets SO_REUSEADDR may bind the same port and take its connections or datagrams
        /// unless the listener set SO_EXCLUSIVEADDRUSE; Linux and macOS never let that happen.
        /// </summary>
        internal static void ClaimExclusively(Socket socket)
        {
            if (IsWindows)
            {
                socket.ExclusiveAddressUse = true;
            }
        }

        /// <summary>Why this OS cannot give what a raw socket of the protocol is for, or null.</summary>
        internal static string? RawProtocolRefusal(ProtocolType protocol) =>
            IsWindows && protocol == ProtocolType.Tcp
                ? "Windows refuses raw TCP sockets: it never sends TCP data through a raw socket and never delivers received TCP (or UDP) packets to one. Use Connect-TcpSocket or New-TcpListener for TCP; raw sockets on Windows suit ICMP, IGMP and other IP protocols."
                : null;

        /// <summary>What the user should know about a raw socket of the protocol on this OS, or null.</summary>
        public static string? RawProtocolWarning(ProtocolType protocol) =>
            IsWindows && protocol == ProtocolType.Udp
                ? "Windows never delivers received UDP datagrams to a raw socket: this session can send UDP but will receive nothing. Use New-UdpListener to receive UDP."
                : null;
    }
}

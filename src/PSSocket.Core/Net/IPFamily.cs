using System.Net.Sockets;

namespace PSSocket
{
    /// <summary>Which IP version to use.</summary>
    public enum IPFamily
    {
        /// <summary>Whatever the name resolves to, IPv6 and IPv4.</summary>
        Any,
        /// <summary>IPv4 only.</summary>
        IPv4,
        /// <summary>IPv6 only.</summary>
        IPv6,
    }

    /// <summary>Conversions for <see cref="IPFamily"/>.</summary>
    public static class IPFamilyExtensions
    {
        /// <summary>The socket address family, Unspecified for Any.</summary>
        public static AddressFamily ToSocketFamily(this IPFamily family) => family switch
        {
            IPFamily.IPv4 => AddressFamily.InterNetwork,
            IPFamily.IPv6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unspecified,
        };
    }
}

namespace PSSocket.Net
{
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

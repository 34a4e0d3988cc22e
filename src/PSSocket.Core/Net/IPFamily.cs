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
}

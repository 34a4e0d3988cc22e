namespace PSSocket
{
    /// <summary>Completes well-known service names (and the common ranges) for -Port: UDP names for Test-UdpPort, TCP names otherwise.</summary>
    public sealed class PortCompleter : WordCompleter
    {
        private static readonly string[] s_ranges = { "1-1024", "1-65535" };
        private static readonly string[] s_tcp = ServiceTable.Tcp.Names.Concat(s_ranges).ToArray();
        private static readonly string[] s_udp = ServiceTable.Udp.Names.Concat(s_ranges).ToArray();

        /// <inheritdoc />
        protected override IEnumerable<string> Words => s_tcp;

        /// <inheritdoc />
        protected override IEnumerable<string> WordsFor(string commandName, IDictionary fakeBoundParameters) =>
            ServiceTables.For(commandName, fakeBoundParameters) == ServiceTable.Udp ? s_udp : s_tcp;
    }
}

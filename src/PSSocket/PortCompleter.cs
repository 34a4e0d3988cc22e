using System.Collections.Generic;
using System.Linq;
using PSSocket.Net;

namespace PSSocket
{
    /// <summary>Completes well-known service names (and the common ranges) for -Port.</summary>
    public sealed class PortCompleter : WordCompleter
    {
        private static readonly string[] s_words = WellKnownPorts.Names.Concat(new[] { "1-1024", "1-65535" }).ToArray();

        /// <inheritdoc />
        protected override IEnumerable<string> Words => s_words;
    }
}

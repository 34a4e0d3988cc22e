using PSSocket.Net.Proxy;

namespace PSSocket
{
    /// <summary>Turns -Proxy and -ProxyCredential into the engine's ProxyEndpoint (one place for every cmdlet that takes them).</summary>
    internal static class ProxyArguments
    {
        /// <summary>The proxy to go through, or null for a direct connection.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for an unusable URI, or a credential without a proxy.</exception>
        public static ProxyEndpoint? Resolve(string? proxy, PSCredential? credential)
        {
            var network = credential is null || credential == PSCredential.Empty ? null : credential.GetNetworkCredential();
            if (proxy is null)
            {
                if (network is not null)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, "-ProxyCredential applies to a proxy: add -Proxy.", target: "ProxyCredential");
                }

                return null;
            }

            return ProxyEndpoint.Parse(proxy, network);
        }
    }
}

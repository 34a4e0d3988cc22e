using System.Security.Cryptography.X509Certificates;

namespace PSSocket.Net
{
    /// <summary>What every port scan shares, whatever it sends: targets, timing and the bound on probes in flight.</summary>
    public class ScanOptions
    {
        /// <summary>The default bound on probes in flight.</summary>
        public const int DefaultThrottleLimit = 1000;

        /// <summary>The most addresses one range may expand to without <see cref="AllowLargeRanges"/>.</summary>
        public const int DefaultMaxRangeAddresses = 4096;

        /// <summary>How long a probe may wait for an answer; zero or less: no limit of ours.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>
        /// How many more tries a probe that got no answer gets before it counts as unanswered: TCP
        /// sends them hedged, spread over <see cref="Timeout"/> while the first still waits; UDP after
        /// each try's timeout.
        /// </summary>
        public int Retries { get; set; }

        /// <summary>How many probes may be in flight (and finished but not yet taken) at once.</summary>
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <summary>Restricts names to IPv4 or IPv6 addresses; Unspecified probes every address.</summary>
        public AddressFamily AddressFamily { get; set; } = AddressFamily.Unspecified;

        /// <summary>Probes only the first address a name resolves to.</summary>
        public bool FirstAddress { get; set; }

        /// <summary>Lets ranges expand up to 2^<see cref="Cidr.MaxHostBits"/> addresses.</summary>
        public bool AllowLargeRanges { get; set; }

        /// <summary>How long resolving one name may take.</summary>
        public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>Names are not resolved here but handed to the probe as they are (a proxy resolves them); their results have no Address.</summary>
        public bool ResolveNamesRemotely { get; set; }

        /// <summary>Keeps probes in flight below what the process may still open (Unix RLIMIT_NOFILE); tests turn it off.</summary>
        internal bool LimitByDescriptors { get; set; } = true;

        /// <summary>The most sockets one probe holds at once (the descriptor budget is divided by it).</summary>
        internal virtual int SocketsPerProbe => 1;

        /// <summary>True when <see cref="Timeout"/> sets a limit of ours.</summary>
        internal bool HasTimeout => Timeout > TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan;
    }

    /// <summary>How <see cref="PortScanner"/> probes TCP ports.</summary>
    public sealed class PortScanOptions : ScanOptions
    {
        /// <summary>Runs a TLS handshake on every open port and records the certificate.</summary>
        public bool Tls { get; set; }

        /// <summary>With <see cref="Tls"/>: checks the certificate chain against its CRL distribution points.</summary>
        public bool CheckRevocation { get; set; }

        /// <summary>With <see cref="Tls"/>: certificates (a private CA, a self-signed server) trusted besides the system's.</summary>
        public X509Certificate2Collection TrustedCertificates { get; } = new();

        /// <summary>With <see cref="Tls"/>: the name sent as SNI and checked against the certificate, instead of the target's name.</summary>
        public string? TlsServerName { get; set; }

        /// <summary>Reads what the service says first on every open port (<see cref="TlsPortCheckResult"/> over TLS).</summary>
        public bool Banner { get; set; }

        /// <summary>How long to wait for a banner, apart from <see cref="ScanOptions.Timeout"/>.</summary>
        public TimeSpan BannerTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Text sent on every open port before the banner is read; null: by port (redis gets PING); empty: nothing.</summary>
        public string? BannerProbe { get; set; }

        /// <summary>Every probe goes through this proxy (SOCKS or HTTP CONNECT): the proxy's answer says Open, Closed or Filtered.</summary>
        public Proxy.ProxyEndpoint? Proxy { get; set; }

        /// <summary>Hedged tries (<see cref="ScanOptions.Retries"/>) each hold a socket while the first still waits.</summary>
        internal override int SocketsPerProbe => HasTimeout && Proxy is null ? Retries + 1 : 1;

        /// <summary>Probes through the Linux system calls where they can be used (tests turn it off to check the Socket path).</summary>
        internal bool NativeConnect { get; set; } = true;

        /// <summary>Tests only: the local endpoint a probe binds before connecting, or null.</summary>
        internal Func<IPEndPoint, IPEndPoint?>? LocalEndPointFor { get; set; }
    }
}

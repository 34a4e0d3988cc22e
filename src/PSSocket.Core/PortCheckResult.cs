namespace PSSocket
{
    /// <summary>What a port check found (TCP: Open, Closed, Filtered, Error; UDP adds OpenOrFiltered).</summary>
    public enum PortStatus
    {
        /// <summary>Something accepted the connection.</summary>
        Open,
        /// <summary>The host answered with a reset: nothing listens there.</summary>
        Closed,
        /// <summary>No answer within the timeout, or a firewall said no (ICMP unreachable, local rule).</summary>
        Filtered,
        /// <summary>The check could not be made (name did not resolve, local failure).</summary>
        Error,
        /// <summary>UDP only: nothing came back, so the port is open (a service that ignored the probe) or filtered.</summary>
        OpenOrFiltered,
    }

    /// <summary>One target × port of Test-TcpPort.</summary>
    public class PortCheckResult
    {
        /// <summary>The target as given: host name, literal address, or the address from an expanded range.</summary>
        public string ComputerName { get; set; } = "";

        /// <summary>The address probed; empty when the name did not resolve.</summary>
        public IPAddress? Address { get; set; }

        /// <summary>The TCP port probed.</summary>
        public int Port { get; set; }

        /// <summary>Open, Closed, Filtered or Error.</summary>
        public PortStatus Status { get; set; }

        /// <summary>Milliseconds from the start of the connect to the answer; empty where no answer came (Filtered, Error).</summary>
        public double? Latency { get; set; }

        /// <summary>The well-known service name of the port, if it has one.</summary>
        public string? Service { get; set; }

        /// <summary>Why the status is what it is (refused, no answer, the socket error).</summary>
        public string? Detail { get; set; }

        /// <summary>The endpoint as users write it: host:port, [v6]:port.</summary>
        public override string ToString()
        {
            string port = Port.ToString(CultureInfo.InvariantCulture);
            string host = Address is null ? ComputerName : Net.Endpoints.Format(new IPEndPoint(Address, Port));
            return Address is null ? $"{host}:{port} {Status}" : $"{host} {Status}";
        }
    }

    /// <summary>One target × port of Test-TcpPort -Tls: the plain result and what the TLS handshake showed.</summary>
    public sealed class TlsPortCheckResult : PortCheckResult
    {
        /// <summary>The negotiated TLS version (with -Tls on an open port).</summary>
        public string? TlsProtocol { get; set; }

        /// <summary>The server certificate's subject.</summary>
        public string? CertificateSubject { get; set; }

        /// <summary>The server certificate's issuer.</summary>
        public string? CertificateIssuer { get; set; }

        /// <summary>When the server certificate expires (local time).</summary>
        public DateTime? CertificateNotAfter { get; set; }

        /// <summary>Days until the certificate expires, to the nearest day; negative once expired.</summary>
        public int? DaysUntilExpiry { get; set; }

        /// <summary>True when the chain is trusted, the certificate is in date and its name matches the target.</summary>
        public bool? CertificateValid { get; set; }

        /// <summary>What made the certificate invalid (chain status and name mismatch), when it is.</summary>
        public string? CertificateErrors { get; set; }

        /// <summary>The server certificate's SHA-1 thumbprint.</summary>
        public string? CertificateThumbprint { get; set; }

        /// <summary>Why the TLS handshake failed (for example: the port does not speak TLS).</summary>
        public string? TlsError { get; set; }

        /// <summary>With -Banner: what the service said first over TLS, escaped and bounded; empty when it said nothing in time.</summary>
        public string? Banner { get; set; }
    }

    /// <summary>One target × port of Test-TcpPort -Banner: the plain result and what the service said first.</summary>
    public sealed class BannerPortCheckResult : PortCheckResult
    {
        /// <summary>What the service said first (within -BannerTimeout), escaped and bounded to a few hundred characters; empty when it said nothing in time.</summary>
        public string? Banner { get; set; }
    }
}

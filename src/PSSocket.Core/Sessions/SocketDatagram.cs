namespace PSSocket
{
    /// <summary>One datagram as it arrived: who sent it, its bytes and when. Boundaries are kept: one object per datagram.</summary>
    public class SocketDatagram
    {
        private Encoding _encoding;
        private string? _text;

        /// <summary>Wraps received bytes (the array is owned by the datagram from now on).</summary>
        public SocketDatagram(byte[] bytes, EndPoint remoteEndPoint, Encoding? encoding = null, DateTime? receivedAt = null, int sessionId = 0)
        {
            Bytes = bytes ?? throw new ArgumentNullException(nameof(bytes));
            RemoteEndPoint = remoteEndPoint ?? throw new ArgumentNullException(nameof(remoteEndPoint));
            _encoding = encoding ?? TextEncoding.Utf8NoBom;
            ReceivedAt = receivedAt ?? DateTime.Now;
            SessionId = sessionId;
        }

        /// <summary>The sender's address and port (IPv4-mapped IPv6 senders are shown as IPv4); the peer's socket path for a Unix datagram.</summary>
        public EndPoint RemoteEndPoint { get; }

        /// <summary>The sender's IP address (null for a Unix datagram).</summary>
        public IPAddress? RemoteAddress => (RemoteEndPoint as IPEndPoint)?.Address;

        /// <summary>The datagram's bytes.</summary>
        public byte[] Bytes { get; }

        /// <summary>How many bytes the datagram holds.</summary>
        public int Length => Bytes.Length;

        /// <summary>The bytes decoded with the session's encoding.</summary>
        public string Text => _text ??= _encoding.GetString(Bytes);

        /// <summary>When the datagram was taken off the socket.</summary>
        public DateTime ReceivedAt { get; }

        /// <summary>The Id of the session that received it (0 for Invoke-UdpSend).</summary>
        public int SessionId { get; private set; }

        /// <summary>Sets how Text decodes, and the receiving session, when the datagram is read.</summary>
        public void Stamp(Encoding encoding, int sessionId)
        {
            if (!ReferenceEquals(encoding, _encoding))
            {
                _encoding = encoding;
                _text = null;
            }

            SessionId = sessionId;
        }

        /// <summary>A one-line preview of text for tables: control characters shown as dots, cut at width.</summary>
        public static string Preview(string? text, int width)
        {
            if (string.IsNullOrEmpty(text))
            {
                return "";
            }

            var sb = new StringBuilder(Math.Min(text!.Length, width + 3));
            foreach (char c in text)
            {
                if (sb.Length >= width)
                {
                    sb.Append(Net.Endpoints.Ellipsis);
                    break;
                }

                sb.Append(char.IsControl(c) ? '.' : c);
            }

            return sb.ToString();
        }

        /// <inheritdoc />
        public override string ToString() => Text;

    }

    /// <summary>
    /// One packet from a raw socket. For IPv4 the operating system delivers the IP header in front of
    /// the payload (Bytes holds both, Payload what follows the header); for IPv6 it does not.
    /// </summary>
    public sealed class RawPacket : SocketDatagram
    {
        /// <summary>Wraps a received packet.</summary>
        public RawPacket(byte[] bytes, EndPoint remoteEndPoint, ProtocolType protocol, Encoding? encoding = null, DateTime? receivedAt = null, int sessionId = 0)
            : base(bytes, remoteEndPoint, encoding, receivedAt, sessionId)
        {
            Protocol = protocol;
            HeaderLength = IPv4HeaderLength(bytes, remoteEndPoint.AddressFamily);
        }

        /// <summary>The IP protocol of the raw socket that received it (Icmp = 1, Tcp = 6, Udp = 17, IcmpV6 = 58).</summary>
        public ProtocolType Protocol { get; }

        /// <summary>True when Bytes starts with the IP header (IPv4).</summary>
        public bool IncludesIPHeader => HeaderLength > 0;

        /// <summary>The IP header's length in bytes; 0 when there is none in Bytes.</summary>
        public int HeaderLength { get; }

        /// <summary>The packet after the IP header (the ICMP message, UDP datagram, ...).</summary>
        public byte[] Payload
        {
            get
            {
                if (HeaderLength == 0)
                {
                    return Bytes;
                }

                var payload = new byte[Bytes.Length - HeaderLength];
                Buffer.BlockCopy(Bytes, HeaderLength, payload, 0, payload.Length);
                return payload;
            }
        }

        /// <summary>The time-to-live from the IPv4 header, or null.</summary>
        public int? Ttl => HeaderLength > 0 ? Bytes[8] : null;

        private static int IPv4HeaderLength(byte[] bytes, AddressFamily family)
        {
            if (family != AddressFamily.InterNetwork || bytes.Length < 20 || (bytes[0] >> 4) != 4)
            {
                return 0;
            }

            int ihl = (bytes[0] & 0x0F) * 4;
            return ihl >= 20 && ihl <= bytes.Length ? ihl : 0;
        }
    }
}

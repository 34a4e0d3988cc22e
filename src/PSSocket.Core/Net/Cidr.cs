namespace PSSocket.Net
{
    /// <summary>An IPv4 or IPv6 network in CIDR notation (10.1.2.0/28, fd00::/124) that expands to its addresses.</summary>
    public sealed class Cidr
    {
        /// <summary>The most host bits a range may have even with -Force (a /8 for IPv4, a /104 for IPv6).</summary>
        public const int MaxHostBits = 24;

        private Cidr(IPAddress network, int prefixLength)
        {
            Network = network;
            PrefixLength = prefixLength;
        }

        /// <summary>The first address of the range (host bits cleared).</summary>
        public IPAddress Network { get; }

        /// <summary>The number of leading bits that are fixed.</summary>
        public int PrefixLength { get; }

        /// <summary>IPv4 or IPv6.</summary>
        public AddressFamily AddressFamily => Network.AddressFamily;

        /// <summary>The bits that vary inside the range.</summary>
        public int HostBits => (AddressFamily == AddressFamily.InterNetwork ? 32 : 128) - PrefixLength;

        /// <summary>How many addresses the range holds (every address, network and broadcast included, as nmap does).</summary>
        public double Count => Math.Pow(2, HostBits);

        /// <summary>True when text looks like address/prefix; a malformed one throws from Parse instead.</summary>
        public static bool IsCidr(string text) => text is not null && text.IndexOf('/') > 0;

        /// <summary>Parses address/prefix; the address is masked to the network.</summary>
        /// <exception cref="PSSocketException">InvalidArgument for a malformed range.</exception>
        public static Cidr Parse(string text)
        {
            if (text is null)
            {
                throw new ArgumentNullException(nameof(text));
            }

            string t = text.Trim();
            int slash = t.IndexOf('/');
            if (slash <= 0 || !TryParseAddress(t.Substring(0, slash).Trim('[', ']'), out var address)
                || !int.TryParse(t.Substring(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prefix))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"'{Endpoints.Shorten(t)}' is not a CIDR range. Write an address, a slash and a prefix length: 10.1.2.0/28 or fd00::/124.", target: text);
            }

            int bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            if (prefix > bits)
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument,
                    $"The prefix length /{prefix} in '{t}' is longer than an {(bits == 32 ? "IPv4" : "IPv6")} address ({bits} bits).", target: text);
            }

            byte[] bytes = address.GetAddressBytes();
            for (int i = 0; i < bytes.Length; i++)
            {
                int keep = Math.Max(0, Math.Min(8, prefix - (i * 8)));
                bytes[i] &= (byte)(0xFF << (8 - keep));
            }

            return new Cidr(new IPAddress(bytes), prefix);
        }

        /// <summary>
        /// Parses an address written in full: dotted quad for IPv4 (not the legacy "10.1" or "167772161"
        /// forms IPAddress.TryParse accepts, which would turn a host named "1234" into 0.0.4.210), or IPv6.
        /// </summary>
        public static bool TryParseAddress(string text, out IPAddress address)
        {
            address = IPAddress.None;
            if (string.IsNullOrEmpty(text) || !IPAddress.TryParse(text, out var parsed))
            {
                return false;
            }

            if (parsed.AddressFamily == AddressFamily.InterNetwork && text.Split('.').Length != 4)
            {
                return false;
            }

            address = parsed;
            return true;
        }

        /// <summary>Every address of the range in ascending order, produced lazily.</summary>
        /// <exception cref="PSSocketException">RangeTooLarge beyond <see cref="MaxHostBits"/> host bits.</exception>
        public IEnumerable<IPAddress> Enumerate()
        {
            if (HostBits > MaxHostBits)
            {
                throw new PSSocketException(SocketErrorKind.RangeTooLarge,
                    $"{this} holds 2^{HostBits} addresses; at most 2^{MaxHostBits} can be probed in one range. Split it into smaller ranges.", target: ToString());
            }

            return EnumerateCore();
        }

        private IEnumerable<IPAddress> EnumerateCore()
        {
            byte[] start = Network.GetAddressBytes();
            long count = 1L << HostBits;
            for (long n = 0; n < count; n++)
            {
                var bytes = (byte[])start.Clone();
                long add = n;
                for (int i = bytes.Length - 1; i >= 0 && add != 0; i--)
                {
                    add += bytes[i];
                    bytes[i] = (byte)(add & 0xFF);
                    add >>= 8;
                }

                yield return new IPAddress(bytes);
            }
        }

        /// <inheritdoc />
        public override string ToString() => $"{Network}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";
    }
}

namespace PSSocket.Net
{
    /// <summary>What Test-UdpPort sends to make a UDP service answer.</summary>
    public enum UdpProbe
    {
        /// <summary>Chosen by the port: 53 Dns, 123 Ntp, 161 Snmp, anything else None.</summary>
        Auto,
        /// <summary>An empty datagram (or the -Payload given).</summary>
        None,
        /// <summary>A DNS query (the answer's RCODE is reported).</summary>
        Dns,
        /// <summary>An NTP client request (the server's stratum is reported).</summary>
        Ntp,
        /// <summary>An SNMP v2c get of sysDescr.0 with a community (the description is reported).</summary>
        Snmp,
    }

    /// <summary>
    /// The request datagrams of the built-in UDP probes and what their answers say. Pure functions over
    /// byte arrays: no socket here.
    /// </summary>
    public static class UdpProbes
    {
        private const int PreviewBytes = 64;

        /// <summary>The probe a port gets when none is named.</summary>
        public static UdpProbe ForPort(int port) => port switch
        {
            53 => UdpProbe.Dns,
            123 => UdpProbe.Ntp,
            161 => UdpProbe.Snmp,
            _ => UdpProbe.None,
        };

        /// <summary>Resolves Auto to the probe for the port.</summary>
        public static UdpProbe Resolve(UdpProbe probe, int port) => probe == UdpProbe.Auto ? ForPort(port) : probe;

        /// <summary>The datagram a probe sends; <paramref name="id"/> tags DNS and SNMP requests so the answer can be matched.</summary>
        public static byte[] Request(UdpProbe probe, ushort id, string community = "public") => probe switch
        {
            UdpProbe.Dns => DnsQuery(id),
            UdpProbe.Ntp => NtpRequest(),
            UdpProbe.Snmp => SnmpGetSysDescr(id, community),
            _ => Array.Empty<byte>(),
        };

        /// <summary>Says in words what an answer to a probe carries (for the result's Detail).</summary>
        public static string Describe(UdpProbe probe, byte[] reply, int length)
        {
            string? said = probe switch
            {
                UdpProbe.Dns => DescribeDns(reply, length),
                UdpProbe.Ntp => DescribeNtp(reply, length),
                UdpProbe.Snmp => DescribeSnmp(reply, length),
                _ => null,
            };
            return said ?? $"{length} byte(s) answered{(length > 0 ? ": " + Preview(reply, length) : "")}";
        }

        // A standard query for the root's NS records with recursion desired: every DNS server answers
        // it one way or another (an answer, REFUSED, SERVFAIL), and the RCODE tells which.
        internal static byte[] DnsQuery(ushort id) => new byte[]
        {
            (byte)(id >> 8), (byte)id,
            0x01, 0x00, // RD
            0x00, 0x01, // QDCOUNT
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00,       // root name
            0x00, 0x02, // NS
            0x00, 0x01, // IN
        };

        private static readonly string[] s_rcodes =
        {
            "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
        };

        internal static string? DescribeDns(byte[] r, int n)
        {
            if (n < 12 || (r[2] & 0x80) == 0)
            {
                return null;
            }

            int rcode = r[3] & 0x0F;
            int answers = (r[6] << 8) | r[7];
            string name = rcode < s_rcodes.Length ? s_rcodes[rcode] : "RCODE " + rcode.ToString(CultureInfo.InvariantCulture);
            return $"DNS answer: {name}, {answers} {(answers == 1 ? "record" : "records")}";
        }

        // Version 4, mode 3 (client); the rest zero. A server answers in mode 4 with its stratum.
        internal static byte[] NtpRequest()
        {
            var b = new byte[48];
            b[0] = 0x23;
            return b;
        }

        internal static string? DescribeNtp(byte[] r, int n)
        {
            if (n < 48 || (r[0] & 0x07) != 4)
            {
                return null;
            }

            int stratum = r[1];
            string what = stratum switch
            {
                0 => "stratum 0 (kiss-o'-death: " + Printable(r, 12, 4) + ")",
                16 => "stratum 16 (not synchronized)",
                _ => "stratum " + stratum.ToString(CultureInfo.InvariantCulture),
            };
            int version = (r[0] >> 3) & 0x07;
            return $"NTP v{version} server, {what}";
        }

        // SNMP v2c GetRequest for sysDescr.0 (1.3.6.1.2.1.1.1.0), BER encoded.
        internal static byte[] SnmpGetSysDescr(ushort requestId, string community)
        {
            byte[] oid = { 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00 };
            byte[] varBind = Tlv(0x30, Concat(Tlv(0x06, oid), new byte[] { 0x05, 0x00 }));
            byte[] pdu = Tlv(0xA0, Concat(
                Tlv(0x02, new[] { (byte)(requestId >> 8), (byte)requestId }),
                new byte[] { 0x02, 0x01, 0x00 },
                new byte[] { 0x02, 0x01, 0x00 },
                Tlv(0x30, varBind)));
            return Tlv(0x30, Concat(
                new byte[] { 0x02, 0x01, 0x01 },
                Tlv(0x04, Encoding.UTF8.GetBytes(community ?? "")),
                pdu));
        }

        internal static string? DescribeSnmp(byte[] r, int n)
        {
            // message: SEQUENCE { version, community, GetResponse-PDU (0xA2) { id, error-status, error-index, varbinds } }
            int p = 0;
            if (!Enter(r, n, ref p, 0x30, out int end) || !Skip(r, end, ref p, 0x02, out byte[] version) || !Skip(r, end, ref p, 0x04, out _))
            {
                return null;
            }

            if (!Enter(r, end, ref p, 0xA2, out int pduEnd) || !Skip(r, pduEnd, ref p, 0x02, out _) || !Skip(r, pduEnd, ref p, 0x02, out byte[] status) || !Skip(r, pduEnd, ref p, 0x02, out _))
            {
                return null;
            }

            string v = version.Length == 1 && version[0] == 1 ? "v2c" : version.Length == 1 && version[0] == 0 ? "v1" : "v?";
            int error = status.Length > 0 ? status[status.Length - 1] : 0;
            if (error != 0)
            {
                return $"SNMP {v} agent, error-status {error}";
            }

            if (Enter(r, pduEnd, ref p, 0x30, out int listEnd) && Enter(r, listEnd, ref p, 0x30, out int bindEnd) && Skip(r, bindEnd, ref p, 0x06, out _) && p < bindEnd)
            {
                byte tag = r[p];
                if (Skip(r, bindEnd, ref p, tag, out byte[] value))
                {
                    return tag switch
                    {
                        0x04 => $"SNMP {v} agent, sysDescr: {Printable(value, 0, Math.Min(value.Length, 200))}",
                        0x80 or 0x81 or 0x82 => $"SNMP {v} agent, sysDescr not available (no such object)",
                        _ => $"SNMP {v} agent",
                    };
                }
            }

            return $"SNMP {v} agent";
        }

        private static bool Enter(byte[] r, int limit, ref int p, byte tag, out int end)
        {
            end = 0;
            if (!Header(r, limit, ref p, tag, out int length))
            {
                return false;
            }

            end = p + length;
            return end <= limit;
        }

        private static bool Skip(byte[] r, int limit, ref int p, byte tag, out byte[] value)
        {
            value = Array.Empty<byte>();
            if (!Header(r, limit, ref p, tag, out int length) || p + length > limit)
            {
                return false;
            }

            value = new byte[length];
            Buffer.BlockCopy(r, p, value, 0, length);
            p += length;
            return true;
        }

        private static bool Header(byte[] r, int limit, ref int p, byte tag, out int length)
        {
            length = 0;
            if (p + 2 > limit || r[p] != tag)
            {
                return false;
            }

            int first = r[p + 1];
            p += 2;
            if (first < 0x80)
            {
                length = first;
                return true;
            }

            int octets = first & 0x7F;
            if (octets is 0 or > 3 || p + octets > limit)
            {
                return false;
            }

            for (int i = 0; i < octets; i++)
            {
                length = (length << 8) | r[p++];
            }

            return true;
        }

        private static byte[] Tlv(byte tag, byte[] value)
        {
            byte[] len = value.Length < 0x80
                ? new[] { (byte)value.Length }
                : value.Length < 0x100 ? new byte[] { 0x81, (byte)value.Length } : new byte[] { 0x82, (byte)(value.Length >> 8), (byte)value.Length };
            return Concat(new[] { tag }, len, value);
        }

        private static byte[] Concat(params byte[][] parts)
        {
            int n = 0;
            foreach (byte[] part in parts)
            {
                n += part.Length;
            }

            var all = new byte[n];
            int at = 0;
            foreach (byte[] part in parts)
            {
                Buffer.BlockCopy(part, 0, all, at, part.Length);
                at += part.Length;
            }

            return all;
        }

        /// <summary>The first bytes of an answer as text, control and non-ASCII bytes escaped.</summary>
        public static string Preview(byte[] bytes, int length) =>
            Printable(bytes, 0, Math.Min(length, PreviewBytes)) + (length > PreviewBytes ? "..." : "");

        private static string Printable(byte[] bytes, int offset, int count)
        {
            var sb = new StringBuilder(count);
            for (int i = offset; i < offset + count && i < bytes.Length; i++)
            {
                TextEncoding.AppendByte(sb, bytes[i], "x2");
            }

            return sb.ToString();
        }
    }
}

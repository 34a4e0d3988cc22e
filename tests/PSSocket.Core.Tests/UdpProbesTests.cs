using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class UdpProbesTests
    {
        [Theory]
        [InlineData(53, UdpProbe.Dns)]
        [InlineData(123, UdpProbe.Ntp)]
        [InlineData(161, UdpProbe.Snmp)]
        [InlineData(514, UdpProbe.None)]
        public void ChoosesTheProbeByPortUnlessOneIsNamed(int port, UdpProbe expected)
        {
            Assert.Equal(expected, UdpProbes.Resolve(UdpProbe.Auto, port));
            Assert.Equal(UdpProbe.Dns, UdpProbes.Resolve(UdpProbe.Dns, port));
        }

        [Fact]
        public void DnsQueryAsksOneQuestionWithRecursionDesiredAndItsId()
        {
            byte[] q = UdpProbes.Request(UdpProbe.Dns, 0xBEEF);
            Assert.Equal(new byte[] { 0xBE, 0xEF, 0x01, 0x00, 0x00, 0x01 }, q.Take(6).ToArray());
            Assert.Equal(17, q.Length);
        }

        [Fact]
        public void DnsAnswerReportsItsRcodeAndAnswerCount()
        {
            byte[] refused = { 0xBE, 0xEF, 0x81, 0x05, 0, 1, 0, 0, 0, 0, 0, 0 };
            Assert.Equal("DNS answer: REFUSED, 0 records", UdpProbes.Describe(UdpProbe.Dns, refused, refused.Length));
            byte[] ok = { 0xBE, 0xEF, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0 };
            Assert.Equal("DNS answer: NOERROR, 2 records", UdpProbes.Describe(UdpProbe.Dns, ok, ok.Length));
        }

        [Fact]
        public void SomethingThatIsNotADnsAnswerIsShownAsBytes()
        {
            byte[] notDns = Encoding.ASCII.GetBytes("hello\r\n");
            Assert.Equal(@"7 byte(s) answered: hello\r\n", UdpProbes.Describe(UdpProbe.Dns, notDns, notDns.Length));
        }

        [Fact]
        public void NtpRequestIsAVersion4ClientPacketAndTheAnswerGivesTheStratum()
        {
            byte[] req = UdpProbes.Request(UdpProbe.Ntp, 1);
            Assert.Equal(48, req.Length);
            Assert.Equal(3, req[0] & 7);
            Assert.Equal(4, (req[0] >> 3) & 7);

            var reply = new byte[48];
            reply[0] = 0x24; // v4, server
            reply[1] = 2;
            Assert.Equal("NTP v4 server, stratum 2", UdpProbes.Describe(UdpProbe.Ntp, reply, 48));
            reply[1] = 16;
            Assert.Equal("NTP v4 server, stratum 16 (not synchronized)", UdpProbes.Describe(UdpProbe.Ntp, reply, 48));
        }

        [Fact]
        public void SnmpRequestIsAV2cGetOfSysDescrWithTheCommunity()
        {
            byte[] req = UdpProbes.Request(UdpProbe.Snmp, 0x0102, "s3cret");
            Assert.Equal(0x30, req[0]);
            Assert.Equal(req.Length - 2, req[1]);
            Assert.Equal(new byte[] { 0x02, 0x01, 0x01, 0x04, 0x06 }, req.Skip(2).Take(5).ToArray());
            Assert.Equal("s3cret", Encoding.ASCII.GetString(req, 7, 6));
            Assert.Equal(0xA0, req[13]);
            Assert.Contains("2B-06-01-02-01-01-01-00", BitConverter.ToString(req), StringComparison.Ordinal);
        }

        [Fact]
        public void SnmpAnswerGivesTheSystemDescriptionOrTheErrorStatus()
        {
            // GetResponse with sysDescr.0 = "Linux sw01"
            byte[] value = Encoding.ASCII.GetBytes("Linux sw01");
            byte[] bind = Concat(new byte[] { 0x30, (byte)(10 + 2 + value.Length), 0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 1, 0, 0x04, (byte)value.Length }, value);
            byte[] list = Concat(new byte[] { 0x30, (byte)bind.Length }, bind);
            byte[] pdu = Concat(new byte[] { 0xA2, (byte)(10 + list.Length), 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00 }, list);
            byte[] msg = Concat(new byte[] { 0x30, (byte)(3 + 8 + pdu.Length), 0x02, 0x01, 0x01, 0x04, 0x06 }, Encoding.ASCII.GetBytes("public"), pdu);
            Assert.Equal("SNMP v2c agent, sysDescr: Linux sw01", UdpProbes.Describe(UdpProbe.Snmp, msg, msg.Length));

            pdu[8] = 0x05; // error-status genErr
            byte[] err = Concat(new byte[] { 0x30, (byte)(3 + 8 + pdu.Length), 0x02, 0x01, 0x01, 0x04, 0x06 }, Encoding.ASCII.GetBytes("public"), pdu);
            Assert.Equal("SNMP v2c agent, error-status 5", UdpProbes.Describe(UdpProbe.Snmp, err, err.Length));
        }

        [Fact]
        public void TruncatedAnswersNeverThrow()
        {
            byte[] req = UdpProbes.Request(UdpProbe.Snmp, 7);
            for (int n = 0; n < req.Length; n++)
            {
                _ = UdpProbes.Describe(UdpProbe.Snmp, req, n);
                _ = UdpProbes.Describe(UdpProbe.Dns, req, Math.Min(n, 11));
                _ = UdpProbes.Describe(UdpProbe.Ntp, req, n);
            }
        }

        [Fact]
        public async Task AnAnswerIsOpenWithItsLatencyAndWhatItSaid()
        {
            using var echo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            echo.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)echo.LocalEndPoint!).Port;
            Task serve = Task.Run(() =>
            {
                var buf = new byte[100];
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int n = echo.ReceiveFrom(buf, ref from);
                echo.SendTo(buf, n, SocketFlags.None, from);
            });
            var options = new UdpScanOptions { Payload = Encoding.ASCII.GetBytes("ping"), Timeout = TimeSpan.FromSeconds(10) };
            UdpPortCheckResult r = await UdpPortProber.ProbeAsync("127.0.0.1", IPAddress.Loopback, port, options, CancellationToken.None);
            await serve;
            Assert.Equal(PortStatus.Open, r.Status);
            Assert.NotNull(r.Latency);
            Assert.Equal(1, r.Attempts);
            Assert.Equal("4 byte(s) answered: ping", r.Detail);
        }

        [Fact]
        public async Task AnIcmpPortUnreachableIsClosed()
        {
            var r = await ProbeAPortNobodyBinds(new byte[] { 1 });
            Assert.Equal(PortStatus.Closed, r.Status);
            Assert.Contains("port unreachable", r.Detail, StringComparison.Ordinal);
        }

        [SkipOnMonoFact("Mono's Socket.Send sends nothing for a zero-byte buffer on a connected UDP socket (it returns 0 and no datagram leaves; SendTo does send one), so no ICMP answer comes back; .NET and .NET Framework send the empty datagram")]
        public async Task AnEmptyDatagramToAClosedPortIsClosed()
        {
            var r = await ProbeAPortNobodyBinds(null);
            Assert.Equal(PortStatus.Closed, r.Status);
            Assert.Contains("port unreachable", r.Detail, StringComparison.Ordinal);
        }

        private static async Task<UdpPortCheckResult> ProbeAPortNobodyBinds(byte[]? payload)
        {
            // A port bound by nobody: take one from the OS and free it (UDP: nothing else here binds it).
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            var options = new UdpScanOptions { Timeout = TimeSpan.FromSeconds(10), Retries = 3, Payload = payload };
            return await UdpPortProber.ProbeAsync("127.0.0.1", IPAddress.Loopback, port, options, CancellationToken.None);
        }

        [Fact]
        public async Task SilenceAfterEveryRetryIsOpenOrFilteredAndSendsRetriesPlusOneDatagrams()
        {
            using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
            var options = new UdpScanOptions { Timeout = TimeSpan.FromMilliseconds(200), Retries = 2, Payload = new byte[] { 1 } };
            UdpPortCheckResult r = await UdpPortProber.ProbeAsync("127.0.0.1", IPAddress.Loopback, port, options, CancellationToken.None);
            Assert.Equal(PortStatus.OpenOrFiltered, r.Status);
            Assert.Null(r.Latency);
            Assert.Equal(3, r.Attempts);
            int datagrams = 0;
            var buf = new byte[16];
            for (int i = 0; i < 10 && silent.Poll(100_000, SelectMode.SelectRead); i++)
            {
                silent.Receive(buf);
                datagrams++;
            }

            Assert.Equal(3, datagrams);
        }

        [Fact]
        public async Task CancellationEndsTheWaitAtOnce()
        {
            using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)silent.LocalEndPoint!).Port;
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var options = new UdpScanOptions { Timeout = TimeSpan.FromMinutes(5) };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => UdpPortProber.ProbeAsync("127.0.0.1", IPAddress.Loopback, port, options, cts.Token));
        }

        private static byte[] Concat(params byte[][] parts)
        {
            int n = 0;
            foreach (byte[] p in parts)
            {
                n += p.Length;
            }

            var all = new byte[n];
            int at = 0;
            foreach (byte[] p in parts)
            {
                Buffer.BlockCopy(p, 0, all, at, p.Length);
                at += p.Length;
            }

            return all;
        }
    }
}

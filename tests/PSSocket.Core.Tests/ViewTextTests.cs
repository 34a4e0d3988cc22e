using System;
using System.IO;
using System.Net;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>The text the views show: narrow byte counts, relay targets, record summaries, transcript facts, server-side TLS advice.</summary>
    public class ViewTextTests
    {
        [Theory]
        [InlineData(0L, "0")]
        [InlineData(99999L, "99999")]
        [InlineData(100000L, "97.7 KB")]
        [InlineData(1048576L, "1 MB")]
        [InlineData(5L * 1024 * 1024 * 1024, "5 GB")]
        public void ByteCountFitsEightCharacters(long bytes, string expected)
        {
            Assert.Equal(expected, ByteCount.Format(bytes));
            Assert.True(ByteCount.Format(bytes).Length <= 8);
        }

        [Fact]
        public void ARelayTargetReadsAsHostAndPort()
        {
            Assert.Equal("127.0.0.1:25007", Endpoints.Format(new DnsEndPoint("127.0.0.1", 25007)));
            Assert.Equal("redis01:6379", Endpoints.Format(new DnsEndPoint("redis01", 6379)));
            Assert.Equal("[::1]:53", Endpoints.Format(new DnsEndPoint("::1", 53)));
        }

        [Fact]
        public void ARecordSummaryAddsTheCloseReasonUnlessAnErrorSaysItOrTheScriptBlockEndedAsUsual()
        {
            Assert.Equal("a -> b: 5 bytes (Both sides closed)", ServerClientRecord.Summary(new object[] { "a -> b: 5 bytes" }, null, "Both sides closed"));
            Assert.Equal("(3 items)", ServerClientRecord.Summary(new object[] { 1, 2, 3 }, Array.Empty<string>(), ServerClientRecord.ScriptBlockEnded));
            Assert.Equal("boom", ServerClientRecord.Summary(Array.Empty<object>(), new[] { "boom" }, "boom"));
            Assert.Equal("Reset", ServerClientRecord.Summary(null, null, "Reset"));
        }

        [Fact]
        public void AServerIsToldTheClientDoesNotSpeakTlsNotToConnectWithoutUseTls()
        {
            string client = TlsDiagnostics.Describe(new IOException("The handshake failed due to an unexpected packet format: wrong version number"));
            Assert.Contains("without -UseTls", client);
            string server = TlsDiagnostics.ForServer($"TLS with 127.0.0.1:5000 failed: the TLS handshake failed: {client}.");
            Assert.Contains("the client does not speak TLS", server);
            Assert.Contains("-Certificate", server);
            Assert.DoesNotContain("-UseTls", server);
        }

        [Fact]
        public void TranscriptFactsCountTheRecordsAndTellHexFromText()
        {
            string dir = Path.Combine(Path.GetTempPath(), "pssocket-viewtext-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(dir);
            try
            {
                string text = Path.Combine(dir, "t.log");
                File.WriteAllText(text, "2026-01-01T00:00:00.000+00:00 ## Transcript of session #1\n2026-01-01T00:00:00.001+00:00 >> hello\n2026-01-01T00:00:00.002+00:00 << world\n2026-01-01T00:00:00.003+00:00 ## Transcript stopped\n");
                string hex = Path.Combine(dir, "t.hex");
                File.WriteAllText(hex, "2026-01-01T00:00:00.001+00:00 >> 2 bytes\n0000   68 69                                              hi\n");
                using var session = new UdpSession(IPAddress.Loopback, 0);
                var t = SocketTranscriptInfo.Read(session, text);
                Assert.Equal(2, t.Records);
                Assert.Equal(TranscriptFormat.Text, t.Format);
                Assert.Equal(new FileInfo(text).Length, t.Bytes);
                var h = SocketTranscriptInfo.Read(session, hex);
                Assert.Equal(1, h.Records);
                Assert.Equal(TranscriptFormat.Hex, h.Format);
                var gone = SocketTranscriptInfo.Read(session, Path.Combine(dir, "missing.log"));
                Assert.Equal(-1, gone.Bytes);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}

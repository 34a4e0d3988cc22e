using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public sealed class SessionFeatureTests : IDisposable
    {
        private readonly TcpSession _client;
        private readonly Socket _server;

        public SessionFeatureTests()
        {
            var (accepted, connected) = LoopbackPair.Open();
            _server = accepted;
            _client = new TcpSession(connected);
        }

        public void Dispose()
        {
            _client.Dispose();
            _server.Dispose();
        }

        private void Peer(string text) => _server.Send(Encoding.ASCII.GetBytes(text));

        private string Line() => Encoding.ASCII.GetString(_client.ReceiveLineAsync(Encoding.ASCII, 1 << 20, Deadline.AfterSeconds(5), CancellationToken.None).GetAwaiter().GetResult());

        [Fact]
        public void AnyNewLineEndsLinesAtCrLfLfAndBareCr()
        {
            _client.NewLine = "any";
            Assert.Equal("Any", _client.NewLine);
            Assert.Equal("\r\n", _client.LineTerminator);
            Peer("one\r\ntwo\nthree\rfour\r");
            Assert.Equal("one", Line());
            Assert.Equal("two", Line());
            Assert.Equal("three", Line());
            Assert.Equal("four", Line());
            Peer("\nfive\n");
            Assert.Equal("five", Line());
        }

        [Fact]
        public void CarriageReturnNewLineDoesNotLeaveLineFeedsBehind()
        {
            _client.NewLine = "\r";
            Peer("a\r\nb\r");
            Assert.Equal("a", Line());
            Assert.Equal("b", Line());
        }

        [Fact]
        public async Task PatternMatchesTheCleanTextAndConsumesTheRawBytes()
        {
            Peer("\u001b[1mSwitch\u001b[0m# \u001b[Krest");
            var (text, match) = await _client.ReceivePatternAsync(new Regex("#"), Encoding.ASCII, true, 1 << 20, Deadline.AfterSeconds(5), CancellationToken.None);
            Assert.Equal("Switch#", text);
            Assert.True(match.Success);
            var rest = await _client.ReceiveCountAsync(_client.Available, Deadline.AfterSeconds(5), CancellationToken.None);
            Assert.Equal(" \u001b[Krest", Encoding.ASCII.GetString(rest));
        }

        [Fact]
        public async Task TranscriptRecordsBothDirectionsAndRedactsSecrets()
        {
            string path = Path.Combine(Path.GetTempPath(), $"pssocket-{Guid.NewGuid():N}.log");
            try
            {
                _client.StartTranscript(path, append: false);
                var hello = Encoding.ASCII.GetBytes("hello\n");
                await _client.SendAsync(hello, 0, hello.Length, Deadline.AfterSeconds(5), CancellationToken.None);
                var secret = Encoding.ASCII.GetBytes("hunter2\n");
                await _client.SendAsync(secret, 0, secret.Length, true, Deadline.AfterSeconds(5), CancellationToken.None);
                Peer("welcome\r\n");
                Assert.Equal("welcome", Line());
                Assert.Equal(path, _client.StopTranscript());
                var text = File.ReadAllText(path);
                Assert.Matches(@"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d >> hello\n", text);
                Assert.Contains(">> ********", text);
                Assert.Contains("<< welcome", text);
                Assert.DoesNotContain("hunter2", text);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}

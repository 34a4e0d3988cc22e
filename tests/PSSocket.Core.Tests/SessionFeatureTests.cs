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
    public sealed class SessionFeatureTests : LoopbackSessionTests
    {

        private void PeerSends(string text) => Peer.Send(Encoding.ASCII.GetBytes(text));

        private string Line() => Encoding.ASCII.GetString(Session.ReceiveLineAsync(Encoding.ASCII, 1 << 20, Deadline.AfterSeconds(5), CancellationToken.None).GetAwaiter().GetResult());

        [Fact]
        public void AnyNewLineEndsLinesAtCrLfLfAndBareCr()
        {
            Session.NewLine = "any";
            Assert.Equal("Any", Session.NewLine);
            Assert.Equal("\r\n", Session.LineTerminator);
            PeerSends("one\r\ntwo\nthree\rfour\r");
            Assert.Equal("one", Line());
            Assert.Equal("two", Line());
            Assert.Equal("three", Line());
            Assert.Equal("four", Line());
            PeerSends("\nfive\n");
            Assert.Equal("five", Line());
        }

        [Fact]
        public void CarriageReturnNewLineDoesNotLeaveLineFeedsBehind()
        {
            Session.NewLine = "\r";
            PeerSends("a\r\nb\r");
            Assert.Equal("a", Line());
            Assert.Equal("b", Line());
        }

        [Fact]
        public async Task PatternMatchesTheCleanTextAndConsumesTheRawBytes()
        {
            PeerSends("\u001b[1mSwitch\u001b[0m# \u001b[Krest");
            var (text, match) = await Session.ReceivePatternAsync(new Regex("#"), Encoding.ASCII, true, 1 << 20, Deadline.AfterSeconds(5), CancellationToken.None);
            Assert.Equal("Switch#", text);
            Assert.True(match.Success);
            var rest = await Session.ReceiveCountAsync(Session.Available, Deadline.AfterSeconds(5), CancellationToken.None);
            Assert.Equal(" \u001b[Krest", Encoding.ASCII.GetString(rest));
        }

        [Fact]
        public async Task TranscriptRecordsBothDirectionsAndRedactsSecrets()
        {
            string path = Path.Combine(Path.GetTempPath(), $"pssocket-{Guid.NewGuid():N}.log");
            try
            {
                Session.StartTranscript(path, append: false);
                var hello = Encoding.ASCII.GetBytes("hello\n");
                await Session.SendAsync(hello, 0, hello.Length, Deadline.AfterSeconds(5), CancellationToken.None);
                var secret = Encoding.ASCII.GetBytes("hunter2\n");
                await Session.SendAsync(secret, 0, secret.Length, true, Deadline.AfterSeconds(5), CancellationToken.None);
                PeerSends("welcome\r\n");
                Assert.Equal("welcome", Line());
                Assert.Equal(path, Session.StopTranscript());
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

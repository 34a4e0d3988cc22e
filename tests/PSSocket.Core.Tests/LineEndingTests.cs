using System;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class LineEndingTests
    {
        [Theory]
        [InlineData("Any")]
        [InlineData("any")]
        [InlineData("ANY")]
        public void AnyInAnyCaseIsTheValueAndSendsCrLf(string text)
        {
            LineEnding nl = text;
            Assert.True(nl.IsAny);
            Assert.Equal(LineEnding.Any, nl);
            Assert.Equal("\r\n", nl.Text);
            Assert.Equal("Any", nl.ToString());
        }

        [Fact]
        public void FixedTextIsSentAsItIs()
        {
            var nl = LineEnding.Parse("\r\n");
            Assert.False(nl.IsAny);
            Assert.Equal(LineEnding.CrLf, nl);
            Assert.NotEqual(LineEnding.Any, nl);
            Assert.Equal("\r\n", nl.Text);
            Assert.Equal("|", new LineEnding("|").Text);
        }

        [Fact]
        public void EmptyIsRefused() => Assert.Throws<ArgumentException>(() => new LineEnding(""));

        [Fact]
        public void SessionsStartWithLf()
        {
            var (a, b) = LoopbackPair.Open();
            using var session = new TcpSession(a);
            b.Dispose();
            Assert.Equal(LineEnding.Lf, session.NewLine);
            session.NewLine = "Any";
            Assert.Equal("\r\n", session.LineTerminator);
        }
    }
}

using System.Collections.Generic;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class AnsiTextTests
    {
        [Theory]
        [InlineData("\u001b[1;32mOK\u001b[0m done", "OK done")]
        [InlineData("\u001b]0;switch01: ~\u0007prompt>", "prompt>")]
        [InlineData("\u001b]2;title\u001b\\after", "after")]
        [InlineData("\u001b(Bplain\u001b7\u001b8", "plain")]
        [InlineData("\u001b[?25l\u001b[2J\u001b[Hscreen", "screen")]
        [InlineData("no escapes at all", "no escapes at all")]
        [InlineData("cut off \u001b[1;3", "cut off ")]
        public void RemovesEscapeSequences(string raw, string clean) => Assert.Equal(clean, AnsiText.Strip(raw));

        [Theory]
        [InlineData("_\bu_\bn_\bd_\be_\br", "under")]
        [InlineData("B\bBo\bol\bld\bd", "Bold")]
        [InlineData("--More--\b\b\b\b\b\b\b\b        \b\b\b\b\b\b\b\bnext", "next")]
        [InlineData("line\n\b\b\bnext", "line\nnext")]
        public void AppliesBackspaceOverstrikes(string raw, string clean) => Assert.Equal(clean, AnsiText.Strip(raw));

        [Fact]
        public void MapsCleanCharsBackToTheRawText()
        {
            string raw = "\u001b[1mab\u001b[0mc\bd";
            var ends = new List<int>();
            string clean = AnsiText.Strip(raw, ends);
            Assert.Equal("abd", clean);
            Assert.Equal(new[] { 5, 6, raw.Length }, ends);
        }
    }
}

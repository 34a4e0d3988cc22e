using System;
using System.Text;
using System.Text.RegularExpressions;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>Each receive mode's stop rule, fed plain byte arrays: no socket.</summary>
    public class FramingTests
    {
        private static readonly Encoding s_utf8 = new UTF8Encoding(false);

        private static ReceiveBuffer Buffered(params string[] pieces)
        {
            var buffer = new ReceiveBuffer();
            foreach (var piece in pieces)
            {
                Add(buffer, piece);
            }

            return buffer;
        }

        private static void Add(ReceiveBuffer buffer, string text) => Add(buffer, s_utf8.GetBytes(text));

        private static void Add(ReceiveBuffer buffer, byte[] bytes) => buffer.Append(bytes, 0, bytes.Length);

        private static string Rest(ReceiveBuffer buffer) => s_utf8.GetString(buffer.Peek(buffer.Count));

        private static string Take(FrameRule<byte[]> rule, ReceiveBuffer buffer, bool peerClosed = false)
        {
            Assert.True(rule.TryTake(buffer, peerClosed, out var result));
            return s_utf8.GetString(result);
        }

        [Fact]
        public void CountWaitsForAllItsBytesAndLeavesTheRest()
        {
            var rule = new CountFrame(5);
            var buffer = Buffered("abc");
            Assert.False(rule.TryTake(buffer, false, out _));
            Assert.Equal(3, buffer.Count);
            Add(buffer, "defg");
            Assert.Equal("abcde", Take(rule, buffer));
            Assert.Equal("fg", Rest(buffer));
            Assert.Equal(5, rule.Needs);
        }

        [Fact]
        public void DelimiterSplitAcrossArrivalsIsFoundAndIncluded()
        {
            var rule = new DelimiterFrame(Encoding.ASCII.GetBytes("\r\n\r\n"));
            var buffer = Buffered("HTTP/1.1 200 OK\r\n\r");
            Assert.False(rule.TryTake(buffer, false, out _));
            Add(buffer, "\n\r\nbody");
            Assert.Equal("HTTP/1.1 200 OK\r\n\r\n", Take(rule, buffer));
            Assert.Equal("\r\nbody", Rest(buffer));
        }

        [Fact]
        public void EmptyDelimiterIsRefused() =>
            Assert.Equal(SocketErrorKind.InvalidArgument, Assert.Throws<PSSocketException>(() => new DelimiterFrame(Array.Empty<byte>())).Kind);

        [Fact]
        public void LineEndsAtLfAndDropsACrBeforeIt()
        {
            var rule = new LineFrame(new[] { (byte)'\n' }, new[] { (byte)'\r' });
            var buffer = Buffered("one\r\ntwo\nthr");
            Assert.Equal("one", Take(rule, buffer));
            Assert.Equal("two", Take(new LineFrame(new[] { (byte)'\n' }, new[] { (byte)'\r' }), buffer));
            Assert.False(new LineFrame(new[] { (byte)'\n' }, null).TryTake(buffer, false, out _));
            Assert.Equal("thr", Rest(buffer));
        }

        [Fact]
        public void LineWithAMultiByteTerminatorKeepsALoneLf()
        {
            var rule = new LineFrame(Encoding.ASCII.GetBytes("|END|"), null);
            Assert.Equal("a\nb", Take(rule, Buffered("a\nb|END|c")));
        }

        [Fact]
        public void AnyLineEndsAtCrLfLfOrBareCr()
        {
            var buffer = Buffered("a\r\nb\nc\rd\r");
            var rule = new AnyLineFrame();
            Assert.Equal("a", Take(rule, buffer));
            Assert.Equal("b", Take(new AnyLineFrame(), buffer));
            Assert.Equal("c", Take(new AnyLineFrame(), buffer));
            Assert.Equal("d", Take(new AnyLineFrame(), buffer));
            // The CR was the last byte: the LF that follows belongs to it, not to a new empty line.
            Add(buffer, "\ne\n");
            Assert.Equal("e", Take(new AnyLineFrame(), buffer));
        }

        [Fact]
        public void TheLfOfACrLfSplitAfterALineIsDroppedForEveryReceiveMode()
        {
            var buffer = Buffered("one\r");
            Assert.Equal("one", Take(new AnyLineFrame(), buffer));
            Add(buffer, "\nAB");
            Assert.True(new CountFrame(2).TryTake(buffer, false, out var two));
            Assert.Equal("AB", s_utf8.GetString(two));

            // Only the very next byte is looked at: a later LF is data.
            Add(buffer, "x\r");
            Assert.Equal("x", Take(new AnyLineFrame(), buffer));
            Add(buffer, "Z\n");
            Assert.True(new CountFrame(2).TryTake(buffer, false, out var next));
            Assert.Equal("Z\n", s_utf8.GetString(next));
        }

        [Fact]
        public void AnyLineGivesTheLastUnterminatedLineAtEndOfStream()
        {
            var rule = new AnyLineFrame();
            var buffer = Buffered("tail");
            Assert.False(rule.TryTake(buffer, false, out _));
            Assert.Equal("tail", Take(rule, buffer, peerClosed: true));
        }

        [Fact]
        public void ToEndTakesEverythingOnlyOnceThePeerClosed()
        {
            var rule = new ToEndFrame();
            var buffer = Buffered("x", "y");
            Assert.False(rule.TryTake(buffer, false, out _));
            Assert.Equal("xy", Take(rule, buffer, peerClosed: true));
            Assert.Equal(0, buffer.Count);
        }

        [Fact]
        public void AvailableTakesWholeCharactersOnly()
        {
            var euro = s_utf8.GetBytes("€");
            var buffer = Buffered("ab");
            Add(buffer, new[] { euro[0], euro[1] });
            var rule = new AvailableFrame(1024, s_utf8);
            Assert.Equal("ab", Take(rule, buffer));
            Assert.False(rule.TryTake(buffer, false, out _));
            Add(buffer, new[] { euro[2] });
            Assert.Equal("€", Take(rule, buffer));
        }

        [Fact]
        public void AvailableTakesAtMostItsLimit()
        {
            var buffer = Buffered("abcdef");
            Assert.Equal("abcd", Take(new AvailableFrame(4, null), buffer));
            Assert.Equal("ef", Rest(buffer));
        }

        [Fact]
        public void PatternReturnsTextToTheMatchEndAndLeavesTheRestAsBytes()
        {
            var rule = new PatternFrame(new Regex(@"\$ ", RegexOptions.Multiline), s_utf8, false, 1 << 20);
            var buffer = Buffered("héllo\r\n");
            Assert.False(rule.TryTake(buffer, false, out _));
            Add(buffer, "host$ more");
            Assert.True(rule.TryTake(buffer, false, out var receipt));
            Assert.Equal("héllo\r\nhost$ ", receipt.Text);
            Assert.True(receipt.Match.Success);
            Assert.Equal("more", Rest(buffer));
        }

        [Fact]
        public void PatternNeverCutsACharacterSplitAcrossArrivals()
        {
            var bytes = s_utf8.GetBytes("x€y€");
            var rule = new PatternFrame(new Regex("x.y."), s_utf8, false, 1 << 20);
            var buffer = new ReceiveBuffer();
            // Feed one byte at a time: the match must wait for the last euro sign's third byte.
            for (int i = 0; i < bytes.Length - 1; i++)
            {
                buffer.Append(bytes, i, 1);
                rule.OnQuiet();
                Assert.False(rule.TryTake(buffer, false, out _));
            }

            buffer.Append(bytes, bytes.Length - 1, 1);
            Assert.True(rule.TryTake(buffer, false, out var receipt));
            Assert.Equal("x€y€", receipt.Text);
            Assert.Equal(0, buffer.Count);
        }

        [Fact]
        public void PatternGivesTheBytesItTookAsTheyArrivedNotReEncodedText()
        {
            var rule = new PatternFrame(new Regex("Ax"), s_utf8, false, 1 << 20);
            var buffer = new ReceiveBuffer();
            Add(buffer, new byte[] { 0xFF, 0x41, 0x78, 0x7A });
            Assert.True(rule.TryTake(buffer, false, out var receipt));
            Assert.Equal(new byte[] { 0xFF, 0x41, 0x78 }, receipt.Bytes);
            Assert.Equal("\uFFFDAx", receipt.Text);
            Assert.Equal(1, buffer.Count);
        }

        [Fact]
        public void PatternWithStripAnsiGivesCleanTextAndTheRawBytes()
        {
            var rule = new PatternFrame(new Regex("ok>"), s_utf8, true, 1 << 20);
            var buffer = Buffered("\u001b[1mok\u001b[0m>rest");
            Assert.True(rule.TryTake(buffer, false, out var receipt));
            Assert.Equal("ok>", receipt.Text);
            Assert.Equal("\u001b[1mok\u001b[0m>", s_utf8.GetString(receipt.Bytes));
        }

        [Fact]
        public void PatternMatchesTheCleanTextWhenStrippingAnsi()
        {
            var rule = new PatternFrame(new Regex("ok>"), s_utf8, true, 1 << 20);
            var buffer = Buffered("\u001b[1mok\u001b[0m>\u001b[Krest");
            Assert.True(rule.TryTake(buffer, false, out var receipt));
            Assert.Equal("ok>", receipt.Text);
            // Bytes up to and including the prompt's last raw character are consumed.
            Assert.Equal("\u001b[Krest", Rest(buffer));
        }

        [Fact]
        public void DecodedTextFindsTheByteEndOfAnyCharacter()
        {
            var text = "aé€𝄞b";
            var bytes = s_utf8.GetBytes(text);
            var decoded = new DecodedText(s_utf8, 1 << 20);
            // Two arrivals, the second starting in the middle of the euro sign.
            decoded.Extend(new ArraySegment<byte>(bytes, 0, 4));
            decoded.Extend(new ArraySegment<byte>(bytes));
            Assert.Equal(text, decoded.ToString());
            var all = new ArraySegment<byte>(bytes);
            for (int chars = 0; chars <= text.Length; chars++)
            {
                if (chars > 0 && char.IsHighSurrogate(text[chars - 1]))
                {
                    continue;
                }

                Assert.True(s_utf8.GetByteCount(text.Substring(0, chars)) == decoded.ByteEnd(all, chars), $"chars {chars}: {decoded.ByteEnd(all, chars)}");
            }
        }
    }
}

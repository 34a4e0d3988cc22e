using System.Text;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class TextEncodingTests
    {
        private static int Complete(Encoding e, byte[] data, int count) =>
            TextEncoding.CompleteLength(e, new ReceiveBufferView(data, 0), count);

        [Theory]
        [InlineData("abc")]
        [InlineData("é")]
        [InlineData("€")]
        [InlineData("😀")]
        [InlineData("aé€😀z")]
        public void Utf8NeverCutsInsideACharacter(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            for (int cut = 0; cut <= bytes.Length; cut++)
            {
                int whole = Complete(TextEncoding.Utf8NoBom, bytes, cut);
                Assert.InRange(whole, 0, cut);
                // What is taken decodes without a replacement char, and the rest completes it.
                string head = Encoding.UTF8.GetString(bytes, 0, whole);
                Assert.DoesNotContain('\uFFFD', head);
                Assert.StartsWith(head, text, System.StringComparison.Ordinal);
                Assert.True(cut - whole < 4);
            }

            Assert.Equal(bytes.Length, Complete(TextEncoding.Utf8NoBom, bytes, bytes.Length));
        }

        [Fact]
        public void Utf8HoldsBackAnIncompleteTail()
        {
            var euro = Encoding.UTF8.GetBytes("a€"); // 61 E2 82 AC
            Assert.Equal(1, Complete(TextEncoding.Utf8NoBom, euro, 2));
            Assert.Equal(1, Complete(TextEncoding.Utf8NoBom, euro, 3));
            Assert.Equal(4, Complete(TextEncoding.Utf8NoBom, euro, 4));
        }

        [Fact]
        public void Utf8PassesInvalidBytesThrough()
        {
            var stray = new byte[] { 0x41, 0x80, 0x80, 0x80, 0x80 };
            Assert.Equal(5, Complete(TextEncoding.Utf8NoBom, stray, 5));
            var bad = new byte[] { 0xFF };
            Assert.Equal(1, Complete(TextEncoding.Utf8NoBom, bad, 1));
        }

        [Fact]
        public void Utf16KeepsPairsAndSurrogatesTogether()
        {
            var le = new UnicodeEncoding(false, false);
            var bytes = le.GetBytes("a😀"); // 2 + 4 bytes
            Assert.Equal(0, Complete(le, bytes, 1));
            Assert.Equal(2, Complete(le, bytes, 3));
            Assert.Equal(2, Complete(le, bytes, 4));
            Assert.Equal(2, Complete(le, bytes, 5));
            Assert.Equal(6, Complete(le, bytes, 6));
            var be = new UnicodeEncoding(true, false);
            var bb = be.GetBytes("a😀");
            Assert.Equal(2, Complete(be, bb, 4));
            Assert.Equal(6, Complete(be, bb, 6));
        }

        [Fact]
        public void Utf32AndSingleByteEncodings()
        {
            var u32 = new UTF32Encoding(false, false);
            Assert.Equal(4, Complete(u32, new byte[8], 7));
            Assert.Equal(5, Complete(Encoding.ASCII, new byte[5], 5));
            Assert.Equal(0, Complete(Encoding.ASCII, new byte[5], 0));
        }

        [Theory]
        [InlineData("utf8", 65001)]
        [InlineData("UTF-8", 65001)]
        [InlineData("ascii", 20127)]
        [InlineData("latin1", 28591)]
        [InlineData("iso-8859-1", 28591)]
        [InlineData("unicode", 1200)]
        [InlineData("bigendianunicode", 1201)]
        [InlineData("utf32", 12000)]
        [InlineData("65001", 65001)]
        [InlineData(" utf-16le ", 1200)]
        public void ResolvesNamesAndCodePages(string name, int codePage)
        {
            Assert.Equal(codePage, TextEncoding.Resolve(name).CodePage);
        }

        [Fact]
        public void Utf8HasNoByteOrderMarkByDefault()
        {
            Assert.Empty(TextEncoding.Resolve("utf8").GetPreamble());
            Assert.Empty(TextEncoding.Resolve("65001").GetPreamble());
            Assert.NotEmpty(TextEncoding.Resolve("utf8BOM").GetPreamble());
            Assert.Empty(TextEncoding.Resolve("unicode").GetPreamble());
        }

        [Theory]
        [InlineData("")]
        [InlineData("  ")]
        [InlineData("no-such-encoding")]
        [InlineData("999999")]
        public void UnknownNamesAreInvalidArguments(string name)
        {
            var ex = Assert.Throws<PSSocketException>(() => TextEncoding.Resolve(name));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
        }
    }
}

using System.Text;
using Xunit;

namespace PSSocket.Tests
{
    public class ReceiveBufferTests
    {
        [Fact]
        public void FindsADelimiterThatArrivedInTwoPieces()
        {
            var buffer = new ReceiveBuffer();
            buffer.Append(Encoding.ASCII.GetBytes("abc\r"), 0, 4);
            Assert.Equal(-1, buffer.IndexOf(Encoding.ASCII.GetBytes("\r\n")));
            buffer.Append(Encoding.ASCII.GetBytes("\ndef"), 0, 4);
            Assert.Equal(3, buffer.IndexOf(Encoding.ASCII.GetBytes("\r\n")));
        }

        [Fact]
        public void TakeLeavesTheRestBuffered()
        {
            var buffer = new ReceiveBuffer();
            var data = Encoding.ASCII.GetBytes("hello world");
            buffer.Append(data, 0, data.Length);
            Assert.Equal("hello", Encoding.ASCII.GetString(buffer.Take(5)));
            Assert.Equal(6, buffer.Count);
            Assert.Equal(" world", Encoding.ASCII.GetString(buffer.Take(6)));
            Assert.Equal(0, buffer.Count);
        }
    }
}

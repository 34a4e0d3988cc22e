using System.Text;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class EchoRedactorTests
    {
        private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

        private static string S(byte[] b) => Encoding.ASCII.GetString(b);

        [Fact]
        public void ReplacesAnEchoSplitAcrossReadsAndKeepsTheRest()
        {
            var r = new EchoRedactor();
            r.Watch(B("hunter2\r\n"), 0, 9, Encoding.ASCII);
            var first = S(r.Received(B("Password: hun"), 0, 13));
            var second = S(r.Received(B("ter2\r\nok\r\n"), 0, 10));
            Assert.Equal("Password: ********\r\nok\r\n", first + second + S(r.Flush()));
        }

        [Fact]
        public void HoldsBackOnlyWhatCouldStartTheSecret()
        {
            var r = new EchoRedactor();
            r.Watch(B("abc"), 0, 3, Encoding.ASCII);
            Assert.Equal("xyz", S(r.Received(B("xyza"), 0, 4)));
            Assert.Equal("ax", S(r.Received(B("x"), 0, 1)));
        }

        [Fact]
        public void StopsWatchingAfterTheWindow()
        {
            var r = new EchoRedactor();
            r.Watch(B("s3cret"), 0, 6, Encoding.ASCII);
            r.Received(new byte[EchoRedactor.Window + 6], 0, EchoRedactor.Window + 6);
            Assert.False(r.Watching);
        }
    }
}

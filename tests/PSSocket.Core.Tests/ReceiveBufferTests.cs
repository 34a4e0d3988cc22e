using System;
using System.Text;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class ReceiveBufferTests
    {
        private static void Add(ReceiveBuffer buffer, string ascii)
        {
            var b = Encoding.ASCII.GetBytes(ascii);
            buffer.Append(b, 0, b.Length);
        }

        [Fact]
        public void FindsADelimiterThatArrivedInTwoPieces()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "abc\r");
            Assert.Equal(-1, buffer.IndexOf(Encoding.ASCII.GetBytes("\r\n")));
            Add(buffer, "\ndef");
            Assert.Equal(3, buffer.IndexOf(Encoding.ASCII.GetBytes("\r\n")));
        }

        [Fact]
        public void FindsALongDelimiterSplitOneByteAtATime()
        {
            var buffer = new ReceiveBuffer();
            var delimiter = Encoding.ASCII.GetBytes("--END--");
            foreach (char c in "xx--EN--END-")
            {
                Add(buffer, c.ToString());
                Assert.Equal(-1, buffer.IndexOf(delimiter));
            }

            Add(buffer, "-");
            Assert.Equal(6, buffer.IndexOf(delimiter));
        }

        [Fact]
        public void IndexOfHonoursTheStartOffsetAndPartialPrefixes()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "aab aab aab");
            var pattern = Encoding.ASCII.GetBytes("aab");
            Assert.Equal(0, buffer.IndexOf(pattern));
            Assert.Equal(4, buffer.IndexOf(pattern, 1));
            Assert.Equal(8, buffer.IndexOf(pattern, 5));
            Assert.Equal(-1, buffer.IndexOf(pattern, 9));
            Assert.Equal(-1, buffer.IndexOf(Array.Empty<byte>()));
        }

        [Fact]
        public void IndexOfIsRelativeToTheUnreadData()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "line1\nline2\n");
            var nl = new[] { (byte)'\n' };
            Assert.Equal(5, buffer.IndexOf(nl));
            buffer.Take(6);
            Assert.Equal(5, buffer.IndexOf(nl));
            Assert.Equal("line2\n", Encoding.ASCII.GetString(buffer.Take(6)));
            Assert.Equal(-1, buffer.IndexOf(nl));
        }

        [Fact]
        public void TakeLeavesTheRestBuffered()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "hello world");
            Assert.Equal("hello", Encoding.ASCII.GetString(buffer.Take(5)));
            Assert.Equal(6, buffer.Count);
            Assert.Equal(" world", Encoding.ASCII.GetString(buffer.Take(6)));
            Assert.Equal(0, buffer.Count);
        }

        [Fact]
        public void TakeRejectsMoreThanIsBuffered()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "abc");
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Take(4));
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Take(-1));
            Assert.Equal(3, buffer.Count);
        }

        [Fact]
        public void PeekDoesNotConsume()
        {
            var buffer = new ReceiveBuffer();
            Add(buffer, "abcdef");
            Assert.Equal("abc", Encoding.ASCII.GetString(buffer.Peek(3)));
            Assert.Equal("abcdef", Encoding.ASCII.GetString(buffer.Peek(100)));
            Assert.Equal(6, buffer.Count);
        }

        [Fact]
        public void KeepsEveryByteInOrderThroughGrowthAndCompaction()
        {
            // The bytes appended count up (mod 256), so every byte taken must be the next of that
            // count: checked as it comes, without holding the ~9 MB twice for one comparison at the
            // end (xunit's element-by-element list comparison took 50 s on Mono on a loaded machine).
            var buffer = new ReceiveBuffer();
            var rng = new Random(7);
            byte next = 0, want = 0;
            long appended = 0, taken = 0;
            for (int round = 0; round < 2000; round++)
            {
                int add = rng.Next(0, 9000);
                var chunk = new byte[add];
                for (int i = 0; i < add; i++)
                {
                    chunk[i] = next++;
                }

                buffer.Append(chunk, 0, add);
                appended += add;
                taken += CheckInOrder(buffer.Take(rng.Next(0, buffer.Count + 1)), ref want, taken);
            }

            taken += CheckInOrder(buffer.Take(buffer.Count), ref want, taken);
            Assert.Equal(appended, taken);
            Assert.True(appended > 8_000_000, $"only {appended} bytes went through");
        }

        private static int CheckInOrder(byte[] got, ref byte want, long offset)
        {
            for (int i = 0; i < got.Length; i++, want++)
            {
                if (got[i] != want)
                {
                    Assert.Fail($"byte {offset + i} is {got[i]}, expected {want}");
                }
            }

            return got.Length;
        }

        [Fact]
        public void SegmentShowsTheUnreadBytes()
        {
            var buffer = new ReceiveBuffer();
            Assert.Equal(0, buffer.Segment.Count);
            Add(buffer, "0123456789");
            buffer.Skip(4);
            var seg = buffer.Segment;
            Assert.Equal("456789", Encoding.ASCII.GetString(seg.Array!, seg.Offset, seg.Count));
        }

        [Fact]
        public void ReleasesALargeArrayWhenDrained()
        {
            var buffer = new ReceiveBuffer();
            var big = new byte[100_000];
            buffer.Append(big, 0, big.Length);
            Assert.True(buffer.Capacity >= big.Length);
            buffer.Take(big.Length);
            Assert.Equal(0, buffer.Capacity);
        }
    }
}

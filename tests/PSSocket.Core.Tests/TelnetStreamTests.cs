using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class TelnetStreamTests
    {
        private const byte Iac = 255, Will = 251, Wont = 252, Do = 253, Dont = 254, Sb = 250, Se = 240;

        /// <summary>A stream that reads from a script of chunks and records what is written.</summary>
        private sealed class ScriptedStream : Stream
        {
            private readonly Queue<byte[]> _chunks;

            public ScriptedStream(params byte[][] chunks) => _chunks = new Queue<byte[]>(chunks);

            public MemoryStream Written { get; } = new();

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => true;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (_chunks.Count == 0)
                {
                    return 0;
                }

                var chunk = _chunks.Dequeue();
                Buffer.BlockCopy(chunk, 0, buffer, offset, chunk.Length);
                return chunk.Length;
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                Written.Write(buffer, offset, count);
                Handed.Add(buffer);
            }

            /// <summary>The arrays the writer handed over, as they are now (not copies).</summary>
            public List<byte[]> Handed { get; } = new();
        }

        private static async Task<byte[]> ReadAllAsync(Stream s)
        {
            var all = new MemoryStream();
            var buf = new byte[1024];
            int n;
            while ((n = await s.ReadAsync(buf, 0, buf.Length)) > 0)
            {
                all.Write(buf, 0, n);
            }

            return all.ToArray();
        }

        private static byte[] B(params object[] parts) => parts.SelectMany(p => p switch
        {
            string s => Encoding.ASCII.GetBytes(s),
            byte b => new[] { b },
            int i => new[] { (byte)i },
            _ => throw new ArgumentException("part"),
        }).ToArray();

        [Fact]
        public async Task RemovesNegotiationAndAnswersLikeAClient()
        {
            var inner = new ScriptedStream(B(Iac, Do, 24, Iac, Will, 1, Iac, Will, 3, Iac, Do, 31, Iac, Do, 5, Iac, Will, 42, "login: "));
            var telnet = new TelnetStream(inner);
            var data = await ReadAllAsync(telnet);
            Assert.Equal("login: ", Encoding.ASCII.GetString(data));
            var expected = B(Iac, Will, 24, Iac, Do, 1, Iac, Do, 3, Iac, Will, 31, Iac, Sb, 31, 0, 80, 0, 24, Iac, Se, Iac, Wont, 5, Iac, Dont, 42);
            Assert.Equal(expected, inner.Written.ToArray());
            Assert.True(telnet.RemoteEcho);
            Assert.True(telnet.SuppressGoAhead);
        }

        [Fact]
        public async Task AnswersTerminalTypeSubnegotiation()
        {
            var inner = new ScriptedStream(B(Iac, Do, 24), B(Iac, Sb, 24, 1, Iac, Se, "ok"));
            var telnet = new TelnetStream(inner, new TelnetOptions { TerminalType = "vt100" });
            Assert.Equal("ok", Encoding.ASCII.GetString(await ReadAllAsync(telnet)));
            Assert.Equal(B(Iac, Will, 24, Iac, Sb, 24, 0, "vt100", Iac, Se), inner.Written.ToArray());
        }

        [Fact]
        public async Task KeepsEscaped0xFFAsDataAcrossChunkBoundaries()
        {
            var inner = new ScriptedStream(B("a", Iac), B(Iac, "b", Iac), B(Will), B(1, "c\r"), B(0, "d"));
            var telnet = new TelnetStream(inner);
            Assert.Equal(B("a", 255, "bc\rd"), await ReadAllAsync(telnet));
        }

        [Fact]
        public async Task DoesNotAnswerTheSameOfferTwice()
        {
            var inner = new ScriptedStream(B(Iac, Will, 1, Iac, Will, 1, Iac, Wont, 1, "x"));
            var telnet = new TelnetStream(inner);
            await ReadAllAsync(telnet);
            Assert.Equal(B(Iac, Do, 1, Iac, Dont, 1), inner.Written.ToArray());
            Assert.False(telnet.RemoteEcho);
        }

        [Fact]
        public async Task EscapesIacAndBareCarriageReturnWhenWritingAndClearsItsCopy()
        {
            var inner = new ScriptedStream();
            var telnet = new TelnetStream(inner);
            var data = B("x", 255, "y\r\nz\r");
            await telnet.WriteAsync(data, 0, data.Length);
            Assert.Equal(B("x", 255, 255, "y\r\nz\r", 0), inner.Written.ToArray());
            // The data may be a secret: the escaped copy handed to the stream below is zeroed.
            var handed = Assert.Single(inner.Handed);
            Assert.NotSame(data, handed);
            Assert.All(handed, b => Assert.Equal(0, b));
        }

        [Fact]
        public async Task IgnoresOtherCommandsSuchAsGoAheadAndNop()
        {
            var inner = new ScriptedStream(B("a", Iac, 249, "b", Iac, 241, "c"));
            Assert.Equal("abc", Encoding.ASCII.GetString(await ReadAllAsync(new TelnetStream(inner))));
        }
    }
}

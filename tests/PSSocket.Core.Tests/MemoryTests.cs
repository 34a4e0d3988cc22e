using System;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;
using Xunit.Abstractions;

namespace PSSocket.Tests
{
    /// <summary>Process-wide allocation figures are only meaningful while no other test runs.</summary>
    [CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
    public sealed class MemoryCollection
    {
    }

    /// <summary>
    /// The receive buffer stays within -MaxBytes, and -Pattern costs memory and work linear in
    /// the bytes received, whether they come in one burst or trickle in.
    /// </summary>
    [Collection(nameof(MemoryCollection))]
    public sealed class MemoryTests : LoopbackSessionTests
    {
        private const int MiB = 1024 * 1024;
        private readonly ITestOutputHelper _output;

        public MemoryTests(ITestOutputHelper output)
        {
            _output = output;
        }

        private static Deadline Soon => Deadline.After(TimeSpan.FromSeconds(60));

        /// <summary>Sends total bytes of 'a' in pieces, pausing after each when trickle is set.</summary>
        private Task SendAsync(int total, int piece, bool trickle) => Task.Run(() =>
        {
            var data = new byte[piece];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (byte)'a';
            }

            try
            {
                for (int sent = 0; sent < total; sent += piece)
                {
                    Peer.Send(data, 0, Math.Min(piece, total - sent), SocketFlags.None);
                    if (trickle)
                    {
                        Thread.Sleep(1);
                    }
                }
            }
            catch (SocketException)
            {
                // The test closed the session once the limit was reached.
            }
        });

#if NET
        // Process-wide allocation counts exist on .NET Core 3.0+ only; the buffer bound below runs everywhere.
        private async Task<long> AllocatedWhileReceivingPatternAsync(int maxBytes, int total, int piece, bool trickle)
        {
            var regex = new Regex("never");
            var sender = SendAsync(total, piece, trickle);
            GC.Collect();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceivePatternAsync(regex, Encoding.ASCII, maxBytes, Soon, CancellationToken.None));
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.Equal(SocketErrorKind.ReceiveLimitExceeded, ex.Kind);
            Session.Close("done");
            await sender;
            _output.WriteLine($"{(trickle ? "trickled" : "burst")} {total / MiB} MiB: {allocated / MiB} MiB allocated, buffer {Session.BufferCapacity / MiB} MiB");
            return allocated;
        }

#endif

        [Theory]
        [InlineData(TcpSession.DefaultMaxBytes)]
        [InlineData(10_000_000)]
        public async Task TheBufferNeverGrowsPastMaxBytes(int maxBytes)
        {
            var sender = SendAsync(maxBytes + (2 * MiB), 64 * 1024, trickle: false);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveUntilAsync(Encoding.ASCII.GetBytes("never"), maxBytes, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveLimitExceeded, ex.Kind);
            Assert.InRange(Session.Available, maxBytes, maxBytes + ChunkPool.ChunkSize);
            Assert.InRange(Session.BufferCapacity, maxBytes, maxBytes + ChunkPool.ChunkSize);
            Session.Close("done");
            await sender;
        }

#if NET
        [Fact]
        public async Task APatternReceiveOfMaxBytesAllocatesASmallMultipleOfIt()
        {
            const int MaxBytes = 16 * MiB;
            long allocated = await AllocatedWhileReceivingPatternAsync(MaxBytes, MaxBytes + MiB, 256 * 1024, trickle: false);
            // The buffer, the decoded text and the strings matched: each at most twice its final size.
            Assert.InRange(allocated, 0, 12L * MaxBytes);
        }

        [Fact]
        public async Task TrickledInputCostsAboutWhatOneBurstCosts()
        {
            const int MaxBytes = 4 * MiB;
            long burst = await AllocatedWhileReceivingPatternAsync(MaxBytes, MaxBytes + MiB, MaxBytes, trickle: false);
            using var trickled = new MemoryTests(_output);
            long slow = await trickled.AllocatedWhileReceivingPatternAsync(MaxBytes, MaxBytes + MiB, 4096, trickle: true);
            Assert.InRange(slow, 0, (3 * burst) + (16L * MiB));
        }
#endif
    }
}

using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The engine alone under faults: fragmented delivery, cancellation and resets, on both the
    /// asynchronous read path and the caller-thread (Poll) path the cmdlets use.
    /// </summary>
    public sealed class ReliabilityTests : LoopbackSessionTests
    {
        private static readonly Encoding s_utf8 = TextEncoding.Utf8NoBom;

        private static Deadline Soon => Deadline.After(TimeSpan.FromSeconds(20));

        /// <summary>Sends the bytes in random 1-7 byte pieces with occasional short pauses.</summary>
        private Task SendFragmented(byte[] data, int seed) => Task.Run(async () =>
        {
            var rng = new Random(seed);
            for (int i = 0; i < data.Length;)
            {
                int n = Math.Min(rng.Next(1, 8), data.Length - i);
                i += Peer.Send(data, i, n, SocketFlags.None);
                if (rng.Next(50) == 0)
                {
                    await Task.Delay(1);
                }
            }
        });

        private static string Lines(int count) =>
            string.Concat(Enumerable.Range(1, count).Select(i => $"line {i}: grüße ✓ 日本語 🎉 {new string('é', i % 11)} end\n"));

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task FragmentedLinesAndPatternsReadBackIdentically(bool onCallerThread)
        {
            string text = Lines(1500);
            var sending = SendFragmented(s_utf8.GetBytes(text), 11);
            var got = new StringBuilder();
            using (onCallerThread ? CallerWaits.Enter() : default(CallerWaits.Scope?))
            {
                for (int i = 0; i < 500; i++)
                {
                    got.Append(s_utf8.GetString(await Session.ReceiveLineAsync(s_utf8, 1 << 20, Soon, CancellationToken.None))).Append('\n');
                }

                var regex = new Regex("日本語 🎉 é{10} end\n", RegexOptions.CultureInvariant);
                for (int i = 0; i < 50; i++)
                {
                    var (t, m) = await Session.ReceivePatternAsync(regex, s_utf8, 1 << 20, Soon, CancellationToken.None);
                    Assert.True(m.Success);
                    got.Append(t);
                }
            }

            await sending;
            Peer.Shutdown(SocketShutdown.Send);
            got.Append(s_utf8.GetString(await Session.ReceiveToEndAsync(1 << 20, Soon, CancellationToken.None)));
            Assert.Equal(text, got.ToString());
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task CancelledReadsKeepEveryByte(bool onCallerThread)
        {
            Peer.Send(s_utf8.GetBytes("partial"));
            await Task.Delay(50);
            var delimiter = s_utf8.GetBytes("never");
            foreach (var mode in new Func<CancellationToken, Task>[]
            {
                t => Session.ReceiveUntilAsync(delimiter, 1 << 20, Soon, t),
                t => Session.ReceiveLineAsync(s_utf8, 1 << 20, Soon, t),
                t => Session.ReceiveCountAsync(100, Soon, t),
                t => Session.ReceiveToEndAsync(1 << 20, Soon, t),
                t => Session.ReceivePatternAsync(new Regex("nev(er)"), s_utf8, 1 << 20, Soon, t),
            })
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
                var started = DateTime.UtcNow;
                using (onCallerThread ? CallerWaits.Enter() : default(CallerWaits.Scope?))
                {
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => mode(cts.Token));
                }

                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));
                Assert.Equal(SessionState.Open, Session.State);
            }

            Peer.Send(s_utf8.GetBytes("rest\n"));
            Assert.Equal("partialrest", s_utf8.GetString(await Session.ReceiveLineAsync(s_utf8, 1 << 20, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task AResetAfterDataHandsOverTheDataThenFaults()
        {
            Peer.Send(s_utf8.GetBytes("last words\n"));
            await Task.Delay(50);
            Peer.LingerState = new LingerOption(true, 0);
            Peer.Close();
            Assert.Equal("last words", s_utf8.GetString(await Session.ReceiveLineAsync(s_utf8, 1 << 20, Soon, CancellationToken.None)));
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveLineAsync(s_utf8, 1 << 20, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ConnectionReset, ex.Kind);
            Assert.Equal(SessionState.Faulted, Session.State);
        }

        [Fact]
        public async Task PatternGivesUpAtTheLimitWithoutRematchingPerChunk()
        {
            // 8 MiB arrive in one burst: matching once per 64 KiB chunk took seconds (quadratic).
            var block = Enumerable.Repeat((byte)'a', 8 << 20).ToArray();
            var sending = Task.Run(() => Peer.Send(block));
            var started = DateTime.UtcNow;
            var ex = await Assert.ThrowsAsync<PSSocketException>(() =>
                Session.ReceivePatternAsync(new Regex("nev(er)"), s_utf8, 4 << 20, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveLimitExceeded, ex.Kind);
            Assert.True(Session.Available >= 4 << 20);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
            Session.Close("done");
            await Task.WhenAny(sending, Task.Delay(2000));
        }
    }
}

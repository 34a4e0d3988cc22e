using System;
using System.IO;
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
    /// <summary>TcpSession receive modes over a real loopback connection; the peer is a plain socket.</summary>
    public class TcpSessionTests : LoopbackSessionTests
    {
        private static readonly Encoding s_utf8 = TextEncoding.Utf8NoBom;

        public TcpSessionTests()
            : this(readsCompleteLater: false)
        {
        }

        protected TcpSessionTests(bool readsCompleteLater)
            : base(accepted => readsCompleteLater
                ? new TcpSession(accepted, new LaterStream(new NetworkStream(accepted, ownsSocket: true)))
                : new TcpSession(accepted))
        {
        }

        protected TcpSessionTests(Func<Socket, TcpSession> session)
            : base(session)
        {
        }

        /// <summary>The socket whose kernel buffer holds what the peer sent and the session has not read yet.</summary>
        protected virtual Socket Kernel => Session.Socket!;

        private static Deadline Soon => Deadline.After(TimeSpan.FromSeconds(10));

        private static Deadline Short => Deadline.After(TimeSpan.FromMilliseconds(300));

        private void PeerSend(string text) => PeerSend(s_utf8.GetBytes(text));

        private void PeerSend(byte[] bytes)
        {
            int sent = 0;
            while (sent < bytes.Length)
            {
                sent += Peer.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
            }
        }

        private static string Text(byte[] b) => s_utf8.GetString(b);

        private async Task WaitBuffered(int n)
        {
            // Waits (bounded) until the kernel holds what the peer sent, so a test sees it arrive in one piece.
            // Generous: on a loaded machine the peer's bytes can take long to arrive.
            await Eventually.TrueAsync(() => Kernel.Available >= n, pollMs: 10);
        }

        private async Task<int> WaitKernelHoldsSteady()
        {
            // Waits (bounded, generous for a loaded machine) until something arrived and the kernel's count
            // stopped growing for a moment, and returns it.
            var deadline = Deadline.After(TimeSpan.FromSeconds(20));
            int last = -1, steady = 0;
            while (!deadline.Expired && steady < 3)
            {
                int now = Kernel.Available;
                steady = now > 0 && now == last ? steady + 1 : 0;
                last = now;
                await Task.Delay(20);
            }

            return last;
        }

        [Fact]
        public async Task CountLeavesTheSurplusForTheNextCall()
        {
            PeerSend("abcdef");
            Assert.Equal("ab", Text(await Session.ReceiveCountAsync(2, Soon, CancellationToken.None)));
            Assert.Equal(4, Session.Available);
            Assert.Equal("cdef", Text(await Session.ReceiveCountAsync(4, Soon, CancellationToken.None)));
            Assert.Equal(0, Session.Available);
            Assert.Equal(6, Session.BytesReceived);
        }

        [Fact]
        public async Task UntilFindsADelimiterSplitAcrossReadsAndKeepsWhatFollows()
        {
            var receive = Session.ReceiveUntilAsync(s_utf8.GetBytes("\r\n"), 1000, Soon, CancellationToken.None);
            PeerSend("hel");
            await Task.Delay(50);
            PeerSend("lo\r");
            await Task.Delay(50);
            Assert.False(receive.IsCompleted);
            PeerSend("\nrest");
            Assert.Equal("hello\r\n", Text(await receive));
            Assert.Equal("rest", Text(await Session.ReceiveCountAsync(4, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task ThreeLinesInOneWriteAreThreeLines()
        {
            PeerSend("one\r\ntwo\nthree\n");
            Assert.Equal("one", Text(await Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None)));
            Assert.Equal("two", Text(await Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None)));
            Assert.Equal("three", Text(await Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None)));
            Assert.Equal(0, Session.Available);
        }

        [Fact]
        public async Task ACustomNewLineEndsLines()
        {
            Session.NewLine = "||";
            PeerSend("a|b||c||");
            Assert.Equal("a|b", Text(await Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None)));
            Assert.Equal("c", Text(await Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task LinesInUtf16AreFound()
        {
            var utf16 = new UnicodeEncoding(false, false);
            PeerSend(utf16.GetBytes("héllo\r\nnext\n"));
            Assert.Equal("héllo", utf16.GetString(await Session.ReceiveLineAsync(utf16, 1000, Soon, CancellationToken.None)));
            Assert.Equal("next", utf16.GetString(await Session.ReceiveLineAsync(utf16, 1000, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task AvailableNeverCutsAUtf8CharacterAcrossReads()
        {
            var euro = s_utf8.GetBytes("a€");
            PeerSend(euro.Take(3).ToArray());
            await WaitBuffered(3);
            Assert.Equal("a", Text(await Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None)));
            Assert.Equal(2, Session.Available);
            var next = Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None);
            await Task.Delay(100);
            Assert.False(next.IsCompleted);
            PeerSend(euro.Skip(3).ToArray());
            Assert.Equal("€", Text(await next));
        }

        [Fact]
        public async Task AvailableAsBytesReturnsPartialCharactersToo()
        {
            PeerSend(new byte[] { 0x61, 0xE2, 0x82 });
            await WaitBuffered(3);
            var b = await Session.ReceiveAvailableAsync(1000, null, Soon, CancellationToken.None);
            Assert.Equal(new byte[] { 0x61, 0xE2, 0x82 }, b);
        }

        [Fact]
        public async Task AvailableReturnsAsSoonAsSomethingArrives()
        {
            var receive = Session.ReceiveAvailableAsync(1 << 20, s_utf8, Deadline.Infinite, CancellationToken.None);
            await Task.Delay(50);
            PeerSend("ping");
            var done = await Task.WhenAny(receive, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.Same(receive, done);
            Assert.Equal("ping", Text(await receive));
        }

        [Fact]
        public async Task AvailableTakesEverythingTheKernelHoldsUpToTheLimit()
        {
            var data = new byte[200_000];
            new Random(1).NextBytes(data);
            PeerSend(data);

            // The kernel holds what its receive buffer takes (128,000 bytes on Linux by default): all of it
            // comes back, and what arrives during the read too, but never more than the limit.
            int held = await WaitKernelHoldsSteady();
            var got = await Session.ReceiveAvailableAsync(150_000, null, Soon, CancellationToken.None);
            Assert.InRange(got.Length, Math.Min(held, 150_000), 150_000);

            // The rest of the data now fits in the kernel; a limit below it is met exactly.
            int left = data.Length - got.Length;
            held = await WaitKernelHoldsSteady();
            Assert.True(held > 1000, $"the kernel held only {held} of the {left} bytes left");
            var limited = await Session.ReceiveAvailableAsync(1000, null, Soon, CancellationToken.None);
            Assert.Equal(1000, limited.Length);

            var rest = await Session.ReceiveCountAsync(left - limited.Length, Soon, CancellationToken.None);
            Assert.Equal(data, got.Concat(limited).Concat(rest).ToArray());
        }

        [Fact]
        public async Task PatternLeavesAnIncompleteTrailingCharacterBuffered()
        {
            var euro = s_utf8.GetBytes("€");
            PeerSend(s_utf8.GetBytes("é id=42;").Concat(euro.Take(2)).ToArray());
            var (text, match) = await Session.ReceivePatternAsync(new Regex(@"id=(\d+);"), s_utf8, 1000, Soon, CancellationToken.None);
            Assert.Equal("é id=42;", text);
            Assert.Equal("42", match.Groups[1].Value);
            Assert.Equal(2, Session.Available);
            PeerSend(euro.Skip(2).ToArray());
            Assert.Equal("€", Text(await Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task PatternWaitsForTheMatchAcrossReadsAndKeepsTheRest()
        {
            var receive = Session.ReceivePatternAsync(new Regex("[Pp]assword: ?"), s_utf8, 1000, Soon, CancellationToken.None);
            PeerSend("login ok\nPass");
            await Task.Delay(50);
            PeerSend("word: tail");
            var (text, _) = await receive;
            Assert.Equal("login ok\nPassword: ", text);
            Assert.Equal("tail", Text(await Session.ReceiveCountAsync(4, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task ACatastrophicPatternFailsClearlyAndKeepsTheData()
        {
            PeerSend(new string('a', 40) + "!");
            var slow = new Regex("^(a+)+$", RegexOptions.None, TimeSpan.FromMilliseconds(50));
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceivePatternAsync(slow, s_utf8, 1000, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.InvalidArgument, ex.Kind);
            Assert.Equal(41, (await Session.ReceiveCountAsync(41, Soon, CancellationToken.None)).Length);
        }

        [Fact]
        public async Task ATimeoutKeepsTheSessionOpenAndTheDataIntact()
        {
            PeerSend("abc");
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(5, Short, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveTimeout, ex.Kind);
            Assert.Equal(SessionState.Open, Session.State);
            Assert.Equal(3, Session.Available);
            ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(5, Short, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveTimeout, ex.Kind);
            PeerSend("de");
            Assert.Equal("abcde", Text(await Session.ReceiveCountAsync(5, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task BytesArrivingAfterATimeoutReachTheNextRead()
        {
            await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveAvailableAsync(1000, s_utf8, Short, CancellationToken.None));
            PeerSend("late");
            Assert.Equal("late", Text(await Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task CancellationStopsAWaitAndLosesNothing()
        {
            PeerSend("xy");
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Session.ReceiveUntilAsync(s_utf8.GetBytes("!"), 1000, Deadline.Infinite, cts.Token));
            PeerSend("z!");
            Assert.Equal("xyz!", Text(await Session.ReceiveUntilAsync(s_utf8.GetBytes("!"), 1000, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task TheLimitFailsClearlyAndTheDataStaysReadable()
        {
            var data = Enumerable.Repeat((byte)'x', 5000).ToArray();
            PeerSend(data);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveUntilAsync(s_utf8.GetBytes("\n"), 1000, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveLimitExceeded, ex.Kind);
            Assert.Equal(SessionState.Open, Session.State);
            Assert.Equal(data, await Session.ReceiveCountAsync(5000, Soon, CancellationToken.None));
        }

        [Fact]
        public async Task AfterThePeerClosesBufferedDataComesFirstThenRemoteClosed()
        {
            PeerSend("bye");
            Peer.Shutdown(SocketShutdown.Send);
            await Task.Delay(50);
            Assert.Equal("bye", Text(await Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None)));
            Session.RefreshState();
            Assert.Equal(SessionState.RemoteClosed, Session.State);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.RemoteClosed, ex.Kind);
        }

        [Fact]
        public async Task RefreshingStateShowsAPeerCloseNoReadHasSeenYet()
        {
            Assert.Equal(SessionState.Open, Session.State);
            Peer.Shutdown(SocketShutdown.Send);
            // The getter reports recorded facts only; refreshing them is the explicit step.
            await Task.Delay(50);
            Assert.Equal(SessionState.Open, Session.State);
            await Eventually.TrueAsync(() =>
            {
                Session.RefreshState();
                return Session.State != SessionState.Open;
            });

            Assert.Equal(SessionState.RemoteClosed, Session.State);
        }

        [Fact]
        public async Task ACountThatThePeerCutsShortKeepsItsBytes()
        {
            PeerSend("12345");
            Peer.Shutdown(SocketShutdown.Send);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(10, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.RemoteClosed, ex.Kind);
            Assert.Equal("12345", Text(await Session.ReceiveToEndAsync(1000, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task ToEndReturnsEverythingUntilThePeerCloses()
        {
            var data = new byte[300_000];
            new Random(2).NextBytes(data);
            var receive = Session.ReceiveToEndAsync(1 << 20, Soon, CancellationToken.None);
            PeerSend(data);
            Peer.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await receive);
        }

        [Fact]
        public async Task AResetFaultsTheSessionButBufferedDataIsStillReadable()
        {
            PeerSend("abc");
            Assert.Equal("a", Text(await Session.ReceiveCountAsync(1, Soon, CancellationToken.None)));
            Assert.Equal(2, Session.Available);
            Peer.LingerState = new LingerOption(true, 0);
            Peer.Close();
            await Task.Delay(100);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(5, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ConnectionReset, ex.Kind);
            Assert.Equal(SessionState.Faulted, Session.State);
            Assert.Equal("bc", Text(await Session.ReceiveCountAsync(2, Soon, CancellationToken.None)));
            ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveAvailableAsync(1000, null, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ConnectionReset, ex.Kind);
            Assert.NotNull(Session.CloseReason);
        }

        [Fact]
        public async Task BufferedDataComesBeforeAResetThatAPendingReadFound()
        {
            PeerSend("abc");
            await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(5, Short, CancellationToken.None));
            Peer.LingerState = new LingerOption(true, 0);
            Peer.Close();
            await Task.Delay(100);
            Assert.Equal("abc", Text(await Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None)));
            Assert.Equal(SessionState.Faulted, Session.State);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveAvailableAsync(1000, s_utf8, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.ConnectionReset, ex.Kind);
        }

        [Fact]
        public async Task ALocalCloseEndsAWaitingReceiveWithSessionClosed()
        {
            var receive = Session.ReceiveToEndAsync(1000, Soon, CancellationToken.None);
            await Task.Delay(100);
            Session.Close("closed by the test");
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => receive);
            Assert.Equal(SocketErrorKind.SessionClosed, ex.Kind);
        }

        [Fact]
        public async Task AResetWhileWaitingIsConnectionReset()
        {
            var receive = Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None);
            await Task.Delay(100);
            Peer.LingerState = new LingerOption(true, 0);
            Peer.Close();
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => receive);
            Assert.Equal(SocketErrorKind.ConnectionReset, ex.Kind);
            Assert.Equal(SessionState.Faulted, Session.State);
        }

        [Fact]
        public async Task StreamingToAFileTimesOutWhenThePeerStalls()
        {
            using var sink = new MemoryStream();
            PeerSend("abc");
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveToStreamAsync(sink, 10, TimeSpan.FromMilliseconds(300), CancellationToken.None));
            Assert.Equal(SocketErrorKind.ReceiveTimeout, ex.Kind);
            Assert.Equal("abc", Text(sink.ToArray()));
            PeerSend("defghijklm");
            Assert.Equal(7, await Session.ReceiveToStreamAsync(sink, 7, TimeSpan.FromSeconds(10), CancellationToken.None));
            Assert.Equal("abcdefghij", Text(sink.ToArray()));
            Assert.Equal("klm", Text(await Session.ReceiveCountAsync(3, Soon, CancellationToken.None)));
        }

        [Fact]
        public async Task ConcurrentReceivesAreSerialized()
        {
            var data = Enumerable.Range(0, 4000).Select(i => (byte)(i % 251)).ToArray();
            var a = Task.Run(() => Session.ReceiveCountAsync(2000, Soon, CancellationToken.None));
            var b = Task.Run(() => Session.ReceiveCountAsync(2000, Soon, CancellationToken.None));
            for (int i = 0; i < data.Length; i += 100)
            {
                PeerSend(data.Skip(i).Take(100).ToArray());
            }

            var results = await Task.WhenAll(a, b);
            var first = results.OrderBy(r => r[0] == data[0] ? 0 : 1).ToArray();
            Assert.Equal(data, first[0].Concat(first[1]).ToArray());
        }

        [Fact]
        public async Task SendsAndStreamsReachThePeer()
        {
            var payload = new byte[1_000_000];
            new Random(3).NextBytes(payload);
            var hello = s_utf8.GetBytes("hello");
            await Session.SendAsync(hello, 0, hello.Length, Soon, CancellationToken.None);
            var sendAll = Session.SendStreamAsync(new MemoryStream(payload), TimeSpan.FromSeconds(10), CancellationToken.None);
            var got = new MemoryStream();
            var buf = new byte[65536];
            Peer.ReceiveTimeout = 10000;
            while (got.Length < payload.Length + hello.Length)
            {
                int n = Peer.Receive(buf);
                Assert.NotEqual(0, n);
                got.Write(buf, 0, n);
            }

            Assert.Equal(payload.Length, await sendAll);
            Assert.Equal(hello.Concat(payload).ToArray(), got.ToArray());
            Assert.Equal(payload.Length + hello.Length, Session.BytesSent);
        }

        [Fact]
        public async Task AClosedSessionRefusesToReceive()
        {
            Session.Close("done");
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => Session.ReceiveCountAsync(1, Soon, CancellationToken.None));
            Assert.Equal(SocketErrorKind.SessionClosed, ex.Kind);
            Assert.Equal(SessionState.Closed, Session.State);
        }

        [Fact]
        public void AReadOnACallerThreadThatWaitsGetsLinesAndSurvivesATimeout()
        {
            using (CallerWaits.Enter())
            {
                PeerSend("one\ntw");
                Assert.Equal("one", Text(Block(Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None))));
                var ex = Assert.Throws<PSSocketException>(() => Block(Session.ReceiveLineAsync(s_utf8, 1000, Short, CancellationToken.None)));
                Assert.Equal(SocketErrorKind.ReceiveTimeout, ex.Kind);
                Assert.Equal(SessionState.Open, Session.State);
                PeerSend("o\n");
                Assert.Equal("two", Text(Block(Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None))));
            }
        }

        [Fact]
        public void ACancelledWaitOnACallerThreadStopsWithinASlice()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using (CallerWaits.Enter())
            {
                Assert.ThrowsAny<OperationCanceledException>(() => Block(Session.ReceiveLineAsync(s_utf8, 1000, Soon, cts.Token)));
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
            PeerSend("after\n");
            Assert.Equal("after", Text(Block(Session.ReceiveLineAsync(s_utf8, 1000, Soon, CancellationToken.None))));
        }

        /// <summary>Blocks like a cmdlet's pipeline thread does: the point of these tests.</summary>
        private static T Block<T>(Task<T> task) => task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// The same receive modes when every asynchronous read completes later, as NetworkStream
    /// reads do on .NET Framework and Mono: State, what is already there, waiting receives and
    /// close or reset detection must not depend on a read finishing at once.
    /// </summary>
    public sealed class TcpSessionLaterReadTests : TcpSessionTests
    {
        public TcpSessionLaterReadTests()
            : base(readsCompleteLater: true)
        {
        }
    }

#if NET
    // .NET only: on Mono a NetworkStream read that is already pending finishes on BeginRead's own
    // schedule, which this harness cannot make behave like a channel stream under load.

    /// <summary>
    /// The same receive modes on a session over a stream with no socket of its own, as an SSH
    /// shell channel is: reads are awaited (no Poll), and end of stream or a failure of the
    /// stream sets the state.
    /// </summary>
    public sealed class StreamOnlySessionTests : TcpSessionTests
    {
        public StreamOnlySessionTests()
            : base(accepted => new StreamOnlySession(accepted))
        {
        }

        protected override Socket Kernel => ((StreamOnlySession)Session).Underlying;

        private sealed class StreamOnlySession : TcpSession
        {
            public StreamOnlySession(Socket socket)
                : base(SessionKind.Tcp, new ChannelLikeStream(socket), socket.LocalEndPoint, socket.RemoteEndPoint)
            {
                Underlying = socket;
            }

            public Socket Underlying { get; }

            protected override void OnShutdownSend() => Underlying.Shutdown(SocketShutdown.Send);
        }

        /// <summary>
        /// Reads as an SSH channel stream does: what has arrived, data or the end, is handed out at once (on .NET
        /// Framework and Mono a NetworkStream's ReadAsync would finish later, through BeginRead).
        /// </summary>
        private sealed class ChannelLikeStream : NetworkStream
        {
            private readonly Socket _socket;

            public ChannelLikeStream(Socket socket)
                : base(socket, ownsSocket: true)
            {
                _socket = socket;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                try
                {
                    return _socket.Poll(0, SelectMode.SelectRead) ? Task.FromResult(Read(buffer, offset, count)) : base.ReadAsync(buffer, offset, count, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    return Task.FromException<int>(ex);
                }
            }
        }
    }
#endif
}

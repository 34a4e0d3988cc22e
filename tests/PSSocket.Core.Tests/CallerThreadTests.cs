using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;
using Xunit.Abstractions;

namespace PSSocket.Tests
{
    /// <summary>The runtime's socket event thread serves the whole process: its wake-ups mean something only while no other test runs.</summary>
    [CollectionDefinition(nameof(CallerThreadCollection), DisableParallelization = true)]
    public sealed class CallerThreadCollection
    {
    }

    /// <summary>
    /// A cmdlet's thread blocks on the engine anyway, so the engine waits on it (CallerWaits):
    /// connecting and line round trips from such a thread cost that thread's work only.
    /// </summary>
    [Collection(nameof(CallerThreadCollection))]
    public sealed class CallerThreadTests
    {
        private readonly ITestOutputHelper _output;

        public CallerThreadTests(ITestOutputHelper output)
        {
            _output = output;
        }

        private static Socket ConnectHere(string host, int port, TimeSpan timeout, CancellationToken token = default)
        {
            using (CallerWaits.Enter())
            {
                var connect = TcpConnector.ConnectAsync(host, port, new TcpConnectOptions { NoDelay = true, Timeout = timeout }, token);
                return connect.GetAwaiter().GetResult();
            }
        }

        /// <summary>How often the runtime's socket event threads (".NET Sockets") have woken up so far (Linux).</summary>
        private static long SocketEventWakeUps()
        {
            long total = 0;
            foreach (var task in Directory.GetDirectories("/proc/self/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim() != ".NET Sockets")
                    {
                        continue;
                    }

                    foreach (var line in File.ReadAllLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            total += long.Parse(line.Substring(line.IndexOf(':') + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            return total;
        }

        // Before, the connect registered the socket with the runtime's event loop, and every line
        // the peer sent back woke that loop (and a pool thread) although nobody waited on it.
        [PlatformFact(Needs.Linux)]
        public void LineRoundTripsFromACmdletThreadLeaveTheSocketEventThreadAsleep()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var echo = new Thread(() =>
            {
                using var peer = listener.Accept();
                var buffer = new byte[4096];
                int n;
                while ((n = peer.Receive(buffer)) > 0)
                {
                    peer.Send(buffer, 0, n, SocketFlags.None);
                }
            })
            { IsBackground = true };
            echo.Start();
            using var session = new TcpSession(ConnectHere("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, TimeSpan.FromSeconds(30)));
            var line = Encoding.ASCII.GetBytes("0123456789abcde\n");

            void RoundTrips(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    using (CallerWaits.Enter())
                    {
                        session.SendAsync(line, 0, line.Length, Deadline.AfterSeconds(30), CancellationToken.None).GetAwaiter().GetResult();
                        var got = session.ReceiveLineAsync(Encoding.ASCII, 1024, Deadline.AfterSeconds(30), CancellationToken.None).GetAwaiter().GetResult();
                        Assert.Equal(15, got.Length);
                    }
                }
            }

            RoundTrips(20);
            long before = SocketEventWakeUps();
            RoundTrips(500);
            long woken = SocketEventWakeUps() - before;
            _output.WriteLine($"500 round trips woke the socket event thread {woken} times");
            Assert.True(woken < 50, $"500 line round trips on a cmdlet's thread woke the runtime's socket event thread {woken} times");
            Assert.Equal(520L * line.Length, session.BytesReceived);
        }

        [Fact]
        public void AConnectFromACmdletThreadToAClosedPortIsRefused()
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            var ex = Assert.Throws<PSSocketException>(() => ConnectHere("127.0.0.1", port, TimeSpan.FromSeconds(30)));
            Assert.Equal(SocketErrorKind.ConnectionRefused, ex.Kind);
        }

        [PlatformFact(Needs.Linux)]
        public void AConnectFromACmdletThreadThatGetsNoAnswerTimesOutAtTheTimeout()
        {
            var (listener, fillers) = LoopbackPair.UnansweredPortAsync().GetAwaiter().GetResult();
            try
            {
                var started = Stopwatch.StartNew();
                var ex = Assert.Throws<PSSocketException>(() => ConnectHere("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, TimeSpan.FromMilliseconds(400)));
                Assert.Equal(SocketErrorKind.ConnectionTimedOut, ex.Kind);
                Assert.InRange(started.Elapsed.TotalSeconds, 0.3, 10);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }

        [PlatformFact(Needs.Linux)]
        public void AConnectFromACmdletThreadStopsWhenCancelled()
        {
            var (listener, fillers) = LoopbackPair.UnansweredPortAsync().GetAwaiter().GetResult();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                var started = Stopwatch.StartNew();
                Assert.ThrowsAny<OperationCanceledException>(() => ConnectHere("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, TimeSpan.FromSeconds(60), cts.Token));
                Assert.InRange(started.Elapsed.TotalSeconds, 0.2, 10);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The Linux fast path of the TCP probe (system calls, a refused socket reused for the next
    /// probe, one epoll thread for connects that wait) against real listeners: every verdict must be
    /// what the Socket path says, and the fast path must have run (its connect count), so a test
    /// cannot pass on the other path by accident.
    /// </summary>
    public class NativeConnectTests
    {
        private static (List<PortCheckResult> Results, long NativeConnects) Scan(PortScanOptions options, TimeSpan limit, params PortScanTarget[] targets)
        {
            var (results, finished, nativeConnects) = PortScannerTests.ScanWithin(options, limit, targets);
            Assert.True(finished, $"the scan did not finish within {limit.TotalSeconds} s");
            return (results, nativeConnects);
        }

        // Bound, not listening: refuses connects for as long as the socket lives.
        private static Socket Bound(IPAddress address)
        {
            var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(address, 0));
            return s;
        }

        private static int PortOf(Socket s) => ((IPEndPoint)s.LocalEndPoint!).Port;

        private static Socket Listening(IPAddress address)
        {
            var s = Bound(address);
            s.Listen(16);
            return s;
        }

        [PlatformTheory(Needs.Linux)]
        [InlineData(true)]
        [InlineData(false)]
        public void OpenAndClosedPortsInAnyOrderGetTheSocketPathsVerdicts(bool native)
        {
            // Runs of closed ports (the fast path reuses each refused socket for the next probe)
            // broken by open ones: a reused socket that carried anything over would misreport.
            var sockets = new List<Socket>();
            try
            {
                var expected = new Dictionary<int, PortStatus>();
                var order = new List<int>();
                for (int i = 0; i < 60; i++)
                {
                    bool open = i % 15 == 7;
                    var s = open ? Listening(IPAddress.Loopback) : Bound(IPAddress.Loopback);
                    sockets.Add(s);
                    expected[PortOf(s)] = open ? PortStatus.Open : PortStatus.Closed;
                    order.Add(PortOf(s));
                }

                var options = new PortScanOptions { NativeConnect = native, Timeout = TimeSpan.FromSeconds(15) };
                var (results, nativeConnects) = Scan(options, TimeSpan.FromSeconds(120), new PortScanTarget("127.0.0.1", order.ToArray()));
                Assert.Equal(order.Count, results.Count);
                foreach (var r in results)
                {
                    Assert.Equal(expected[r.Port], r.Status);
                    Assert.Equal(IPAddress.Loopback, r.Address);
                    Assert.NotNull(r.Latency);
                    Assert.Equal(r.Status == PortStatus.Closed ? "Connection refused." : null, r.Detail);
                }

                if (native)
                {
                    Assert.InRange(nativeConnects, order.Count, order.Count * 2);
                }
                else
                {
                    Assert.Equal(0, nativeConnects);
                }
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }

        [PlatformFact(Needs.Linux | Needs.IPv6)]
        public void IPv6AndIPv4TargetsInOneScanAreEachRight()
        {
            var sockets = new[] { Listening(IPAddress.IPv6Loopback), Bound(IPAddress.IPv6Loopback), Listening(IPAddress.Loopback), Bound(IPAddress.Loopback) };
            try
            {
                var v6 = new PortScanTarget("::1", new[] { PortOf(sockets[1]), PortOf(sockets[0]), PortOf(sockets[1]) });
                var v4 = new PortScanTarget("127.0.0.1", new[] { PortOf(sockets[3]), PortOf(sockets[2]), PortOf(sockets[3]) });
                var (results, nativeConnects) = Scan(new PortScanOptions { Timeout = TimeSpan.FromSeconds(15) }, TimeSpan.FromSeconds(60), v6, v4);
                Assert.Equal(6, results.Count);
                foreach (var r in results)
                {
                    bool isV6 = r.ComputerName == "::1";
                    Assert.Equal(isV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, r.Address);
                    int openPort = PortOf(sockets[isV6 ? 0 : 2]);
                    Assert.Equal(r.Port == openPort ? PortStatus.Open : PortStatus.Closed, r.Status);
                }

                Assert.InRange(nativeConnects, 6, 12);
            }
            finally
            {
                foreach (var s in sockets)
                {
                    s.Dispose();
                }
            }
        }

        [PlatformFact(Needs.Linux)]
        public void ASocketConnectedToItselfIsClosedOnTheFastPathToo()
        {
            using var probe = Bound(IPAddress.Loopback);
            int port = PortOf(probe);
            probe.Dispose();
            var options = new PortScanOptions { LocalEndPointFor = remote => new IPEndPoint(IPAddress.Loopback, remote.Port), Timeout = TimeSpan.FromSeconds(15) };
            var (results, nativeConnects) = Scan(options, TimeSpan.FromSeconds(60), new PortScanTarget("127.0.0.1", new[] { port }));
            var result = Assert.Single(results);
            Assert.Equal(PortStatus.Closed, result.Status);
            Assert.Contains("its own socket", result.Detail);
            Assert.Equal(1, nativeConnects);
        }

        [PlatformFact(Needs.Linux)]
        public async Task AConnectThatWaitsIsReportedOpenWhenTheAnswerComesLater()
        {
            // The listener's accept queue is full: the SYN goes unanswered until the queue drains and
            // the kernel sends the SYN again (about 1 s later), so the probe waits on the epoll thread.
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                using var scanner = new PortScanner(new PortScanOptions { Timeout = TimeSpan.FromSeconds(20), Retries = 0 }, CancellationToken.None);
                scanner.Add(new PortScanTarget("127.0.0.1", new[] { port }));
                scanner.Complete();
                var clock = Stopwatch.StartNew();
                while (scanner.NativeConnects == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(10);
                }

                // The SYN went out and was dropped; from now on the queue is drained as it fills
                // (the fillers' own SYNs come again too), so the kernel's next SYN is answered.
                await Task.Delay(300);
                Assert.False(scanner.TryTake(out _, 0), "the probe answered before the queue was drained");
                listener.Blocking = false;
                var results = new List<PortCheckResult>();
                while (!scanner.IsFinished && clock.Elapsed < TimeSpan.FromSeconds(60))
                {
                    try
                    {
                        listener.Accept().Dispose();
                    }
                    catch (SocketException)
                    {
                        if (scanner.TryTake(out var item, 20))
                        {
                            results.Add(item.Result);
                        }
                    }
                }

                long nativeConnects = scanner.NativeConnects;
                var result = Assert.Single(results);
                Assert.Equal(PortStatus.Open, result.Status);
                Assert.InRange(result.Latency!.Value, 300, 20000);
                Assert.Equal(1, nativeConnects);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }

        [PlatformFact(Needs.Linux)]
        public async Task ASilentPortGetsItsHedgedConnectsAndIsFilteredAfterTheTimeout()
        {
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                var clock = Stopwatch.StartNew();
                // Hedges fall due at 2 s and 4 s: one sweeper pass late by more than 2 s (a starved
                // timer thread on a loaded machine) would meet the timeout before a hedge.
                var options = new PortScanOptions { Timeout = TimeSpan.FromSeconds(6), Retries = 2 };
                var (results, nativeConnects) = Scan(options, TimeSpan.FromSeconds(90), new PortScanTarget("127.0.0.1", new[] { port }));
                var result = Assert.Single(results);
                Assert.Equal(PortStatus.Filtered, result.Status);
                Assert.Contains("No answer within 6 s (3 tries)", result.Detail);
                Assert.Null(result.Latency);
                Assert.Equal(3, nativeConnects);
                Assert.InRange(clock.Elapsed.TotalSeconds, 5.5, 60);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }
    }

    /// <summary>Descriptor counts are only meaningful while no other test opens sockets.</summary>
    [Collection(nameof(FullSweepCollection))]
    public class NativeConnectDescriptorTests
    {
        private static int OpenDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

        [PlatformFact(Needs.Linux)]
        public async Task AScanLeavesNoDescriptorOpenWhateverItsProbesMet()
        {
            // Closed ports (reused sockets), an open one, and silent ones still waiting when the scan
            // is disposed: every descriptor of the fast path is closed afterwards.
            var (silent, fillers) = await LoopbackPair.UnansweredPortAsync();
            var open = new TcpListener(IPAddress.Loopback, 0);
            open.Start();
            var closed = Enumerable.Range(0, 20).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToList();
            closed.ForEach(s => s.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
            try
            {
                var ports = closed.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port)
                    .Append(((IPEndPoint)open.LocalEndpoint).Port)
                    .Concat(Enumerable.Repeat(((IPEndPoint)silent.LocalEndPoint!).Port, 5))
                    .ToArray();
                int before = OpenDescriptors();
                var scanner = new PortScanner(new PortScanOptions { Timeout = TimeSpan.FromSeconds(30), Retries = 1 }, CancellationToken.None);
                scanner.Add(new PortScanTarget("127.0.0.1", ports));
                scanner.Complete();
                int taken = 0;
                var clock = Stopwatch.StartNew();
                while (taken < 21 && clock.Elapsed < TimeSpan.FromSeconds(60))
                {
                    if (scanner.TryTake(out _, 100))
                    {
                        taken++;
                    }
                }

                Assert.Equal(21, taken);
                while (scanner.NativeConnects < ports.Length && clock.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(20);
                }

                Assert.True(scanner.NativeConnects >= ports.Length, $"{scanner.NativeConnects} fast-path connects for {ports.Length} ports");
                scanner.Dispose();
                // The epoll thread ends within its 100 ms wait and closes its instance.
                int after = OpenDescriptors();
                for (int i = 0; i < 50 && after > before; i++)
                {
                    await Task.Delay(100);
                    after = OpenDescriptors();
                }

                Assert.True(after <= before, $"{after - before} descriptor(s) left open after the scan");
            }
            finally
            {
                closed.ForEach(s => s.Dispose());
                fillers.ForEach(s => s.Dispose());
                silent.Dispose();
                open.Stop();
            }
        }
    }
}

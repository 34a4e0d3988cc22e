using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class PortScannerTests
    {
        /// <summary>
        /// A loopback port that refuses connections (bound, not listening) and stays so while the socket
        /// lives: a port freed for "closed" could be taken by a parallel test before the probe.
        /// </summary>
        private static Socket ClosedPort(out int port)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)s.LocalEndPoint!).Port;
            return s;
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        internal static List<PortCheckResult> Scan(PortScanOptions options, params PortScanTarget[] targets) =>
            Items(options, targets).Select(i => i.Result).ToList();

        private static List<ScanItem<PortCheckResult>> Items(PortScanOptions options, params PortScanTarget[] targets)
        {
            using var scanner = new PortScanner(options, CancellationToken.None);
            foreach (var t in targets)
            {
                scanner.Add(t);
            }

            scanner.Complete();
            var items = new List<ScanItem<PortCheckResult>>();
            var limit = Stopwatch.StartNew();
            while (!scanner.IsFinished && limit.Elapsed < TimeSpan.FromSeconds(180))
            {
                if (scanner.TryTake(out var item, 100))
                {
                    items.Add(item);
                }
            }

            Assert.True(scanner.IsFinished, "the scan did not finish within 60 s");
            return items;
        }

        [Fact]
        public void FindsOpenAndClosedPortsWithLatency()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                int open = ((IPEndPoint)listener.LocalEndpoint).Port;
                using var closedSocket = ClosedPort(out int closed);
                var results = Scan(new PortScanOptions(), new PortScanTarget("127.0.0.1", new[] { open, closed }))
                    .ToDictionary(r => r.Port);
                Assert.Equal(PortStatus.Open, results[open].Status);
                Assert.Equal(PortStatus.Closed, results[closed].Status);
                Assert.Equal("127.0.0.1", results[open].ComputerName);
                Assert.Equal(IPAddress.Loopback, results[open].Address);
                Assert.InRange(results[open].Latency!.Value, 0.0001, 5000);
                Assert.NotNull(results[closed].Latency);
            }
            finally
            {
                listener.Stop();
            }
        }

        [Fact]
        public void ASocketConnectedToItselfIsClosedNotOpen()
        {
            // Bind the probe to the port it probes: the SYN meets itself (simultaneous open) and the
            // socket connects to itself, as a loopback sweep does when the OS picks the probed port.
            int port = FreePort();
            var options = new PortScanOptions { LocalEndPointFor = remote => new IPEndPoint(IPAddress.Loopback, remote.Port) };
            var result = Assert.Single(Scan(options, new PortScanTarget("127.0.0.1", new[] { port })));
            Assert.Equal(PortStatus.Closed, result.Status);
            Assert.Contains("its own socket", result.Detail);
        }

        [PlatformFact(Needs.Linux)]
        public async Task APortThatNeverAnswersIsFilteredAfterTheTimeout()
        {
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                var started = Stopwatch.StartNew();
                var result = Assert.Single(
                    Scan(new PortScanOptions { Timeout = TimeSpan.FromMilliseconds(400) }, new PortScanTarget("127.0.0.1", new[] { port })));
                Assert.Equal(PortStatus.Filtered, result.Status);
                Assert.Null(result.Latency);
                Assert.InRange(started.Elapsed.TotalSeconds, 0.3, 10);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }

        [PlatformTheory(Needs.Linux)]
        [InlineData(60)]
        [InlineData(0)]
        public async Task StopsPromptlyWhenCancelled(int timeoutSeconds)
        {
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                using var cts = new CancellationTokenSource();
                using var scanner = new PortScanner(new PortScanOptions { Timeout = TimeSpan.FromSeconds(timeoutSeconds), ThrottleLimit = 4 }, cts.Token);
                scanner.Add(new PortScanTarget("127.0.0.1", Enumerable.Repeat(port, 8).ToArray()));
                scanner.Complete();
                cts.CancelAfter(300);
                var started = Stopwatch.StartNew();
                Assert.ThrowsAny<OperationCanceledException>(() =>
                {
                    while (!scanner.IsFinished && started.Elapsed < TimeSpan.FromSeconds(30))
                    {
                        scanner.TryTake(out _, 100);
                    }
                });
                Assert.InRange(started.Elapsed.TotalSeconds, 0, 5);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }

        [Fact]
        public void ExpandsARangeToOneResultPerAddressAndPort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                int open = ((IPEndPoint)listener.LocalEndpoint).Port;
                using var closedSocket = ClosedPort(out int closed);
                var results = Scan(new PortScanOptions(), new PortScanTarget("127.0.0.0/30", new[] { open, closed })).ToList();
                Assert.Equal(8, results.Count);
                Assert.Equal(new[] { "127.0.0.0", "127.0.0.1", "127.0.0.2", "127.0.0.3" }, results.Select(r => r.ComputerName).Distinct().OrderBy(s => s));
                var hit = Assert.Single(results, r => r.Status == PortStatus.Open);
                Assert.Equal("127.0.0.1", hit.ComputerName);
                Assert.Equal(open, hit.Port);
            }
            finally
            {
                listener.Stop();
            }
        }

        [Fact]
        public void RefusesLargeRangesUnlessAllowed()
        {
            using var scanner = new PortScanner(new PortScanOptions(), CancellationToken.None);
            var ex = Assert.Throws<PSSocketException>(() => scanner.Add(new PortScanTarget("10.0.0.0/16", new[] { 22 })));
            Assert.Equal(SocketErrorKind.RangeTooLarge, ex.Kind);
            using var forced = new PortScanner(new PortScanOptions { AllowLargeRanges = true }, CancellationToken.None);
            var tooBig = Assert.Throws<PSSocketException>(() => forced.Add(new PortScanTarget("10.0.0.0/7", new[] { 22 })));
            Assert.Equal(SocketErrorKind.RangeTooLarge, tooBig.Kind);
            var wrongFamily = new PortScanner(new PortScanOptions { AddressFamily = AddressFamily.InterNetworkV6 }, CancellationToken.None);
            using (wrongFamily)
            {
                Assert.Equal(SocketErrorKind.InvalidArgument,
                    Assert.Throws<PSSocketException>(() => wrongFamily.Add(new PortScanTarget("127.0.0.0/30", new[] { 22 }))).Kind);
            }
        }

        [Fact]
        public void AnUnresolvableNameGivesOneErrorAndErrorResultsWhileOthersComplete()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                int open = ((IPEndPoint)listener.LocalEndpoint).Port;
                var items = Items(new PortScanOptions(),
                    new PortScanTarget("no-such-host.invalid", new[] { 22, 80 }),
                    new PortScanTarget("127.0.0.1", new[] { open }));
                var failed = Assert.Single(items, i => i.Error is not null);
                Assert.Equal(SocketErrorKind.HostNotFound, failed.Error!.Kind);
                Assert.Equal(0, failed.TargetId);
                Assert.Equal(0, failed.PortIndex);
                var results = items.Select(i => i.Result).ToList();
                Assert.All(results.Where(r => r.Status == PortStatus.Error), r => Assert.Null(r.Latency));
                Assert.Equal(3, results.Count);
                Assert.All(results.Where(r => r.ComputerName == "no-such-host.invalid"), r => Assert.Equal(PortStatus.Error, r.Status));
                Assert.Equal(PortStatus.Open, Assert.Single(results, r => r.ComputerName == "127.0.0.1").Status);
            }
            finally
            {
                listener.Stop();
            }
        }

        // The scan's results, or what it had when it did not finish within the limit (old code: a probe
        // that threw kept its slot and the scan never ended).
        /// <summary>Scans within a time limit: the results, whether the scan finished, and how many connects took the Linux fast path.</summary>
        internal static (List<PortCheckResult> Results, bool Finished, long NativeConnects) ScanWithin(PortScanOptions options, TimeSpan limit, params PortScanTarget[] targets)
        {
            using var scanner = new PortScanner(options, CancellationToken.None);
            foreach (var target in targets)
            {
                scanner.Add(target);
            }

            scanner.Complete();
            var results = new List<PortCheckResult>();
            var clock = Stopwatch.StartNew();
            while (!scanner.IsFinished && clock.Elapsed < limit)
            {
                if (scanner.TryTake(out var item, 100))
                {
                    results.Add(item.Result);
                }
            }

            return (results, scanner.IsFinished, scanner.NativeConnects);
        }

        [Fact]
        public void AProbeThatThrowsEndsAsAnErrorRowAndTheScanStillEnds()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                int open = ((IPEndPoint)listener.LocalEndpoint).Port;
                using var closedSocket = ClosedPort(out int closed);
                int throwing = FreePort();
                var options = new PortScanOptions
                {
                    LocalEndPointFor = remote => remote.Port == throwing ? throw new InvalidOperationException("injected probe failure") : null,
                };
                var (results, finished, _) = ScanWithin(options, TimeSpan.FromSeconds(60), new PortScanTarget("127.0.0.1", new[] { open, throwing, closed }));
                Assert.True(finished, "the scan did not end after a probe threw");
                var byPort = results.ToDictionary(r => r.Port);
                Assert.Equal(3, byPort.Count);
                Assert.Equal(PortStatus.Open, byPort[open].Status);
                Assert.Equal(PortStatus.Closed, byPort[closed].Status);
                Assert.Equal(PortStatus.Error, byPort[throwing].Status);
                Assert.Contains("injected probe failure", byPort[throwing].Detail);
            }
            finally
            {
                listener.Stop();
            }
        }

        [PlatformFact(Needs.Linux)]
        public async Task AHedgedConnectThatThrowsStillEndsTheProbe()
        {
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                int calls = 0;
                var options = new PortScanOptions
                {
                    Timeout = TimeSpan.FromSeconds(2),
                    Retries = 1,
                    LocalEndPointFor = _ => Interlocked.Increment(ref calls) > 1 ? throw new InvalidOperationException("injected hedge failure") : null,
                };
                var (results, finished, _) = ScanWithin(options, TimeSpan.FromSeconds(60), new PortScanTarget("127.0.0.1", new[] { port }));
                Assert.True(finished, "the scan did not end after a hedged connect threw");
                var result = Assert.Single(results);
                Assert.Equal(PortStatus.Error, result.Status);
                Assert.Contains("injected hedge failure", result.Detail);
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }

        [PlatformFact(Needs.Linux)]
        public async Task ASilentPortIsTriedAgainBeforeItsTimeoutIsUpAndIsFilteredAfterTheTimeout()
        {
            var (listener, fillers) = await LoopbackPair.UnansweredPortAsync();
            try
            {
                int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                var connects = new ConcurrentQueue<TimeSpan>();
                var clock = Stopwatch.StartNew();
                var timeout = TimeSpan.FromSeconds(4);
                var options = new PortScanOptions
                {
                    Timeout = timeout,
                    Retries = 1,
                    LocalEndPointFor = _ =>
                    {
                        connects.Enqueue(clock.Elapsed);
                        return null;
                    },
                };
                var (results, finished, _) = ScanWithin(options, TimeSpan.FromSeconds(60), new PortScanTarget("127.0.0.1", new[] { port }));
                Assert.True(finished);
                var result = Assert.Single(results);
                Assert.Equal(PortStatus.Filtered, result.Status);
                Assert.Contains("(2 tries)", result.Detail);
                var at = connects.ToArray();
                Assert.Equal(2, at.Length);
                // The second connect went out while the first still waited for its answer (hedged),
                // not after the first one's timeout.
                Assert.True(at[1] - at[0] < timeout, $"the retry started {(at[1] - at[0]).TotalSeconds:0.00} s after the first connect");
            }
            finally
            {
                fillers.ForEach(s => s.Dispose());
                listener.Dispose();
            }
        }
    }
}

using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The full 65,535-port loopback sweep runs alone: in parallel it would probe the listeners of
    /// other test classes (and their connections would be its stray clients), and the load of the
    /// other tests slows its probes.
    /// </summary>
    [CollectionDefinition(nameof(FullSweepCollection), DisableParallelization = true)]
    public sealed class FullSweepCollection
    {
    }

    [Collection(nameof(FullSweepCollection))]
    public class FullSweepTests
    {
        [Fact]
        public void SweepsEveryLoopbackPortAndFindsExactlyTheListeners()
        {
            var listeners = Enumerable.Range(0, 5).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
            listeners.ForEach(l => l.Start());
            try
            {
                var mine = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToHashSet();
                // Loopback answers every probe at once (a SYN-ACK or a reset); the timeout is not the
                // subject here, so it is generous: on a loaded machine a 1 s probe of a closed port
                // can expire before its reset is seen, and would read Filtered.
                var options = new PortScanOptions { Timeout = TimeSpan.FromSeconds(15) };
                var results = PortScannerTests.Scan(options, new PortScanTarget("127.0.0.1", PortSpec.Parse("1-65535")));
                Assert.Equal(65535, results.Count);
                Assert.Equal(65535, results.Select(r => r.Port).Distinct().Count());
                var open = results.Where(r => r.Status == PortStatus.Open).Select(r => r.Port).ToHashSet();
                Assert.Subset(open, mine);
                Assert.DoesNotContain(results, r => r.Status is PortStatus.Error or PortStatus.Filtered);
            }
            finally
            {
                listeners.ForEach(l => l.Stop());
            }
        }
    }
}

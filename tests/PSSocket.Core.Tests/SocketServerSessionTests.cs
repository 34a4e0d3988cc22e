using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class SocketServerSessionTests
    {
        private sealed class DelegateHandler : IServerClientHandler
        {
            private readonly Func<object, CancellationToken, Task<ServerHandlerResult>> _serve;

            public DelegateHandler(Func<object, CancellationToken, Task<ServerHandlerResult>> serve) => _serve = serve;

            public int Disposed;

            public bool IsServingThread => false;

            public Task<ServerHandlerResult> HandleAsync(object client, CancellationToken token) => _serve(client, token);

            public void Dispose() => Interlocked.Increment(ref Disposed);

            public void Interrupt()
            {
            }
        }

        private static async Task<string> EchoOneLineAsync(TcpClient client, string line)
        {
            var stream = client.GetStream();
            var bytes = Encoding.ASCII.GetBytes(line + "\n");
            await stream.WriteAsync(bytes, 0, bytes.Length);
            var buffer = new byte[256];
            int n = await stream.ReadAsync(buffer, 0, buffer.Length).WaitAsync(TimeSpan.FromSeconds(10));
            return Encoding.ASCII.GetString(buffer, 0, n).TrimEnd('\n');
        }

        [Fact]
        public async Task ServesNoMoreThanTheThrottleLimitAndTheNextClientWaitsInTheBacklog()
        {
            var release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new DelegateHandler(async (client, token) =>
            {
                var session = (TcpSession)client;
                var line = await session.ReceiveLineAsync(Encoding.ASCII, 1024, Deadline.AfterSeconds(10), token);
                await session.SendAsync(line.Concat(new byte[] { 10 }).ToArray(), 0, line.Length + 1, Deadline.AfterSeconds(10), token);
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20), token);
                return new ServerHandlerResult(new object[] { "done" }, null, threw: false);
            });
            using var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 1, GlobalSessionRegistry.Instance);
            server.Start(handler);
            using var first = new TcpClient();
            await first.ConnectAsync(IPAddress.Loopback, server.Port);
            Assert.Equal("one", await EchoOneLineAsync(first, "one"));

            using var second = new TcpClient();
            await second.ConnectAsync(IPAddress.Loopback, server.Port);
            var waiting = EchoOneLineAsync(second, "two");
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted);
            Assert.True(server.ClientsActive <= 1);

            release.SetResult(true);
            Assert.Equal("two", await waiting);
            await server.StopAsync(Deadline.AfterSeconds(10), wait: true, TimeSpan.FromSeconds(3), CancellationToken.None);
            await server.Completion.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Contains(server.TakeRecords(), r => r.Succeeded && r.Output.SequenceEqual(new object[] { "done" }));
            Assert.Equal(1, handler.Disposed);
            Assert.Equal(SessionState.Stopped, server.State);
        }

        [Fact]
        public async Task StoppingCancelsHandlersClosesClientsAndReleasesTheHandler()
        {
            var started = new TaskCompletionSource<TcpSession>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new DelegateHandler(async (client, token) =>
            {
                started.TrySetResult((TcpSession)client);
                await Task.Delay(Timeout.Infinite, token);
                return new ServerHandlerResult(null, null, threw: false);
            });
            var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 4, GlobalSessionRegistry.Instance);
            server.Start(handler);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            var session = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(SessionManager.Get(session.Id));

            server.Close("test");
            await server.Completion.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(1, handler.Disposed);
            Assert.Equal(0, server.ClientsActive);
            Assert.True(session.IsClosed);
            Assert.Null(SessionManager.Get(session.Id));
            Assert.Equal(0, await client.GetStream().ReadAsync(new byte[16], 0, 16).WaitAsync(TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task UdpRepliesGoBackToTheSender()
        {
            var handler = new DelegateHandler((client, token) =>
            {
                var request = (UdpServerRequest)client;
                var replies = ServerReplies.ToDatagrams(new object[] { "re:" + request.Text }, Encoding.ASCII);
                return Task.FromResult(new ServerHandlerResult(new object[] { request.Text }, null, false, replies));
            });
            using var server = new UdpServerSession(IPAddress.Loopback, 0, throttleLimit: 2, GlobalSessionRegistry.Instance);
            server.Start(handler);
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            await udp.SendAsync(Encoding.ASCII.GetBytes("hi"), 2, new IPEndPoint(IPAddress.Loopback, server.Port));
            var reply = await udp.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("re:hi", Encoding.ASCII.GetString(reply.Buffer));
            Assert.Equal(SessionKind.UdpServer, server.Kind);
        }

        [Fact]
        public void RepliesJoinRunsOfBytesAndEncodeText()
        {
            var datagrams = ServerReplies.ToDatagrams(new object?[] { (byte)1, (byte)2, "ab", null, new byte[] { 9 }, (byte)3, 42 }, Encoding.ASCII);
            Assert.Equal(new List<byte[]> { new byte[] { 1, 2 }, Encoding.ASCII.GetBytes("ab"), new byte[] { 9 }, new byte[] { 3 }, Encoding.ASCII.GetBytes("42") }, datagrams);
        }

        private sealed class RecordingRegistry : ISessionRegistry
        {
            public readonly System.Collections.Concurrent.ConcurrentQueue<string> Calls = new();
            private int _id = 1000;

            public void Register(SocketSession session, string? name = null)
            {
                session.Id = Interlocked.Increment(ref _id);
                Calls.Enqueue($"register {session.Kind}{(name is null ? "" : " " + name)}");
            }

            // A registry never closes: the session it lets go has closed already.
            public void Unregister(SocketSession session) => Calls.Enqueue($"unregister {session.Kind}{(session.IsClosed ? " closed" : " open")}");
        }

        [Fact]
        public async Task AClientItsScriptBlockClosesLeavesTheRegistryAtOnceAndTheServerListsItselfThere()
        {
            var registry = new RecordingRegistry();
            var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new DelegateHandler(async (client, token) =>
            {
                // Remove-SocketSession on its own client, from inside the script block.
                ((SocketSession)client).Close("closed by the script block");
                closed.SetResult(true);
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return new ServerHandlerResult(null, null, threw: false);
            });
            using var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 1, registry);
            server.Register("web");
            Assert.Contains("register TcpServer web", registry.Calls);
            server.Start(handler);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // The handler still runs, yet the closed client is out of the registry, told after it closed.
            Assert.Equal(new[] { "register TcpServer web", "register Tcp", "unregister Tcp closed" }, registry.Calls.ToArray());
            release.SetResult(true);
            await server.WaitForRecordsAsync(Deadline.AfterSeconds(10), CancellationToken.None);
            Assert.Single(registry.Calls, c => c.StartsWith("unregister Tcp", StringComparison.Ordinal));
            server.Close("test");
            Assert.Contains("unregister TcpServer closed", registry.Calls);
        }

        [Fact]
        public async Task ClientsGoToTheRegistryItIsGivenAndClosingLeavesItWithoutBlocking()
        {
            var registry = new RecordingRegistry();
            var entered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new DelegateHandler(async (client, token) =>
            {
                entered.TrySetResult(true);

                // Ignores the token, like a script block inside a long .NET call.
                await Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None);
                return new ServerHandlerResult(null, null, threw: false);
            });
            var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 2, registry);
            server.Start(handler);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Contains("register Tcp", registry.Calls);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            server.Close("test");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Close took {clock.Elapsed}");
            Assert.Contains("unregister TcpServer closed", registry.Calls);

            var stuck = await server.StopAsync(Deadline.AfterSeconds(1), wait: true, TimeSpan.FromMilliseconds(500), CancellationToken.None);
            Assert.Single(stuck);
            Assert.Contains("unregister Tcp closed", registry.Calls);
        }

        [Fact]
        public async Task AnIdleClientIsClosedAndRecordedWithItsReason()
        {
            var handler = new DelegateHandler(async (client, token) =>
            {
                await Task.Delay(Timeout.Infinite, token);
                return new ServerHandlerResult(null, null, threw: false);
            });
            using var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 1, new RecordingRegistry()) { IdleTimeout = TimeSpan.FromMilliseconds(500) };
            server.Start(handler);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            Assert.Equal(0, await client.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            await server.WaitForRecordsAsync(Deadline.AfterSeconds(10), CancellationToken.None);
            var record = Assert.Single(server.TakeRecords());
            Assert.False(record.Succeeded);
            Assert.Contains("idle timeout", record.CloseReason, StringComparison.Ordinal);
        }

        [Fact]
        public async Task AWallClockStepDoesNotMakeAClientIdle()
        {
            var stepped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new DelegateHandler(async (client, token) =>
            {
                // The wall clock jumps an hour ahead (as after an NTP step): the client's last
                // activity now reads an hour old, while on the monotonic clock it is fresh.
                var ticks = typeof(SessionLedger).GetField("_lastActivityTicks", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
                ticks.SetValue(((SocketSession)client).Ledger, DateTime.Now.AddHours(-1).Ticks);
                stepped.SetResult(true);
                await Task.Delay(Timeout.Infinite, token);
                return new ServerHandlerResult(null, null, threw: false);
            });
            using var server = new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 1, new RecordingRegistry()) { IdleTimeout = TimeSpan.FromSeconds(4) };
            server.Start(handler);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            await stepped.Task.WaitAsync(TimeSpan.FromSeconds(10));
            var read = client.GetStream().ReadAsync(new byte[16]).AsTask();
            await Task.Delay(1500);
            Assert.False(read.IsCompleted, "the server closed a client that was idle for less than its idle timeout");

            // Idle for real, it is closed by the monotonic clock.
            Assert.Equal(0, await read.WaitAsync(TimeSpan.FromSeconds(15)));
        }

        [Fact]
        public void RecordsAreCappedByBytesOldestFirst()
        {
            using var server = new UdpServerSession(IPAddress.Loopback, 0, throttleLimit: 1, new RecordingRegistry()) { MaxRecordBytes = 3000 };
            var big = new ServerHandlerResult(new object[] { new string('x', 1000) }, null, threw: false);
            for (int i = 0; i < 5; i++)
            {
                server.AddRecord(new ServerClientRecord(server, null, DateTime.Now, TimeSpan.Zero, big, null));
            }

            Assert.Single(server.TakeRecords());
            Assert.Equal(4, server.RecordsDropped);
            Assert.True(server.RecordBytesDropped > 8000);
        }

        [Fact]
        public void RefusesAThrottleLimitBelowOne()
        {
            Assert.Equal(SocketErrorKind.InvalidArgument,
                Assert.Throws<PSSocketException>(() => new TcpServerSession(IPAddress.Loopback, 0, throttleLimit: 0, GlobalSessionRegistry.Instance)).Kind);
        }
    }
}

using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net.Native;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// The relay's kernel copy (splice through a pipe per direction, Linux under .NET): every byte
    /// once and in order both ways at the same time, the end of a direction seen, and a stop that
    /// ends both directions at once and lets the sockets close.
    /// </summary>
    public sealed class SplicedRelayTests
    {
        private const int Size = 24 * 1024 * 1024;

        [PlatformFact(Needs.Linux)]
        public void Moves_every_byte_once_and_in_order_both_ways_at_once_and_ends_each_direction_with_its_source()
        {
            var (clientPeer, clientSide) = LoopbackPair.Open();
            var (targetSide, targetPeer) = LoopbackPair.Open();
            using var splice = SplicedRelay.TryCreate(clientSide, targetSide);
            try
            {
                if (SkipOnMonoFactAttribute.IsMono)
                {
                    Assert.Null(splice);
                    return;
                }

                Assert.NotNull(splice);
                long up = 0, down = 0;
                var pumpUp = splice!.PumpAsync(0, clientSide, targetSide, n => Interlocked.Add(ref up, n));
                var pumpDown = splice.PumpAsync(1, targetSide, clientSide, n => Interlocked.Add(ref down, n));

                byte[] toTarget = Pattern(1), toClient = Pattern(2);
                var sendUp = Task.Run(() => SendAndHalfClose(clientPeer, toTarget));
                var sendDown = Task.Run(() => SendAndHalfClose(targetPeer, toClient));
                var readAtTarget = Task.Run(() => ReadToEnd(targetPeer, targetSide, pumpUp));
                var readAtClient = Task.Run(() => ReadToEnd(clientPeer, clientSide, pumpDown));
                Assert.True(Task.WaitAll(new Task[] { sendUp, sendDown, readAtTarget, readAtClient }, TimeSpan.FromSeconds(120)), "the transfer did not finish in 120 s");

                Assert.Equal(Hash(toTarget), Hash(readAtTarget.Result));
                Assert.Equal(Hash(toClient), Hash(readAtClient.Result));
                Assert.Equal(Size, Interlocked.Read(ref up));
                Assert.Equal(Size, Interlocked.Read(ref down));
            }
            finally
            {
                foreach (var s in new[] { clientPeer, clientSide, targetSide, targetPeer })
                {
                    s.Dispose();
                }
            }
        }

        [PlatformFact(Needs.Linux)]
        public void Stop_ends_both_waiting_directions_at_once_and_the_sockets_then_close_at_once()
        {
            var (clientPeer, clientSide) = LoopbackPair.Open();
            var (targetSide, targetPeer) = LoopbackPair.Open();
            using var splice = SplicedRelay.TryCreate(clientSide, targetSide);
            try
            {
                if (splice is null)
                {
                    Assert.True(SkipOnMonoFactAttribute.IsMono || !LinuxSplice.IsAvailable);
                    return;
                }

                var pumpUp = splice.PumpAsync(0, clientSide, targetSide, _ => { });
                var pumpDown = splice.PumpAsync(1, targetSide, clientSide, _ => { });
                clientPeer.Send(new byte[1000]);
                Assert.True(Eventually.TrueAsync(() => targetPeer.Available == 1000, TimeSpan.FromSeconds(10)).Result, "the first bytes were not relayed");

                var clock = Stopwatch.StartNew();
                splice.Stop();
                Assert.True(Task.WhenAll(pumpUp, pumpDown).ContinueWith(_ => { }).Wait(TimeSpan.FromSeconds(5)));
                Assert.IsType<ObjectDisposedException>(pumpUp.Exception!.GetBaseException());
                Assert.IsType<ObjectDisposedException>(pumpDown.Exception!.GetBaseException());
                clientSide.Dispose();
                targetSide.Dispose();
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"stopping took {clock.Elapsed}");
            }
            finally
            {
                foreach (var s in new[] { clientPeer, clientSide, targetSide, targetPeer })
                {
                    s.Dispose();
                }
            }
        }

        private static byte[] Pattern(int seed)
        {
            var data = new byte[Size];
            new Random(seed).NextBytes(data);
            return data;
        }

        private static void SendAndHalfClose(Socket socket, byte[] data)
        {
            for (int sent = 0; sent < data.Length;)
            {
                sent += socket.Send(data, sent, Math.Min(65536, data.Length - sent), SocketFlags.None);
            }

            socket.Shutdown(SocketShutdown.Send);
        }

        /// <summary>Reads until the pump that feeds the socket ended and passed its end on (as the relay does).</summary>
        private static byte[] ReadToEnd(Socket socket, Socket fedBy, Task pump)
        {
            _ = pump.ContinueWith(_ => fedBy.Shutdown(SocketShutdown.Send), TaskScheduler.Default);
            var got = new System.IO.MemoryStream();
            var buffer = new byte[256 * 1024];
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                got.Write(buffer, 0, n);
            }

            return got.ToArray();
        }

        private static string Hash(byte[] data)
        {
            using var sha = SHA256.Create();
            return Convert.ToBase64String(sha.ComputeHash(data));
        }
    }
}

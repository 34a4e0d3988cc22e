using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// A write that outlives its deadline keeps the caller's array until it finishes: nothing may
    /// reuse or clear that array meanwhile. The stream here takes a write's bytes only when the
    /// gate opens, as a kernel that copies from the array late would.
    /// </summary>
    public sealed class SendOwnershipTests : LoopbackSessionTests
    {
        public SendOwnershipTests()
            : base(accepted => new TcpSession(accepted, new GatedStream()))
        {
        }

        private GatedStream Wire => (GatedStream)Session.Connection.Stream;

        [Fact]
        public async Task ASecretThatTimedOutIsSentWholeAndClearedOnlyAfterItsWriteFinished()
        {
            var secret = System.Text.Encoding.ASCII.GetBytes("hunter2\n");
            var sending = Session.SendSecretAsync(secret, Deadline.After(TimeSpan.FromMilliseconds(200)), CancellationToken.None);
            var failure = await Assert.ThrowsAsync<PSSocketException>(() => sending);
            Assert.Equal(SocketErrorKind.SendTimeout, failure.Kind);
            Assert.Equal(System.Text.Encoding.ASCII.GetBytes("hunter2\n"), secret);

            Wire.Open();
            Assert.True(await Eventually.TrueAsync(() => Wire.Taken.Length == 8));
            Assert.Equal(System.Text.Encoding.ASCII.GetBytes("hunter2\n"), Wire.Taken);
            Assert.True(await Eventually.TrueAsync(() => secret.All(b => b == 0)));
        }

        [Fact]
        public void PipedItemsQueuedBehindATimedOutBatchArriveOnceAndInOrder()
        {
            using var batcher = new SendBatcher(Session, TimeSpan.FromMilliseconds(200), CancellationToken.None);
            var expected = new MemoryStream();
            var timeouts = 0;
            for (int i = 0; i < 3000; i++)
            {
                var line = System.Text.Encoding.ASCII.GetBytes($"L{i:D7} {new string('x', 90)}\n");
                expected.Write(line, 0, line.Length);
                try
                {
                    batcher.Add(line);
                }
                catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.SendTimeout)
                {
                    timeouts++;
                }

                if (timeouts == 3)
                {
                    Wire.Open();
                }
            }

            batcher.Flush();
            Assert.True(timeouts > 0);
            Assert.True(Eventually.True(() => Wire.Taken.Length >= expected.Length));
            Assert.Equal(expected.ToArray(), Wire.Taken);
            Assert.Equal(expected.Length, batcher.Written);
        }

        [Fact]
        public void TheLastFlushThatCannotGoSaysWhichBytesWereNotSent()
        {
            using var batcher = new SendBatcher(Session, TimeSpan.FromMilliseconds(200), CancellationToken.None);
            var batch = new byte[SendBatcher.FlushBytes];
            Assert.Throws<PSSocketException>(() => batcher.Add(batch));
            batcher.Add(new byte[10]);
            var failure = Assert.Throws<PSSocketException>(() => batcher.Flush());
            Assert.Equal(SocketErrorKind.SendTimeout, failure.Kind);
            Assert.Contains($"the last 10 bytes (from byte {SendBatcher.FlushBytes} of this pipeline's data on) were not sent", failure.Message, StringComparison.Ordinal);
            Wire.Open();
            Assert.True(Eventually.True(() => Wire.Taken.Length == SendBatcher.FlushBytes));
            Assert.Equal(0, batcher.Waiting);
        }

        /// <summary>Writes wait for the gate; a write's bytes are read from the caller's array only then.</summary>
        private sealed class GatedStream : Stream
        {
            private readonly TaskCompletionSource<bool> _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
            private readonly MemoryStream _taken = new();

            public byte[] Taken
            {
                get
                {
                    lock (_taken)
                    {
                        return _taken.ToArray();
                    }
                }
            }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position
            {
                get => throw new NotSupportedException();
                set => throw new NotSupportedException();
            }

            public void Open() => _gate.TrySetResult(true);

            public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await _gate.Task.ConfigureAwait(false);
                lock (_taken)
                {
                    _taken.Write(buffer, offset, count);
                }
            }

            public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => 0, TaskScheduler.Default);

            public override int Read(byte[] buffer, int offset, int count) => 0;

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();
        }
    }
}

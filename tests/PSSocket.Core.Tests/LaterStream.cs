using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace PSSocket.Tests
{
    /// <summary>
    /// A stream whose ReadAsync never completes synchronously: each finishes on another thread
    /// after a yield, as NetworkStream.ReadAsync does on .NET Framework and Mono (through
    /// BeginRead/EndRead). Read and writes pass straight through.
    /// </summary>
    internal sealed class LaterStream : Stream
    {
        private readonly Stream _inner;

        public LaterStream(Stream inner) => _inner = inner;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await Task.Yield();
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            return await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => _inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

using System.Net.Security;

namespace PSSocket.Sessions
{
    /// <summary>TLS in place: the stream stack gains an SslStream under both locks, with no read in flight.</summary>
    internal sealed partial class Connection
    {
        private const byte TlsHandshakeRecord = 0x16;
        private static readonly System.Reflection.MethodInfo? s_shutdownAsync = typeof(SslStream).GetMethod("ShutdownAsync", Type.EmptyTypes);

        /// <summary>
        /// Puts TLS over the connection as it is (right after connect or accept, or after a
        /// STARTTLS exchange). handshake gets the stream to wrap (bytes of the peer's handshake
        /// read ahead come first) and a question "has the peer sent nothing at all?" (a server's
        /// client that closes first is a probe); it returns the authenticated SslStream, which
        /// becomes the top of the stack, or throws.
        /// </summary>
        public Task<SslStream> UpgradeAsync(bool isServer, Func<Stream, Func<bool>, Task<SslStream>> handshake, Deadline deadline, CancellationToken token) =>
            ExclusiveAsync(async () =>
            {
                if (Tls is not null)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"Session {_owner} already uses TLS.", target: _owner);
                }

                ThrowIfFaulted("Starting TLS");
                if (_remoteClosed)
                {
                    throw new PSSocketException(SocketErrorKind.RemoteClosed, $"The peer of session {_owner} has closed the connection; TLS cannot start.", target: _owner);
                }

                if (_pendingWrite is not null)
                {
                    await FinishPendingWriteAsync(deadline, token).ConfigureAwait(false);
                }

                byte[] prefix = Array.Empty<byte>();
                if (_buffer.Count > 0)
                {
                    // Bytes read ahead of the upgrade are only kept when they are the start of the
                    // peer's TLS handshake; plaintext there would be an injection (CVE-2011-0411 style).
                    if (_buffer[0] != TlsHandshakeRecord)
                    {
                        throw new PSSocketException(SocketErrorKind.InvalidArgument,
                            $"Session {_owner} still holds {_buffer.Count} unencrypted bytes that arrived before TLS was started. Read them with Receive-SocketData first; they cannot be part of the encrypted conversation.",
                            target: _owner);
                    }

                    prefix = _buffer.Take(_buffer.Count);
                }

                // A server notes whether the client sent any byte: one that closes or resets first is a probe.
                var upgrade = prefix.Length > 0 || isServer ? new UpgradeStream(prefix, _stream) : null;
                var ssl = await handshake(upgrade ?? _stream, () => upgrade is { PeerSpoke: false }).ConfigureAwait(false);
                Tls = ssl;
                _stream = ssl;
                _encrypted = true;
                _ledger.Touch();
                return ssl;
            }, deadline, token);

        /// <summary>Starts sending close_notify on the stream (null where the runtime cannot): the end of one direction of a relayed TLS connection.</summary>
        internal static Task? BeginCloseNotify(SslStream ssl) => s_shutdownAsync?.Invoke(ssl, null) as Task;

        /// <summary>
        /// Tells a TLS peer the conversation ends on purpose (close_notify), so it does not take
        /// the close for a truncation attack. Bounded: a peer that does not read cannot hold it up.
        /// </summary>
        private void SendTlsCloseNotify()
        {
            var ssl = Tls;
            if (ssl is null || _fault is not null || IsWriting)
            {
                return;
            }

            try
            {
                // ShutdownAsync is missing from netstandard2.0 but present on .NET Framework 4.7+ and .NET Core.
                if (BeginCloseNotify(ssl) is not Task shutdown)
                {
                    return;
                }

                if (!shutdown.Wait(TimeSpan.FromSeconds(1)))
                {
                    _ = shutdown.ContinueWith(t => t.Exception, TaskScheduler.Default);
                }
            }
            catch (Exception ex) when (ex is AggregateException or IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or System.Reflection.TargetInvocationException)
            {
                _ledger.SetReason($"TLS close: {ex.GetBaseException().Message}");
            }
        }

        /// <summary>
        /// Gives the bytes read ahead of a TLS upgrade to SslStream before the socket's own, and
        /// notes whether the peer sent any byte at all.
        /// </summary>
        private sealed class UpgradeStream : Stream
        {
            private readonly byte[] _prefix;
            private readonly Stream _inner;
            private int _used;

            public UpgradeStream(byte[] prefix, Stream inner)
            {
                _prefix = prefix;
                _inner = inner;
                PeerSpoke = prefix.Length > 0;
            }

            /// <summary>Whether any byte came from the peer (read ahead, or read by the handshake).</summary>
            public bool PeerSpoke { get; private set; }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => _inner.CanWrite;

            public override long Length => throw new NotSupportedException();

            public override long Position
            {
                get => throw new NotSupportedException();
                set => throw new NotSupportedException();
            }

            private int TakePrefix(byte[] buffer, int offset, int count)
            {
                int n = Math.Min(count, _prefix.Length - _used);
                Buffer.BlockCopy(_prefix, _used, buffer, offset, n);
                _used += n;
                return n;
            }

            public override int Read(byte[] buffer, int offset, int count) =>
                _used < _prefix.Length ? TakePrefix(buffer, offset, count) : Noted(_inner.Read(buffer, offset, count));

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                _used < _prefix.Length ? Task.FromResult(TakePrefix(buffer, offset, count))
                : PeerSpoke ? _inner.ReadAsync(buffer, offset, count, cancellationToken)
                : NotedAsync(_inner.ReadAsync(buffer, offset, count, cancellationToken));

            private int Noted(int read)
            {
                PeerSpoke |= read > 0;
                return read;
            }

            private async Task<int> NotedAsync(Task<int> read) => Noted(await read.ConfigureAwait(false));

            public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                _inner.WriteAsync(buffer, offset, count, cancellationToken);

            public override void Flush() => _inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

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
}

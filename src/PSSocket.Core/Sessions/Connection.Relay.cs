namespace PSSocket.Sessions
{
    /// <summary>
    /// What a relay needs: bytes passed on as they come (no frame rule), a half-close passed on,
    /// and an abrupt end. Failures pass through as the stream raised them: the relay records its
    /// own client record from them.
    /// </summary>
    internal sealed partial class Connection
    {
        /// <summary>How long a relayed TLS side's close_notify may wait for a peer that reads nothing.</summary>
        private static readonly TimeSpan s_relayCloseNotifyLimit = TimeSpan.FromSeconds(5);

        /// <summary>
        /// The socket when a relay may move this connection's bytes below it (splice): a plain
        /// socket with nothing buffered, no read in flight and nobody observing; else null.
        /// </summary>
        public Socket? BareSocket => IsPlain && _buffer.Count == 0 && _pendingRead is null && !_remoteClosed && _observers.IsEmpty ? Socket : null;

        /// <summary>Counts bytes a relay moved below the connection.</summary>
        public void CountRelayed(long received, long sent)
        {
            if (received > 0)
            {
                _ledger.CountReceived(received);
            }

            if (sent > 0)
            {
                _ledger.CountSent(sent);
            }
        }

        /// <summary>What is buffered, else one read of the stream, into destination; 0 at the end of the peer's stream.</summary>
        public async Task<int> ReadSomeAsync(byte[] destination)
        {
            await _receiveLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_buffer.Count > 0)
                {
                    int taken = Math.Min(_buffer.Count, destination.Length);
                    var seg = _buffer.Segment;
                    Buffer.BlockCopy(seg.Array!, seg.Offset, destination, 0, taken);
                    _buffer.Skip(taken);
                    return taken;
                }

                if (_remoteClosed)
                {
                    return 0;
                }

                // A plain socket is read directly, as a relay always did: the stream adds nothing there.
                int n = IsPlain
                    ? await Socket!.ReceiveAsync(new ArraySegment<byte>(destination), SocketFlags.None).ConfigureAwait(false)
                    : await _stream.ReadAsync(destination, 0, destination.Length, CancellationToken.None).ConfigureAwait(false);
                if (n == 0)
                {
                    MarkRemoteClosed();
                }
                else
                {
                    _ledger.CountReceived(n);
                    _observers.Notify(DataDirection.Received, destination, 0, n, false);
                }

                return n;
            }
            finally
            {
                _receiveLock.Release();
            }
        }

        /// <summary>Writes all count bytes, waiting as long as the peer takes to read them.</summary>
        public async Task WriteAllAsync(byte[] data, int count)
        {
            await _sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (IsPlain)
                {
                    int sent = 0;
                    while (sent < count)
                    {
                        sent += await Socket!.SendAsync(new ArraySegment<byte>(data, sent, count - sent), SocketFlags.None).ConfigureAwait(false);
                    }
                }
                else
                {
                    await _stream.WriteAsync(data, 0, count, CancellationToken.None).ConfigureAwait(false);
                }

                _ledger.CountSent(count);
                _observers.Notify(DataDirection.Sent, data, 0, count, false);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>
        /// Passes a half-close on: close_notify on TLS (bounded: a peer that reads nothing cannot
        /// hold it; IOException when it was not taken in time), then the shutdown of our sending side.
        /// </summary>
        public async Task EndSendingAsync()
        {
            await _sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (Tls is { } ssl && BeginCloseNotify(ssl) is { } notify)
                {
                    var done = await Task.WhenAny(notify, Task.Delay(s_relayCloseNotifyLimit)).ConfigureAwait(false);
                    _ = notify.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    if (done != notify)
                    {
                        throw new IOException("The TLS close_notify was not taken within 5 seconds.");
                    }
                }

                Socket?.Shutdown(SocketShutdown.Send);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>Shuts both directions down: the peer reads end of stream and a pending read here returns.</summary>
        public void ShutdownBoth()
        {
            try
            {
                Socket?.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already gone: nothing to end.
            }
        }

        /// <summary>Ends at once, without a graceful shutdown: a read or write in flight fails now. Close still follows.</summary>
        public void Abort()
        {
            if (Socket is null)
            {
                _stream.Dispose();
                return;
            }

            Socket.Dispose();
        }
    }
}

using System;
using System.IO;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace PSSocket.Sessions
{
    /// <summary>One side of a relayed connection: its socket, and the TLS session over it when that side speaks TLS.</summary>
    internal sealed class RelaySide
    {
        public RelaySide(Socket socket) => Socket = socket;

        /// <summary>A side whose TLS handshake is already done (a client the accept-ahead handed over).</summary>
        public RelaySide(TcpSession tls)
        {
            Socket = tls.Socket!;
            Tls = tls;
        }

        public Socket Socket { get; }

        /// <summary>An unregistered session that did the TLS handshake; its stream is the SslStream.</summary>
        public TcpSession? Tls { get; private set; }

        private Stream? Stream => Tls?.Connection.Stream;

        public async Task StartTlsAsync(Func<TcpSession, Task> handshake, string? connectedHost)
        {
            // The session owns the socket from here: closing it closes the socket.
            var session = new TcpSession(Socket) { ConnectedHost = connectedHost };
            Tls = session;
            await handshake(session).ConfigureAwait(false);
        }

        public Task<int> ReadAsync(byte[] buffer) =>
            Stream is { } s ? s.ReadAsync(buffer, 0, buffer.Length) : Socket.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None);

        public async Task WriteAsync(byte[] buffer, int count)
        {
            if (Stream is { } s)
            {
                await s.WriteAsync(buffer, 0, count).ConfigureAwait(false);
                return;
            }

            int sent = 0;
            while (sent < count)
            {
                sent += await Socket.SendAsync(new ArraySegment<byte>(buffer, sent, count - sent), SocketFlags.None).ConfigureAwait(false);
            }
        }

        /// <summary>Passes a half-close on: close_notify on TLS (bounded: a peer that reads nothing cannot hold it), then the TCP shutdown.</summary>
        public async Task EndSendingAsync()
        {
            if (Stream is SslStream ssl && Connection.BeginCloseNotify(ssl) is { } notify)
            {
                var done = await Task.WhenAny(notify, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
                _ = notify.ContinueWith(t => t.Exception, TaskScheduler.Default);
                if (done != notify)
                {
                    throw new IOException("The TLS close_notify was not taken within 5 seconds.");
                }
            }

            Socket.Shutdown(SocketShutdown.Send);
        }

        /// <summary>Shuts both directions down: the peer reads end of stream and a pending read here returns.</summary>
        public void EndBoth()
        {
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already gone: nothing to end.
            }
        }

        public void Abort() => Socket.Dispose();

        public void Close(string reason)
        {
            if (Tls is { } session)
            {
                session.Close(reason);
            }
            else
            {
                Socket.Dispose();
            }
        }
    }
}

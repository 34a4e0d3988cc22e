namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Accepts the next client(s) of a listener (New-TcpListener or New-UnixListener); each becomes a registered Tcp (or Unix) session.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Wait, "TcpConnection")]
    [OutputType(typeof(TcpSession), typeof(UnixSession))]
    public sealed class WaitTcpConnectionCommand : SessionCmdlet
    {
        /// <summary>The listener (from New-TcpListener or New-UnixListener): a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Session", "Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Listener { get; set; } = null!;

        /// <summary>Seconds to wait for all -Count clients; 0 (the default) waits until a client comes or Ctrl+C.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; }

        /// <summary>How many clients to accept (default 1).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; } = 1;

        /// <summary>A name for the accepted session (with -Count above 1, each gets the name and a number).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <inheritdoc />
        protected override object? SessionArgument => Listener;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpListenerSession>(session, "Wait-TcpConnection needs a listener from New-TcpListener or New-UnixListener") is not { } listener)
            {
                return;
            }

            var deadline = Deadline.AfterSeconds(Timeout);
            for (int i = 1; i <= Count; i++)
            {
                TcpSession client;
                try
                {
                    client = Run(t => listener.AcceptSessionAsync(deadline, t));
                }
                catch (PSSocketException ex) when (ex.Target is TcpSession failed && ex.Kind is SocketErrorKind.AuthenticationFailed or SocketErrorKind.ConnectionTimedOut)
                {
                    // One client that fails the TLS handshake must not stop the listener's caller.
                    WriteSocketError(ex, Endpoints.Format(failed.RemoteEndPoint));
                    if (deadline.Expired)
                    {
                        return;
                    }

                    continue;
                }

                client.RegisterOrClose(Name is null ? null : Count == 1 ? Name : $"{Name}{i}");

                Verbose(() => $"Accepted {Endpoints.Format(client.RemoteEndPoint)} on {Endpoints.Format(client.LocalEndPoint)} (session {client.Id}){(client.IsTls ? $", TLS {client.TlsProtocol} {client.CipherSuite}" : "")}");
                WriteObject(client);
            }
        }
    }
}

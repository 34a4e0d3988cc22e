namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Stops a relay from Start-SocketRelay: stops accepting, optionally lets relayed connections finish, closes the rest; the relay stays listed as Stopped, its records readable, until Remove-SocketSession.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "SocketRelay", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(RelaySession), typeof(UdpRelaySession))]
    public sealed class StopSocketRelayCommand : StopServerCmdlet
    {
        /// <inheritdoc />
        protected override string CommandName => "Stop-SocketRelay";

        /// <inheritdoc />
        protected override string? Refuses(SocketSession session) =>
            session.Kind == SessionKind.Relay ? null : "Stop-SocketRelay stops relays from Start-SocketRelay (use Stop-SocketServer for servers, Remove-SocketSession for other sessions)";
    }
}

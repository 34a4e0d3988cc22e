namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Stops a server from Start-SocketServer (or a relay from Start-SocketRelay): stops accepting, optionally lets clients finish, closes the rest; the server stays listed as Stopped until Remove-SocketSession.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "SocketServer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(SocketServerSession))]
    public sealed class StopSocketServerCommand : StopServerCmdlet
    {
        /// <inheritdoc />
        protected override string CommandName => "Stop-SocketServer";

        /// <inheritdoc />
        protected override string? Refuses(SocketSession session) =>
            session is SocketServerSession ? null : "Stop-SocketServer stops servers from Start-SocketServer and relays from Start-SocketRelay (use Remove-SocketSession for other sessions)";
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// Base of the cmdlets that open a session and register it (connections, listeners, servers,
    /// relays): -Name is the name other cmdlets then accept for -Session.
    /// </summary>
    public abstract class NewSessionCmdlet : PSSocketCmdlet
    {
        /// <summary>A name for the session, unique among live sessions; other cmdlets accept it for -Session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }
    }
}

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

    /// <summary>
    /// A cmdlet that opens a session whose data is also read and written as text (TCP and Unix
    /// connections and listeners, UDP and raw sockets): -Encoding, declared once.
    /// </summary>
    public abstract class EncodedSessionCmdlet : NewSessionCmdlet
    {
        /// <summary>The text encoding of the session, or the one accepted sessions start with (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }
    }
}

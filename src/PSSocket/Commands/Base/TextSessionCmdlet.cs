namespace PSSocket.Commands
{
    /// <summary>
    /// A cmdlet that opens a text-speaking session (Connect-TcpSocket, Connect-UnixSocket) or a
    /// listener whose accepted sessions start with these settings (New-TcpListener,
    /// New-UnixListener): -Encoding and -NewLine, declared once. Each cmdlet's help page says what
    /// they mean for it.
    /// </summary>
    public abstract class TextSessionCmdlet : EncodedSessionCmdlet
    {
        /// <summary>What -Line sends and what ends a received line, or what accepted sessions start with (default "`n"; "`r`n", or Any: a line ends at "`r`n", "`n" or a bare "`r", and Any sends "`r`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }
    }
}

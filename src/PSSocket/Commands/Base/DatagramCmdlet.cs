namespace PSSocket.Commands
{
    /// <summary>
    /// Base of the cmdlets that open a datagram session (New-UdpListener, New-RawSocket): received
    /// datagrams wait in a queue of their own, and their Text is decoded with -Encoding.
    /// </summary>
    public abstract class DatagramCmdlet : EncodedSessionCmdlet
    {
        /// <summary>The most datagrams kept waiting to be read (default 10000); what arrives beyond it is counted in the session's DroppedDatagrams.</summary>
        [Parameter]
        [ValidateRange(1, 10_000_000)]
        public int QueueLimit { get; set; } = DatagramSession.DefaultQueueLimit;
    }
}

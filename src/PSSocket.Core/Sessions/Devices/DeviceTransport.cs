namespace PSSocket
{
    /// <summary>How Invoke-DeviceCommand -ComputerName reaches the devices.</summary>
    public enum DeviceTransport
    {
        /// <summary>An SSH shell channel.</summary>
        Ssh,

        /// <summary>Telnet: the login's user name and password questions answered from -Credential.</summary>
        Telnet,
    }
}

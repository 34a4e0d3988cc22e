namespace PSSocket
{
    /// <summary>A device's answer to one command, as Invoke-DeviceCommand returns it.</summary>
    public sealed class DeviceCommandResult
    {
        /// <summary>The device: the host name connected to, or the session's remote address.</summary>
        public string ComputerName { get; set; } = "";

        /// <summary>The device type whose profile was used.</summary>
        public string DeviceType { get; set; } = "";

        /// <summary>The session the command ran on (closed again after a -ComputerName run).</summary>
        public SocketSession? Session { get; set; }

        /// <summary>The command as sent (without the line end).</summary>
        public string Command { get; set; } = "";

        /// <summary>The device's answer: without the echoed command, pager prompts, escape sequences and the trailing prompt; lines end with "`n" and the last has no line end.</summary>
        public string Output { get; set; } = "";

        /// <summary>The prompt the device showed after the command (the new one after a hostname or mode change); empty when -Expect or -IdleTimeout ended the command.</summary>
        public string Prompt { get; set; } = "";

        /// <summary>From sending the command to its end marker.</summary>
        public TimeSpan Elapsed { get; set; }

        /// <summary>How many pager prompts were answered during the command.</summary>
        public int Pages { get; set; }

        /// <inheritdoc />
        public override string ToString() => Output;
    }
}

namespace PSSocket
{
    /// <summary>What Invoke-SshCommand returns for a command run on one host: a non-zero ExitStatus is a result, not an error.</summary>
    public sealed class SshCommandResult
    {
        /// <summary>The host the command ran on.</summary>
        public string ComputerName { get; set; } = "";

        /// <summary>The command line sent.</summary>
        public string Command { get; set; } = "";

        /// <summary>The command's exit status, or null when it ended without one (killed by a signal).</summary>
        public int? ExitStatus { get; set; }

        /// <summary>The signal that ended the command, if one did.</summary>
        public string? ExitSignal { get; set; }

        /// <summary>What the command wrote to standard output.</summary>
        public string Output { get; set; } = "";

        /// <summary>What the command wrote to standard error.</summary>
        public string Error { get; set; } = "";

        /// <summary>How long the command took (connecting and logging in included when Invoke-SshCommand connected for it).</summary>
        public TimeSpan Elapsed { get; set; }

        /// <summary>The user the command ran as.</summary>
        public string User { get; set; } = "";

        /// <summary>The SSH port connected to.</summary>
        public int Port { get; set; }

        /// <summary>The result of a command that ran on a host.</summary>
        public static SshCommandResult From(Sessions.Ssh.SshExecOutcome outcome, string computerName, int port, string user, string command, TimeSpan elapsed) => new()
        {
            ComputerName = computerName,
            Command = command,
            ExitStatus = outcome?.ExitStatus,
            ExitSignal = outcome?.ExitSignal,
            Output = outcome?.Output ?? "",
            Error = outcome?.Error ?? "",
            Elapsed = elapsed,
            User = user,
            Port = port,
        };

        /// <inheritdoc />
        public override string ToString() => Output;
    }
}

namespace PSSocket
{
    /// <summary>The one place engine failures become ErrorRecords: stable ErrorId, category, target.</summary>
    internal static class ErrorRecords
    {
        public static ErrorCategory CategoryOf(SocketErrorKind kind) => kind switch
        {
            SocketErrorKind.ConnectionRefused or SocketErrorKind.ConnectionReset or SocketErrorKind.RemoteClosed
                or SocketErrorKind.NetworkUnreachable or SocketErrorKind.SocketError => ErrorCategory.ConnectionError,
            SocketErrorKind.ConnectionTimedOut or SocketErrorKind.ReceiveTimeout or SocketErrorKind.SendTimeout
                or SocketErrorKind.AcceptTimeout or SocketErrorKind.ExpectationFailed or SocketErrorKind.CommandTimeout => ErrorCategory.OperationTimeout,
            SocketErrorKind.HostNotFound or SocketErrorKind.SessionNotFound or SocketErrorKind.SocketNotFound => ErrorCategory.ObjectNotFound,
            SocketErrorKind.SessionClosed or SocketErrorKind.AddressInUse or SocketErrorKind.AddressNotAvailable => ErrorCategory.ResourceUnavailable,
            SocketErrorKind.DuplicateSessionName => ErrorCategory.ResourceExists,
            SocketErrorKind.ReceiveLimitExceeded or SocketErrorKind.RangeTooLarge => ErrorCategory.LimitsExceeded,
            SocketErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
            SocketErrorKind.AuthenticationFailed or SocketErrorKind.ProxyAuthenticationFailed or SocketErrorKind.RevocationUnknown => ErrorCategory.AuthenticationError,
            SocketErrorKind.ProxyUnreachable or SocketErrorKind.ProxyTargetRefused or SocketErrorKind.ProxyTargetUnreachable => ErrorCategory.ConnectionError,
            SocketErrorKind.ProxyTtlExpired => ErrorCategory.OperationTimeout,
            SocketErrorKind.ProxyNotAllowed => ErrorCategory.PermissionDenied,
            SocketErrorKind.ProxyError => ErrorCategory.ProtocolError,
            SocketErrorKind.NoClobber => ErrorCategory.ResourceExists,
            SocketErrorKind.HostKeyUnknown or SocketErrorKind.HostKeyMismatch => ErrorCategory.SecurityError,
            SocketErrorKind.PrivilegeDenied => ErrorCategory.PermissionDenied,
            SocketErrorKind.DeviceError => ErrorCategory.InvalidResult,
            SocketErrorKind.UnansweredQuestion => ErrorCategory.InvalidOperation,
            SocketErrorKind.NotASocket or SocketErrorKind.WrongSocketType => ErrorCategory.InvalidArgument,
            _ => ErrorCategory.InvalidArgument,
        };

        /// <summary>An ErrorRecord whose ErrorId is the failure kind.</summary>
        public static ErrorRecord From(PSSocketException ex, object? target = null) =>
            new(ex, ex.Kind.ToString(), CategoryOf(ex.Kind), target ?? ex.Target);

        /// <summary>
        /// A failure to open an output file. A NoClobber refusal names -Append as the other way out
        /// only on a command that has it (Start-SocketTranscript, Receive-SocketData -Path), never on
        /// one that cannot append (Start-SocketRelay, Connect-TcpSocket -TranscriptPath).
        /// </summary>
        public static ErrorRecord FromFileWrite(PSSocketException ex, object? target, bool canAppend)
        {
            var record = From(ex, target);
            if (canAppend && ex.Kind == SocketErrorKind.NoClobber)
            {
                record.ErrorDetails = new ErrorDetails(ex.Message + " -Append adds to it instead.");
            }

            return record;
        }

        /// <summary>What a client record keeps of a failure: the engine's kind as ErrorId, or the message of anything else; never the exception's stack trace.</summary>
        public static ErrorRecord ForRecord(Exception ex, object? target) =>
            ex is PSSocketException pse ? From(pse, target) : Create(SocketErrorKind.SocketError, ex.Message, target);

        public static ErrorRecord Create(SocketErrorKind kind, string message, object? target) =>
            From(new PSSocketException(kind, message, target: target), target);

        public static ErrorRecord SessionNotFound(object? value) =>
            Create(SocketErrorKind.SessionNotFound,
                $"No session matches '{Describe(value)}'. Get-SocketSession lists the open sessions.", value);

        public static ErrorRecord WrongKind(SocketSession session, string what) =>
            Create(SocketErrorKind.WrongSessionKind, $"Session {session} is a {session.Kind} session; {what}.", session);

        /// <summary>Enter-SocketSession in a host with no console to read keys from (the ISE, an embedded runspace).</summary>
        public static ErrorRecord NoConsole(string? hostName, object target) =>
            new(new PSInvalidOperationException(
                    $"Enter-SocketSession reads keys from a console, and this host ({hostName ?? "no host"}) has none; the Windows PowerShell ISE and programs that host PowerShell are such hosts. Run it in a console (powershell.exe, pwsh, Windows Terminal), or use Send-SocketData and Receive-SocketData here."),
                "NoConsole", ErrorCategory.ResourceUnavailable, target);

        public static ErrorRecord InvalidArgument(string message, object? target) =>
            Create(SocketErrorKind.InvalidArgument, message, target);

        /// <summary>
        /// A conversation that stopped at a step: the category of the cause (a timeout, a closed
        /// connection), or InvalidResult when the step's Fail text arrived; the conversation as target.
        /// </summary>
        public static ErrorRecord ConversationFailed(PSSocketException failure, object conversation) =>
            new(failure, failure.Kind.ToString(),
                failure.Kind != SocketErrorKind.ExpectationFailed ? CategoryOf(failure.Kind)
                : failure.InnerException is PSSocketException inner ? CategoryOf(inner.Kind) : ErrorCategory.InvalidResult,
                conversation);

        /// <summary>A blank or whitespace-only entry in a list of targets: named by its position, the rest goes on.</summary>
        public static ErrorRecord BlankTarget(string? entry, int position) =>
            InvalidArgument($"Entry {position} of the target list is blank ('{TextEncoding.Escape(entry ?? "")}'); it was skipped. Remove blank lines from the list.", entry);

        /// <summary>A -Pattern that is not a valid regular expression: misuse, so terminating.</summary>
        public static ErrorRecord InvalidPattern(ArgumentException ex, string pattern) =>
            new(ex, "InvalidPattern", ErrorCategory.InvalidArgument, pattern);

        /// <summary>A server's script block that was still running for a client when the server stopped.</summary>
        public static ErrorRecord StoppedByServer(Exception ex, object client) =>
            new(ex, "StoppedByServer", ErrorCategory.OperationStopped, client)
            {
                ErrorDetails = new ErrorDetails("The server stopped this client's script block (the server was stopped or the client timed out)."),
            };

        /// <summary>A file to read or write could not be opened; nothing was sent or taken.</summary>
        public static ErrorRecord FileOpenFailed(Exception ex, object? path) =>
            new(ex, "FileOpenFailed", ErrorCategory.OpenError, path);

        /// <summary>True for the exceptions opening a file throws when the path or its rights are wrong.</summary>
        public static bool IsFileOpenFailure(Exception ex) =>
            ex is System.IO.IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException or System.Security.SecurityException;

        private static string Describe(object? value) => value switch
        {
            null => "(null)",
            PSObject pso => Describe(pso.BaseObject),
            SocketSession s => s.ToString(),
            _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
        };
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Stops recording a session's traffic and closes the transcript file.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "SocketTranscript")]
    [OutputType(typeof(SocketTranscriptInfo))]
    public sealed class StopSocketTranscriptCommand : SessionCmdlet
    {
        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            string? path = (session as TcpSession)?.StopTranscript();
            if (path is null)
            {
                WriteError(ErrorRecords.Create(SocketErrorKind.InvalidArgument, $"Session {session} has no transcript running; start one with Start-SocketTranscript.", session));
                return;
            }

            Verbose(() => $"Stopped recording session {session.Id} to {path}");
            WriteObject(SocketTranscriptInfo.Read(session, path));
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Stops recording a session's traffic and closes the transcript file.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "SocketTranscript")]
    [OutputType(typeof(SocketTranscriptInfo))]
    public sealed class StopSocketTranscriptCommand : PipedSessionCmdlet
    {
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

using System;
using System.IO;
using System.Management.Automation;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Records a session's traffic, both directions, to a text file with timestamps.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketTranscript", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class StartSocketTranscriptCommand : SessionCmdlet
    {
        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <summary>The file to write; it is replaced unless -Append is given.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [Alias("OutputPath", "FilePath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Adds to the end of an existing file instead of replacing it.</summary>
        [Parameter]
        public SwitchParameter Append { get; set; }

        /// <summary>Outputs the transcript file.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (session is not TcpSession tcp)
            {
                WriteError(ErrorRecords.WrongKind(session, "Start-SocketTranscript needs a connected Tcp session"));
                return;
            }

            string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (!ShouldProcess(full, $"Record the traffic of session {tcp}"))
            {
                return;
            }

            if (!TranscriptFiles.Start(this, tcp, full, Append))
            {
                return;
            }

            Verbose(() => $"Recording session {tcp.Id} to {full}");
            if (PassThru)
            {
                WriteObject(new FileInfo(full));
            }
        }
    }

    /// <summary>Opens transcript files for Start-SocketTranscript and Connect-TcpSocket -TranscriptPath.</summary>
    internal static class TranscriptFiles
    {
        /// <summary>Starts the transcript or writes an error; true on success.</summary>
        public static bool Start(PSSocketCmdlet cmdlet, TcpSession tcp, string fullPath, bool append)
        {
            try
            {
                tcp.StartTranscript(fullPath, append);
                return true;
            }
            catch (PSSocketException ex)
            {
                cmdlet.WriteError(ErrorRecords.From(ex, tcp));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                cmdlet.WriteError(new ErrorRecord(ex, "FileOpenFailed", ex is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError, fullPath));
            }

            return false;
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Records a session's traffic, both directions, to a file with timestamps: text lines, or a hex dump (-Format Hex).</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketTranscript", SupportsShouldProcess = true)]
    [OutputType(typeof(FileInfo))]
    public sealed class StartSocketTranscriptCommand : PipedSessionCmdlet
    {
        /// <summary>The file to write; it is replaced unless -Append is given.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [Alias("OutputPath", "FilePath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Adds to the end of an existing file instead of replacing it.</summary>
        [Parameter]
        public SwitchParameter Append { get; set; }

        /// <summary>Refuses to replace an existing file (error NoClobber), as Out-File -NoClobber does.</summary>
        [Parameter]
        [Alias("NoOverwrite")]
        public SwitchParameter NoClobber { get; set; }

        /// <summary>Text (default): one line per line of data, control characters escaped. Hex: per chunk a line with time, direction and size, then the offset, hex and printable columns ncat -x writes.</summary>
        [Parameter]
        public TranscriptFormat Format { get; set; } = TranscriptFormat.Text;

        /// <summary>Outputs the transcript file.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpSession>(session, "Start-SocketTranscript needs a connected Tcp session") is not { } tcp)
            {
                return;
            }

            string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (!ShouldProcess(full, $"Record the traffic of session {tcp}"))
            {
                return;
            }

            if (!TranscriptFiles.Start(this, tcp, full, Append, NoClobber, Format))
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
        public static bool Start(PSSocketCmdlet cmdlet, TcpSession tcp, string fullPath, bool append, bool noClobber = false, TranscriptFormat format = TranscriptFormat.Text)
        {
            try
            {
                tcp.StartTranscript(fullPath, append, noClobber, format);
                return true;
            }
            catch (PSSocketException ex)
            {
                cmdlet.WriteError(ErrorRecords.FromFileWrite(ex, tcp, canAppend: cmdlet.MyInvocation.MyCommand.Parameters.ContainsKey("Append")));
            }
            catch (Exception ex) when (ErrorRecords.IsFileOpenFailure(ex))
            {
                cmdlet.WriteError(ErrorRecords.FileOpenFailed(ex, fullPath));
            }

            return false;
        }
    }
}

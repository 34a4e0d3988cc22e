namespace PSSocket.Commands
{
    /// <summary>Receive-SocketData -Path: the output file, opened once per invocation (replaced only by the first open), and the streaming receive that writes chunks to it with constant memory.</summary>
    public sealed partial class ReceiveSocketDataCommand
    {
        // Every piece this invocation receives (-Line -Count N, several piped sessions) goes
        // into the file; only the first open replaces it.
        private FileStream OpenOutput()
        {
            string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            var file = OutputFile.Open(full, Append || _fileStarted, NoClobber, ownerOnly: false, bufferSize: 1 << 16);
            _fileStarted = true;
            return file;
        }

        private FileStream? TryOpenOutput()
        {
            try
            {
                return OpenOutput();
            }
            catch (PSSocketException ex)
            {
                WriteError(ErrorRecords.FromFileWrite(ex, Path, canAppend: true));
                return null;
            }
            catch (Exception ex) when (ErrorRecords.IsFileOpenFailure(ex))
            {
                WriteError(ErrorRecords.FileOpenFailed(ex, Path));
                return null;
            }
        }

        private void StreamToFile(TcpSession tcp)
        {
            var file = TryOpenOutput();
            if (file is null)
            {
                return;
            }

            using (file)
            {
                if (ParameterSetName == AvailableSet)
                {
                    var data = Run(t => tcp.ReceiveAvailableAsync(MaxBytes, null, Deadline.AfterSeconds(Timeout), t));
                    file.Write(data, 0, data.Length);
                    return;
                }

                long? count = ParameterSetName == CountSet ? Count : null;
                string activity = $"Receiving into {System.IO.Path.GetFileName(file.Name)} on session {tcp.Id}";
                long n = RunWithProgress((t, report) => tcp.ReceiveToStreamAsync(file, count, Seconds(Timeout), t, report), activity, count ?? 0);
                Verbose(() => $"Wrote {n} bytes from session {tcp.Id} to {file.Name}");
            }
        }
    }
}

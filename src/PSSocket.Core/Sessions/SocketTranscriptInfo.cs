namespace PSSocket
{
    /// <summary>
    /// What Stop-SocketTranscript returns: the file a session's transcript was written to and what
    /// it holds, read from the file once it is closed (so a file written with -Append counts its
    /// earlier records too).
    /// </summary>
    public sealed class SocketTranscriptInfo
    {
        private SocketTranscriptInfo(SocketSession session, string path)
        {
            SessionId = session.Id;
            SessionName = session.Name;
            Path = path;
            StoppedAt = DateTime.Now;
        }

        /// <summary>The Id of the session that was recorded.</summary>
        public int SessionId { get; }

        /// <summary>The session's name, if it has one.</summary>
        public string? SessionName { get; }

        /// <summary>The full path of the transcript file (binds to -Path of Get-Content and friends).</summary>
        public string Path { get; }

        /// <summary>Text or Hex: Hex when a record is followed by ncat -x style dump lines.</summary>
        public TranscriptFormat Format { get; private set; }

        /// <summary>The data records in the file: the lines marked &gt;&gt; (sent) or &lt;&lt; (received); notes (##) and hex dump lines are not counted.</summary>
        public long Records { get; private set; }

        /// <summary>The size of the file in bytes (-1 when it could no longer be read).</summary>
        public long Bytes { get; private set; } = -1;

        /// <summary>When the transcript was stopped.</summary>
        public DateTime StoppedAt { get; }

        /// <summary>The path, so the object reads as the file it describes.</summary>
        public override string ToString() => Path;

        /// <summary>Reads the facts of a closed transcript file; a file that went away leaves Records 0 and Bytes -1.</summary>
        public static SocketTranscriptInfo Read(SocketSession session, string path)
        {
            var info = new SocketTranscriptInfo(session ?? throw new ArgumentNullException(nameof(session)), path ?? throw new ArgumentNullException(nameof(path)));
            try
            {
                using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), new UTF8Encoding(false));
                info.Bytes = reader.BaseStream.Length;
                bool afterRecord = false;
                for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
                {
                    if (IsRecord(line))
                    {
                        info.Records++;
                        afterRecord = true;
                        continue;
                    }

                    if (afterRecord && line.StartsWith("0000   ", StringComparison.Ordinal))
                    {
                        info.Format = TranscriptFormat.Hex;
                    }

                    afterRecord = false;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Removed or made unreadable after it was closed: the facts stay unknown.
            }

            return info;
        }

        // A record is "<time> >> ..." or "<time> << ..."; notes are "<time> ## ...", dump lines "0000   ...".
        private static bool IsRecord(string line)
        {
            int first = line.IndexOf(' ');
            if (first <= 0 || line.Length < first + 3)
            {
                return false;
            }

            string marker = line.Substring(first + 1, 2);
            return (marker == ">>" || marker == "<<") && (line.Length == first + 3 || line[first + 3] == ' ');
        }
    }
}

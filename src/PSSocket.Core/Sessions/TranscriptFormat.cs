namespace PSSocket
{
    /// <summary>How a transcript writes the bytes it sees.</summary>
    public enum TranscriptFormat
    {
        /// <summary>Text: one line per line of data, decoded with the session encoding, control characters escaped.</summary>
        Text,
        /// <summary>Hex: per chunk a line with time, direction and size, then ncat -x style lines (offset, 16 bytes in hex, printable column).</summary>
        Hex,
    }
}

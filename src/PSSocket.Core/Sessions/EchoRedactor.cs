namespace PSSocket.Sessions
{
    /// <summary>
    /// Keeps a secret's echo out of a transcript: after a secret is sent, the received bytes that
    /// follow (for <see cref="Window"/> bytes) have every copy of the secret replaced by the
    /// redaction mark before they are written, including a copy split across reads (the bytes that
    /// could be its start are held back until the next read, or until the watch ends). The copy of
    /// the secret is cleared when the watch ends.
    /// </summary>
    internal sealed class EchoRedactor
    {
        /// <summary>How many received bytes after a secret are watched for its echo.</summary>
        public const int Window = 4096;

        private byte[]? _secret;
        private byte[] _mark = Array.Empty<byte>();
        private byte[] _held = Array.Empty<byte>();
        private int _left;

        /// <summary>True while received bytes are watched for an echo.</summary>
        public bool Watching => _secret is not null;

        /// <summary>Watches for the echo of the secret just sent (its line terminator left out).</summary>
        public void Watch(byte[] sent, int offset, int count, Encoding encoding)
        {
            End();
            while (count > 0 && (sent[offset + count - 1] == '\n' || sent[offset + count - 1] == '\r' || sent[offset + count - 1] == 0))
            {
                count--;
            }

            if (count == 0)
            {
                return;
            }

            _secret = new byte[count];
            Buffer.BlockCopy(sent, offset, _secret, 0, count);
            _mark = encoding.GetBytes(SessionTranscript.Redacted);
            _left = Window + count;
        }

        /// <summary>The received bytes that may be written now, with the secret's copies replaced.</summary>
        public byte[] Received(byte[] data, int offset, int count)
        {
            var secret = _secret!;
            var all = new byte[_held.Length + count];
            Buffer.BlockCopy(_held, 0, all, 0, _held.Length);
            Buffer.BlockCopy(data, offset, all, _held.Length, count);
            var scrubbed = Replace(all, secret, _mark);
            Array.Clear(all, 0, all.Length);
            _left -= count;
            int keep = _left > 0 ? HeldBack(scrubbed, secret) : 0;
            _held = new byte[keep];
            Buffer.BlockCopy(scrubbed, scrubbed.Length - keep, _held, 0, keep);
            var now = new byte[scrubbed.Length - keep];
            Buffer.BlockCopy(scrubbed, 0, now, 0, now.Length);
            if (_left <= 0)
            {
                End();
            }

            return now;
        }

        /// <summary>Ends the watch: the bytes held back (no copy of the secret) to be written now.</summary>
        public byte[] Flush()
        {
            var held = _held;
            End();
            return held;
        }

        private void End()
        {
            if (_secret is not null)
            {
                Array.Clear(_secret, 0, _secret.Length);
            }

            _secret = null;
            _held = Array.Empty<byte>();
        }

        /// <summary>The length of the longest end of the bytes that is a proper start of the secret.</summary>
        private static int HeldBack(byte[] bytes, byte[] secret)
        {
            for (int n = Math.Min(secret.Length - 1, bytes.Length); n > 0; n--)
            {
                if (Matches(bytes, bytes.Length - n, secret, n))
                {
                    return n;
                }
            }

            return 0;
        }

        private static byte[] Replace(byte[] bytes, byte[] secret, byte[] mark)
        {
            var output = new System.IO.MemoryStream(bytes.Length);
            int i = 0;
            while (i < bytes.Length)
            {
                if (i + secret.Length <= bytes.Length && Matches(bytes, i, secret, secret.Length))
                {
                    output.Write(mark, 0, mark.Length);
                    i += secret.Length;
                }
                else
                {
                    output.WriteByte(bytes[i++]);
                }
            }

            return output.ToArray();
        }

        private static bool Matches(byte[] bytes, int at, byte[] secret, int length)
        {
            for (int k = 0; k < length; k++)
            {
                if (bytes[at + k] != secret[k])
                {
                    return false;
                }
            }

            return true;
        }
    }
}

namespace PSSocket.Sessions
{
    /// <summary>
    /// The bytes a session has received and no cmdlet has taken yet. Reads that overrun a stop
    /// point leave the rest here. The array is allocated on first use and dropped when drained
    /// if it grew large, so idle sessions cost little.
    /// </summary>
    internal sealed class ReceiveBuffer
    {
        private const int InitialSize = 4096;
        private const int KeepWhenDrained = 16 * 1024;
        private byte[]? _buf;
        private int _start;
        private int _end;
        private bool _lfBelongsToTakenLine;

        public int Count => _end - _start;

        public int Capacity => _buf?.Length ?? 0;

        /// <summary>
        /// Growth stops doubling here (the receive's -MaxBytes): the array is never made larger
        /// than this unless the data itself needs it (a read that was already in flight).
        /// </summary>
        public int GrowthLimit { get; set; } = int.MaxValue;

        /// <summary>The byte at offset i from the start of the buffered data.</summary>
        public byte this[int i] => _buf![_start + i];

        /// <summary>
        /// A line read took a "\r" that was the last byte buffered, as a whole line ending
        /// (NewLine Any): a "\n" that arrives next is the rest of that "\r\n", and no receive of
        /// any mode gets it. Set and read under the receive lock, as everything here.
        /// </summary>
        public void LineEndedAtCr()
        {
            if (Count == 0)
            {
                _lfBelongsToTakenLine = true;
            }
        }

        /// <summary>How many leading bytes of data just read are the rest of a line ending already taken (0 or 1); decides it once.</summary>
        public int LineEndingRest(byte[] data, int offset, int count)
        {
            if (!_lfBelongsToTakenLine || count <= 0)
            {
                return 0;
            }

            _lfBelongsToTakenLine = false;
            return data[offset] == (byte)'\n' ? 1 : 0;
        }

        public void Append(byte[] source, int offset, int count)
        {
            int rest = LineEndingRest(source, offset, count);
            offset += rest;
            count -= rest;
            if (count <= 0)
            {
                return;
            }

            EnsureFree(count);
            Buffer.BlockCopy(source, offset, _buf!, _end, count);
            _end += count;
        }

        private void EnsureFree(int count)
        {
            if (_buf is null)
            {
                _buf = new byte[Math.Max(Math.Min(InitialSize, GrowthLimit), count)];
                return;
            }

            if (_buf.Length - _end >= count)
            {
                return;
            }

            int used = Count;
            if (_buf.Length - used >= count && used <= _buf.Length / 2)
            {
                Buffer.BlockCopy(_buf, _start, _buf, 0, used);
            }
            else
            {
                long want = Math.Max(Math.Min((long)_buf.Length * 2, GrowthLimit), (long)used + count);
                var bigger = new byte[(int)Math.Min(want, int.MaxValue - 64)];
                Buffer.BlockCopy(_buf, _start, bigger, 0, used);
                _buf = bigger;
            }

            _start = 0;
            _end = used;
        }

        /// <summary>Index (from the start of the data) of the first occurrence of pattern at or after from, or -1.</summary>
        public int IndexOf(byte[] pattern, int from = 0)
        {
            if (_buf is null || pattern.Length == 0)
            {
                return -1;
            }

            int count = Count;
            int last = count - pattern.Length;
            byte first = pattern[0];
            for (int i = Math.Max(0, from); i <= last; i++)
            {
                int at = Array.IndexOf(_buf, first, _start + i, last - i + 1);
                if (at < 0)
                {
                    return -1;
                }

                i = at - _start;
                int k = 1;
                while (k < pattern.Length && _buf[at + k] == pattern[k])
                {
                    k++;
                }

                if (k == pattern.Length)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>Copies out and removes the first count bytes.</summary>
        public byte[] Take(int count)
        {
            if (count < 0 || count > Count)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }

            var result = new byte[count];
            if (count > 0)
            {
                Buffer.BlockCopy(_buf!, _start, result, 0, count);
            }

            Skip(count);
            return result;
        }

        /// <summary>Copies the first count bytes without removing them.</summary>
        public byte[] Peek(int count)
        {
            var result = new byte[Math.Min(count, Count)];
            if (result.Length > 0)
            {
                Buffer.BlockCopy(_buf!, _start, result, 0, result.Length);
            }

            return result;
        }

        /// <summary>The array and offset of the buffered data, for writing it out without a copy.</summary>
        public ArraySegment<byte> Segment => _buf is null ? new ArraySegment<byte>(Array.Empty<byte>()) : new ArraySegment<byte>(_buf, _start, Count);

        public void Skip(int count)
        {
            _start += count;
            if (_start == _end)
            {
                _start = _end = 0;
                if (_buf is not null && _buf.Length > KeepWhenDrained)
                {
                    _buf = null;
                }
            }
        }
    }
}

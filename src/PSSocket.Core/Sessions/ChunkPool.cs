namespace PSSocket.Sessions
{
    /// <summary>
    /// Read chunks shared by all sessions: a session holds one only while a read is in flight,
    /// so thousands of idle sessions cost no 64 KiB each (netstandard2.0 has no ArrayPool
    /// without an extra package).
    /// </summary>
    internal static class ChunkPool
    {
        public const int ChunkSize = 64 * 1024;
        private const int MaxRetained = 64;
        private static readonly ConcurrentBag<byte[]> s_free = new();

        public static byte[] Rent() => s_free.TryTake(out var chunk) ? chunk : new byte[ChunkSize];

        public static void Return(byte[] chunk)
        {
            if (chunk.Length == ChunkSize && s_free.Count < MaxRetained)
            {
                s_free.Add(chunk);
            }
        }
    }
}

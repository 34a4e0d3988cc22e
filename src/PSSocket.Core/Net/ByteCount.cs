namespace PSSocket.Net
{
    /// <summary>Byte counts for narrow table columns: exact up to 99999, then KB, MB, GB, TB (1024-based, one decimal).</summary>
    public static class ByteCount
    {
        private static readonly string[] s_units = { "KB", "MB", "GB", "TB" };

        /// <summary>At most 8 characters: "512", "99999", "97.7 KB", "1.2 GB".</summary>
        public static string Format(long bytes)
        {
            if (bytes < 100000)
            {
                return bytes.ToString(CultureInfo.InvariantCulture);
            }

            double value = bytes;
            int unit = -1;
            while (value >= 1000 && unit < s_units.Length - 1)
            {
                value /= 1024;
                unit++;
            }

            return value.ToString(value < 100 ? "0.#" : "0", CultureInfo.InvariantCulture) + " " + s_units[unit];
        }
    }
}

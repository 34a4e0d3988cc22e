namespace PSSocket
{
    /// <summary>Payload previews for Debug output (never Verbose).</summary>
    internal static class Hex
    {
        public static string Preview(byte[] data, int max = 64)
        {
            int n = Math.Min(max, data.Length);
            var sb = new StringBuilder(n * 3 + 16);
            for (int i = 0; i < n; i++)
            {
                sb.Append(data[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
            }

            if (data.Length > n)
            {
                sb.Append(Net.Endpoints.Ellipsis);
            }

            return sb.ToString().TrimEnd();
        }
    }
}

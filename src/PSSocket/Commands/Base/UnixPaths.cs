namespace PSSocket.Commands
{
    /// <summary>Turns a -Path / -UnixSocket argument into a Unix socket endpoint the same way for every cmdlet.</summary>
    internal static class UnixPaths
    {
        /// <summary>
        /// A path resolved against the current PowerShell location (the process's own folder can
        /// differ), or an @abstract name as written.
        /// </summary>
        /// <exception cref="PSSocketException">InvalidArgument (too long), NotSupportedOnThisPlatform.</exception>
        public static UnixSocketEndPoint Resolve(PSCmdlet cmdlet, string path)
        {
            if (path.StartsWith("@", StringComparison.Ordinal))
            {
                return new UnixSocketEndPoint(path);
            }

            return new UnixSocketEndPoint(cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path));
        }
    }
}

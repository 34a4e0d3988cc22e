namespace PSSocket.Sessions.Ssh
{
    /// <summary>Runs a command on an exec channel within a time limit, for Invoke-SshCommand on a new or an open connection.</summary>
    public static class SshExec
    {
        /// <summary>
        /// Runs the command and returns its result. A command still running when the limit passes
        /// is stopped (its channel closed) and fails with CommandTimeout; the connection stays up,
        /// so a session's shell and later commands are not touched. Timeout.InfiniteTimeSpan waits
        /// until the command ends or the token is cancelled.
        /// </summary>
        public static async Task<SshCommandResult> RunAsync(ISshConnection connection, string command, Encoding encoding, TimeSpan limit, string computerName, int port, object target, CancellationToken token)
        {
            if (connection is null)
            {
                throw new ArgumentNullException(nameof(connection));
            }

            var clock = Stopwatch.StartNew();
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(token);
            if (limit != Timeout.InfiniteTimeSpan)
            {
                timer.CancelAfter(limit);
            }

            try
            {
                var outcome = await connection.ExecuteAsync(command, encoding, timer.Token).ConfigureAwait(false);
                return SshCommandResult.From(outcome, computerName, port, connection.User, command, clock.Elapsed);
            }
            catch (OperationCanceledException ex) when (!token.IsCancellationRequested)
            {
                throw new PSSocketException(SocketErrorKind.CommandTimeout,
                    $"'{command}' on {target} did not finish within {limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s: its channel was closed (the server may still be running it). The connection stays open; give a larger -Timeout for longer commands.",
                    ex, target: target);
            }
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// Base of the cmdlets that work on one session at a time, given as -Session (the first
    /// position) or piped: a session object, its Id or Name, or an object with a SessionId, Id or
    /// Name property.
    /// </summary>
    public abstract class PipedSessionCmdlet : SessionCmdlet
    {
        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <inheritdoc />
        protected override object? SessionArgument => Session;
    }
}

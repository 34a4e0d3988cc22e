namespace PSSocket.Commands
{
    /// <summary>Start-SocketRelay with a Unix socket on either side: listening on one, relaying to one, or both.</summary>
    public sealed partial class StartSocketRelayCommand
    {
        private const string UnixToTcpSet = "UnixToTcp";
        private const string TcpToUnixSet = "TcpToUnix";
        private const string UnixToUnixSet = "UnixToUnix";

        /// <summary>Listens on a Unix domain socket at this path (or @name, Linux) instead of a TCP port. The path must not exist; the relay removes its socket file when it stops.</summary>
        [Parameter(Mandatory = true, ParameterSetName = UnixToTcpSet)]
        [Parameter(Mandatory = true, ParameterSetName = UnixToUnixSet)]
        [ArgumentCompleter(typeof(UnixSocketPathCompleter))]
        [ValidateNotNullOrEmpty]
        public string? UnixSocket { get; set; }

        /// <summary>Relays each client to the Unix domain socket at this path (or @name, Linux) instead of a host and port: a loopback port in front of a daemon's socket.</summary>
        [Parameter(Mandatory = true, ParameterSetName = TcpToUnixSet)]
        [Parameter(Mandatory = true, ParameterSetName = UnixToUnixSet)]
        [ArgumentCompleter(typeof(UnixSocketPathCompleter))]
        [ValidateNotNullOrEmpty]
        public string? TargetUnixSocket { get; set; }

        /// <summary>The stream relay for the parameter set: a TCP port or a Unix socket in, a host and port or a Unix socket out.</summary>
        private RelaySession NewStreamRelay()
        {
            if (UnixSocket is not null && MyInvocation.BoundParameters.ContainsKey(nameof(Address)))
            {
                throw new PSSocketException(SocketErrorKind.InvalidArgument, "-Address applies to a TCP port: leave it out with -UnixSocket.", target: Address);
            }

            var target = TargetUnixSocket is null ? null : UnixPaths.Resolve(this, TargetUnixSocket);
            var listening = UnixSocket is null
                ? SocketServerSession.ListenTcp(Endpoints.ParseBindAddress(Address), Port)
                : UnixSockets.Listen(UnixPaths.Resolve(this, UnixSocket), datagram: false, 512, null, force: false);
            var local = listening.LocalEndPoint;
            try
            {
                return target is null
                    ? new RelaySession(listening, ComputerName, TargetPort, ThrottleLimit, GlobalSessionRegistry.Instance)
                    : new RelaySession(listening, target, ThrottleLimit, GlobalSessionRegistry.Instance);
            }
            catch
            {
                listening.Dispose();
                UnixSockets.RemoveSocketFile(local);
                throw;
            }
        }
    }
}

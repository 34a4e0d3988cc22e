using System.Management.Automation;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Forwards a local TCP port to a target: each client is connected to the target and bytes are copied both ways until both sides close.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "SocketRelay")]
    [OutputType(typeof(RelaySession))]
    public sealed class StartSocketRelayCommand : PSSocketCmdlet
    {
        /// <summary>How many clients are relayed at once unless -ThrottleLimit says otherwise.</summary>
        public const int DefaultThrottleLimit = 256;

        /// <summary>The local port to listen on; 0 lets the system pick one, shown on the relay session (Port, LocalEndPoint).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The host each client is relayed to (a name or an address).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [Alias("Target", "RemoteHost")]
        [ValidateNotNullOrEmpty]
        public string ComputerName { get; set; } = null!;

        /// <summary>The port on the target.</summary>
        [Parameter(Mandatory = true, Position = 2)]
        [Alias("RemotePort")]
        [ValidateRange(1, 65535)]
        public int TargetPort { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>A name for the relay session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>How many clients are relayed at once (default 256); more wait in the accept backlog until one ends.</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int ThrottleLimit { get; set; } = DefaultThrottleLimit;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            RelaySession? relay = null;
            try
            {
                relay = new RelaySession(Endpoints.ParseBindAddress(Address), Port, ComputerName, TargetPort, ThrottleLimit, GlobalSessionRegistry.Instance);
                SessionManager.Register(relay, Name);
                relay.Start();
                Verbose(() => $"Relaying {Endpoints.Format(relay.LocalEndPoint)} to {ComputerName}:{TargetPort} (session {relay.Id}, {ThrottleLimit} at a time)");
                WriteObject(relay);
            }
            catch (PSSocketException ex)
            {
                if (relay is not null)
                {
                    SessionManager.Remove(relay, "Not started");
                }

                WriteSocketError(ex, ex.Target ?? $"{Address}:{Port}");
            }
        }
    }
}

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends one-shot UDP datagrams (one per pipeline item) and optionally returns the replies.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "UdpSend")]
    [OutputType(typeof(SocketDatagram))]
    public sealed partial class InvokeUdpSendCommand : PSSocketCmdlet
    {
        private readonly List<byte> _pendingBytes = new();
        private UdpSession? _socket;
        private IPEndPoint? _target;
        private int _sent;
        private bool _failed;

        /// <summary>The host name or address to send to (255.255.255.255 with -Broadcast for the local network).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("CN", "Host", "IPAddress")]
        [AllowEmptyString]
        public string ComputerName { get; set; } = "";

        /// <summary>The destination port: a number or a UDP service name (dns, ntp, snmp, syslog, tftp, radius ...).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ServicePortTransformation(Protocol = ServiceProtocol.Udp)]
        [ArgumentCompleter(typeof(ServiceNameCompleter))]
        [ValidateRange(1, 65535)]
        public int Port { get; set; }

        /// <summary>What to send: text (encoded), bytes (as they are), a char, a number (as text), a stream or a file (read whole), a SecureString or a PSCredential (its password, never shown in Verbose or Debug); anything else is refused. Each pipeline item is one datagram; an array given to -Data sends one datagram per element, except that a byte[] (or an array holding only bytes) is one datagram.</summary>
        [Parameter(Position = 2, ValueFromPipeline = true)]
        [AllowNull]
        [AllowEmptyString]
        [Alias("InputObject", "Message")]
        public object? Data { get; set; }

        /// <summary>How strings are encoded and replies decoded (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>Allows sending to a broadcast address (SO_BROADCAST), e.g. 255.255.255.255 for Wake-on-LAN.</summary>
        [Parameter]
        public SwitchParameter Broadcast { get; set; }

        /// <summary>After sending, waits for replies and outputs them as datagram objects: one per datagram sent, or -Count; with -Broadcast (or a multicast target) and no -Count, every reply within -Timeout.</summary>
        [Parameter]
        public SwitchParameter WaitForReply { get; set; }

        /// <summary>Seconds to wait for replies with -WaitForReply (default 5), and for name resolution.</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        public double Timeout { get; set; } = 5;

        /// <summary>How many replies -WaitForReply waits for.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Count { get; set; }

        /// <summary>The local port to send from (default: one the system picks). Some devices answer only to a fixed port.</summary>
        [Parameter]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int SourcePort { get; set; }

        /// <summary>Restricts name resolution to IPv4 or IPv6.</summary>
        [Parameter]
        public IPFamily AddressFamily { get; set; } = IPFamily.Any;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            // A problem with the target (blank, unknown host, port in use) is this target's error, not a
            // misuse: it is non-terminating, so -ErrorAction decides, and nothing is sent.
            if (string.IsNullOrWhiteSpace(ComputerName))
            {
                WriteError(ErrorRecords.BlankTarget(ComputerName, 1));
                return;
            }

            try
            {
                var deadline = Deadline.AfterSeconds(Timeout);
                var family = AddressFamily == IPFamily.Any ? (System.Net.Sockets.AddressFamily?)null : AddressFamily.ToSocketFamily();
                var addresses = Run(t => Endpoints.ResolveAsync(ComputerName, family, deadline, t));
                var address = Array.Find(addresses, a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses[0];
                _target = new IPEndPoint(address, Port);
                bool v6 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
                _socket = new UdpSession(v6 ? IPAddress.IPv6Any : IPAddress.Any, SourcePort, Broadcast, 10_000).WithText(Encoding);

                if (!IsGroupTarget)
                {
                    // Connected: only the target's replies are taken, and the OS reports port unreachable.
                    _socket.Connect(_target);
                }

                Verbose(() => $"Sending to {Endpoints.Format(_target)} from {Endpoints.Format(_socket.LocalEndPoint)}{(Broadcast ? " (broadcast allowed)" : "")}");
            }
            catch (PSSocketException ex)
            {
                _socket?.Close("Setup failed");
                _socket = null;
                WriteError(ErrorRecords.From(ex, ex.Target ?? $"{ComputerName}:{Port}"));
            }
        }

        private bool IsGroupTarget => _target is not null && (UdpSession.IsMulticast(_target.Address) || Broadcast || _target.Address.Equals(IPAddress.Broadcast));

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (_socket is null)
            {
                return;
            }

            var raw = OutgoingData.Unwrap(Data);
            if (raw is byte b)
            {
                // A byte[] enumerated by the pipeline arrives a byte at a time: it is one datagram.
                _pendingBytes.Add(b);
                return;
            }

            FlushBytes();
            int position = raw is System.Collections.IList and not byte[] and not char[]? 1 : 0;
            foreach (var item in OutgoingData.Items(raw))
            {
                if (OutgoingData.Check(item, position) is { } refused)
                {
                    _failed = true;
                    WriteError(refused);
                }
                else
                {
                    SendOne(item);
                }

                position += position > 0 ? 1 : 0;
            }
        }

        private void FlushBytes()
        {
            if (_pendingBytes.Count > 0)
            {
                var bytes = _pendingBytes.ToArray();
                _pendingBytes.Clear();
                SendOne(bytes);
            }
        }

        private void SendOne(object? item)
        {
            byte[] bytes;
            try
            {
                bytes = OutgoingData.Datagram(item, _socket!.Encoding, null);
            }
            catch (Exception ex) when (item is FileInfo && ErrorRecords.IsFileOpenFailure(ex))
            {
                _failed = true;
                WriteError(ErrorRecords.FileOpenFailed(ex, item));
                return;
            }

            try
            {
                Run(t => _socket.SendAsync(bytes, IsGroupTarget ? _target : null, Deadline.AfterSeconds(Timeout), t));
                _sent++;
                string what = OutgoingData.Describe(item, bytes, DebugOn);
                if (DebugOn)
                {
                    WriteDebug($"Sent {what} to {Endpoints.Format(_target)}");
                }
                else
                {
                    Verbose(() => $"Sent a datagram of {what} to {Endpoints.Format(_target)}");
                }
            }
            catch (PSSocketException ex)
            {
                _failed = true;
                WriteSocketError(ex, ex.Kind == SocketErrorKind.DatagramTooLarge ? OutgoingData.SecretOf(item) is null ? item : bytes.Length : Endpoints.Format(_target));
            }
            finally
            {
                if (OutgoingData.SecretOf(item) is not null)
                {
                    Array.Clear(bytes, 0, bytes.Length);
                }
            }
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _socket?.Close("Invoke-UdpSend stopped");
            }

            base.Dispose(disposing);
        }
    }
}

using System.Management.Automation;
using System.Text;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Starts listening for TCP connections (loopback unless told otherwise).</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "TcpListener")]
    [OutputType(typeof(TcpListenerSession))]
    public sealed class NewTcpListenerCommand : PSSocketCmdlet
    {
        /// <summary>The port to listen on; 0 (the default) lets the system pick a free one, shown on the session.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("LocalPort")]
        [ValidateRange(0, 65535)]
        public int Port { get; set; }

        /// <summary>The local address: Loopback (default, 127.0.0.1), Any (every interface, IPv4 and IPv6), IPv6Loopback, or an address of this machine.</summary>
        [Parameter]
        [Alias("LocalAddress", "BindAddress")]
        [ArgumentCompleter(typeof(BindAddressCompleter))]
        public string Address { get; set; } = "Loopback";

        /// <summary>A name for the listener session.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>How many connections the system queues before they are accepted (default 512).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Backlog { get; set; } = 512;

        /// <summary>The encoding accepted sessions start with (default UTF-8 without BOM).</summary>
        [Parameter]
        [EncodingTransformation]
        [ArgumentCompleter(typeof(EncodingCompleter))]
        public Encoding? Encoding { get; set; }

        /// <summary>The NewLine accepted sessions start with (default "`n").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewLine { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            try
            {
                var address = Endpoints.ParseBindAddress(Address);
                var listener = new TcpListenerSession(address, Port, Backlog);
                if (Encoding is not null)
                {
                    listener.Encoding = Encoding;
                }

                if (NewLine is not null)
                {
                    listener.NewLine = NewLine;
                }

                try
                {
                    SessionManager.Register(listener, Name);
                }
                catch
                {
                    listener.Close("Not registered");
                    throw;
                }

                Verbose(() => $"Listening on {Endpoints.Format(listener.LocalEndPoint)} (session {listener.Id})");
                WriteObject(listener);
            }
            catch (PSSocketException ex)
            {
                WriteSocketError(ex, ex.Target ?? $"{Address}:{Port}");
            }
        }
    }
}

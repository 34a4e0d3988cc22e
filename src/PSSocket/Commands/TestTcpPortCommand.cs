using System;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Checks TCP ports on many hosts at once: Open, Closed or Filtered, with latency and optional TLS certificate facts.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "TcpPort")]
    [OutputType(typeof(PortCheckResult), typeof(TlsPortCheckResult))]
    [OutputType(typeof(bool))]
    public sealed class TestTcpPortCommand : PSSocketCmdlet
    {
        // Past this many targets waiting for probes, ProcessRecord drains results before taking more input.
        private const int MaxQueuedTargets = 256;

        private const int DefaultRetries = 1;

        private PortScanner? _scanner;
        private readonly ScanVerdicts _verdicts = new();
        private long _entries;
        private string[]? _commandLinePort;
        private int[]? _commandLinePorts;
        private readonly Stopwatch _clock = new();
        private ProgressRecord? _progress;
        private long _nextProgressMs = 1000;

        /// <summary>
        /// Host names, IPv4/IPv6 addresses or CIDR ranges (10.1.2.0/28, fd00::/124); "host:port" (or
        /// "host:22,443") and URLs (https://web01:8443/path; the scheme's port when none is written)
        /// carry their own ports. Accepts pipeline input: strings, and objects with a ComputerName,
        /// DNSHostName, HostName, Host, Server, IPAddress, Address or Name property (rows from
        /// Import-Csv, Get-ADComputer) whose Port property binds -Port. A blank entry is a
        /// non-terminating error naming its position; the other entries are still checked.
        /// </summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [Alias("HostName", "CN", "Host", "Address", "IPAddress", "Target", "DNSHostName", "Server")]
        [AllowNull]
        [AllowEmptyString]
        [AllowEmptyCollection]
        public object?[] ComputerName { get; set; } = Array.Empty<object>();

        /// <summary>
        /// Ports: numbers, ranges and lists in any mix ("22", "80,443", "1-1024") and well-known
        /// service names (ssh, http, https, rdp, smb, ldap, mssql, postgres, redis, winrm ...).
        /// Optional when every target is written as host:port.
        /// </summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("RemotePort", "Ports")]
        [ArgumentCompleter(typeof(PortCompleter))]
        public string[]? Port { get; set; }

        /// <summary>Seconds to wait for an answer before a port counts as Filtered (default 1, fractions allowed; 0 leaves it to the operating system).</summary>
        [Parameter]
        [Alias("TimeoutSec")]
        [ValidateRange(0, 3600)]
        public double Timeout { get; set; } = 1;

        /// <summary>
        /// How many more times a port that gave no answer within -Timeout is tried, each with a fresh
        /// connect, before it is reported Filtered (default 1; 0 = one try). A lost SYN on a lossy link
        /// then does not make an open port look filtered; a filtered port takes (Retries + 1) x Timeout.
        /// </summary>
        [Parameter]
        [ValidateRange(0, 10)]
        public int Retries { get; set; } = DefaultRetries;

        /// <summary>The most probes in flight at once (default 1000).</summary>
        [Parameter]
        [ValidateRange(1, 100_000)]
        public int ThrottleLimit { get; set; } = PortScanOptions.DefaultThrottleLimit;

        /// <summary>Outputs one [bool] per target and port, in the order given: $true when any address of the target is Open.</summary>
        [Parameter]
        public SwitchParameter Quiet { get; set; }

        /// <summary>Runs a TLS handshake on open ports and reports protocol and certificate facts.</summary>
        [Parameter]
        public SwitchParameter Tls { get; set; }

        /// <summary>With -Tls: an invalid certificate is not reported as an error (its facts are reported either way).</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>With -Tls: checks the certificate chain against the CRL distribution points it names (fetched online); a revoked certificate, or one whose CRL cannot be fetched, is not valid. Off by default.</summary>
        [Parameter]
        public SwitchParameter CheckRevocation { get; set; }

        /// <summary>Outputs only open ports.</summary>
        [Parameter]
        public SwitchParameter Open { get; set; }

        /// <summary>Probes only the first address a host name resolves to (default: every address).</summary>
        [Parameter]
        public SwitchParameter FirstAddress { get; set; }

        /// <summary>Allows CIDR ranges larger than 4096 addresses (up to 2^24).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Restricts host names and ranges to IPv4 or IPv6 (default: every address).</summary>
        [Parameter]
        public IPFamily AddressFamily { get; set; } = IPFamily.Any;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            if ((SkipCertificateCheck || CheckRevocation) && !Tls)
            {
                ThrowTerminatingError(ErrorRecords.InvalidArgument("-SkipCertificateCheck and -CheckRevocation apply only with -Tls.", null));
            }

            if (Port is not null)
            {
                // Bound on the command line: a bad spec is misuse of the whole command.
                _commandLinePort = Port;
                try
                {
                    _commandLinePorts = PortSpec.Parse(Port);
                }
                catch (PSSocketException ex)
                {
                    ThrowTerminatingError(ErrorRecords.From(ex, string.Join(",", Port)));
                }
            }

            _scanner = new PortScanner(new PortScanOptions
            {
                Timeout = Seconds(Timeout),
                Retries = Retries,
                ThrottleLimit = ThrottleLimit,
                AddressFamily = AddressFamily.ToSocketFamily(),
                FirstAddress = FirstAddress,
                Tls = Tls,
                CheckRevocation = CheckRevocation,
                AllowLargeRanges = Force,
            }, Token);
            if (_scanner.EffectiveThrottleLimit < ThrottleLimit)
            {
                Verbose(() => $"At most {_scanner.EffectiveThrottleLimit} probes in flight (not {ThrottleLimit}): the process may open only so many more file descriptors (ulimit -n).");
            }

            _clock.Start();
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var scanner = _scanner!;
            int[]? ports = null;
            PSSocketException? portError = null;
            if (Port is not null)
            {
                if (ReferenceEquals(Port, _commandLinePort))
                {
                    ports = _commandLinePorts;
                }
                else
                {
                    try
                    {
                        ports = PortSpec.Parse(Port);
                    }
                    catch (PSSocketException ex)
                    {
                        portError = ex;
                    }
                }
            }

            foreach (object? item in ComputerName ?? new object?[] { null })
            {
                long position = ++_entries;
                string? text = ScanTargetInput.TextOf(item, out string? itemPorts, out var inputError);
                try
                {
                    if ((inputError ?? TargetEntry.CheckBlank(text, position)) is PSSocketException bad)
                    {
                        throw bad;
                    }

                    var (host, embedded) = PortScanTarget.Split(text!);
                    embedded ??= itemPorts;
                    int[]? targetPorts = embedded is not null ? PortSpec.Parse(embedded) : ports;
                    if (targetPorts is null)
                    {
                        throw portError ?? new PSSocketException(SocketErrorKind.InvalidArgument,
                            $"No port to check on '{Endpoints.Shorten(text!)}': give -Port or write host:port.", target: text);
                    }

                    long id = scanner.Add(new PortScanTarget(host, targetPorts));
                    if (Quiet)
                    {
                        _verdicts.Register(id, targetPorts.Length);
                    }

                    Verbose(() => $"Queued {host}: {targetPorts.Length} port(s)");
                }
                catch (PSSocketException ex)
                {
                    WriteSocketError(ex, text ?? item);
                }

                Drain(0);
                while (scanner.QueuedTargets > MaxQueuedTargets)
                {
                    Drain(100);
                }
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            var scanner = _scanner!;
            scanner.Complete();
            try
            {
                while (!scanner.IsFinished)
                {
                    Drain(100);
                }

                if (Token.IsCancellationRequested)
                {
                    throw new PipelineStoppedException();
                }

                foreach (bool verdict in _verdicts.TakeRest())
                {
                    WriteObject(verdict);
                }
            }
            finally
            {
                if (_progress is not null)
                {
                    _nextProgressMs = 0;
                    ReportProgress();
                    _progress.RecordType = ProgressRecordType.Completed;
                    WriteProgress(_progress);
                }
            }

            if (scanner.CurrentThrottleLimit < scanner.EffectiveThrottleLimit)
            {
                Verbose(() => $"The process ran out of file descriptors during the sweep; probes went on with at most {scanner.CurrentThrottleLimit} in flight.");
            }

            Verbose(() => $"{scanner.Finished} probe(s) in {_clock.Elapsed.TotalSeconds:0.00} s, {scanner.OpenFound} open");
        }

        /// <summary>Writes what has finished, waiting up to waitMs for the first result; all on the pipeline thread.</summary>
        private void Drain(int waitMs)
        {
            var scanner = _scanner!;
            int wait = waitMs;
            try
            {
                while (scanner.TryTake(out var item, wait))
                {
                    wait = 0;
                    Write(item);
                    ReportProgress();
                }
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (PSSocketException ex)
            {
                // The engine itself failed (not one target: those are results): the sweep cannot go on.
                ThrowTerminatingError(ErrorRecords.From(ex));
            }

            ReportProgress();
        }

        private void Write(ScanItem<PortCheckResult> item)
        {
            if (item.Error is PSSocketException targetError)
            {
                WriteSocketError(targetError, targetError.Target);
            }

            var r = item.Result;
            if (r is TlsPortCheckResult { CertificateValid: false } && !SkipCertificateCheck)
            {
                var tls = (TlsPortCheckResult)r;
                WriteError(ErrorRecords.Create(SocketErrorKind.AuthenticationFailed,
                    $"The certificate of {Describe(r)} is not valid: {tls.CertificateErrors}. Use -SkipCertificateCheck to report its facts without this error.", r));
            }

            if (Quiet)
            {
                _verdicts.Record(item.TargetId, item.PortIndex, item.AddressCount, r.Status == PortStatus.Open);
                foreach (bool verdict in _verdicts.TakeReady())
                {
                    WriteObject(verdict);
                }
            }
            else if (!Open || r.Status == PortStatus.Open)
            {
                WriteObject(r);
            }
        }

        private static string Describe(PortCheckResult r) =>
            r.Address is null || r.ComputerName == r.Address.ToString() ? r.ToString().Split(' ')[0] : $"{r.ComputerName} ({r.ToString().Split(' ')[0]})";

        private void ReportProgress()
        {
            // Quick checks show no bar; long runs update it four times a second.
            long ms = _clock.ElapsedMilliseconds;
            if (ms < _nextProgressMs)
            {
                return;
            }

            _nextProgressMs = ms + 250;
            var scanner = _scanner!;
            long done = scanner.Finished;
            long total = Math.Max(done, scanner.Expected);
            double rate = done / Math.Max(0.001, ms / 1000.0);
            _progress ??= new ProgressRecord(0x7C9, "Test-TcpPort", "Starting");
            _progress.StatusDescription = string.Format(CultureInfo.CurrentCulture,
                "{0:N0} of {1:N0} probed, {2:N0} open, {3:N0}/s", done, total, scanner.OpenFound, rate);
            _progress.PercentComplete = total > 0 ? (int)Math.Min(100, done * 100 / total) : -1;
            WriteProgress(_progress);
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _scanner?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

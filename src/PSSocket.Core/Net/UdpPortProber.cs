namespace PSSocket.Net
{
    /// <summary>
    /// Probes one UDP port: a datagram out through a connected socket, so that the kernel hands an ICMP
    /// port-unreachable back to this socket as "connection refused" (Linux, macOS) or "reset" (Windows).
    /// An answer is Open, that error Closed, silence after every retry OpenOrFiltered.
    /// </summary>
    public static class UdpPortProber
    {
        // UDP has no "leave it to the operating system": a scan without a timeout waits this long per datagram.
        private static readonly TimeSpan s_defaultTimeout = TimeSpan.FromSeconds(1);
        private static int s_nextId = Environment.TickCount;

        /// <summary>Probes <paramref name="address"/>:<paramref name="port"/>; never throws for what the network does (only for cancellation).</summary>
        public static async Task<UdpPortCheckResult> ProbeAsync(string computerName, IPAddress address, int port, UdpScanOptions options, CancellationToken token, UdpProbePlan? plan = null)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            var (probe, payload) = UdpProbePlan.Choose(plan, options, port);
            var result = new UdpPortCheckResult
            {
                ComputerName = computerName,
                Address = address,
                Port = port,
                Probe = probe,
                Service = ServiceTable.Udp.NameOf(port),
            };
            byte[] request = payload ?? UdpProbes.Request(probe, (ushort)Interlocked.Increment(ref s_nextId), options.Community);
            TimeSpan timeout = options.HasTimeout ? options.Timeout : s_defaultTimeout;

            Socket socket;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (SocketException ex)
            {
                return Fail(result, PortStatus.Error, $"no UDP socket could be made: {ex.Message}");
            }

            Task<int>? receive = null;
            var clock = Stopwatch.StartNew();
            TimeSpan sentAt = TimeSpan.Zero;
            try
            {
                socket.Connect(new IPEndPoint(address, port));
                var buffer = new byte[65536];
                for (int attempt = 0; attempt <= options.Retries; attempt++)
                {
                    token.ThrowIfCancellationRequested();
                    result.Attempts = attempt + 1;
                    sentAt = clock.Elapsed;
                    socket.Send(request);

                    // One receive stays pending across retries: an answer to an earlier datagram counts.
                    receive ??= socket.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
                    Task done = await Task.WhenAny(receive, Task.Delay(timeout, wait.Token)).ConfigureAwait(false);
                    wait.Cancel();
                    token.ThrowIfCancellationRequested();
                    if (done != receive)
                    {
                        continue;
                    }

                    int n = await receive.ConfigureAwait(false);
                    result.Status = PortStatus.Open;
                    result.Latency = Math.Round((clock.Elapsed - sentAt).TotalMilliseconds, 3);
                    result.Detail = UdpProbes.Describe(probe, buffer, n);
                    return result;
                }

                result.Status = PortStatus.OpenOrFiltered;
                result.Detail = $"no answer to {result.Attempts} datagram(s) within {timeout.TotalSeconds:0.###} s each (open and silent, or filtered)";
                return result;
            }
            catch (SocketException ex)
            {
                Classify(result, ex.SocketErrorCode, ex.Message);
                if (result.Status is PortStatus.Closed or PortStatus.Filtered)
                {
                    // The ICMP error is an answer: it has a round trip.
                    result.Latency = Math.Round((clock.Elapsed - sentAt).TotalMilliseconds, 3);
                }

                return result;
            }
            catch (ObjectDisposedException) when (token.IsCancellationRequested)
            {
                throw new OperationCanceledException(token);
            }
            finally
            {
                socket.Dispose();
                // The pending receive ends with the socket; observe it so it is never an unobserved fault.
                _ = receive?.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }

        internal static UdpPortCheckResult Classify(UdpPortCheckResult result, SocketError error, string message) => error switch
        {
            // ICMP port unreachable: Linux and macOS report it as refused, Windows as a reset.
            SocketError.ConnectionRefused or SocketError.ConnectionReset => Fail(result, PortStatus.Closed, "ICMP port unreachable: nothing listens on that port"),
            SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.AccessDenied =>
                Fail(result, PortStatus.Filtered, $"ICMP unreachable ({error}): a router or firewall refused the datagram"),
            _ => Fail(result, PortStatus.Error, message),
        };

        private static UdpPortCheckResult Fail(UdpPortCheckResult result, PortStatus status, string detail)
        {
            result.Status = status;
            result.Latency = null;
            result.Detail = detail;
            return result;
        }
    }
}

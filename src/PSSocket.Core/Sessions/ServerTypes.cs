namespace PSSocket.Sessions
{
    /// <summary>
    /// Where a server lists itself and the sessions of the clients it serves (so Get-SocketSession
    /// and the session cmdlets see them). A registry never closes anything: a server closes a
    /// client (or is closed), and the session leaves the registry because it closed. The cmdlets
    /// pass <see cref="GlobalSessionRegistry.Instance"/>; tests may pass their own.
    /// </summary>
    public interface ISessionRegistry
    {
        /// <summary>Registers a session under an optional name (giving it an Id).</summary>
        /// <exception cref="PSSocketException">DuplicateSessionName when a live session has the name.</exception>
        void Register(SocketSession session, string? name = null);

        /// <summary>Unregisters a session without closing it (called once it has closed).</summary>
        void Unregister(SocketSession session);
    }

    /// <summary>The process-wide <see cref="SessionManager"/> as an <see cref="ISessionRegistry"/>.</summary>
    public sealed class GlobalSessionRegistry : ISessionRegistry
    {
        private GlobalSessionRegistry()
        {
        }

        /// <summary>The one instance.</summary>
        public static GlobalSessionRegistry Instance { get; } = new();

        /// <inheritdoc />
        public void Register(SocketSession session, string? name = null) => SessionManager.Register(session, name);

        /// <inheritdoc />
        public void Unregister(SocketSession session) => SessionManager.Unregister(session);
    }

    /// <summary>
    /// Serves one client of a <see cref="TcpServerSession"/> (its <see cref="ServerClientSession"/>)
    /// or one datagram of a <see cref="UdpServerSession"/> (a <see cref="UdpServerRequest"/>). The
    /// cmdlet layer runs a script block on a runspace pool; tests use plain delegates.
    /// </summary>
    public interface IServerClientHandler : IDisposable
    {
        /// <summary>Serves the client; the token is cancelled when the server stops or the client times out.</summary>
        Task<ServerHandlerResult> HandleAsync(object client, CancellationToken token);

        /// <summary>
        /// True when called from inside a client's handler (a script block stopping its own
        /// server), which must not wait for the handlers to end: it is one of them.
        /// </summary>
        bool IsServingThread { get; }

        /// <summary>Wakes handlers that a stop did not end (stuck in a wait): the server gave up on them. Must not block.</summary>
        void Interrupt();
    }

    /// <summary>What serving one client produced.</summary>
    public sealed class ServerHandlerResult
    {
        /// <summary>Creates a result; <paramref name="estimatedBytes"/> is what keeping it costs (estimated from the output when not given).</summary>
        public ServerHandlerResult(IList<object>? output, IList<object>? errors, bool threw, IList<byte[]>? replies = null, long? estimatedBytes = null)
        {
            Output = output ?? Array.Empty<object>();
            Errors = errors ?? Array.Empty<object>();
            Threw = threw;
            Replies = replies ?? Array.Empty<byte[]>();
            EstimatedBytes = estimatedBytes ?? Estimate(Output) + Estimate(Errors);
        }

        /// <summary>What the handler output.</summary>
        public IList<object> Output { get; }

        /// <summary>The errors it reported (ErrorRecords in PowerShell).</summary>
        public IList<object> Errors { get; }

        /// <summary>True when the handler ended with an exception (a terminating error).</summary>
        public bool Threw { get; }

        /// <summary>For a UDP server: the datagrams to send back to the sender.</summary>
        public IList<byte[]> Replies { get; }

        /// <summary>Roughly how many bytes keeping the output and errors costs.</summary>
        public long EstimatedBytes { get; }

        /// <summary>A rough size of what objects hold: text and bytes by length, anything else a small constant.</summary>
        public static long Estimate(IEnumerable<object?> items)
        {
            long total = 0;
            if (items is null)
            {
                return 0;
            }

            foreach (var item in items)
            {
                total += item switch
                {
                    null => 8,
                    string s => 24 + (2L * s.Length),
                    byte[] b => 24 + b.LongLength,
                    Exception ex => EstimateException(ex),
                    _ => 64,
                };
            }

            return total;
        }

        // An exception with the ones inside it: each keeps its message and, once thrown, its stack trace.
        private static long EstimateException(Exception ex)
        {
            long total = 0;
            for (var e = ex; e is not null; e = e.InnerException)
            {
                total += 1024 + (2L * e.Message.Length);
            }

            return total;
        }
    }

    /// <summary>Turns what a UDP server's script block output into reply datagrams.</summary>
    public static class ServerReplies
    {
        /// <summary>
        /// A byte[] is one datagram as is; a string (or anything else, as text) is encoded into
        /// one datagram; a run of single bytes (what PowerShell makes of an unwrapped byte[])
        /// is joined into one datagram. Nulls are skipped.
        /// </summary>
        public static IList<byte[]> ToDatagrams(IEnumerable<object?> items, Encoding encoding)
        {
            if (items is null)
            {
                throw new ArgumentNullException(nameof(items));
            }

            if (encoding is null)
            {
                throw new ArgumentNullException(nameof(encoding));
            }

            var datagrams = new List<byte[]>();
            MemoryStream? run = null;
            void EndRun()
            {
                if (run is not null)
                {
                    datagrams.Add(run.ToArray());
                    run = null;
                }
            }

            foreach (var item in items)
            {
                switch (item)
                {
                    case null:
                        continue;
                    case byte b:
                        run ??= new MemoryStream();
                        run.WriteByte(b);
                        continue;
                    case byte[] bytes:
                        EndRun();
                        datagrams.Add(bytes);
                        continue;
                    default:
                        EndRun();
                        datagrams.Add(encoding.GetBytes(Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
                        continue;
                }
            }

            EndRun();
            return datagrams;
        }
    }
}

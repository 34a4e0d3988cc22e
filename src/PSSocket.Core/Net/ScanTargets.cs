namespace PSSocket.Net
{
    /// <summary>The addresses one target expanded to, or why it could not be.</summary>
    public sealed class ExpandedTarget
    {
        internal ExpandedTarget(PortScanTarget target, IEnumerable<IPAddress> addresses, long count, bool labelIsAddress)
        {
            Target = target;
            Addresses = addresses;
            Count = count;
            LabelIsAddress = labelIsAddress;
        }

        private ExpandedTarget(PortScanTarget target)
        {
            Target = target;
            Addresses = Array.Empty<IPAddress>();
            Count = 1;
            ResolvedRemotely = true;
        }

        internal ExpandedTarget(PortScanTarget target, PSSocketException error)
        {
            Target = target;
            Addresses = Array.Empty<IPAddress>();
            Error = error;
        }

        /// <summary>The target as added.</summary>
        public PortScanTarget Target { get; }

        /// <summary>The addresses to probe, in order (lazily produced for a range).</summary>
        public IEnumerable<IPAddress> Addresses { get; }

        /// <summary>
        /// True when the name is not resolved here but handed to the probe as it is, once (a proxy
        /// resolves it, <see cref="ScanOptions.ResolveNamesRemotely"/>): <see cref="Addresses"/> is empty.
        /// </summary>
        public bool ResolvedRemotely { get; }

        /// <summary>How many addresses <see cref="Addresses"/> holds (1 for a name resolved remotely).</summary>
        public long Count { get; }

        /// <summary>True for a range: each result is labelled with its own address, not the range.</summary>
        public bool LabelIsAddress { get; }

        /// <summary>Why the target has no addresses (name not found, wrong family), or null.</summary>
        public PSSocketException? Error { get; }

        internal static ExpandedTarget Unresolved(PortScanTarget target) => new(target);

        /// <summary>The ComputerName a result for this address carries.</summary>
        public string LabelFor(IPAddress address) => LabelIsAddress ? address.ToString() : Target.Host;
    }

    /// <summary>
    /// Turns scan targets into addresses: checks ranges when a target is added (misuse throws to the
    /// caller at once), starts resolving names right away so lookups overlap, and hands out each
    /// target's addresses (IPv4-mapped IPv6 as the IPv4 address they map) with the family and
    /// first-address filters applied. Shared by every prober (TCP connect, UDP).
    /// </summary>
    public sealed class ScanTargets
    {
        private readonly ScanOptions _options;
        private readonly CancellationToken _token;
        private readonly ConcurrentDictionary<PortScanTarget, Task<IPAddress[]>> _lookups = new();

        /// <summary>Creates the expander for one scan.</summary>
        public ScanTargets(ScanOptions options, CancellationToken token)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _token = token;
        }

        /// <summary>Checks a target and starts resolving its name.</summary>
        /// <exception cref="PSSocketException">RangeTooLarge or InvalidArgument (range of the wrong address family).</exception>
        public void Begin(PortScanTarget target)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (target.Range is Cidr range)
            {
                var family = _options.AddressFamily;
                if (family != AddressFamily.Unspecified && family != range.AddressFamily)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument,
                        $"{range} is an {FamilyName(range.AddressFamily)} range but only {FamilyName(family)} was asked for.", target: target.Host);
                }

                if (range.Count > ScanOptions.DefaultMaxRangeAddresses && !_options.AllowLargeRanges)
                {
                    throw new PSSocketException(SocketErrorKind.RangeTooLarge,
                        $"{range} holds {range.Count.ToString("N0", CultureInfo.InvariantCulture)} addresses; more than {ScanOptions.DefaultMaxRangeAddresses.ToString("N0", CultureInfo.InvariantCulture)} needs -Force.", target: target.Host);
                }

                if (range.HostBits > Cidr.MaxHostBits)
                {
                    _ = range.Enumerate();
                }
            }
            else if (target.Literal is null && !_options.ResolveNamesRemotely)
            {
                var family = _options.AddressFamily == AddressFamily.Unspecified ? (AddressFamily?)null : _options.AddressFamily;
                var lookup = Endpoints.ResolveAsync(target.Host, family, Deadline.After(_options.ResolveTimeout), _token);
                _ = lookup.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                _lookups[target] = lookup;
            }
        }

        /// <summary>The target's addresses once its name resolved; a failure is in <see cref="ExpandedTarget.Error"/>, never thrown.</summary>
        /// <exception cref="OperationCanceledException">when the scan is cancelled.</exception>
        public async Task<ExpandedTarget> ExpandAsync(PortScanTarget target)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (target.Range is Cidr range)
            {
                return new ExpandedTarget(target, range.Enumerate(), (long)range.Count, labelIsAddress: true);
            }

            if (target.Literal is IPAddress literal)
            {
                if (_options.AddressFamily != AddressFamily.Unspecified && literal.AddressFamily != _options.AddressFamily)
                {
                    return new ExpandedTarget(target, new PSSocketException(SocketErrorKind.HostNotFound,
                        $"{literal} is not an {FamilyName(_options.AddressFamily)} address.", target: target.Host));
                }

                return new ExpandedTarget(target, new[] { literal }, 1, labelIsAddress: false);
            }

            if (_options.ResolveNamesRemotely)
            {
                return ExpandedTarget.Unresolved(target);
            }

            if (!_lookups.TryRemove(target, out var lookup))
            {
                Begin(target);
                _lookups.TryRemove(target, out lookup);
            }

            IPAddress[] resolved;
            try
            {
                resolved = await lookup!.ConfigureAwait(false);
            }
            catch (PSSocketException ex)
            {
                return new ExpandedTarget(target, ex);
            }

            resolved = resolved.Select(Endpoints.Unmap).Distinct().ToArray();
            if (_options.AddressFamily != AddressFamily.Unspecified)
            {
                resolved = resolved.Where(a => a.AddressFamily == _options.AddressFamily).ToArray();
                if (resolved.Length == 0)
                {
                    return new ExpandedTarget(target, new PSSocketException(SocketErrorKind.HostNotFound,
                        $"'{Endpoints.Shorten(target.Host)}' has no {FamilyName(_options.AddressFamily)} address.", target: target.Host));
                }
            }

            if (_options.FirstAddress && resolved.Length > 1)
            {
                resolved = new[] { resolved[0] };
            }

            return new ExpandedTarget(target, resolved, resolved.Length, labelIsAddress: false);
        }

        internal static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
    }
}

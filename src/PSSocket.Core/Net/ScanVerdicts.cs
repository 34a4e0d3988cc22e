namespace PSSocket.Net
{
    /// <summary>
    /// -Quiet's answers: one verdict per requested (target, port) pair, in the order the targets
    /// and their ports were given, true when any address of the target answered Open. Results
    /// arrive in completion order; a pair is decided once an address is Open or every address of
    /// the target has answered, and verdicts are handed out from the front as soon as they are.
    /// </summary>
    public sealed class ScanVerdicts
    {
        private readonly Queue<Target> _order = new();
        private readonly Dictionary<long, Target> _byId = new();

        /// <summary>A target added to the scan with this many ports; call in the order they were added.</summary>
        public void Register(long targetId, int portCount)
        {
            var t = new Target(targetId, portCount);
            _byId[targetId] = t;
            _order.Enqueue(t);
        }

        /// <summary>Counts one result of a target's port.</summary>
        public void Record(long targetId, int portIndex, long addressCount, bool open)
        {
            if (!_byId.TryGetValue(targetId, out var t) || portIndex < 0 || portIndex >= t.Open.Length)
            {
                return;
            }

            t.Seen[portIndex]++;
            t.Open[portIndex] |= open;
            t.AddressCount = addressCount;
        }

        /// <summary>The verdicts decided at the front, in order; each is handed out once.</summary>
        public IEnumerable<bool> TakeReady()
        {
            while (_order.Count > 0)
            {
                var t = _order.Peek();
                while (t.Next < t.Open.Length)
                {
                    int i = t.Next;
                    if (!t.Open[i] && (t.AddressCount < 0 || t.Seen[i] < t.AddressCount))
                    {
                        yield break;
                    }

                    t.Next++;
                    yield return t.Open[i];
                }

                _byId.Remove(_order.Dequeue().Id);
            }
        }

        /// <summary>Every verdict not yet handed out (the scan ended, so undecided ones are false: cancelled or lost).</summary>
        public IEnumerable<bool> TakeRest()
        {
            while (_order.Count > 0)
            {
                var t = _order.Dequeue();
                _byId.Remove(t.Id);
                for (; t.Next < t.Open.Length; t.Next++)
                {
                    yield return t.Open[t.Next];
                }
            }
        }

        private sealed class Target
        {
            public Target(long id, int ports)
            {
                Id = id;
                Open = new bool[ports];
                Seen = new long[ports];
            }

            public long Id { get; }

            public bool[] Open { get; }

            public long[] Seen { get; }

            public long AddressCount { get; set; } = -1;

            public int Next { get; set; }
        }
    }
}

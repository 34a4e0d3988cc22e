using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    public class SessionManagerTests
    {
        private sealed class FakeSession : SocketSession
        {
            public int Closes;

            public FakeSession()
                : base(SessionKind.Udp)
            {
            }

            protected override SessionState CurrentState => SessionState.Open;

            protected override void OnClose() => Interlocked.Increment(ref Closes);
        }

        private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N");

        [Fact]
        public void IdsIncreaseAndLookupsFindTheSession()
        {
            var a = SessionManager.Register(new FakeSession());
            var name = Unique("b");
            var b = SessionManager.Register(new FakeSession(), name);
            try
            {
                Assert.True(b.Id > a.Id);
                Assert.Same(a, SessionManager.Get(a.Id));
                Assert.Same(b, SessionManager.Get(name));
                Assert.Same(b, SessionManager.Get(name.ToUpperInvariant()));
                Assert.Same(b, SessionManager.Resolve(b));
                Assert.Same(b, SessionManager.Resolve(b.Id));
                Assert.Same(b, SessionManager.Resolve((long)b.Id));
                Assert.Same(b, SessionManager.Resolve(b.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Assert.Same(b, SessionManager.Resolve("#" + b.Id));
                Assert.Same(b, SessionManager.Resolve(name));
                Assert.Contains(b, SessionManager.GetAll());
            }
            finally
            {
                SessionManager.Remove(a);
                SessionManager.Remove(b);
            }
        }

        [Fact]
        public void ResolveGivesNullForWhatIsNotRegistered()
        {
            Assert.Null(SessionManager.Resolve(null));
            Assert.Null(SessionManager.Resolve(Unique("nobody")));
            Assert.Null(SessionManager.Resolve(new FakeSession()));
            Assert.Null(SessionManager.Resolve(int.MaxValue));
            Assert.Null(SessionManager.Resolve(-1L));
            Assert.Null(SessionManager.Resolve(3.5));
        }

        [Fact]
        public void RemoveClosesOnceAndUnregisters()
        {
            var s = SessionManager.Register(new FakeSession());
            Assert.True(SessionManager.Remove(s));
            Assert.False(SessionManager.Remove(s));
            Assert.Equal(1, s.Closes);
            Assert.Equal(SessionState.Closed, s.State);
            Assert.Null(SessionManager.Get(s.Id));
            Assert.Null(SessionManager.Resolve(s));
        }

        [Fact]
        public void ADuplicateLiveNameIsRefusedAndAClosedOneIsReplaced()
        {
            string name = Unique("dup");
            var first = SessionManager.Register(new FakeSession(), name);
            var ex = Assert.Throws<PSSocketException>(() => SessionManager.Register(new FakeSession(), name.ToUpperInvariant()));
            Assert.Equal(SocketErrorKind.DuplicateSessionName, ex.Kind);
            first.Close("test");
            var second = SessionManager.Register(new FakeSession(), name);
            Assert.Same(second, SessionManager.Get(name));
            Assert.Null(SessionManager.Get(first.Id));
            SessionManager.Remove(second);
        }

        [Fact]
        public void BlankNamesMeanNoName()
        {
            var s = SessionManager.Register(new FakeSession(), "   ");
            Assert.Null(s.Name);
            SessionManager.Remove(s);
        }

        [Fact]
        public async Task ParallelRegisterRemoveAndLookupKeepTheRegistryConsistent()
        {
            const int Threads = 16;
            const int PerThread = 300;
            string prefix = Unique("par");
            var ids = new ConcurrentBag<int>();
            var errors = new ConcurrentQueue<Exception>();
            using var go = new ManualResetEventSlim(false);
            var workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
            {
                go.Wait();
                var rng = new Random(t);
                try
                {
                    for (int i = 0; i < PerThread; i++)
                    {
                        // Few names shared by all threads, so registrations race for them.
                        string name = $"{prefix}-{rng.Next(8)}";
                        FakeSession s;
                        try
                        {
                            s = SessionManager.Register(new FakeSession(), name);
                        }
                        catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.DuplicateSessionName)
                        {
                            s = SessionManager.Register(new FakeSession());
                        }

                        ids.Add(s.Id);
                        if (!ReferenceEquals(SessionManager.Get(s.Id), s) || !ReferenceEquals(SessionManager.Resolve(s), s))
                        {
                            throw new InvalidOperationException($"lost session {s.Id}");
                        }

                        _ = SessionManager.Resolve(name);
                        _ = SessionManager.GetAll();
                        if (rng.Next(3) != 0)
                        {
                            if (!SessionManager.Remove(s))
                            {
                                throw new InvalidOperationException($"could not remove {s.Id}");
                            }
                        }
                    }
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            go.Set();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Empty(errors);
            Assert.Equal(Threads * PerThread, ids.Distinct().Count());

            var mine = SessionManager.GetAll().Where(s => s is FakeSession && ids.Contains(s.Id)).ToArray();
            var liveNames = mine.Where(s => s.Name is not null && s.State != SessionState.Closed).Select(s => s.Name!.ToUpperInvariant()).ToArray();
            Assert.Equal(liveNames.Length, liveNames.Distinct().Count());
            foreach (var s in mine)
            {
                SessionManager.Remove(s);
            }

            Assert.DoesNotContain(SessionManager.GetAll(), s => ids.Contains(s.Id));
        }

        [Fact]
        public void EnumerationIsACopySafeToRemoveFrom()
        {
            var made = Enumerable.Range(0, 5).Select(_ => SessionManager.Register(new FakeSession())).ToArray();
            foreach (var s in SessionManager.GetAll().Where(s => made.Contains(s)))
            {
                SessionManager.Remove(s);
            }

            Assert.All(made, s => Assert.Null(SessionManager.Get(s.Id)));
        }
    }
}

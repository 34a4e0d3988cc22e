using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace PSSocket.Tests
{
    /// <summary>
    /// The one bounded wait-until of the engine tests: polls a condition until it holds or the time
    /// is up (15 s unless told: generous, for a loaded machine) and returns whether it held.
    /// </summary>
    internal static class Eventually
    {
        public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(15);

        public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan? limit = null, int pollMs = 20)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed >= (limit ?? DefaultLimit))
                {
                    return condition();
                }

                await Task.Delay(pollMs).ConfigureAwait(false);
            }

            return true;
        }

        public static bool True(Func<bool> condition, TimeSpan? limit = null) =>
            TrueAsync(condition, limit).GetAwaiter().GetResult();
    }
}

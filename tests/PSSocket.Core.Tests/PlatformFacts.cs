using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>What a test needs from the platform it runs on.</summary>
    [Flags]
    public enum Needs
    {
        /// <summary>Nothing beyond the defaults.</summary>
        None = 0,

        /// <summary>Linux (kernel behaviour the test relies on, e.g. a full accept queue leaving SYNs unanswered).</summary>
        Linux = 1,

        /// <summary>An IPv6 stack (the ::1 loopback).</summary>
        IPv6 = 2,
    }

    /// <summary>
    /// Why a platform cannot run a test, or null. xunit 2 has no dynamic skip: the attributes below set
    /// Skip at discovery, so the report shows the test as skipped with this reason instead of passed.
    /// </summary>
    internal static class Platform
    {
        public static string? SkipReason(Needs needs)
        {
            var missing = new List<string>();
            if (needs.HasFlag(Needs.Linux) && !RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                missing.Add("Linux");
            }

            if (needs.HasFlag(Needs.IPv6) && !Socket.OSSupportsIPv6)
            {
                missing.Add("IPv6");
            }

            return missing.Count == 0 ? null : "needs " + string.Join(" and ", missing) + ", which this platform lacks";
        }
    }

    /// <summary>A fact that is skipped, with the reason, where the platform lacks what it needs.</summary>
    public sealed class PlatformFactAttribute : FactAttribute
    {
        /// <summary>Skips the fact unless the platform has <paramref name="needs"/>.</summary>
        public PlatformFactAttribute(Needs needs)
        {
            Needs = needs;
            Skip = Platform.SkipReason(needs);
        }

        /// <summary>What the fact needs.</summary>
        public Needs Needs { get; }
    }

    /// <summary>A theory that is skipped, with the reason, where the platform lacks what it needs.</summary>
    public sealed class PlatformTheoryAttribute : TheoryAttribute
    {
        /// <summary>Skips the theory unless the platform has <paramref name="needs"/>.</summary>
        public PlatformTheoryAttribute(Needs needs)
        {
            Needs = needs;
            Skip = Platform.SkipReason(needs);
        }

        /// <summary>What the theory needs.</summary>
        public Needs Needs { get; }
    }
}

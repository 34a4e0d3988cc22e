using System;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// A fact skipped on Mono (the .NET Framework stand-in that runs the net472 build), with the
    /// reason in the skip message, for what Mono itself cannot do (not for an engine gap).
    /// It runs everywhere else.
    /// </summary>
    public sealed class SkipOnMonoFactAttribute : FactAttribute
    {
        public SkipOnMonoFactAttribute(string reason)
        {
            if (IsMono)
            {
                Skip = "not possible on Mono: " + reason;
            }
        }

        public static bool IsMono { get; } = Type.GetType("Mono.Runtime") != null;
    }
}

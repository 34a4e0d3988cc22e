using System.Collections;
using System.Text.RegularExpressions;

namespace PSSocket
{
    /// <summary>What a conversation step does.</summary>
    public enum ConversationStepKind
    {
        /// <summary>Only pauses.</summary>
        Delay,

        /// <summary>Sends.</summary>
        Send,

        /// <summary>Waits for the expectation.</summary>
        Expect,

        /// <summary>Sends, then waits for the expectation.</summary>
        SendExpect,
    }

    /// <summary>What one step did.</summary>
    public sealed class ConversationStepResult
    {
        /// <summary>The step's position in the script, from 1.</summary>
        public int Index { get; internal set; }

        /// <summary>Send, Expect, SendExpect or Delay.</summary>
        public ConversationStepKind Kind { get; internal set; }

        /// <summary>What the step waited for.</summary>
        public string? Expect { get; internal set; }

        /// <summary>What was sent (******** for a secret), without the line terminator.</summary>
        public string? Sent { get; internal set; }

        /// <summary>The text the expectation consumed, up to and including the match (pager prompts removed).</summary>
        public string? Received { get; internal set; }

        /// <summary>The match that ended the expectation.</summary>
        public Match? Match { get; internal set; }

        /// <summary>How many pager prompts were answered.</summary>
        public int Pages { get; internal set; }

        /// <summary>How long the step took.</summary>
        public TimeSpan Duration { get; internal set; }

        /// <summary>False when the step failed.</summary>
        public bool Success { get; internal set; }

        /// <summary>Why the step failed.</summary>
        public string? Error { get; internal set; }
    }

    /// <summary>The record of a conversation: steps, captures, outcome.</summary>
    public sealed class ConversationTranscript
    {
        internal ConversationTranscript(SocketSession session) => Session = session;

        /// <summary>The session the conversation ran on.</summary>
        public SocketSession Session { get; }

        /// <summary>Each step that ran, in order.</summary>
        public List<ConversationStepResult> Steps { get; } = new();

        /// <summary>Captured values by name (case-insensitive): Capture names and regex named groups.</summary>
        public Hashtable Captures { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>True when every step succeeded.</summary>
        public bool Success { get; internal set; } = true;

        /// <summary>The index of the step that failed, if one did.</summary>
        public int? FailedStep { get; internal set; }

        /// <summary>The whole conversation's duration.</summary>
        public TimeSpan Elapsed { get; internal set; }

        /// <summary>A Capture named on a send-only step, filled by the next expectation.</summary>
        internal string? PendingCapture { get; set; }

        /// <summary>Runs from Begin to End.</summary>
        internal Stopwatch Clock { get; } = Stopwatch.StartNew();
    }
}

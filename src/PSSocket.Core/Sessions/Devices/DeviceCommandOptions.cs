using System.Security;
using System.Text.RegularExpressions;

namespace PSSocket.Sessions.Devices
{
    /// <summary>How Invoke-DeviceCommand runs commands on one device.</summary>
    public sealed class DeviceCommandOptions
    {
        /// <summary>How long the device may be silent before a line that only looks like a prompt (or a question) counts as one.</summary>
        public static readonly TimeSpan DefaultQuiet = TimeSpan.FromMilliseconds(60);

        /// <summary>The device's profile.</summary>
        public DeviceProfile Profile { get; set; } = null!;

        /// <summary>A pattern that ends each command instead of the prompt.</summary>
        public Regex? Expect { get; set; }

        /// <summary>How long each command may take in all.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Ends a command after this long with no new bytes (for devices without a usable prompt); null: only the prompt ends it.</summary>
        public TimeSpan? IdleTimeout { get; set; }

        /// <summary>Questions (patterns matched on the last line) and what to send to each, with a line end.</summary>
        public IList<KeyValuePair<Regex, string>> Answers { get; } = new List<KeyValuePair<Regex, string>>();

        /// <summary>The secret for the profile's EnableCommand; null: privileged mode is not entered.</summary>
        public SecureString? EnableSecret { get; set; }

        /// <summary>The most bytes one command's answer may buffer.</summary>
        public int MaxBytes { get; set; } = TcpSession.DefaultMaxBytes;

        /// <summary>With a configuration: go on after a line the device answered with an error.</summary>
        public bool ContinueOnError { get; set; }

        /// <summary>How long the device must be silent before a new prompt or a question counts.</summary>
        public TimeSpan Quiet { get; set; } = DefaultQuiet;
    }
}

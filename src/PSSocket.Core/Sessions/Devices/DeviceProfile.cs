using System.Collections;
using System.Text.RegularExpressions;

namespace PSSocket
{
    /// <summary>
    /// What Invoke-DeviceCommand needs to know about one kind of device: how its prompt looks, how
    /// paging is turned off and answered, how privileged and configuration modes are entered and
    /// left, and which answers mean an error. Profiles are data (the module's DeviceProfiles.psd1,
    /// or a hashtable or file of the user's), never code.
    /// </summary>
    public sealed class DeviceProfile
    {
        /// <summary>The keys a profile is written with (case-insensitive).</summary>
        public static IReadOnlyList<string> Keys { get; } = new[]
        {
            "Base", "Description", "Prompt", "UserPrompt", "EnableCommand", "EnablePrompt", "PagingCommand", "PagerPrompt", "PagerKey",
            "ConfigCommand", "ConfigExitCommand", "ConfigPrompt", "CommitCommand", "ErrorPattern", "QuestionPattern", "SaveCommand", "CloseCommand",
        };

        private Regex? _prompt;
        private Regex? _userPrompt;
        private Regex? _enablePrompt;
        private Regex? _configPrompt;
        private Regex? _pager;
        private Regex? _error;
        private Regex? _question;

        /// <summary>The device type, as -DeviceType names it (cisco_ios, frr, linux, ...).</summary>
        public string Name { get; private set; } = "";

        /// <summary>What devices the profile is for.</summary>
        public string? Description { get; private set; }

        /// <summary>Where the profile came from: BuiltIn, a file path, or Hashtable.</summary>
        public string Source { get; internal set; } = "Hashtable";

        /// <summary>A regular expression that matches the whole prompt line (trailing blanks aside), in every mode: 'router>', 'router#', 'router(config-if)#'.</summary>
        public string Prompt { get; private set; } = "";

        /// <summary>A regular expression that matches a prompt of the unprivileged mode ('&gt;$'), where EnableCommand is needed; empty when the device has no such mode.</summary>
        public string? UserPrompt { get; private set; }

        /// <summary>The command that enters privileged mode ('enable').</summary>
        public string? EnableCommand { get; private set; }

        /// <summary>A regular expression for the password question EnableCommand asks ('[Pp]assword:').</summary>
        public string? EnablePrompt { get; private set; }

        /// <summary>Commands sent once per session, after the prompt is found, that turn paging off ('terminal length 0').</summary>
        public string[] PagingCommand { get; private set; } = Array.Empty<string>();

        /// <summary>Regular expressions of pager prompts ('--More--'), answered with PagerKey and removed from the output.</summary>
        public string[] PagerPrompt { get; private set; } = Array.Empty<string>();

        /// <summary>What answers a pager prompt (default one space, sent without a line end).</summary>
        public string PagerKey { get; private set; } = " ";

        /// <summary>The command that enters configuration mode ('configure terminal').</summary>
        public string? ConfigCommand { get; private set; }

        /// <summary>The command that leaves configuration mode ('end').</summary>
        public string? ConfigExitCommand { get; private set; }

        /// <summary>A regular expression that matches a prompt of configuration mode ('\(config[^)]*\)#').</summary>
        public string? ConfigPrompt { get; private set; }

        /// <summary>A command sent after the configuration lines and before ConfigExitCommand ('commit' on Junos).</summary>
        public string? CommitCommand { get; private set; }

        /// <summary>Regular expressions that mark an answer as an error ('% Invalid input', 'syntax error').</summary>
        public string[] ErrorPattern { get; private set; } = Array.Empty<string>();

        /// <summary>Regular expressions of questions the device waits on ('\[confirm\]', '\(y/n\)'); one that -Answer does not answer ends the command with an error.</summary>
        public string[] QuestionPattern { get; private set; } = Array.Empty<string>();

        /// <summary>The command that saves the configuration ('copy running-config startup-config', 'write memory').</summary>
        public string? SaveCommand { get; private set; }

        /// <summary>Commands sent before the connection is closed ('exit').</summary>
        public string[] CloseCommand { get; private set; } = Array.Empty<string>();

        internal Regex PromptRegex => _prompt ??= Anchored(Prompt);

        internal Regex? UserPromptRegex => UserPrompt is { Length: > 0 } p ? _userPrompt ??= Make(p) : null;

        internal Regex EnablePromptRegex => _enablePrompt ??= Make(EnablePrompt is { Length: > 0 } p ? p : "[Pp]assword:");

        internal Regex? ConfigPromptRegex => ConfigPrompt is { Length: > 0 } p ? _configPrompt ??= Make(p) : null;

        internal Regex? PagerRegex => PagerPrompt.Length == 0 ? null : _pager ??= Make("(?:" + string.Join("|", PagerPrompt) + @")[ \t]*$");

        internal Regex? ErrorRegex => ErrorPattern.Length == 0 ? null : _error ??= Make("(?m)(?:" + string.Join("|", ErrorPattern) + ")");

        internal Regex? QuestionRegex => QuestionPattern.Length == 0 ? null : _question ??= Make("(?:" + string.Join("|", QuestionPattern) + ")");

        /// <summary>
        /// Builds a profile from its keys (see <see cref="Keys"/>); Base names a profile whose values
        /// fill in the keys not given. Lists take a string or an array of strings.
        /// </summary>
        /// <exception cref="ArgumentException">A key is unknown, a value has the wrong shape, or a pattern is not a valid regular expression.</exception>
        public static DeviceProfile Parse(string name, IDictionary values, Func<string, DeviceProfile?>? findBase = null)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("a device profile needs a name.");
            }

            if (values is null)
            {
                throw new ArgumentNullException(nameof(values));
            }

            var given = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry e in values)
            {
                string key = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                if (!Keys.Contains(key, StringComparer.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"profile '{name}' has an unknown key '{key}'. A profile takes {string.Join(", ", Keys)}.");
                }

                given[key] = e.Value;
            }

            DeviceProfile? baseProfile = null;
            if (Text(given, "Base") is { } baseName)
            {
                baseProfile = findBase?.Invoke(baseName) ?? throw new ArgumentException($"profile '{name}' is based on '{baseName}', which is not a known device type.");
            }

            var p = baseProfile?.Copy() ?? new DeviceProfile();
            p.Name = name.Trim();
            p.Description = Optional(given, "Description", p.Description);
            p.Prompt = Text(given, "Prompt") ?? p.Prompt;
            p.UserPrompt = Optional(given, "UserPrompt", p.UserPrompt);
            p.EnableCommand = Optional(given, "EnableCommand", p.EnableCommand);
            p.EnablePrompt = Optional(given, "EnablePrompt", p.EnablePrompt);
            p.PagingCommand = List(given, "PagingCommand") ?? p.PagingCommand;
            p.PagerPrompt = List(given, "PagerPrompt") ?? p.PagerPrompt;
            p.PagerKey = Text(given, "PagerKey", allowEmpty: true) ?? p.PagerKey;
            p.ConfigCommand = Optional(given, "ConfigCommand", p.ConfigCommand);
            p.ConfigExitCommand = Optional(given, "ConfigExitCommand", p.ConfigExitCommand);
            p.ConfigPrompt = Optional(given, "ConfigPrompt", p.ConfigPrompt);
            p.CommitCommand = Optional(given, "CommitCommand", p.CommitCommand);
            p.ErrorPattern = List(given, "ErrorPattern") ?? p.ErrorPattern;
            p.QuestionPattern = List(given, "QuestionPattern") ?? p.QuestionPattern;
            p.SaveCommand = Optional(given, "SaveCommand", p.SaveCommand);
            p.CloseCommand = List(given, "CloseCommand") ?? p.CloseCommand;
            p.Validate();
            return p;
        }

        private DeviceProfile Copy() => (DeviceProfile)MemberwiseClone();

        private void Validate()
        {
            if (Prompt.Length == 0)
            {
                throw new ArgumentException($"profile '{Name}' has no Prompt: give a regular expression that matches the prompt line, such as '[\\w.-]+[>#]'.");
            }

            _prompt = _userPrompt = _enablePrompt = _configPrompt = _pager = _error = _question = null;
            try
            {
                _ = PromptRegex;
                _ = UserPromptRegex;
                _ = EnablePromptRegex;
                _ = ConfigPromptRegex;
                _ = PagerRegex;
                _ = ErrorRegex;
                _ = QuestionRegex;
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"profile '{Name}' has a pattern that is not a valid regular expression: {ex.Message}", ex);
            }
        }

        private static Regex Make(string pattern) => new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));

        private static Regex Anchored(string pattern) => Make(@"^(?:" + pattern + @")[ \t]*$");

        /// <summary>The value given (an empty string clears what the base profile said), or the current one.</summary>
        private static string? Optional(Dictionary<string, object?> values, string key, string? current) =>
            values.TryGetValue(key, out var v) && v is not null ? Text(values, key, allowEmpty: true) is { Length: > 0 } t ? t : null : current;

        private static string? Text(Dictionary<string, object?> values, string key, bool allowEmpty = false)
        {
            if (!values.TryGetValue(key, out var v) || v is null)
            {
                return null;
            }

            if (v is string s)
            {
                return s.Length == 0 && !allowEmpty ? null : s;
            }

            if (v is IEnumerable and not string)
            {
                throw new ArgumentException($"{key} takes one string, not a list.");
            }

            return Convert.ToString(v, CultureInfo.InvariantCulture);
        }

        private static string[]? List(Dictionary<string, object?> values, string key)
        {
            if (!values.TryGetValue(key, out var v) || v is null)
            {
                return null;
            }

            if (v is string s)
            {
                return s.Length == 0 ? Array.Empty<string>() : new[] { s };
            }

            if (v is IEnumerable items)
            {
                return items.Cast<object?>().Select(i => Convert.ToString(i, CultureInfo.InvariantCulture) ?? "").Where(i => i.Length > 0).ToArray();
            }

            return new[] { Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" };
        }

        /// <inheritdoc />
        public override string ToString() => Name;
    }
}

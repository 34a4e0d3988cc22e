using System.Management.Automation.Host;
using System.Runtime.InteropServices;

namespace PSSocket
{
    /// <summary>
    /// Where keys come from: the host's RawUI when it has one, else the console, else redirected
    /// standard input; null when there is none of them (the ISE, a host embedded in a program).
    /// </summary>
    internal abstract class KeySource : IDisposable
    {
        /// <summary>Whether typed characters must be echoed by us.</summary>
        public abstract bool Echoes { get; }

        public static KeySource? Create(PSHost host)
        {
            try
            {
                var raw = host.UI.RawUI;
                if (raw is not null)
                {
                    _ = raw.KeyAvailable;
                    return new RawUIKeys(raw);
                }
            }
            catch (HostException)
            {
                // The host does not support user interaction (PowerShell hosted in a program, a
                // runspace with no UI): the process's console, if any, is not the user's.
                return null;
            }
            catch (Exception ex) when (ex is NotImplementedException or PSNotImplementedException or InvalidOperationException or NotSupportedException or PSInvalidOperationException)
            {
                // This host cannot read single keys: fall back to the console.
            }

            if (!Console.IsInputRedirected)
            {
                return new ConsoleKeys();
            }

            // A Windows GUI process (the ISE) has no standard input at all, which .NET reports as
            // redirected: reading it would end the session at once with no word why.
            return PlatformRules.IsWindows && !HasWindowsStandardInput() ? null : new LineKeys();
        }

        [DllImport("kernel32.dll")]
        private static extern IntPtr GetStdHandle(int stdHandle);

        private static bool HasWindowsStandardInput()
        {
            const int StdInputHandle = -10;
            var handle = GetStdHandle(StdInputHandle);
            return handle != IntPtr.Zero && handle != new IntPtr(-1);
        }

        /// <summary>
        /// One key if one is waiting: its character, and its virtual key code (ConsoleKey's numbers,
        /// which are Windows' VK codes; 0 when unknown) for keys with no character such as the
        /// arrows; escape is Ctrl+]; endOfInput when input is exhausted.
        /// </summary>
        public abstract bool TryRead(out char c, out int virtualKey, out bool escape, out bool endOfInput);

        public virtual void Dispose()
        {
        }

        // Ctrl+] is 0x1D; Windows reports it as Ctrl+Oem6 (221), .NET on Unix as Ctrl+D5 (53)
        // with no character (0x1D is also Ctrl+5 on VT terminals).
        protected static bool IsEscape(char c, int virtualKey, bool ctrl) =>
            c == InteractiveTerminal.EscapeChar || (ctrl && virtualKey == 221) || (c == '\0' && virtualKey == 53);
    }

    internal sealed class RawUIKeys : KeySource
    {
        private readonly PSHostRawUserInterface _raw;

        public RawUIKeys(PSHostRawUserInterface raw) => _raw = raw;

        public override bool Echoes => true;

        public override bool TryRead(out char c, out int virtualKey, out bool escape, out bool endOfInput)
        {
            c = '\0';
            virtualKey = 0;
            escape = false;
            endOfInput = false;
            if (!_raw.KeyAvailable)
            {
                return false;
            }

            var key = _raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
            bool ctrl = (key.ControlKeyState & (ControlKeyStates.LeftCtrlPressed | ControlKeyStates.RightCtrlPressed)) != 0;
            c = key.VirtualKeyCode == 13 ? '\r' : key.Character;
            virtualKey = key.VirtualKeyCode;
            escape = IsEscape(key.Character, key.VirtualKeyCode, ctrl);
            return true;
        }
    }

    internal sealed class ConsoleKeys : KeySource
    {
        public override bool Echoes => true;

        public override bool TryRead(out char c, out int virtualKey, out bool escape, out bool endOfInput)
        {
            c = '\0';
            virtualKey = 0;
            escape = false;
            endOfInput = false;
            if (!Console.KeyAvailable)
            {
                return false;
            }

            var key = Console.ReadKey(intercept: true);
            c = key.Key == ConsoleKey.Enter ? '\r' : key.KeyChar;
            virtualKey = (int)key.Key;
            escape = IsEscape(key.KeyChar, (int)key.Key, (key.Modifiers & ConsoleModifiers.Control) != 0);
            return true;
        }
    }

    /// <summary>Redirected input: whole lines read on a pool thread, handed over when complete.</summary>
    internal sealed class LineKeys : KeySource
    {
        private Task<string?>? _pending;
        private string? _current;
        private int _at;

        public override bool Echoes => false;

        public override bool TryRead(out char c, out int virtualKey, out bool escape, out bool endOfInput)
        {
            c = '\0';
            virtualKey = 0;
            escape = false;
            endOfInput = false;
            if (_current is not null)
            {
                if (_at < _current.Length)
                {
                    c = _current[_at++];
                    escape = c == InteractiveTerminal.EscapeChar;
                    return true;
                }

                _current = null;
                c = '\n';
                return true;
            }

            _pending ??= Task.Run(Console.In.ReadLine);
            if (!_pending.IsCompleted)
            {
                return false;
            }

            _current = _pending.GetAwaiter().GetResult();
            _pending = null;
            _at = 0;
            if (_current is null)
            {
                endOfInput = true;
                return true;
            }

            return TryRead(out c, out virtualKey, out escape, out endOfInput);
        }
    }
}

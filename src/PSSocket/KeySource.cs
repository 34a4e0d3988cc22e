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

        /// <summary>The key waiting, if one is.</summary>
        public abstract KeyPress? TryRead();

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

        public override KeyPress? TryRead()
        {
            if (!_raw.KeyAvailable)
            {
                return null;
            }

            var key = _raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
            bool ctrl = (key.ControlKeyState & (ControlKeyStates.LeftCtrlPressed | ControlKeyStates.RightCtrlPressed)) != 0;
            return new KeyPress(key.VirtualKeyCode == 13 ? '\r' : key.Character, key.VirtualKeyCode, IsEscape(key.Character, key.VirtualKeyCode, ctrl));
        }
    }

    internal sealed class ConsoleKeys : KeySource
    {
        public override bool Echoes => true;

        public override KeyPress? TryRead()
        {
            if (!Console.KeyAvailable)
            {
                return null;
            }

            var key = Console.ReadKey(intercept: true);
            bool ctrl = (key.Modifiers & ConsoleModifiers.Control) != 0;
            return new KeyPress(key.Key == ConsoleKey.Enter ? '\r' : key.KeyChar, (int)key.Key, IsEscape(key.KeyChar, (int)key.Key, ctrl));
        }
    }

    /// <summary>Redirected input: whole lines read on a pool thread, handed over when complete.</summary>
    internal sealed class LineKeys : KeySource
    {
        private Task<string?>? _pending;
        private string? _current;
        private int _at;

        public override bool Echoes => false;

        public override KeyPress? TryRead()
        {
            if (_current is not null)
            {
                if (_at < _current.Length)
                {
                    char c = _current[_at++];
                    return new KeyPress(c, 0, c == InteractiveTerminal.EscapeChar);
                }

                _current = null;
                return new KeyPress('\n', 0, false);
            }

            _pending ??= Task.Run(Console.In.ReadLine);
            if (!_pending.IsCompleted)
            {
                return null;
            }

            _current = _pending.GetAwaiter().GetResult();
            _pending = null;
            _at = 0;
            return _current is null ? KeyPress.EndOfInput : TryRead();
        }
    }

    /// <summary>
    /// One key: its character, and its virtual key code (ConsoleKey's numbers, which are Windows'
    /// VK codes; 0 when unknown) for keys with no character such as the arrows; Escape when it is
    /// Ctrl+]; EndOfInput (and nothing else) when redirected input is exhausted.
    /// </summary>
    internal readonly struct KeyPress
    {
        public KeyPress(char character, int virtualKey, bool escape)
        {
            Character = character;
            VirtualKey = virtualKey;
            Escape = escape;
            IsEndOfInput = false;
        }

        private KeyPress(bool endOfInput)
            : this('\0', 0, false) => IsEndOfInput = endOfInput;

        /// <summary>Redirected input has ended.</summary>
        public static KeyPress EndOfInput => new(endOfInput: true);

        public char Character { get; }

        public int VirtualKey { get; }

        public bool Escape { get; }

        public bool IsEndOfInput { get; }
    }
}

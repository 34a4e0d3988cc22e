using System;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;
using PSSocket.Net;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Talks to a session interactively: typed lines are sent, what arrives is printed; Ctrl+] returns to PowerShell.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Enter, "SocketSession")]
    [OutputType(typeof(void))]
    public sealed class EnterSocketSessionCommand : SessionCmdlet
    {
        private const char EscapeChar = '\u001d';
        private const int PollMilliseconds = 50;
        private long _hexOffset;

        /// <summary>The session: a session object, Id or Name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id", "SessionId")]
        [ArgumentCompleter(typeof(SessionCompleter))]
        [ValidateNotNull]
        public object Session { get; set; } = null!;

        /// <summary>Prints what arrives as a hex dump (offset, hex bytes, printable characters) instead of text.</summary>
        [Parameter]
        public SwitchParameter Hex { get; set; }

        /// <inheritdoc />
        protected override object? SessionArgument => Session;

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (session is not TcpSession tcp)
            {
                WriteError(ErrorRecords.WrongKind(session, "Enter-SocketSession needs a connected Tcp session"));
                return;
            }

            var ui = Host?.UI;
            using var keys = ui is null ? null : KeySource.Create(Host!);
            if (ui is null || keys is null)
            {
                ThrowTerminatingError(ErrorRecords.NoConsole(Host?.Name, tcp));
                return;
            }

            ui.WriteLine($"Connected to session {tcp} ({Endpoints.Format(tcp.RemoteEndPoint)}). Lines you type are sent with the session NewLine.");
            ui.WriteLine("Press Ctrl+] to return to PowerShell; the session stays open.");
            var line = new StringBuilder();
            while (true)
            {
                if (Token.IsCancellationRequested)
                {
                    throw new PipelineStoppedException();
                }

                if (!PrintIncoming(tcp, ui))
                {
                    return;
                }

                while (keys.TryRead(out char c, out bool escape, out bool endOfInput))
                {
                    if (escape)
                    {
                        ui.WriteLine();
                        ui.WriteLine($"Returned to PowerShell; session {tcp} stays {tcp.State}.");
                        return;
                    }

                    if (endOfInput)
                    {
                        if (line.Length > 0)
                        {
                            SendLine(tcp, line);
                        }

                        return;
                    }

                    // A telnet server that echoes expects keys as they are typed (character mode),
                    // as the telnet client sends them; everything else gets whole lines.
                    if (keys.Echoes && tcp.TelnetRemoteEcho)
                    {
                        SendKey(tcp, line, c);
                    }
                    else
                    {
                        HandleChar(tcp, ui, line, c, keys.Echoes);
                    }
                }
            }
        }

        private void HandleChar(TcpSession tcp, PSHostUserInterface ui, StringBuilder line, char c, bool echo)
        {
            switch (c)
            {
                case '\r':
                case '\n':
                    if (echo)
                    {
                        ui.WriteLine();
                    }

                    SendLine(tcp, line);
                    break;
                case '\b':
                case '\u007f':
                    if (line.Length > 0)
                    {
                        line.Length--;
                        if (echo)
                        {
                            ui.Write("\b \b");
                        }
                    }

                    break;
                default:
                    if (c >= ' ' || c == '\t')
                    {
                        line.Append(c);
                        if (echo)
                        {
                            ui.Write(c.ToString());
                        }
                    }

                    break;
            }
        }

        private void SendKey(TcpSession tcp, StringBuilder line, char c)
        {
            if (line.Length > 0)
            {
                SendLine(tcp, line, terminate: false);
            }

            string text = c switch
            {
                '\r' or '\n' => tcp.LineTerminator,
                '\b' => "\u007f",
                '\0' => "",
                _ => c.ToString(),
            };
            if (text.Length > 0)
            {
                Send(tcp, tcp.Encoding.GetBytes(text));
            }
        }

        private void SendLine(TcpSession tcp, StringBuilder line, bool terminate = true)
        {
            Send(tcp, tcp.Encoding.GetBytes(terminate ? line + tcp.LineTerminator : line.ToString()));
            line.Clear();
        }

        private void Send(TcpSession tcp, byte[] bytes) =>
            Run(t => tcp.SendAsync(bytes, 0, bytes.Length, Deadline.AfterSeconds(30), t));

        /// <summary>Prints what arrived within one poll; false once the session has ended.</summary>
        private bool PrintIncoming(TcpSession tcp, PSHostUserInterface ui)
        {
            byte[] data;
            try
            {
                data = Run(t => tcp.ReceiveAvailableAsync(64 * 1024, Hex ? null : tcp.Encoding, Deadline.After(TimeSpan.FromMilliseconds(PollMilliseconds)), t));
            }
            catch (PSSocketException ex) when (ex.Kind == SocketErrorKind.ReceiveTimeout)
            {
                return true;
            }
            catch (PSSocketException ex) when (ex.Kind is SocketErrorKind.RemoteClosed or SocketErrorKind.ConnectionReset or SocketErrorKind.SessionClosed)
            {
                ui.WriteLine();
                ui.WriteLine($"Session {tcp}: {(ex.Kind == SocketErrorKind.RemoteClosed ? "the peer closed the connection" : ex.Message)}. Back to PowerShell.");
                return false;
            }

            if (Hex)
            {
                ui.Write(HexDump(data));
            }
            else
            {
                string text = tcp.Encoding.GetString(data);
                ui.Write(tcp.StripAnsi ? AnsiText.Strip(text) : text);
            }

            return true;
        }

        private string HexDump(byte[] data)
        {
            var sb = new StringBuilder();
            for (int row = 0; row < data.Length; row += 16)
            {
                sb.Append((_hexOffset + row).ToString("x8", CultureInfo.InvariantCulture)).Append("  ");
                for (int i = 0; i < 16; i++)
                {
                    sb.Append(row + i < data.Length ? data[row + i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
                    if (i == 7)
                    {
                        sb.Append(' ');
                    }
                }

                sb.Append(" |");
                for (int i = row; i < Math.Min(row + 16, data.Length); i++)
                {
                    sb.Append(data[i] is >= 0x20 and < 0x7f ? (char)data[i] : '.');
                }

                sb.Append('|').Append('\n');
            }

            _hexOffset += data.Length;
            return sb.ToString();
        }

        /// <summary>
        /// Where keys come from: the host's RawUI when it has one, else the console, else redirected
        /// standard input; null when there is none of them (the ISE, a host embedded in a program).
        /// </summary>
        private abstract class KeySource : IDisposable
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

            /// <summary>One key if one is waiting; escape is Ctrl+]; endOfInput when input is exhausted.</summary>
            public abstract bool TryRead(out char c, out bool escape, out bool endOfInput);

            public virtual void Dispose()
            {
            }

            // Ctrl+] is 0x1D; Windows reports it as Ctrl+Oem6 (221), .NET on Unix as Ctrl+D5 (53)
            // with no character (0x1D is also Ctrl+5 on VT terminals).
            protected static bool IsEscape(char c, int virtualKey, bool ctrl) =>
                c == EscapeChar || (ctrl && virtualKey == 221) || (c == '\0' && virtualKey == 53);
        }

        private sealed class RawUIKeys : KeySource
        {
            private readonly PSHostRawUserInterface _raw;

            public RawUIKeys(PSHostRawUserInterface raw) => _raw = raw;

            public override bool Echoes => true;

            public override bool TryRead(out char c, out bool escape, out bool endOfInput)
            {
                c = '\0';
                escape = false;
                endOfInput = false;
                if (!_raw.KeyAvailable)
                {
                    return false;
                }

                var key = _raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
                bool ctrl = (key.ControlKeyState & (ControlKeyStates.LeftCtrlPressed | ControlKeyStates.RightCtrlPressed)) != 0;
                c = key.VirtualKeyCode == 13 ? '\r' : key.Character;
                escape = IsEscape(key.Character, key.VirtualKeyCode, ctrl);
                return true;
            }
        }

        private sealed class ConsoleKeys : KeySource
        {
            public override bool Echoes => true;

            public override bool TryRead(out char c, out bool escape, out bool endOfInput)
            {
                c = '\0';
                escape = false;
                endOfInput = false;
                if (!Console.KeyAvailable)
                {
                    return false;
                }

                var key = Console.ReadKey(intercept: true);
                c = key.Key == ConsoleKey.Enter ? '\r' : key.KeyChar;
                escape = IsEscape(key.KeyChar, (int)key.Key, (key.Modifiers & ConsoleModifiers.Control) != 0);
                return true;
            }
        }

        /// <summary>Redirected input: whole lines read on a pool thread, handed over when complete.</summary>
        private sealed class LineKeys : KeySource
        {
            private Task<string?>? _pending;
            private string? _current;
            private int _at;

            public override bool Echoes => false;

            public override bool TryRead(out char c, out bool escape, out bool endOfInput)
            {
                c = '\0';
                escape = false;
                endOfInput = false;
                if (_current is not null)
                {
                    if (_at < _current.Length)
                    {
                        c = _current[_at++];
                        escape = c == EscapeChar;
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

                return TryRead(out c, out escape, out endOfInput);
            }
        }
    }
}

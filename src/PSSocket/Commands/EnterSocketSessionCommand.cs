namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Talks to a session interactively: typed lines are sent, what arrives is printed; Ctrl+] returns to PowerShell.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Enter, "SocketSession")]
    [OutputType(typeof(void))]
    public sealed class EnterSocketSessionCommand : PipedSessionCmdlet
    {
        /// <summary>Prints what arrives as a hex dump (offset, hex bytes, printable characters) instead of text.</summary>
        [Parameter]
        public SwitchParameter Hex { get; set; }

        /// <inheritdoc />
        protected override void ProcessSession(SocketSession session)
        {
            if (Expect<TcpSession>(session, "Enter-SocketSession needs a connected Tcp session") is not { } tcp)
            {
                return;
            }

            var ui = Host?.UI;
            using var keys = ui is null ? null : KeySource.Create(Host!);
            if (ui is null || keys is null)
            {
                ThrowTerminatingError(ErrorRecords.NoConsole(Host?.Name, tcp));
                return;
            }

            var terminal = new InteractiveTerminal(tcp, Hex);
            ui.WriteLine($"Connected to session {tcp} ({Endpoints.Format(tcp.RemoteEndPoint)}). Lines you type are sent with the session NewLine.");
            ui.WriteLine("Press Ctrl+] to return to PowerShell; the session stays open.");
            while (true)
            {
                if (Token.IsCancellationRequested)
                {
                    throw new PipelineStoppedException();
                }

                if (Run(t => terminal.ReceiveAsync(t)) is not { } incoming)
                {
                    ui.WriteLine();
                    ui.WriteLine($"Session {tcp}: {terminal.EndReason}. Back to PowerShell.");
                    return;
                }

                if (incoming.Length > 0)
                {
                    ui.Write(incoming);
                }

                while (keys.TryRead() is { } key)
                {
                    if (key.Escape)
                    {
                        ui.WriteLine();
                        ui.WriteLine($"Returned to PowerShell; session {tcp} stays {tcp.State}.");
                        return;
                    }

                    byte[]? send;
                    if (key.IsEndOfInput)
                    {
                        send = terminal.EndOfInput();
                    }
                    else
                    {
                        string echo = terminal.Type(key.Character, key.VirtualKey, keys.Echoes, out send);
                        if (echo.Length > 0)
                        {
                            ui.Write(echo);
                        }
                    }

                    if (send is not null)
                    {
                        Run(t => terminal.SendAsync(send, t));
                    }

                    if (key.IsEndOfInput)
                    {
                        return;
                    }
                }
            }
        }
    }
}

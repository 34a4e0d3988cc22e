using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using PSSocket.Sessions;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>
    /// Receive-SocketData's modes as the engine runs them (ReceiveRequest), and Enter-SocketSession's
    /// typing and printing (InteractiveTerminal), on a real loopback pair.
    /// </summary>
    public sealed class ReceiveRequestTests : LoopbackSessionTests
    {

        private static Deadline Soon => Deadline.AfterSeconds(10);

        private void PeerSends(string text) => Peer.Send(Encoding.UTF8.GetBytes(text));

        private string PeerReads(int count)
        {
            var buffer = new byte[count];
            int n = 0;
            Peer.ReceiveTimeout = 10_000;
            while (n < count)
            {
                n += Peer.Receive(buffer, n, count - n, SocketFlags.None);
            }

            return Encoding.UTF8.GetString(buffer);
        }

        [Fact]
        public async Task EachModeStopsWhereItsRuleSaysAndLeavesTheRestBuffered()
        {
            PeerSends("one\ntwo\r\nabcXYZ<end>rest 42;");
            var line = new ReceiveRequest { Mode = ReceiveMode.Line, Count = 2 };
            Assert.Equal(2, line.Pieces);
            Assert.Equal("one", (await line.ReceiveAsync(Session, Soon, CancellationToken.None)).Text);
            Assert.Equal("two", (await line.ReceiveAsync(Session, Soon, CancellationToken.None)).Text);
            var count = await new ReceiveRequest { Mode = ReceiveMode.Count, Count = 3, AsBytes = true }.ReceiveAsync(Session, Soon, CancellationToken.None);
            Assert.Null(count.Text);
            Assert.Equal("abc", Encoding.UTF8.GetString(count.Bytes));
            Assert.Equal("XYZ<end>", (await new ReceiveRequest { Mode = ReceiveMode.Until, Until = "<end>" }.ReceiveAsync(Session, Soon, CancellationToken.None)).Text);
            var pattern = await new ReceiveRequest { Mode = ReceiveMode.Pattern, Pattern = @"rest (\d+)" }.ReceiveAsync(Session, Soon, CancellationToken.None);
            Assert.Equal("42", pattern.Match!.Groups[1].Value);
            Assert.Equal(1, Session.Available);
            Assert.Equal(";", (await new ReceiveRequest().ReceiveAsync(Session, Soon, CancellationToken.None)).Text);
        }

        [Fact]
        public async Task ALineWrittenToAFileGetsTheSessionsLineEndBack()
        {
            Session.NewLine = "\r\n";
            PeerSends("a line\r\n");
            var piece = await new ReceiveRequest { Mode = ReceiveMode.Line }.ReceiveAsync(Session, Soon, CancellationToken.None);
            using var file = new MemoryStream();
            piece.WriteTo(file);
            Assert.Equal("a line\r\n", Encoding.UTF8.GetString(file.ToArray()));
        }

        [Fact]
        public async Task TextIsStrippedOfEscapesWhenAskedAndToEndWaitsForTheClose()
        {
            PeerSends("\u001b[1mbold\u001b[0m");
            Peer.Shutdown(SocketShutdown.Send);
            var piece = await new ReceiveRequest { Mode = ReceiveMode.ToEnd, StripAnsi = true }.ReceiveAsync(Session, Soon, CancellationToken.None);
            Assert.Equal("bold", piece.Text);
            Assert.Equal(12, piece.Bytes.Length);
        }

        [Fact]
        public void AnInvalidPatternIsRefusedWhenSet() =>
            Assert.ThrowsAny<ArgumentException>(() => new ReceiveRequest { Mode = ReceiveMode.Pattern, Pattern = "(" });

        [Fact]
        public async Task TheTerminalEditsALineAndSendsItWithTheSessionLineEnd()
        {
            var terminal = new InteractiveTerminal(Session, hex: false);
            Assert.Equal("a", terminal.Type('a', echo: true, out var send));
            Assert.Null(send);
            terminal.Type('x', echo: true, out _);
            Assert.Equal("\b \b", terminal.Type('\b', echo: true, out _));
            Assert.Equal("", terminal.Type('\u0001', echo: true, out _));
            terminal.Type('b', echo: true, out _);
            Assert.Equal(Environment.NewLine, terminal.Type('\r', echo: true, out send));
            await terminal.SendAsync(send!, CancellationToken.None);
            Assert.Equal("ab\n", PeerReads(3));
            Assert.Equal("", terminal.Type('z', echo: false, out _));
            await terminal.SendAsync(terminal.EndOfInput()!, CancellationToken.None);
            Assert.Equal("z\n", PeerReads(2));
            Assert.Null(terminal.EndOfInput());
        }

        [Theory]
        [InlineData(38, "\u001b[A")]
        [InlineData(40, "\u001b[B")]
        [InlineData(39, "\u001b[C")]
        [InlineData(37, "\u001b[D")]
        [InlineData(36, "\u001b[H")]
        [InlineData(35, "\u001b[F")]
        [InlineData(46, "\u001b[3~")]
        [InlineData(33, "\u001b[5~")]
        [InlineData(112, "\u001bOP")]
        [InlineData(115, "\u001bOS")]
        [InlineData(116, "\u001b[15~")]
        [InlineData(123, "\u001b[24~")]
        [InlineData(65, null)]
        public void KeysWithoutACharacterAreTheSequencesAnXtermSends(int virtualKey, string? sequence) =>
            Assert.Equal(sequence, InteractiveTerminal.KeySequence(virtualKey));

        [Fact]
        public void ALineModeTerminalIgnoresTheArrowKeys()
        {
            var terminal = new InteractiveTerminal(Session, hex: false);
            Assert.Equal("", terminal.Type('\0', 38, echo: true, out var send));
            Assert.Null(send);
        }

        [Fact]
        public async Task TheTerminalPrintsWhatArrivesAsTextOrAHexDumpAndSaysWhenThePeerLeft()
        {
            var text = new InteractiveTerminal(Session, hex: false);
            Assert.Equal("", await text.ReceiveAsync(CancellationToken.None));
            PeerSends("hi");
            Assert.Equal("hi", await WaitForOutput(text));
            var hex = new InteractiveTerminal(Session, hex: true);
            PeerSends("AB\n");
            Assert.Equal("00000000  41 42 0a                                          |AB.|\n", await WaitForOutput(hex));
            Peer.Shutdown(SocketShutdown.Send);
            string? end = "";
            for (int i = 0; i < 200 && end is not null; i++)
            {
                end = await hex.ReceiveAsync(CancellationToken.None);
            }

            Assert.Null(end);
            Assert.Equal("the peer closed the connection", hex.EndReason);
        }

        private static async Task<string> WaitForOutput(InteractiveTerminal terminal)
        {
            for (int i = 0; i < 200; i++)
            {
                if (await terminal.ReceiveAsync(CancellationToken.None) is { Length: > 0 } output)
                {
                    return output;
                }
            }

            throw new TimeoutException("Nothing arrived within 200 polls.");
        }
    }
}

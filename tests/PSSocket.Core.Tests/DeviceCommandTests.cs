using System;
using System.Collections;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using PSSocket.Sessions;
using PSSocket.Sessions.Devices;
using Xunit;

namespace PSSocket.Tests
{
    /// <summary>The device command engine fed plain strings: the stop rule, the text clean-up and the profiles.</summary>
    public class DeviceCommandTests
    {
        private static readonly Encoding s_utf8 = new UTF8Encoding(false);

        private static readonly DeviceProfile s_ios = DeviceProfile.Parse("cisco_ios", new Hashtable
        {
            ["Prompt"] = @"[\w.\-@/:]{1,63}(\([\w.\-@/: ]{1,40}\))?[>#]",
            ["UserPrompt"] = @">\s*$",
            ["PagerPrompt"] = new[] { "-- ?More ?--" },
            ["ConfigCommand"] = "configure terminal",
            ["ConfigPrompt"] = @"\(conf[^)]*\)#",
            ["ErrorPattern"] = new[] { "% ?Invalid input" },
            ["QuestionPattern"] = new[] { @"\[confirm\]" },
        });

        private static DeviceWatch Watch(string? prompt, Regex? expect = null, TimeSpan? idle = null, params Regex[] answers) =>
            new(s_ios, prompt, answers, expect, idle, TimeSpan.FromMilliseconds(30));

        private static ReceiveBuffer Buffered(string text)
        {
            var buffer = new ReceiveBuffer();
            var bytes = s_utf8.GetBytes(text);
            buffer.Append(bytes, 0, bytes.Length);
            return buffer;
        }

        private static void Add(ReceiveBuffer buffer, string text)
        {
            var bytes = s_utf8.GetBytes(text);
            buffer.Append(bytes, 0, bytes.Length);
        }

        [Fact]
        public void TheKnownPromptAfterTheEchoEndsTheCommandAtOnce()
        {
            var rule = new DeviceFrame(Watch("r1#"), "show version", false, s_utf8, 1 << 20);
            var buffer = Buffered("show version\r\nIOS 15.2\r\nr1# ");
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal(DeviceStop.Prompt, r.Stop);
            Assert.Equal("r1#", r.Marker);
            Assert.Equal("IOS 15.2", DeviceText.Answer(DeviceText.Clean(r.Text.Substring(0, r.MarkerStart)), "show version"));
            Assert.Equal(0, buffer.Count);
        }

        [Fact]
        public void APromptInsideTheEchoOrTheOutputDoesNotEndTheCommand()
        {
            var rule = new DeviceFrame(Watch("r1#"), "show run | include r1#", false, s_utf8, 1 << 20);
            var buffer = Buffered("show run | inc");
            Assert.False(rule.TryTake(buffer, false, out _));
            Add(buffer, "lude r1#\r\nhostname r1\r\nr1#\r\n");
            Assert.False(rule.TryTake(buffer, false, out _));
            Add(buffer, "r1#");
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal("hostname r1\nr1#", DeviceText.Answer(DeviceText.Clean(r.Text.Substring(0, r.MarkerStart)), "show run | include r1#"));
        }

        [Fact]
        public void ANewPromptCountsOnlyOnceTheDeviceIsSilent()
        {
            var rule = new DeviceFrame(Watch("r1(config)#"), "hostname lab-r1", false, s_utf8, 1 << 20);
            var buffer = Buffered("hostname lab-r1\r\nlab-r1(config)# ");
            Assert.False(rule.TryTake(buffer, false, out _));
            Assert.True(rule.Settle > TimeSpan.Zero);
            Thread.Sleep(60);
            rule.OnQuiet();
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal("lab-r1(config)#", r.Marker);
        }

        [Fact]
        public void APagerPromptIsTakenWithWhereItStarts()
        {
            var rule = new DeviceFrame(Watch("r1#"), "show run", false, s_utf8, 1 << 20);
            var buffer = Buffered("show run\r\nline 1\r\nline 2\r\n --More-- ");
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal(DeviceStop.Pager, r.Stop);
            Assert.Equal("show run\r\nline 1\r\nline 2\r\n ", r.Text.Substring(0, r.MarkerStart));
        }

        [Fact]
        public void AQuestionTheCallerAnswersStopsAtOnceAndOneNobodyAnswersAfterSilence()
        {
            var answered = new DeviceFrame(Watch("r1#", null, null, new Regex("Destination filename")), "copy run start", false, s_utf8, 1 << 20);
            Assert.True(answered.TryTake(Buffered("copy run start\r\nDestination filename [startup-config]? "), false, out var a));
            Assert.Equal(DeviceStop.Answer, a.Stop);
            Assert.Equal(0, a.Answer);

            var unanswered = new DeviceFrame(Watch("r1#"), "reload", false, s_utf8, 1 << 20);
            var buffer = Buffered("reload\r\nProceed with reload? [confirm]");
            Assert.False(unanswered.TryTake(buffer, false, out _));
            Thread.Sleep(60);
            Assert.True(unanswered.TryTake(buffer, false, out var q));
            Assert.Equal(DeviceStop.Question, q.Stop);
            Assert.Equal("Proceed with reload? [confirm]", q.Marker);
        }

        [Fact]
        public void ExpectMatchesAfterTheEchoAndLeavesTheRestBuffered()
        {
            var rule = new DeviceFrame(Watch("r1#", new Regex("Password:")), "enable Password:", false, s_utf8, 1 << 20);
            var buffer = Buffered("enable Password:\r\nPassword: rest");
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal(DeviceStop.Expect, r.Stop);
            Assert.Equal("enable Password:\r\nPassword:", r.Text);
            Assert.Equal(" rest", s_utf8.GetString(buffer.Peek(buffer.Count)));
        }

        [Fact]
        public void IdleTimeoutEndsACommandWithoutAPrompt()
        {
            var rule = new DeviceFrame(Watch(null, null, TimeSpan.FromMilliseconds(40)), "cat", false, s_utf8, 1 << 20);
            var buffer = Buffered("cat\r\nsome text");
            Assert.False(rule.TryTake(buffer, false, out _));
            Thread.Sleep(60);
            Assert.True(rule.TryTake(buffer, false, out var r));
            Assert.Equal(DeviceStop.Idle, r.Stop);
            Assert.Equal("some text", DeviceText.Answer(DeviceText.Clean(r.Text), "cat"));
        }

        [Fact]
        public void EscapeSequencesAroundThePromptDoNotHideIt()
        {
            var rule = new DeviceFrame(Watch("r1#"), "show clock", false, s_utf8, 1 << 20);
            Assert.True(rule.TryTake(Buffered("show clock\r\n\u001b[1m12:00\u001b[0m\r\n\u001b[32mr1#\u001b[0m "), false, out var r));
            Assert.Equal(DeviceStop.Prompt, r.Stop);
            Assert.Equal("12:00", DeviceText.Answer(DeviceText.Clean(r.Text.Substring(0, r.MarkerStart)), "show clock"));
        }

        [Theory]
        [InlineData("a\r\nb\r\n", "a\nb\n")]
        [InlineData("a\n\rb\n\r", "a\nb\n")]
        [InlineData("a\r\r\nb", "a\nb")]
        [InlineData("--More--\r        \rnext line\r\n", "next line\n")]
        [InlineData("abc\rxy", "xyc")]
        public void RenderEndsLinesWithLfAndLetsABareCarriageReturnOverwrite(string raw, string shown) =>
            Assert.Equal(shown, DeviceText.Render(raw));

        [Fact]
        public void BackspaceErasuresOfAPagerDisappear() =>
            Assert.Equal("line 10\nline 11", DeviceText.Clean("line 10\n" + new string('\b', 9) + new string(' ', 9) + new string('\b', 9) + "line 11"));

        [Fact]
        public void TheEchoIsRemovedOnlyWhenTheFirstLineIsTheCommand()
        {
            Assert.Equal("out", DeviceText.Answer("show x\nout\n", "show x"));
            Assert.Equal("out", DeviceText.Answer("r1# show x\nout\n", "show x"));
            Assert.Equal("other\nout", DeviceText.Answer("other\nout\n", "show x"));
            Assert.Equal("", DeviceText.Answer("\n", ""));
        }

        [Fact]
        public void AProfileCanBeBasedOnAnotherAndClearAKey()
        {
            var nxos = DeviceProfile.Parse("nxos", new Hashtable { ["Base"] = "cisco_ios", ["UserPrompt"] = "", ["Description"] = "x" }, n => n == "cisco_ios" ? s_ios : null);
            Assert.Equal(s_ios.Prompt, nxos.Prompt);
            Assert.Null(nxos.UserPrompt);
            Assert.Equal("configure terminal", nxos.ConfigCommand);
        }

        [Fact]
        public void AProfileWithAnUnknownKeyOrABadPatternSaysWhat()
        {
            var unknown = Assert.Throws<ArgumentException>(() => DeviceProfile.Parse("x", new Hashtable { ["Prompt"] = "#", ["Promt"] = "#" }));
            Assert.Contains("Promt", unknown.Message);
            var bad = Assert.Throws<ArgumentException>(() => DeviceProfile.Parse("x", new Hashtable { ["Prompt"] = "(" }));
            Assert.Contains("not a valid regular expression", bad.Message);
        }

        [Fact]
        public void TheErrorLineOfAnAnswerIsFound()
        {
            Assert.Equal("% Invalid input detected at '^' marker.", DeviceText.FirstMatchingLine(s_ios.ErrorRegex, "foo\n      ^\n% Invalid input detected at '^' marker.\n"));
            Assert.Null(DeviceText.FirstMatchingLine(s_ios.ErrorRegex, "fine"));
        }

        [Fact]
        public void ProfilesBasedOnEachOtherLoadInAnyOrder()
        {
            var table = new Hashtable
            {
                ["zz_child_" + Guid.NewGuid().ToString("n")] = new Hashtable { ["Base"] = "aa_parent_x", ["Description"] = "child" },
                ["aa_parent_x"] = new Hashtable { ["Prompt"] = "#" },
            };
            var added = DeviceProfiles.AddAll(table, "Test");
            Assert.Equal(2, added.Count);
            Assert.Equal("#", added.Single(p => p.Description == "child").Prompt);
        }
    }
}

# The Mono step of the test task (tests/Invoke-MonoTest.ps1, which build.ps1 -Task Test uses): a
# run that hangs must be stopped at its limit and name the test that never finished; a run whose
# process dies must say so with mono's exit code; a runner that ends with a fatal error and writes
# no counts must say so; none may count as a pass.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:NoMono = Get-PeerSkipReason mono -Command mono, mcs
}

Describe 'build.ps1 -Task Test, Mono part' -Skip:([bool] $NoMono) {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'common.ps1')
        $script:Script = Join-Path $RepoRoot 'tests/Invoke-MonoTest.ps1'
        $packages = ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
        $script:Runner = Join-Path $packages 'xunit.runner.console/2.4.1/tools/net472/xunit.console.exe'

        # A scratch net472 test assembly, compiled by Mono's C# compiler against the xunit the real
        # test project uses; SCRATCH_MODE makes one test hang or kill its process.
        $script:Scratch = Join-Path ([IO.Path]::GetTempPath()) ("psmono-" + [guid]::NewGuid().ToString('n'))
        $null = New-Item -ItemType Directory $Scratch
        foreach ($dll in 'xunit.abstractions/2.0.3/lib/net35/xunit.abstractions.dll',
            'xunit.extensibility.core/2.9.3/lib/net452/xunit.core.dll',
            'xunit.extensibility.execution/2.9.3/lib/net452/xunit.execution.desktop.dll') {
            Copy-Item (Join-Path $packages $dll) $Scratch
        }
        Set-Content (Join-Path $Scratch 'Scratch.cs') @'
using System;
using System.Threading;
using Xunit;
namespace Scratch
{
    public class Probe
    {
        private static bool Mode(string m) => Environment.GetEnvironmentVariable("SCRATCH_MODE") == m;
        [Fact] public void First() { }
        [Fact] public void HangsWhenAsked() { if (Mode("hang")) Thread.Sleep(Timeout.Infinite); }
        [Fact] public void KillsTheProcessWhenAsked() { if (Mode("crash")) Environment.Exit(3); }
        [Fact(Skip = "a skip is counted as one")] public void Skipped() { }
    }
}
'@
        $facades = Join-Path (Split-Path (Get-Command mono).Source) '../lib/mono/4.5/Facades'
        $out = & mcs -target:library "-out:$(Join-Path $Scratch 'Scratch.dll')" -r:"$Scratch/xunit.core.dll" -r:"$Scratch/xunit.abstractions.dll" `
            -r:"$facades/System.Runtime.dll" -r:"$facades/netstandard.dll" (Join-Path $Scratch 'Scratch.cs') 2>&1
        if ($LASTEXITCODE -ne 0) { throw "the scratch assembly did not compile:`n$($out -join "`n")" }

        # A stand-in for the runner's failure seen under load: it writes the result file the real
        # runner wrote that time (a fatal error after the last test, no counts) and exits 0.
        Set-Content (Join-Path $Scratch 'FatalRunner.cs') @'
using System;
using System.IO;
static class FatalRunner
{
    static int Main(string[] args)
    {
        File.Copy(Environment.GetEnvironmentVariable("SCRATCH_XML"), args[Array.IndexOf(args, "-xml") + 1], true);
        Console.WriteLine("=== TEST EXECUTION SUMMARY ===");
        return 0;
    }
}
'@
        $out = & mcs -out:"$(Join-Path $Scratch 'FatalRunner.exe')" (Join-Path $Scratch 'FatalRunner.cs') 2>&1
        if ($LASTEXITCODE -ne 0) { throw "the stand-in runner did not compile:`n$($out -join "`n")" }

        function Invoke-Scratch {
            param([string] $Mode, [int] $TimeoutSeconds)
            $env:SCRATCH_MODE = $Mode
            try { & $Script -Assembly (Join-Path $Scratch 'Scratch.dll') -Runner $Runner -XmlPath (Join-Path $Scratch "$Mode.xml") -TimeoutSeconds $TimeoutSeconds 6>$null }
            finally { $env:SCRATCH_MODE = $null }
        }
    }

    AfterAll {
        $env:SCRATCH_MODE = $null
        if ($Scratch) { Remove-Item -Recurse -Force $Scratch -ErrorAction SilentlyContinue }
    }

    It 'counts a healthy run as it is: passed, skipped, no failure' {
        $r = Invoke-Scratch -Mode none -TimeoutSeconds 300
        $r.Problems | Should -BeNullOrEmpty
        $r.Passed | Should -Be 3
        $r.Skipped | Should -Be 1
        $r.Failed | Should -Be 0
    }

    It 'stops a run that passes its limit, names the test that had not finished, and counts one failure' {
        # Long enough for mono to start and discover the tests on a loaded machine.
        $r = Invoke-Scratch -Mode hang -TimeoutSeconds 60
        $r.Failed | Should -Be 1
        $r.Passed | Should -Be 0
        $r.Problems -join "`n" | Should -Match 'took longer than 60 s and was stopped'
        $r.Unfinished | Should -Be 'Scratch.Probe.HangsWhenAsked'
        Get-Content (Join-Path $Scratch 'hang.log') | Should -Contain '    Scratch.Probe.HangsWhenAsked [STARTING]'
    }

    It 'fails a run whose process exits without results, with its exit code' {
        $r = Invoke-Scratch -Mode crash -TimeoutSeconds 300
        $r.Failed | Should -Be 1
        $r.Passed | Should -Be 0
        $r.Problems -join "`n" | Should -Match 'wrote no results \(exit code 3, after \d+ s'
    }

    It 'fails a run whose runner ended with a fatal error and wrote no counts, naming the error' {
        $env:SCRATCH_XML = Join-Path $RepoRoot 'tests/Pester/data/xunit-fatal-after-last-test.xml'
        try {
            $r = & $Script -Assembly (Join-Path $Scratch 'Scratch.dll') -Runner (Join-Path $Scratch 'FatalRunner.exe') -XmlPath (Join-Path $Scratch 'fatal.xml') -TimeoutSeconds 300 6>$null
        }
        finally { $env:SCRATCH_XML = $null }
        $r.Failed | Should -Be 1
        $r.Passed | Should -Be 0
        $r.Problems -join "`n" | Should -Match 'the runner wrote no counts \(fatal error: System\.AppDomainUnloadedException\)'
    }

    It 'is what build.ps1 -Task Test runs, with a limit that grows with -Load and the load average, bounded' {
        Get-BuildFunctionText Invoke-MonoTest | Should -Match 'Invoke-MonoTest\.ps1.*-TimeoutSeconds \$TimeoutSeconds'
        $limit = Get-BuildFunctionText Get-MonoTimeLimit
        $limit | Should -Match '\$Load'
        $limit | Should -Match '/proc/loadavg'
        $limit | Should -Match '\[math\]::Min\(8, '
    }
}

Describe 'Reading an xunit result file (tests/Read-XunitXml.ps1)' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'common.ps1')
        $script:Read = Join-Path $RepoRoot 'tests/Read-XunitXml.ps1'
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("psxunit-" + [guid]::NewGuid().ToString('n'))
        $null = New-Item -ItemType Directory $Dir
        function New-ResultFile {
            param([string] $Name, [string] $Assembly)
            $path = Join-Path $Dir $Name
            Set-Content $path "<?xml version=`"1.0`" encoding=`"utf-8`"?><assemblies>$Assembly</assemblies>"
            $path
        }
    }
    AfterAll { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }

    It 'does not read a fatal runner error without counts as 0 passed, 0 failed (the run it was recorded from)' {
        $r = & $Read -XmlPath (Join-Path $RepoRoot 'tests/Pester/data/xunit-fatal-after-last-test.xml')
        $r.Problem | Should -Be 'the runner wrote no counts (fatal error: System.AppDomainUnloadedException)'
        $r.Passed | Should -Be 0
    }

    It 'reads counts that add up, and refuses ones that do not or a fatal error beside them' {
        $good = New-ResultFile good.xml '<assembly total="5" passed="3" failed="1" skipped="1" errors="0"><errors /></assembly>'
        $r = & $Read -XmlPath $good
        $r.Problem | Should -BeNullOrEmpty
        "$($r.Passed) $($r.Failed) $($r.Skipped)" | Should -Be '3 1 1'

        $odd = New-ResultFile odd.xml '<assembly total="9" passed="3" failed="0" skipped="1" errors="0" />'
        (& $Read -XmlPath $odd).Problem | Should -Match 'do not add up: total 9'

        $fatal = New-ResultFile fatal.xml '<assembly total="4" passed="4" failed="0" skipped="0" errors="0"><errors><error type="fatal"><failure exception-type="System.Exception" /></error></errors></assembly>'
        (& $Read -XmlPath $fatal).Problem | Should -Be 'the runner reported fatal error: System.Exception'

        $none = New-ResultFile none.xml ''
        (& $Read -XmlPath $none).Problem | Should -Match 'names no test assembly'
    }
}

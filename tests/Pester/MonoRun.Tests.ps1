# The Mono step of the test task (tests/Invoke-MonoTest.ps1, which build.ps1 -Task Test uses): a
# run that hangs must be stopped at its limit and name the test that never finished; a run whose
# process dies must say so with mono's exit code; neither may count as a pass.
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

    It 'is what build.ps1 -Task Test runs, with a limit that grows with -Load and the load average, bounded' {
        Get-BuildFunctionText Invoke-MonoTest | Should -Match 'Invoke-MonoTest\.ps1.*-TimeoutSeconds \$TimeoutSeconds'
        $limit = Get-BuildFunctionText Get-MonoTimeLimit
        $limit | Should -Match '\$Load'
        $limit | Should -Match '/proc/loadavg'
        $limit | Should -Match '\[math\]::Min\(8, '
    }
}

# The test task itself: an xunit run whose host crashes, or that reports fewer tests than it
# discovered, must count as failed (tests/Invoke-DotnetTest.ps1, which build.ps1 -Task Test uses).
# The build task: a doc page the help cannot be made from fails it.
# PSSocket-Tests: serial (builds a scratch project: heavy CPU)
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Runner = Join-Path $RepoRoot 'tests/Invoke-DotnetTest.ps1'

    # A scratch xunit project in a temp folder, with the package versions of the real one.
    [xml] $real = Get-Content -Raw (Join-Path $RepoRoot 'tests/PSSocket.Core.Tests/PSSocket.Core.Tests.csproj')
    $refs = $real.Project.ItemGroup.PackageReference | Where-Object { $_ } | ForEach-Object { "<PackageReference Include=`"$($_.Include)`" Version=`"$($_.Version)`" />" }
    $script:Scratch = Join-Path ([IO.Path]::GetTempPath()) ("psbuild-" + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $Scratch
    Set-Content (Join-Path $Scratch 'Scratch.Tests.csproj') @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><IsPackable>false</IsPackable></PropertyGroup>
  <ItemGroup>$($refs -join '')</ItemGroup>
</Project>
"@
    Set-Content (Join-Path $Scratch 'ScratchTests.cs') @'
using System;
using Xunit;
public class ScratchTests
{
    [Fact] public void First() { }
    [Fact] public void CrashesTheHostWhenAsked() { if (Environment.GetEnvironmentVariable("SCRATCH_CRASH") == "1") Environment.FailFast("scratch test host crash"); }
    [Fact] public void Third() { }
    [Fact] public void HangsWhenAsked() { var file = Environment.GetEnvironmentVariable("SLOW_PIDS"); if (!string.IsNullOrEmpty(file)) { System.IO.File.AppendAllText(file, Environment.ProcessId + "\n"); System.Threading.Thread.Sleep(600000); } }
    [Fact(Skip = "shows that a skip is no missing result")] public void Skipped() { }
}
'@
    $script:Project = Join-Path $Scratch 'Scratch.Tests.csproj'
    $build = dotnet build $Project -c Release --nologo -v:q 2>&1
    if ($LASTEXITCODE -ne 0) { throw "the scratch project did not build:`n$($build -join "`n")" }

    function New-Trx {
        param([string] $Outcome, [int] $Total, [int] $Passed, [int] $Failed = 0)
        $path = Join-Path $Scratch "judge-$([guid]::NewGuid().ToString('n')).trx"
        Set-Content $path @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <ResultSummary outcome="$Outcome">
    <Counters total="$Total" executed="$Total" passed="$Passed" failed="$Failed" error="0" timeout="0" aborted="0" notExecuted="0" />
  </ResultSummary>
</TestRun>
"@
        $path
    }

    # A copy of the repository's sources (no build output, no .git) in a scratch folder, to break.
    function Copy-Repository {
        param([string] $To)
        $skip = '^(out|\.git)$'
        foreach ($top in Get-ChildItem $RepoRoot -Force | Where-Object Name -NotMatch $skip) {
            $files = if ($top.PSIsContainer) { Get-ChildItem $top.FullName -Recurse -File -Force } else { $top }
            foreach ($f in $files) {
                $rel = [IO.Path]::GetRelativePath($RepoRoot, $f.FullName)
                if ($rel -match '(^|[\\/])(bin|obj|TestResults)[\\/]') { continue }
                $target = Join-Path $To $rel
                $null = New-Item -ItemType Directory -Force (Split-Path $target)
                Copy-Item -LiteralPath $f.FullName -Destination $target
            }
        }
    }

    # Runs build.ps1 in a fresh pwsh within a time limit; its exit code and everything it printed.
    function Invoke-BuildScript {
        param([string] $Root, [string[]] $Arguments, [int] $TimeoutSec = 300)
        $pwsh = @(Get-PwshCommand)
        $psi = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'build.ps1')) + $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $Root
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        $p = [Diagnostics.Process]::Start($psi)
        try {
            $out = $p.StandardOutput.ReadToEndAsync()
            $err = $p.StandardError.ReadToEndAsync()
            if (-not $p.WaitForExit($TimeoutSec * 1000)) { throw "build.ps1 $Arguments ran past $TimeoutSec s" }
            $p.WaitForExit()
            [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result + $err.Result }
        }
        finally {
            if (-not $p.HasExited) { $p.Kill($true) }
            $p.Dispose()
        }
    }
}

AfterAll {
    $env:SCRATCH_CRASH = $null
    if ($Scratch) { Remove-Item -Recurse -Force $Scratch -ErrorAction SilentlyContinue }
}

Describe 'build.ps1 -Task Test, xunit part' {
    It 'counts a healthy run as it is: passed, skipped, no failure' {
        $env:SCRATCH_CRASH = $null
        $r = & $Runner -Project $Project -NoBuild -Quiet -ResultsDirectory (Join-Path $Scratch 'ok')
        $r.Problems | Should -BeNullOrEmpty
        $r.Passed | Should -Be 4
        $r.Skipped | Should -Be 1
        $r.Failed | Should -Be 0
        $r.Discovered | Should -Be 5
    }

    It 'fails a run whose test host crashed (Environment.FailFast), though the TRX counters are all 0' {
        $env:SCRATCH_CRASH = '1'
        try { $r = & $Runner -Project $Project -NoBuild -Quiet -ResultsDirectory (Join-Path $Scratch 'crash') }
        finally { $env:SCRATCH_CRASH = $null }
        $r.Failed | Should -BeGreaterThan 0
        $r.Problems -join "`n" | Should -Match 'exited with code'
        $r.Problems -join "`n" | Should -Match 'not Completed'
        $r.Problems -join "`n" | Should -Match 'of 5 discovered tests reported a result'
    }

    It 'fails a run that reports fewer results than tests discovered, even with exit code 0 and outcome Completed' {
        $r = & $Runner -TrxPath (New-Trx -Outcome Completed -Total 3 -Passed 3) -ExitCode 0 -Discovered 4
        $r.Failed | Should -Be 1
        $r.Problems | Should -Be '3 of 4 discovered tests reported a result'
    }

    It 'fails a run whose dotnet test exit code is not 0, whatever the TRX says' {
        $r = & $Runner -TrxPath (New-Trx -Outcome Completed -Total 4 -Passed 4) -ExitCode 1 -Discovered 4
        $r.Failed | Should -Be 1
        $r.Problems | Should -Be 'dotnet test exited with code 1'
    }

    It 'counts a failed test once: the exit code and the Failed outcome it causes are not failures of their own' {
        $r = & $Runner -TrxPath (New-Trx -Outcome Failed -Total 4 -Passed 3 -Failed 1) -ExitCode 1 -Discovered 4
        $r.Failed | Should -Be 1
        $r.Passed | Should -Be 3
        $r.Problems | Should -BeNullOrEmpty
        # the same failure with a result missing is not explained: the findings count again
        $r = & $Runner -TrxPath (New-Trx -Outcome Failed -Total 3 -Passed 2 -Failed 1) -ExitCode 1 -Discovered 4
        $r.Failed | Should -Be 4
    }

    It 'fails a run that wrote no TRX' {
        $r = & $Runner -TrxPath (Join-Path $Scratch 'missing.trx') -ExitCode 0 -Discovered 4
        $r.Failed | Should -BeGreaterThan 0
        $r.Problems -join "`n" | Should -Match 'no TRX'
    }

    It 'is what build.ps1 -Task Test runs, and the task exits non-zero on any failure or a failed format check' {
        $text = Get-BuildFunctionText Invoke-Test
        $text | Should -Match 'Invoke-DotnetTest\.ps1'
        $text | Should -Match 'if \(\$failed -gt 0 -or \$formatFailed\) \{ Exit-Build 1 \}'
    }
}

Describe 'build.ps1 -Task Build, help part' {
    BeforeAll {
        $script:Copy = Join-Path $Scratch 'repo'
        Copy-Repository -To $Copy
        $script:Page = Join-Path $Copy 'docs/en-US/Send-SocketData.md'
        $script:Original = Get-Content -Raw $Page
    }
    AfterEach { Set-Content -Path $Page -Value $Original -NoNewline }

    It 'fails at once, naming the page, when the docs conversion throws (a page without its # heading)' {
        Set-Content -Path $Page -Value ($Original -replace '(?m)^# Send-SocketData\s*$', 'Send-SocketData') -NoNewline
        $r = Invoke-BuildScript -Root $Copy -Arguments '-Task', 'Build'
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'FAILED: the help could not be made from docs/en-US'
        $r.Output | Should -Match "Send-SocketData\.md has no '# Name' heading"
        # Before the compile: no module was made from the broken tree.
        $r.Output | Should -Not -Match '==> Build'
        Join-Path $Copy 'out/PSSocket' | Should -Not -Exist
    }

    It 'fails when a page would be converted with parts missing (a code fence never closed)' {
        Set-Content -Path $Page -Value ($Original -replace '(?m)^## PARAMETERS\s*$', "## PARAMETERS`n``````text`nunclosed") -NoNewline
        $r = Invoke-BuildScript -Root $Copy -Arguments '-Task', 'Build'
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'Send-SocketData\.md: the code fence opened on line \d+ is never closed'
        Join-Path $Copy 'out/PSSocket' | Should -Not -Exist
    }

    It 'fails when the converter is missing, instead of building a module without help' {
        Rename-Item (Join-Path $Copy 'tools/ConvertTo-Maml.ps1') 'ConvertTo-Maml.ps1.away'
        try { $r = Invoke-BuildScript -Root $Copy -Arguments '-Task', 'Build' }
        finally { Rename-Item (Join-Path $Copy 'tools/ConvertTo-Maml.ps1.away') 'ConvertTo-Maml.ps1' }
        $r.ExitCode | Should -Be 1
        $r.Output | Should -Match 'tools/ConvertTo-Maml\.ps1 is missing'
    }
}

# Ctrl+C is SIGINT to the foreground processes; `kill -INT` sends it to the one process named, the
# hardest case: the others hear nothing and must be ended by it.
Describe 'Ctrl+C (SIGINT) during build.ps1 -Task Test' -Skip:$IsWindows {
    BeforeAll {
        $script:SigDir = Join-Path $Scratch 'sigint'
        $null = New-Item -ItemType Directory $SigDir
        # A test that holds its worker for ten minutes, with a peer process it started.
        foreach ($n in 1, 2) {
            Set-Content (Join-Path $SigDir "slow$n.Tests.ps1") @'
Describe 'slow' {
    It 'holds its worker' {
        $peer = Start-Process -FilePath sleep -ArgumentList 600 -PassThru
        Add-Content -Path $env:SLOW_PIDS -Value "$PID $($peer.Id)"
        Start-Sleep -Seconds 600
    }
}
'@
        }

        # Starts a pwsh on a script with these arguments; SLOW_PIDS names the file the slow tests write.
        function Start-Pwsh {
            param([string[]] $Arguments, [string] $PidFile)
            $pwsh = @(Get-PwshCommand)
            $psi = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
            foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $Arguments) { $psi.ArgumentList.Add($a) }
            $psi.UseShellExecute = $false
            $psi.RedirectStandardOutput = $true
            $psi.Environment['SLOW_PIDS'] = $PidFile
            $p = [Diagnostics.Process]::Start($psi)
            $p.BeginOutputReadLine()
            $p
        }

        # The PIDs written to the file once it has the expected number of lines (bounded).
        function Wait-Pids {
            param([string] $PidFile, [int] $Lines, [double] $TimeoutSec = 120)
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
            while ([DateTime]::UtcNow -lt $deadline) {
                if ((Test-Path $PidFile) -and @(Get-Content $PidFile | Where-Object { $_ }).Count -ge $Lines) { break }
                Start-Sleep -Milliseconds 100
            }
            @(Get-Content $PidFile -ErrorAction Ignore | ForEach-Object { $_ -split ' ' } | Where-Object { $_ } | ForEach-Object { [int] $_ })
        }

        # Every process below this one (children, their children ...), from /proc.
        function Get-Descendant {
            param([int] $Id)
            $parents = @{}
            foreach ($d in Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$') {
                $stat = try { [IO.File]::ReadAllText("/proc/$($d.Name)/stat") } catch { continue }
                $parents[[int] $d.Name] = [int] ($stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1])
            }
            $found = [Collections.Generic.List[int]]::new()
            $queue = [Collections.Generic.Queue[int]]::new()
            $queue.Enqueue($Id)
            while ($queue.Count) {
                $p = $queue.Dequeue()
                foreach ($child in @($parents.Keys | Where-Object { $parents[$_] -eq $p })) { $found.Add($child); $queue.Enqueue($child) }
            }
            $found.ToArray()
        }

        function Get-Alive {
            param([int[]] $Ids, [double] $TimeoutSec = 15)
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
            do {
                $alive = @($Ids | Where-Object { Get-Process -Id $_ -ErrorAction Ignore })
                if (-not $alive) { return @() }
                Start-Sleep -Milliseconds 100
            } while ([DateTime]::UtcNow -lt $deadline)
            $alive
        }
    }

    It 'stops the Pester runner at once, with its workers and the peers their tests started' {
        $pids = Join-Path $SigDir 'runner.pids'
        $summary = Join-Path $SigDir 'summary.json'
        $pester = Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1'
        $runner = Start-Pwsh -PidFile $pids -Arguments @('-File', (Join-Path $RepoRoot 'tests/Pester/Run-Pester.ps1'), '-PesterModule', $pester,
            '-ModulePath', $env:PSSOCKET_MODULE, '-Path', $SigDir, '-SummaryPath', $summary, '-Jobs', '2')
        try {
            $started = Wait-Pids $pids -Lines 2
            $started.Count | Should -Be 4 -Because 'two workers, each with a peer, run the slow tests'
            & kill -INT $runner.Id
            $runner.WaitForExit(20000) | Should -BeTrue -Because 'the runner stops within 20 s of SIGINT, not after its workers'
            Get-Alive $started | Should -BeNullOrEmpty -Because 'no worker or peer outlives the run'
            # The run still says what happened: the files without a result are failures.
            (Get-Content -Raw $summary | ConvertFrom-Json).Failed | Should -Be 2
        }
        finally {
            if (-not $runner.HasExited) { $runner.Kill($true) }
            Get-Process -Id (Wait-Pids $pids -Lines 0 -TimeoutSec 0) -ErrorAction Ignore | ForEach-Object { $_.Kill($true) }
        }
    }

    It 'stops the xunit run (tests/Invoke-DotnetTest.ps1) at once, with its test host' {
        $pids = Join-Path $SigDir 'xunit.pids'
        $xunit = Start-Pwsh -PidFile $pids -Arguments @('-File', $Runner, '-Project', $Project, '-NoBuild', '-Quiet', '-ResultsDirectory', (Join-Path $SigDir 'xunit'))
        try {
            $started = Wait-Pids $pids -Lines 1
            $started.Count | Should -Be 1 -Because 'the test host runs the hanging test'
            & kill -INT $xunit.Id
            $xunit.WaitForExit(20000) | Should -BeTrue
            Get-Alive $started | Should -BeNullOrEmpty -Because 'the test host does not outlive the run'
        }
        finally {
            if (-not $xunit.HasExited) { $xunit.Kill($true) }
            Get-Process -Id (Wait-Pids $pids -Lines 0 -TimeoutSec 0) -ErrorAction Ignore | ForEach-Object { $_.Kill($true) }
        }
    }

    It 'stops build.ps1 -Task Build during the compile at once, leaves no compiler behind, and exits with 130' {
        $copy = Join-Path $SigDir 'repo'
        Copy-Repository -To $copy
        $pwsh = @(Get-PwshCommand)
        $psi = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $copy 'build.ps1'), '-Task', 'Build')) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $copy
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $build = [Diagnostics.Process]::Start($psi)
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            $line = ''
            while ($null -ne $line -and $line -notmatch '==> Build' -and [DateTime]::UtcNow -lt $deadline) {
                $next = $build.StandardOutput.ReadLineAsync()
                while (-not $next.Wait(200) -and [DateTime]::UtcNow -lt $deadline) { }
                $line = if ($next.IsCompleted) { $next.Result } else { $null }
            }
            $line | Should -Match '==> Build' -Because 'the compile starts once the help is made'
            $build.StandardOutput.ReadToEndAsync() | Out-Null
            # The compile's processes (dotnet build, its MSBuild node, the compiler), read from /proc.
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            do {
                Start-Sleep -Milliseconds 200
                $compile = @(Get-Descendant $build.Id)
            } while (-not $compile -and [DateTime]::UtcNow -lt $deadline)
            $compile | Should -Not -BeNullOrEmpty -Because 'dotnet build runs'
            & kill -INT $build.Id
            $build.WaitForExit(20000) | Should -BeTrue -Because 'the build stops within 20 s of SIGINT, not after the compile'
            $build.ExitCode | Should -Be 130
            Get-Alive $compile | Should -BeNullOrEmpty -Because 'no compiler process outlives the build'
            $left = @(Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$' | Where-Object {
                    $(try { [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline") } catch { '' }) -match [regex]::Escape($copy) })
            $left | Should -BeNullOrEmpty -Because 'nothing still works on the stopped build''s tree'
            Join-Path $copy 'out/PSSocket' | Should -Not -Exist
        }
        finally {
            if (-not $build.HasExited) { $build.Kill($true) }
            $build.Dispose()
        }
    }

    It 'stops a child build.ps1 runs (Invoke-Child) at once, with every process the child started' {
        Get-BuildFunctionText Invoke-Test | Should -Match 'Invoke-Child \(\$pwsh \+ @\(.*\$runner' -Because 'the Pester runner is started this way'

        $pids = Join-Path $SigDir 'child.pids'
        $script = Join-Path $SigDir 'invoke-child.ps1'
        Set-Content $script @"
`$Root = '$SigDir'
function Invoke-Child $(Get-BuildFunctionText Invoke-Child)
Invoke-Child @('bash', '-c', 'sleep 600 & echo `$`$ `$! >> "`$SLOW_PIDS"; wait')
"@
        $build = Start-Pwsh -PidFile $pids -Arguments @('-File', $script)
        try {
            $started = Wait-Pids $pids -Lines 1
            $started.Count | Should -Be 2 -Because 'the child (bash) and the process it started (sleep) run'
            & kill -INT $build.Id
            $build.WaitForExit(20000) | Should -BeTrue
            Get-Alive $started | Should -BeNullOrEmpty
        }
        finally {
            if (-not $build.HasExited) { $build.Kill($true) }
            Get-Process -Id (Wait-Pids $pids -Lines 0 -TimeoutSec 0) -ErrorAction Ignore | ForEach-Object { $_.Kill($true) }
        }
    }
}

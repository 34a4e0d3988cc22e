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
    [Fact(Skip = "shows that a skip is no missing result")] public void Skipped() { }
}
'@
    $script:Project = Join-Path $Scratch 'Scratch.Tests.csproj'
    $build = dotnet build $Project -c Release --nologo -v:q 2>&1
    if ($LASTEXITCODE -ne 0) { throw "the scratch project did not build:`n$($build -join "`n")" }

    function New-Trx {
        param([string] $Outcome, [int] $Total, [int] $Passed)
        $path = Join-Path $Scratch "judge-$([guid]::NewGuid().ToString('n')).trx"
        Set-Content $path @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <ResultSummary outcome="$Outcome">
    <Counters total="$Total" executed="$Total" passed="$Passed" failed="0" error="0" timeout="0" aborted="0" notExecuted="0" />
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
        $r.Passed | Should -Be 3
        $r.Skipped | Should -Be 1
        $r.Failed | Should -Be 0
        $r.Discovered | Should -Be 4
    }

    It 'fails a run whose test host crashed (Environment.FailFast), though the TRX counters are all 0' {
        $env:SCRATCH_CRASH = '1'
        try { $r = & $Runner -Project $Project -NoBuild -Quiet -ResultsDirectory (Join-Path $Scratch 'crash') }
        finally { $env:SCRATCH_CRASH = $null }
        $r.Failed | Should -BeGreaterThan 0
        $r.Problems -join "`n" | Should -Match 'exited with code'
        $r.Problems -join "`n" | Should -Match 'not Completed'
        $r.Problems -join "`n" | Should -Match 'of 4 discovered tests reported a result'
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

    It 'fails a run that wrote no TRX' {
        $r = & $Runner -TrxPath (Join-Path $Scratch 'missing.trx') -ExitCode 0 -Discovered 4
        $r.Failed | Should -BeGreaterThan 0
        $r.Problems -join "`n" | Should -Match 'no TRX'
    }

    It 'is what build.ps1 -Task Test runs, and the task exits non-zero on any failure or a failed format check' {
        $text = Get-BuildFunctionText Invoke-Test
        $text | Should -Match 'Invoke-DotnetTest\.ps1'
        $text | Should -Match 'if \(\$failed -gt 0 -or \$formatFailed\) \{ exit 1 \}'
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
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'FAILED: the help could not be made from docs/en-US'
        $r.Output | Should -Match "Send-SocketData\.md has no '# Name' heading"
        # Before the compile: no module was made from the broken tree.
        $r.Output | Should -Not -Match '==> Build'
        Join-Path $Copy 'out/PSSocket' | Should -Not -Exist
    }

    It 'fails when a page would be converted with parts missing (a code fence never closed)' {
        Set-Content -Path $Page -Value ($Original -replace '(?m)^## PARAMETERS\s*$', "## PARAMETERS`n``````text`nunclosed") -NoNewline
        $r = Invoke-BuildScript -Root $Copy -Arguments '-Task', 'Build'
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'Send-SocketData\.md: the code fence opened on line \d+ is never closed'
        Join-Path $Copy 'out/PSSocket' | Should -Not -Exist
    }

    It 'fails when the converter is missing, instead of building a module without help' {
        Rename-Item (Join-Path $Copy 'tools/ConvertTo-Maml.ps1') 'ConvertTo-Maml.ps1.away'
        try { $r = Invoke-BuildScript -Root $Copy -Arguments '-Task', 'Build' }
        finally { Rename-Item (Join-Path $Copy 'tools/ConvertTo-Maml.ps1.away') 'ConvertTo-Maml.ps1' }
        $r.ExitCode | Should -Not -Be 0
        $r.Output | Should -Match 'tools/ConvertTo-Maml\.ps1 is missing'
    }
}

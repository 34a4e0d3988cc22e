# The test task itself: an xunit run whose host crashes, or that reports fewer tests than it
# discovered, must count as failed (tests/Invoke-DotnetTest.ps1, which build.ps1 -Task Test uses).
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
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $RepoRoot 'build.ps1'), [ref] $null, [ref] $null)
        $fn = $ast.Find({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Invoke-Test' }, $true)
        $fn.Body.Extent.Text | Should -Match 'Invoke-DotnetTest\.ps1'
        $fn.Body.Extent.Text | Should -Match 'if \(\$failed -gt 0 -or \$formatFailed\) \{ exit 1 \}'
    }
}

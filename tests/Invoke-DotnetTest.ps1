<#
.SYNOPSIS
    Runs `dotnet test` on one project and says whether the run can be trusted; build.ps1 -Task Test calls it.
.DESCRIPTION
    The TRX counters alone hide a crashed test host: its TRX has outcome Failed and every counter 0.
    So a run also counts as failed when dotnet test exits non-zero, when the TRX outcome is not
    Completed, or when fewer tests reported a result than `dotnet test --list-tests` discovered.
    Each such finding is one failure more in the counts and a line in Problems.
    With -TrxPath, -ExitCode and -Discovered it only judges a run already made (the tests of this
    script use that for the cases a real run cannot produce on demand).
.OUTPUTS
    [pscustomobject] Passed, Failed, Skipped, Discovered, Reported, Problems
#>
[CmdletBinding(DefaultParameterSetName = 'Run')]
param(
    [Parameter(Mandatory, ParameterSetName = 'Run')] [string] $Project,
    [Parameter(Mandatory, ParameterSetName = 'Run')] [string] $ResultsDirectory,
    [Parameter(ParameterSetName = 'Run')] [string] $Configuration = 'Release',
    [Parameter(ParameterSetName = 'Run')] [switch] $NoBuild,
    # Keep dotnet test's console output off the host (it is still in Output).
    [Parameter(ParameterSetName = 'Run')] [switch] $Quiet,

    [Parameter(Mandatory, ParameterSetName = 'Judge')] [string] $TrxPath,
    [Parameter(Mandatory, ParameterSetName = 'Judge')] [int] $ExitCode,
    [Parameter(Mandatory, ParameterSetName = 'Judge')] [int] $Discovered
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$output = @()
if ($PSCmdlet.ParameterSetName -eq 'Run') {
    if (Test-Path $ResultsDirectory) { Remove-Item -Recurse -Force $ResultsDirectory }
    $TrxPath = Join-Path $ResultsDirectory 'tests.trx'
    $buildArgs = if ($NoBuild) { @('--no-build') } else { @() }
    $testArgs = @('test', $Project, '-c', $Configuration, '--nologo') + $buildArgs + @(
        '--logger', 'trx;LogFileName=tests.trx', '--logger', 'console;verbosity=normal', '--results-directory', $ResultsDirectory)
    $output = & dotnet @testArgs 2>&1 | ForEach-Object { if (-not $Quiet) { Out-Host -InputObject $_ }; "$_" }
    $ExitCode = $LASTEXITCODE

    # Discovery after the run: the project is built by now, and a listing that itself fails is a finding too.
    $list = & dotnet test $Project -c $Configuration --nologo --no-build --list-tests 2>&1 | ForEach-Object { "$_" }
    $listed = $LASTEXITCODE
    $Discovered = -1
    if ($listed -eq 0) {
        $at = [array]::IndexOf([string[]] $list, ($list | Where-Object { $_ -match '^The following Tests are available' } | Select-Object -First 1))
        $Discovered = if ($at -ge 0) { @($list | Select-Object -Skip ($at + 1) | Where-Object { $_ -match '^\s{4}\S' }).Count } else { 0 }
    }
}

$problems = [System.Collections.Generic.List[string]]::new()
$passed = 0; $failed = 0; $skipped = 0; $reported = 0
if ($ExitCode -ne 0) { $problems.Add("dotnet test exited with code $ExitCode") }
if (Test-Path $TrxPath) {
    [xml] $trx = Get-Content -Raw $TrxPath
    $summary = $trx.TestRun.ResultSummary
    $c = $summary.Counters
    $passed = [int] $c.passed
    $failed = [int] $c.failed + [int] $c.error + [int] $c.timeout + [int] $c.aborted
    # A skipped test is in total but not in executed (VSTest leaves the notExecuted counter at 0).
    $skipped = [Math]::Max([int] $c.notExecuted, [int] $c.total - [int] $c.executed)
    $reported = [int] $c.total
    if ($summary.outcome -ne 'Completed') { $problems.Add("the TRX outcome is '$($summary.outcome)', not Completed (a crashed or aborted test host)") }
}
else { $problems.Add("no TRX was written ($TrxPath)") }
if ($Discovered -lt 0) { $problems.Add('dotnet test --list-tests failed: the tests could not be discovered') }
elseif ($reported -lt $Discovered) { $problems.Add("$reported of $Discovered discovered tests reported a result") }

[pscustomobject]@{
    Passed     = $passed
    Failed     = $failed + $problems.Count
    Skipped    = $skipped
    Discovered = $Discovered
    Reported   = $reported
    Problems   = @($problems)
    Output     = @($output)
}

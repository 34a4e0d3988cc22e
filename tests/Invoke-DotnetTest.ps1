<#
.SYNOPSIS
    Runs `dotnet test` on one project and says whether the run can be trusted; build.ps1 -Task Test calls it.
.DESCRIPTION
    The TRX counters alone hide a crashed test host: its TRX has outcome Failed and every counter 0.
    So a run also counts as failed when dotnet test exits non-zero, when the TRX outcome is not
    Completed, or when fewer tests reported a result than `dotnet test --list-tests` discovered.
    Each such finding is one failure more in the counts and a line in Problems; a non-zero exit
    code and a Failed outcome that failed tests explain (every discovered test reported) are not
    counted a second time.
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

# Runs dotnet with these arguments and returns its exit code and output lines (shown on the host
# as they come unless -Quiet). It waits in short steps, so Ctrl+C stops it at once; dotnet still
# running then is ended with the MSBuild node, vstest console and test host it started.
function Invoke-Dotnet {
    param([string[]] $Arguments, [switch] $Quiet)
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [Diagnostics.Process]::Start($psi)
    $lines = [System.Collections.Generic.List[string]]::new()
    try {
        $readers = @($p.StandardOutput, $p.StandardError)
        $pending = @($readers | ForEach-Object { $_.ReadLineAsync() })
        while ($pending | Where-Object { $_ }) {
            $null = [Threading.Tasks.Task]::WaitAny([Threading.Tasks.Task[]] @($pending | Where-Object { $_ }), 200)
            for ($n = 0; $n -lt $pending.Count; $n++) {
                while ($pending[$n] -and $pending[$n].IsCompleted) {
                    $line = $pending[$n].Result
                    if ($null -eq $line) { $pending[$n] = $null; break }
                    $lines.Add($line)
                    if (-not $Quiet) { Out-Host -InputObject $line }
                    $pending[$n] = $readers[$n].ReadLineAsync()
                }
            }
        }
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; Lines = $lines.ToArray() }
    }
    finally {
        if (-not $p.HasExited) {
            $p.Kill($true)
            $null = $p.WaitForExit(10000)
        }
        $p.Dispose()
    }
}

$output = @()
if ($PSCmdlet.ParameterSetName -eq 'Run') {
    if (Test-Path $ResultsDirectory) { Remove-Item -Recurse -Force $ResultsDirectory }
    $TrxPath = Join-Path $ResultsDirectory 'tests.trx'
    $buildArgs = if ($NoBuild) { @('--no-build') } else { @() }
    $testArgs = @('test', $Project, '-c', $Configuration, '--nologo') + $buildArgs + @(
        '--logger', 'trx;LogFileName=tests.trx', '--logger', 'console;verbosity=normal', '--results-directory', $ResultsDirectory)
    $run = Invoke-Dotnet $testArgs -Quiet:$Quiet
    $output = $run.Lines
    $ExitCode = $run.ExitCode

    # Discovery after the run: the project is built by now, and a listing that itself fails is a finding too.
    $listing = Invoke-Dotnet @('test', $Project, '-c', $Configuration, '--nologo', '--no-build', '--list-tests') -Quiet
    $list = $listing.Lines
    $listed = $listing.ExitCode
    $Discovered = -1
    if ($listed -eq 0) {
        $at = [array]::IndexOf([string[]] $list, ($list | Where-Object { $_ -match '^The following Tests are available' } | Select-Object -First 1))
        $Discovered = if ($at -ge 0) { @($list | Select-Object -Skip ($at + 1) | Where-Object { $_ -match '^\s{4}\S' }).Count } else { 0 }
    }
}

$problems = [System.Collections.Generic.List[string]]::new()
$passed = 0; $failed = 0; $skipped = 0; $reported = 0
$exitCodeProblem = if ($ExitCode -ne 0) { "dotnet test exited with code $ExitCode" }
$outcomeProblem = $null
if (Test-Path $TrxPath) {
    [xml] $trx = Get-Content -Raw $TrxPath
    $summary = $trx.TestRun.ResultSummary
    $c = $summary.Counters
    $passed = [int] $c.passed
    $failed = [int] $c.failed + [int] $c.error + [int] $c.timeout + [int] $c.aborted
    # A skipped test is in total but not in executed (VSTest leaves the notExecuted counter at 0).
    $skipped = [Math]::Max([int] $c.notExecuted, [int] $c.total - [int] $c.executed)
    $reported = [int] $c.total
    if ($summary.outcome -ne 'Completed') { $outcomeProblem = "the TRX outcome is '$($summary.outcome)', not Completed (a crashed or aborted test host)" }
}
else { $problems.Add("no TRX was written ($TrxPath)") }
# Failed tests explain a non-zero exit code and a Failed outcome when every discovered test
# reported: count those tests, not the same failure three times. Anything else stays a finding.
$explained = $failed -gt 0 -and $Discovered -ge 0 -and $reported -ge $Discovered
if (-not $explained) { foreach ($p in $exitCodeProblem, $outcomeProblem) { if ($p) { $problems.Add($p) } } }
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

<#
.SYNOPSIS
    Runs an xunit test assembly on Mono with the xunit console runner, within a time limit, and
    says what happened; build.ps1 -Task Test calls it for the engine's net472 tests.
.DESCRIPTION
    The runner reports each test's start and end (-verbose) into a log beside the result file, and
    the host shows the rest (failures, the summary). A run that passes its time limit is stopped
    and names the tests that had started and not finished; a run that writes no results shows
    mono's exit code and its last output lines. Either counts as one failure, never as a pass.
.OUTPUTS
    [pscustomobject] Passed, Failed, Skipped, Unfinished, Problems
#>
[CmdletBinding()]
param(
    # The test assembly (its folder is the working directory).
    [Parameter(Mandatory)] [string] $Assembly,
    # xunit.console.exe (net472) from the xunit.runner.console package.
    [Parameter(Mandatory)] [string] $Runner,
    # The xunit XML result file; the full runner output goes beside it as .log.
    [Parameter(Mandatory)] [string] $XmlPath,
    [ValidateRange(1, 86400)] [int] $TimeoutSeconds = 300,
    # How many lines of mono's standard error a failed run shows.
    [int] $TailLines = 10
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$problems = [System.Collections.Generic.List[string]]::new()
$result = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Unfinished = @(); Problems = $problems }
$mono = Get-Command mono -CommandType Application -ErrorAction Ignore | Select-Object -First 1
if (-not $mono) {
    $problems.Add('mono is not installed (Debian: apt-get install mono-runtime mono-devel)')
    $result.Failed = 1
    return $result
}

$log = [IO.Path]::ChangeExtension($XmlPath, '.log')
New-Item -ItemType Directory -Force (Split-Path $XmlPath) | Out-Null
Remove-Item $XmlPath, $log -ErrorAction Ignore

$start = [Diagnostics.ProcessStartInfo]::new($mono.Source)
# -noappdomain: in a separate app domain the runner can die after the last test with
# AppDomainUnloadedException (a message crossing into the unloaded domain) and write no counts.
foreach ($a in $Runner, $Assembly, '-noshadow', '-noappdomain', '-parallel', 'none', '-nocolor', '-verbose', '-xml', $XmlPath) { $start.ArgumentList.Add($a) }
$start.WorkingDirectory = Split-Path $Assembly
$start.UseShellExecute = $false
$start.RedirectStandardOutput = $true
$start.RedirectStandardError = $true
$watch = [Diagnostics.Stopwatch]::StartNew()
$process = [Diagnostics.Process]::Start($start)
# Both pipes are drained while it runs, so a chatty run never blocks on a full pipe.
$stdout = $process.StandardOutput.ReadToEndAsync()
$stderr = $process.StandardError.ReadToEndAsync()
# One-second slices: Ctrl+C stops the build between them instead of after the whole limit.
$stopped = $false
try {
    while (-not $process.WaitForExit(1000)) {
        if ($watch.Elapsed.TotalSeconds -ge $TimeoutSeconds) { $stopped = $true; break }
    }
}
finally {
    # Stopped at the limit or by Ctrl+C: the runner and whatever it started go too.
    if (-not $process.HasExited) {
        $process.Kill($true)
        $null = $process.WaitForExit(10000)
    }
}
$null = [Threading.Tasks.Task]::WaitAll(@($stdout, $stderr), 10000)
$output = @($stdout.Result -split '\r?\n' | Where-Object { $_ -ne '' })
$errors = @($stderr.Result -split '\r?\n' | Where-Object { $_ -ne '' })
Set-Content -Path $log -Value ($output + @('---- standard error ----') + $errors) -Encoding utf8NoBOM
$exitCode = if ($process.HasExited) { $process.ExitCode } else { $null }
$process.Dispose()

# Tests reported started and not finished (a theory's cases can share a display name: counted).
# The runner reports from a queue: a test that kills the process may not have been reported yet.
$open = [ordered]@{}
foreach ($line in $output) {
    if ($line -match '^\s+(?<name>.+) \[STARTING\]$') { $open[$Matches.name] = 1 + [int] $open[$Matches.name] }
    elseif ($line -match '^\s+(?<name>.+) \[FINISHED\] Time: ') {
        $left = [int] $open[$Matches.name] - 1
        if ($left -gt 0) { $open[$Matches.name] = $left } else { $open.Remove($Matches.name) }
    }
}
$result.Unfinished = @($open.Keys)

# Standard output is shown as it was (test events left out: they are in the log); a crash report
# there names the test's method in its managed stack trace. Standard error only on a problem.
function Show-StandardError {
    if ($errors) {
        Write-Host "mono's standard error (first $TailLines lines):" -ForegroundColor Red
        $errors | Select-Object -First $TailLines | ForEach-Object { Write-Host $_ }
    }
}

$output | Where-Object { $_ -notmatch '\[(STARTING|FINISHED)\]' } | ForEach-Object { Write-Host $_ }
$seconds = [math]::Round($watch.Elapsed.TotalSeconds)
if ($stopped) {
    $problems.Add("the Mono run took longer than $TimeoutSeconds s and was stopped (full output: $log)")
    if ($result.Unfinished) {
        Write-Host 'started and not finished when it was stopped:' -ForegroundColor Red
        $result.Unfinished | ForEach-Object { Write-Host "    $_" -ForegroundColor Red }
    }
    else {
        Write-Host 'no test was running when it was stopped (startup, discovery or shutdown)' -ForegroundColor Red
        Show-StandardError
    }
}

if (Test-Path $XmlPath) {
    $read = & (Join-Path $PSScriptRoot 'Read-XunitXml.ps1') -XmlPath $XmlPath
    $result.Passed = $read.Passed
    $result.Failed = $read.Failed
    $result.Skipped = $read.Skipped
    if ($read.Problem) {
        $problems.Add("$($read.Problem) (full output: $log)")
        Show-StandardError
    }
}
elseif (-not $stopped) {
    $how = if ($exitCode -gt 128) { "exit code ${exitCode}: killed by signal $($exitCode - 128)" } else { "exit code $exitCode" }
    $problems.Add("the Mono run wrote no results ($how, after $seconds s; full output: $log)")
    Write-Host "the Mono run wrote no results ($how)" -ForegroundColor Red
    if ($result.Unfinished) { Write-Host "reported started and not finished (reports can lag a crash): $($result.Unfinished -join '; ')" -ForegroundColor Red }
    Show-StandardError
}

if ($problems.Count) { $result.Failed++ }
foreach ($p in $problems) { Write-Host "Mono run not trusted, counted as one failure: $p" -ForegroundColor Red }
Write-Host "    Mono run: $seconds s (limit $TimeoutSeconds s)"
$result

<#
.SYNOPSIS
    Runs the Pester files in fresh pwsh processes against the built module; build.ps1 -Task Test calls it.
.DESCRIPTION
    Independent test files run in parallel: -Jobs worker processes take the files one at a time from
    a shared queue (largest first), so a long file does not hold up a whole group. Files that must
    run alone - a full loopback port sweep (it would probe the other workers' listeners), heavy CPU,
    network namespaces or fixed names - carry the line
        # PSSocket-Tests: serial
    and run afterwards, one after another, with nothing else running. Each worker's output is shown
    when it ends; the summary (passed, failed, skipped, summed over every file) goes to -SummaryPath.
    A file that no worker reported (a crashed worker) counts as one failure.
#>
param(
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string[]] $Path,
    [Parameter(Mandatory)] [string] $SummaryPath,
    # Parallel workers (default: PSSOCKET_TEST_JOBS, else processor count + 1, at least 2, at most 4).
    [int] $Jobs = 0,
    # Worker mode (used by this script itself): take files from this queue file until it is empty.
    [string] $QueuePath
)
$ErrorActionPreference = 'Stop'
$env:PSSOCKET_MODULE = $ModulePath

# Runs one file; its detailed output goes to $Log, a one-line result to the console.
function Invoke-OneFile {
    param([string] $File, [string] $Log)
    Import-Module $PesterModule -Force
    $config = New-PesterConfiguration
    $config.Run.Path = $File
    $config.Run.PassThru = $true
    $config.Run.Exit = $false
    $config.Output.Verbosity = 'Detailed'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    # Pester writes to the host (the information stream): keep its lines whole in the log.
    $text = [Text.StringBuilder]::new()
    $r = $null
    Invoke-Pester -Configuration $config 6>&1 | ForEach-Object {
        if ($_ -is [Management.Automation.InformationRecord]) {
            $m = $_.MessageData
            if ($m -is [Management.Automation.HostInformationMessage]) {
                $null = $text.Append($m.Message)
                if (-not $m.NoNewLine) { $null = $text.AppendLine() }
            }
            else { $null = $text.AppendLine("$m") }
        }
        else { $r = $_ }
    }
    Set-Content -Path $Log -Value $text.ToString() -Encoding utf8NoBOM
    $result = [pscustomobject]@{
        File    = $File
        Passed  = $r.PassedCount
        Failed  = $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
        Skipped = $r.SkippedCount
        Seconds = [Math]::Round($sw.Elapsed.TotalSeconds, 1)
        Log     = $Log
    }
    Write-Host ("  [{0,6:n1} s] {1}: {2} passed, {3} failed, {4} skipped" -f $result.Seconds, (Split-Path $File -Leaf), $result.Passed, $result.Failed, $result.Skipped)
    $result
}

# Takes the next file from the queue under an exclusive lock; $null when the queue is empty.
function Get-NextQueuedFile {
    param([string] $Queue)
    for ($try = 0; $try -lt 600; $try++) {
        try {
            $fs = [IO.File]::Open($Queue, 'Open', 'ReadWrite', 'None')
        }
        catch [IO.IOException] { Start-Sleep -Milliseconds 50; continue }
        try {
            $reader = [IO.StreamReader]::new($fs, [Text.Encoding]::UTF8, $false, 4096, $true)
            $lines = @($reader.ReadToEnd() -split "`n" | Where-Object { $_.Trim() })
            $reader.Dispose()
            if (-not $lines) { return $null }
            $fs.SetLength(0)
            $writer = [IO.StreamWriter]::new($fs, [Text.UTF8Encoding]::new($false), 4096, $true)
            $writer.Write((($lines | Select-Object -Skip 1) -join "`n"))
            $writer.Dispose()
            return $lines[0].Trim()
        }
        finally { $fs.Dispose() }
    }
    throw "the test queue $Queue stayed locked"
}

if ($QueuePath) {
    # Worker: one result line per file in -SummaryPath (JSON lines), written as each file ends.
    $n = 0
    while ($file = Get-NextQueuedFile $QueuePath) {
        $log = "$SummaryPath.$((++$n)).log"
        $result = Invoke-OneFile $file $log
        Add-Content -Path $SummaryPath -Value ($result | ConvertTo-Json -Compress) -Encoding utf8NoBOM
    }
    return
}

$files = @(foreach ($p in ($Path | ForEach-Object { $_ -split [regex]::Escape([IO.Path]::PathSeparator) } | Where-Object { $_ })) {
        if (Test-Path $p -PathType Container) { Get-ChildItem $p -Recurse -Filter '*.Tests.ps1' | ForEach-Object FullName }
        else { (Resolve-Path $p).Path }
    }) | Sort-Object -Unique
$serial = @($files | Where-Object { Select-String -Path $_ -Pattern '^\s*#\s*PSSocket-Tests:\s*serial\b' -Quiet })
# Largest first: a rough measure of run time that keeps the long files from starting last.
$parallel = @($files | Where-Object { $_ -notin $serial } | Sort-Object { (Get-Item $_).Length } -Descending)
if ($Jobs -le 0 -and $env:PSSOCKET_TEST_JOBS -match '^\d+$') { $Jobs = [int] $env:PSSOCKET_TEST_JOBS }
if ($Jobs -le 0) { $Jobs = [Math]::Max(2, [Math]::Min(4, [Environment]::ProcessorCount + 1)) }
$Jobs = [Math]::Max(1, [Math]::Min($Jobs, $parallel.Count))

$work = Join-Path ([IO.Path]::GetTempPath()) ("pssocket-pester-" + [guid]::NewGuid().ToString('n'))
$null = New-Item -ItemType Directory $work
$exe = [Environment]::ProcessPath
$pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

# Starts a worker pwsh that takes files from a queue file; its console output is one line per file.
function Start-Worker {
    param([string] $Name, [string] $QueueFile)
    $psi = [Diagnostics.ProcessStartInfo]::new($exe)
    foreach ($a in $pwshArgs + @('-NoProfile', '-NonInteractive', '-File', $PSCommandPath,
            '-PesterModule', $PesterModule, '-ModulePath', $ModulePath, '-Path', 'unused',
            '-SummaryPath', (Join-Path $work "$Name.results"), '-QueuePath', $QueueFile)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    [Diagnostics.Process]::Start($psi)
}

# Waits in short steps, so Ctrl+C reaches the finally below at once instead of after the worker.
function Wait-Worker {
    param([Diagnostics.Process] $Process)
    while (-not $Process.WaitForExit(200)) { }
}

function New-Queue {
    param([string] $Name, [string[]] $Files)
    $q = Join-Path $work "$Name.queue"
    Set-Content -Path $q -Value ($Files -join "`n") -Encoding utf8NoBOM -NoNewline
    $q
}

$sw = [Diagnostics.Stopwatch]::StartNew()
$procs = [Collections.Generic.List[Diagnostics.Process]]::new()
try {
    if ($parallel) {
        Write-Host "Pester: $($parallel.Count) files on $Jobs parallel workers, then $($serial.Count) alone"
        $queue = New-Queue 'parallel' $parallel
        foreach ($i in 1..$Jobs) { $procs.Add((Start-Worker "p$i" $queue)) }
        foreach ($p in $procs) { Wait-Worker $p }
    }
    if ($serial) {
        Write-Host "Pester: $($serial.Count) files alone, one after another"
        $p = Start-Worker 'serial' (New-Queue 'serial' $serial)
        $procs.Add($p)
        Wait-Worker $p
    }
}
finally {
    # Ctrl+C or a failure here: no worker outlives the run.
    foreach ($p in $procs) {
        if (-not $p.HasExited) { try { $p.Kill($true) } catch { Write-Host "worker $($p.Id): $_" } }
        $p.Dispose()
    }
    $results = @(Get-ChildItem $work -Filter '*.results' | ForEach-Object { Get-Content $_.FullName } | Where-Object { $_ } | ConvertFrom-Json)
    # The detailed output, file by file in a stable order, then the failures' files again by name.
    foreach ($r in $results | Sort-Object File) {
        Write-Host "==== $([IO.Path]::GetRelativePath($PSScriptRoot, $r.File)) ====" -ForegroundColor Cyan
        if (Test-Path $r.Log) { Get-Content $r.Log | Write-Host }
    }
    $missing = @($files | Where-Object { $_ -notin $results.File })
    foreach ($m in $missing) { Write-Host "no result for $m (its worker ended early): counted as one failure" -ForegroundColor Red }
    Write-Host ''
    Write-Host "Pester files, slowest first ($([int] $sw.Elapsed.TotalSeconds) s in all):"
    $results | Sort-Object Seconds -Descending | ForEach-Object {
        Write-Host ("  {0,6:n1} s {1,4} passed {2,3} failed {3,3} skipped  {4}" -f $_.Seconds, $_.Passed, $_.Failed, $_.Skipped, [IO.Path]::GetRelativePath($PSScriptRoot, $_.File))
    }
    [pscustomobject]@{
        Passed  = [int] ($results | Measure-Object Passed -Sum).Sum
        Failed  = [int] ($results | Measure-Object Failed -Sum).Sum + $missing.Count
        Skipped = [int] ($results | Measure-Object Skipped -Sum).Sum
    } | ConvertTo-Json | Set-Content -Path $SummaryPath -Encoding utf8NoBOM
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

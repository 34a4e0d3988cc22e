# Shared by the benchmarks: module import, peers by PID, medians, the result table and JSON.
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
# The Pester helpers (free ports, peers started and stopped by PID, Wait-TcpPort) serve here too.
$env:PSSOCKET_MODULE = $ModulePath
. (Join-Path $PSScriptRoot '../Pester/common.ps1')
Import-Module (Join-Path $ModulePath 'PSSocket.psd1') -Force
$script:ResultsDir = Join-Path $PSScriptRoot 'results'
New-Item -ItemType Directory -Force $script:ResultsDir | Out-Null

# A second runspace in this process with the module imported (a receiving end, a sampler).
function New-Worker {
    $ps = [powershell]::Create()
    $null = $ps.AddScript("Import-Module '$(Join-Path $ModulePath 'PSSocket.psd1')'").Invoke()
    $ps.Commands.Clear()
    $ps
}

# Samples this process's working set every IntervalMs on the worker until Stop-Sampling, which returns the peak.
$script:StopSampling = [System.Threading.ManualResetEventSlim]::new($false)
function Start-Sampling($Sampler, [int] $IntervalMs = 20) {
    $script:StopSampling.Reset()
    $Sampler.Commands.Clear()
    $null = $Sampler.AddScript({
            param($stop, $interval)
            $p = [Diagnostics.Process]::GetCurrentProcess()
            $max = 0L
            while (-not $stop.Wait($interval)) { $p.Refresh(); if ($p.WorkingSet64 -gt $max) { $max = $p.WorkingSet64 } }
            $max
        }).AddArgument($script:StopSampling).AddArgument($IntervalMs)
    $Sampler.BeginInvoke()
}
function Stop-Sampling($Sampler, $Handle) { $script:StopSampling.Set(); [long] ($Sampler.EndInvoke($Handle) | Select-Object -Last 1) }

# CPU seconds (user + system) this process has used, with those of the children it has waited
# for (nmap, socat, a child pwsh): the work of a case whichever process does it. Unlike wall time
# it barely moves with the machine's other load.
function Get-CpuSeconds {
    if ($IsLinux) {
        $f = (Get-Content -Raw /proc/self/stat) -replace '^.*\) ', '' -split ' '
        return ([long] $f[11] + [long] $f[12] + [long] $f[13] + [long] $f[14]) / 100
    }
    [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds
}

function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object)
    $n = $s.Count
    if ($n % 2) { $s[[int][Math]::Floor($n / 2)] } else { ($s[$n / 2 - 1] + $s[$n / 2]) / 2 }
}

# Runs each case's script block in turn, Repeat rounds (alternating, so drift hits all alike).
# A case returns seconds (or a hashtable with Seconds and extra figures); its CpuSeconds are
# measured around it (Get-CpuSeconds) unless it returns its own.
function Invoke-Alternating {
    param([System.Collections.Specialized.OrderedDictionary] $Cases, [int] $Repeat = 3, [switch] $Warmup)
    if ($Warmup) {
        # One unrecorded round of each case: page cache, JIT and socket buffers warm alike.
        foreach ($k in $Cases.Keys) { $null = & $Cases[$k]; Write-Host "  warm-up $k" }
    }
    $samples = [ordered]@{}
    foreach ($k in $Cases.Keys) { $samples[$k] = [System.Collections.Generic.List[object]]::new() }
    for ($r = 1; $r -le $Repeat; $r++) {
        foreach ($k in $Cases.Keys) {
            [GC]::Collect()
            $cpu = Get-CpuSeconds
            $res = & $Cases[$k]
            $cpu = (Get-CpuSeconds) - $cpu
            if ($res -isnot [hashtable]) { $res = @{ Seconds = [double] $res } }
            if (-not $res.ContainsKey('CpuSeconds')) { $res.CpuSeconds = $cpu }
            Write-Host ("  round {0} {1,-28} {2,9:0.000} s" -f $r, $k, $res.Seconds)
            $samples[$k].Add($res)
        }
    }
    $samples
}

# Prints a table (median, min-max, ratio to the reference) and writes results/<name>.json.
# HigherIsBetter: the figure is a rate (ratio = ours / reference); else a time (ratio = reference / ours).
function Write-BenchResult {
    param(
        [string] $Name,
        [System.Collections.Specialized.OrderedDictionary] $Samples,
        [string] $Ours,
        [string[]] $References,
        [scriptblock] $Figure = { param($s) $s.Seconds },
        [string] $Unit = 's',
        [switch] $HigherIsBetter,
        [hashtable] $Targets = @{},
        [System.Collections.IDictionary] $Extra = @{}
    )
    $rows = foreach ($k in $Samples.Keys) {
        $vals = [double[]]@($Samples[$k] | ForEach-Object { & $Figure $_ })
        $cpu = [double[]]@($Samples[$k] | ForEach-Object { if ($_ -is [hashtable] -and $_.ContainsKey('CpuSeconds')) { $_.CpuSeconds } })
        [pscustomobject]@{
            Case = $k; Median = (Get-Median $vals); Min = ($vals | Measure-Object -Minimum).Minimum; Max = ($vals | Measure-Object -Maximum).Maximum; Runs = $vals.Count
            Seconds = (Get-Median ([double[]]@($Samples[$k] | ForEach-Object { if ($_ -is [hashtable]) { $_.Seconds } else { $_ } })))
            CpuSeconds = $(if ($cpu.Count) { Get-Median $cpu } else { $null })
        }
    }
    Add-BenchRecord -Name $Name -Ours $Ours -Unit $Unit -HigherIsBetter:$HigherIsBetter -Rows $rows
    $ourMedian = ($rows | Where-Object Case -eq $Ours).Median
    $ratios = [ordered]@{}
    foreach ($ref in $References) {
        $refMedian = ($rows | Where-Object Case -eq $ref).Median
        $ratios[$ref] = if ($HigherIsBetter) { $ourMedian / $refMedian } else { $refMedian / $ourMedian }
    }
    Write-Host ''
    Write-Host "== $Name ($Unit; median of $(($rows | Select-Object -First 1).Runs), min-max)"
    foreach ($row in $rows) {
        $cpuText = if ($null -ne $row.CpuSeconds) { '  CPU {0:0.00} s' -f $row.CpuSeconds } else { '' }
        Write-Host ("  {0,-30} {1,12:0.000} {2,12:0.000} - {3,-12:0.000}{4}" -f $row.Case, $row.Median, $row.Min, $row.Max, $cpuText)
    }
    foreach ($ref in $ratios.Keys) {
        $t = if ($Targets.ContainsKey($ref)) { " (target >= $($Targets[$ref])x: $(if ($ratios[$ref] -ge $Targets[$ref]) { 'met' } else { 'NOT met' }))" } else { '' }
        Write-Host ("  ratio {0} vs {1}: {2:0.00}x{3}" -f $Ours, $ref, $ratios[$ref], $t)
    }
    foreach ($k in $Extra.Keys) { Write-Host ("  {0}: {1}" -f $k, $Extra[$k]) }
    [ordered]@{
        name = $Name; unit = $Unit; higherIsBetter = [bool] $HigherIsBetter
        cases = $rows; ratios = $ratios; targets = $Targets; extra = $Extra
        machine = @{ cores = [Environment]::ProcessorCount; os = [Environment]::OSVersion.VersionString; pwsh = $PSVersionTable.PSVersion.ToString() }
        at = (Get-Date).ToString('o')
    } | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $script:ResultsDir "$Name.json") -Encoding utf8NoBOM
}

# build.ps1 -Task Bench -Compare runs each benchmark once per build and round, with
# PSSOCKET_BENCH_RECORD naming a file: every result is appended to it as one JSON line (the
# medians of each case: its figure, wall seconds, CPU seconds), which the comparison reads.
function Add-BenchRecord {
    param([string] $Name, [string] $Ours, [string] $Unit = 's', [switch] $HigherIsBetter, [object[]] $Rows)
    if (-not $env:PSSOCKET_BENCH_RECORD) { return }
    $record = [ordered]@{
        name = $Name; ours = $Ours; unit = $Unit; higherIsBetter = [bool] $HigherIsBetter
        cases = @($Rows | ForEach-Object { [ordered]@{ case = $_.Case; figure = $_.Median; seconds = $_.Seconds; cpuSeconds = $_.CpuSeconds } })
    }
    Add-Content -Path $env:PSSOCKET_BENCH_RECORD -Value ($record | ConvertTo-Json -Depth 5 -Compress) -Encoding utf8NoBOM
}

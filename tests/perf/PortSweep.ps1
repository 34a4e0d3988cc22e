<#
.SYNOPSIS
    Port sweep benchmark (build.ps1 -Task Bench): a full 1-65535 sweep of 127.0.0.1 with a few
    listeners open, Test-TcpPort against `nmap -sT -n -Pn -T5` and a plain .NET parallel-connect loop
    in pwsh, alternating, medians of -Repeat runs; pwsh start-up measured separately; and 1,000
    filtered ports with a 1 s timeout inside a private network namespace (root only).
    Prints medians, min-max and ratios; writes tests/perf/results/PortSweep.json.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Repeat = 3
)
. (Join-Path $PSScriptRoot '_common.ps1')
$manifest = Join-Path $ModulePath 'PSSocket.psd1'
Set-StrictMode -Version 3.0

$exe = [Environment]::ProcessPath
$pwshCmd = @($exe) + @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

function Get-Stats([double[]] $Values) {
    $s = [double[]] ($Values | Sort-Object)
    $n = $s.Count
    $median = if ($n % 2) { $s[[int][Math]::Floor($n / 2)] } else { ($s[$n / 2 - 1] + $s[$n / 2]) / 2 }
    [ordered]@{ Median = [Math]::Round($median, 3); Min = [Math]::Round($s[0], 3); Max = [Math]::Round($s[-1], 3); Samples = @($Values | ForEach-Object { [Math]::Round($_, 3) }) }
}

# Runs each case once per round, rotating the order so no case always runs first (warm caches, load).
# The CPU seconds of each run go to $script:CpuSamples (the case's name: a list).
$script:CpuSamples = @{}
function Invoke-Rotating([System.Collections.Specialized.OrderedDictionary] $Cases, [int] $Rounds) {
    $names = @($Cases.Keys)
    $samples = [ordered]@{}
    foreach ($n in $names) { $samples[$n] = [System.Collections.Generic.List[double]]::new(); $script:CpuSamples[$n] = [System.Collections.Generic.List[double]]::new() }
    for ($r = 0; $r -lt $Rounds; $r++) {
        for ($i = 0; $i -lt $names.Count; $i++) {
            $name = $names[($i + $r) % $names.Count]
            [GC]::Collect()
            $cpu = Get-CpuSeconds
            $seconds = & $Cases[$name]
            $script:CpuSamples[$name].Add((Get-CpuSeconds) - $cpu)
            $samples[$name].Add($seconds)
            Write-Host ('  round {0} {1,-48} {2,8:0.000} s' -f ($r + 1), $name, $seconds)
        }
    }
    $samples
}

function Measure-Seconds([scriptblock] $Block) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $null = & $Block
    $sw.Elapsed.TotalSeconds
}

$listenerPy = @'
import json, os, socket, sys, time
out, count = sys.argv[1], int(sys.argv[2])
ls = []
for _ in range(count):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(128); ls.append(s)
with open(out + '.tmp', 'w') as f:
    json.dump([s.getsockname()[1] for s in ls], f)
os.rename(out + '.tmp', out)
while True:
    time.sleep(3600)
'@

function Start-Listeners([int] $Count, [string[]] $Prefix = @()) {
    $file = Join-Path ([IO.Path]::GetTempPath()) "psst-bench-$([guid]::NewGuid().ToString('n')).json"
    $cmd = @($Prefix) + @('python3', '-c', $listenerPy, $file, "$Count")
    $psi = [Diagnostics.ProcessStartInfo]::new($cmd[0])
    foreach ($a in ($cmd | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    while (-not (Test-Path $file) -and [DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) { Start-Sleep -Milliseconds 50 }
    if (-not (Test-Path $file)) { $p.Kill(); throw 'listener peer did not start' }
    $ports = [int[]] (Get-Content -Raw $file | ConvertFrom-Json)
    Remove-Item $file
    [pscustomobject]@{ Process = $p; Ports = $ports }
}

function Stop-Listeners($peer) {
    if ($peer -and -not $peer.Process.HasExited) { $peer.Process.Kill($true); $null = $peer.Process.WaitForExit(5000) }
}

# What a PowerShell user would write without the module: TcpClient.ConnectAsync in batches of 1000
# (the same in-flight bound as Test-TcpPort's default), waiting up to 1 s per batch.
$plainLoop = {
    param([string] $Address, [int] $First, [int] $Last)
    $open = [System.Collections.Generic.List[int]]::new()
    for ($start = $First; $start -le $Last; $start += 1000) {
        $end = [Math]::Min($Last, $start + 999)
        $clients = [System.Net.Sockets.TcpClient[]]::new($end - $start + 1)
        $tasks = [System.Threading.Tasks.Task[]]::new($clients.Length)
        for ($i = 0; $i -lt $clients.Length; $i++) {
            $clients[$i] = [System.Net.Sockets.TcpClient]::new()
            $tasks[$i] = $clients[$i].ConnectAsync($Address, $start + $i)
        }
        try { $null = [System.Threading.Tasks.Task]::WaitAll($tasks, 1000) } catch [AggregateException] { $null = $_ }
        for ($i = 0; $i -lt $clients.Length; $i++) {
            if ($tasks[$i].Status -eq 'RanToCompletion' -and $clients[$i].Client.LocalEndPoint -ne $clients[$i].Client.RemoteEndPoint) { $open.Add($start + $i) }
            $clients[$i].Dispose()
        }
    }
    $open
}

function Get-NmapOpen([object[]] $Output) {
    $line = "$($Output | Where-Object { $_ -match '\bPorts:' })"
    @([regex]::Matches($line, '(\d+)/open/') | ForEach-Object { [int] $_.Groups[1].Value } | Sort-Object)
}

$report = [ordered]@{
    Benchmark = 'PortSweep'
    Date = [DateTime]::UtcNow.ToString('o')
    Machine = [ordered]@{ Cores = [Environment]::ProcessorCount; OS = [Runtime.InteropServices.RuntimeInformation]::OSDescription; PowerShell = $PSVersionTable.PSVersion.ToString() }
}

# ---------------------------------------------------------------- pwsh start-up
Write-Host "pwsh start-up ($Repeat rounds)" -ForegroundColor Cyan
$startCases = [ordered]@{
    'pwsh -NoProfile (bare)' = { Measure-Seconds { & $pwshCmd[0] @($pwshCmd | Select-Object -Skip 1) -NoProfile -NonInteractive -Command 'exit' } }
    'pwsh -NoProfile + Import-Module PSSocket' = { Measure-Seconds { & $pwshCmd[0] @($pwshCmd | Select-Object -Skip 1) -NoProfile -NonInteractive -Command "Import-Module '$manifest'; exit" } }
}
$startSamples = Invoke-Rotating $startCases $Repeat
$startup = [ordered]@{}
foreach ($k in $startSamples.Keys) { $startup[$k] = Get-Stats $startSamples[$k] }
$report.Startup = $startup
$startupImport = $startup['pwsh -NoProfile + Import-Module PSSocket'].Median

# ---------------------------------------------------------------- full loopback sweep
$peer = Start-Listeners -Count 4
try {
    Write-Host "full sweep of 127.0.0.1:1-65535, listeners on $($peer.Ports -join ', ') ($Repeat rounds)" -ForegroundColor Cyan
    $script:openSets = @{}
    $sweepCases = [ordered]@{
        'Test-TcpPort (all 65,535 results)' = {
            Measure-Seconds { $r = Test-TcpPort 127.0.0.1 -Port 1-65535; $script:openSets['Test-TcpPort'] = @($r.Where({ $_.Status -eq 'Open' }).Port | Sort-Object) }
        }
        'Test-TcpPort -Open' = { Measure-Seconds { $null = Test-TcpPort 127.0.0.1 -Port 1-65535 -Open } }
        'nmap -sT -n -Pn -T5' = {
            Measure-Seconds { $o = & nmap -sT -n -Pn -T5 -p1-65535 127.0.0.1 -oG - ; $script:openSets['nmap'] = Get-NmapOpen $o }
        }
        'plain .NET parallel-connect loop in pwsh' = { Measure-Seconds { $script:openSets['plain'] = @(& $plainLoop '127.0.0.1' 1 65535) } }
        'fresh pwsh: Import-Module + Test-TcpPort -Open' = {
            Measure-Seconds { $null = & $pwshCmd[0] @($pwshCmd | Select-Object -Skip 1) -NoProfile -NonInteractive -Command "Import-Module '$manifest'; `$null = Test-TcpPort 127.0.0.1 -Port 1-65535 -Open" }
        }
    }
    $sweepSamples = Invoke-Rotating $sweepCases $Repeat
    $sweep = [ordered]@{}
    foreach ($k in $sweepSamples.Keys) { $sweep[$k] = Get-Stats $sweepSamples[$k] }
    $report.FullSweep = $sweep
    $report.FullSweepOpenSets = [ordered]@{ Listeners = $peer.Ports; TestTcpPort = $script:openSets['Test-TcpPort']; Nmap = $script:openSets['nmap']; Plain = $script:openSets['plain'] }
}
finally { Stop-Listeners $peer }

$ours = $sweep['Test-TcpPort (all 65,535 results)'].Median
$oursOpen = $sweep['Test-TcpPort -Open'].Median
$nmap = $sweep['nmap -sT -n -Pn -T5'].Median
$plain = $sweep['plain .NET parallel-connect loop in pwsh'].Median
$fresh = $sweep['fresh pwsh: Import-Module + Test-TcpPort -Open'].Median
$ratios = [ordered]@{
    'Test-TcpPort / nmap (in a running pwsh)' = [Math]::Round($ours / $nmap, 2)
    'Test-TcpPort -Open / nmap (in a running pwsh)' = [Math]::Round($oursOpen / $nmap, 2)
    '(pwsh start-up + import + Test-TcpPort -Open) / nmap' = [Math]::Round(($startupImport + $oursOpen) / $nmap, 2)
    'fresh pwsh process end to end / nmap' = [Math]::Round($fresh / $nmap, 2)
    'Test-TcpPort / plain .NET loop' = [Math]::Round($ours / $plain, 2)
}

# ---------------------------------------------------------------- 1,000 filtered ports
$isRoot = $IsLinux -and ((& id -u) -eq '0')
if (-not $isRoot -or -not (Get-Command nft -ErrorAction SilentlyContinue)) {
    Write-Host 'filtered: skipped (needs root and nft to create a network namespace)' -ForegroundColor Yellow
    $report.Filtered = 'skipped: needs root and nft'
}
else {
    $ns = 'psst-bench-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    & ip netns add $ns
    try {
        & ip netns exec $ns ip link set lo up
        $base = Get-Random -Minimum 10000 -Maximum 60000
        $range = "$base-$($base + 999)"
        & ip netns exec $ns nft add table inet f
        & ip netns exec $ns nft add chain inet f input '{ type filter hook input priority 0; }'
        & ip netns exec $ns nft add rule inet f input tcp dport $range drop
        Write-Host "1,000 filtered ports ($range) with a 1 s timeout in namespace $ns ($Repeat rounds)" -ForegroundColor Cyan
        $child = Join-Path ([IO.Path]::GetTempPath()) "psst-bench-child-$([guid]::NewGuid().ToString('n')).ps1"
        # The child times only the sweep: Test-TcpPort with the default -Retries (1, hedged), or the raw
        # .NET loop a user would write (TcpClient.ConnectAsync for all 1,000 at once, one 1 s wait, no retry).
        Set-Content $child @'
param([string] $Manifest, [int] $First, [int] $Last, [string] $Mode)
if ($Mode -eq 'module') { Import-Module $Manifest }
$sw = [Diagnostics.Stopwatch]::StartNew()
if ($Mode -eq 'module') {
    $r = Test-TcpPort 127.0.0.1 -Port "$First-$Last" -Timeout 1
    $filtered = @($r.Where({ $_.Status -eq 'Filtered' })).Count
}
else {
    $clients = [System.Net.Sockets.TcpClient[]]::new($Last - $First + 1)
    $tasks = [System.Threading.Tasks.Task[]]::new($clients.Length)
    for ($i = 0; $i -lt $clients.Length; $i++) {
        $clients[$i] = [System.Net.Sockets.TcpClient]::new()
        $tasks[$i] = $clients[$i].ConnectAsync('127.0.0.1', $First + $i)
    }
    try { $null = [System.Threading.Tasks.Task]::WaitAll($tasks, 1000) } catch [AggregateException] { $null = $_ }
    $filtered = @($tasks.Where({ -not $_.IsCompleted })).Count
    foreach ($c in $clients) { $c.Dispose() }
}
$s = $sw.Elapsed.TotalSeconds
"$s $filtered"
'@
        $script:inner = @{ module = [System.Collections.Generic.List[double]]::new(); raw = [System.Collections.Generic.List[double]]::new() }
        $script:filteredCounts = @{ module = [System.Collections.Generic.List[int]]::new(); raw = [System.Collections.Generic.List[int]]::new() }
        function Invoke-FilteredChild([string] $Mode) {
            $line = & ip netns exec $ns @pwshCmd -NoProfile -NonInteractive -File $child -Manifest $manifest -First $base -Last ($base + 999) -Mode $Mode | Select-Object -Last 1
            $parts = "$line".Split(' ')
            $script:inner[$Mode].Add([double]::Parse($parts[0], [Globalization.CultureInfo]::InvariantCulture))
            $script:filteredCounts[$Mode].Add([int] $parts[1])
        }
        $filteredCases = [ordered]@{
            'fresh pwsh in netns: Test-TcpPort (process wall)' = { Measure-Seconds { Invoke-FilteredChild 'module' } }
            'fresh pwsh in netns: raw .NET loop, no retry (process wall)' = { Measure-Seconds { Invoke-FilteredChild 'raw' } }
            'nmap -sT -n -Pn -T5 in netns' = { Measure-Seconds { $null = & ip netns exec $ns nmap -sT -n -Pn -T5 -p $range 127.0.0.1 -oG - } }
        }
        $filteredSamples = Invoke-Rotating $filteredCases $Repeat
        $filtered = [ordered]@{}
        foreach ($k in $filteredSamples.Keys) { $filtered[$k] = Get-Stats $filteredSamples[$k] }
        $filtered['Test-TcpPort alone (inside the child pwsh)'] = Get-Stats $script:inner['module'].ToArray()
        $filtered['raw .NET loop alone, no retry (inside the child pwsh)'] = Get-Stats $script:inner['raw'].ToArray()
        $filtered['Filtered results per run'] = @($script:filteredCounts['module'])
        $filtered['Unanswered per run, raw .NET loop'] = @($script:filteredCounts['raw'])
        $ratios['filtered: Test-TcpPort (-Retries 1) / raw .NET loop (no retry)'] = [Math]::Round($filtered['Test-TcpPort alone (inside the child pwsh)'].Median / $filtered['raw .NET loop alone, no retry (inside the child pwsh)'].Median, 2)
        $report.Filtered = $filtered
        Remove-Item $child -ErrorAction SilentlyContinue
    }
    finally { & ip netns del $ns }
}
$report.Ratios = $ratios

# The medians as records for build.ps1 -Task Bench -Compare (wall and CPU seconds per case).
function Get-Rows([System.Collections.Specialized.OrderedDictionary] $Section) {
    foreach ($k in $Section.Keys) {
        if ($Section[$k] -isnot [System.Collections.Specialized.OrderedDictionary]) { continue }
        $cpu = if ($script:CpuSamples.ContainsKey($k)) { Get-Median ([double[]] $script:CpuSamples[$k]) } else { $null }
        [pscustomobject]@{ Case = $k; Median = $Section[$k].Median; Seconds = $Section[$k].Median; CpuSeconds = $cpu }
    }
}
Add-BenchRecord -Name 'PortSweep' -Ours 'Test-TcpPort (all 65,535 results)' -Rows @(Get-Rows $report.FullSweep)
if ($report.Filtered -is [System.Collections.Specialized.OrderedDictionary]) {
    Add-BenchRecord -Name 'PortSweepFiltered' -Ours 'Test-TcpPort alone (inside the child pwsh)' -Rows @(Get-Rows $report.Filtered)
}

# ---------------------------------------------------------------- report
Write-Host ''
Write-Host 'PortSweep results (seconds: median [min-max])' -ForegroundColor Cyan
foreach ($section in 'Startup', 'FullSweep', 'Filtered') {
    $s = $report[$section]
    if ($s -isnot [System.Collections.Specialized.OrderedDictionary]) { Write-Host "  ${section}: $s"; continue }
    Write-Host "  $section"
    foreach ($k in $s.Keys) {
        $v = $s[$k]
        if ($v -is [System.Collections.Specialized.OrderedDictionary]) { Write-Host ('    {0,-52} {1,7:0.000} [{2:0.000}-{3:0.000}]' -f $k, $v.Median, $v.Min, $v.Max) }
        else { Write-Host ('    {0,-52} {1}' -f $k, ($v -join ', ')) }
    }
}
Write-Host '  Ratios (lower is faster for Test-TcpPort)'
foreach ($k in $ratios.Keys) { Write-Host ('    {0,-52} {1:0.00}x' -f $k, $ratios[$k]) }
$sets = $report.FullSweepOpenSets
Write-Host "  open sets: Test-TcpPort $($sets.TestTcpPort -join ',') | nmap $($sets.Nmap -join ',') | plain $($sets.Plain -join ',')"

$resultsDir = Join-Path $PSScriptRoot 'results'
New-Item -ItemType Directory -Force $resultsDir | Out-Null
$report | ConvertTo-Json -Depth 6 | Set-Content -Path (Join-Path $resultsDir 'PortSweep.json') -Encoding utf8NoBOM
Write-Host "  written: $(Join-Path $resultsDir 'PortSweep.json')"

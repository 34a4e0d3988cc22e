<#
.SYNOPSIS
    Lossy link benchmark (build.ps1 -Task Bench): in a private network namespace whose nftables rules
    drop 10 % of incoming SYNs at random, 200 listening ports and 200 fully dropped ports, checked by
    Test-TcpPort -Timeout 1 -Retries 4 and by nmap -sT -n -Pn -T4 on the same work, alternating, medians
    of -Repeat runs. Prints the times, the ratio (target: Test-TcpPort within 1.5x nmap's time) and
    whether each run got every port right. Needs root and nft (it makes the namespace); skipped otherwise.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Repeat = 3, [int] $Ports = 200)
. (Join-Path $PSScriptRoot '_common.ps1')

$isRoot = $IsLinux -and ((& id -u) -eq '0')
if (-not $isRoot -or -not (Get-Command nft -ErrorAction SilentlyContinue) -or -not (Get-Command nmap -ErrorAction SilentlyContinue)) {
    Write-Host 'LossyPortSweep: skipped (needs root, nft and nmap to make and probe a network namespace)' -ForegroundColor Yellow
    return
}

$listenerPy = @'
import json, os, socket, sys, time
out, count = sys.argv[1], int(sys.argv[2])
ls = []
for _ in range(count):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(128); ls.append(s)
held = []
for _ in range(count):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); held.append(s)
free = [s.getsockname()[1] for s in held]
for s in held:
    s.close()
with open(out + '.tmp', 'w') as f:
    json.dump({'open': [s.getsockname()[1] for s in ls], 'free': free}, f)
os.rename(out + '.tmp', out)
while True:
    time.sleep(3600)
'@

$ns = 'psst-bench-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
& ip netns add $ns
if ($LASTEXITCODE -ne 0) { throw "ip netns add failed ($LASTEXITCODE)" }
$peer = $null
$child = Join-Path ([IO.Path]::GetTempPath()) "psst-bench-lossy-$([guid]::NewGuid().ToString('n')).ps1"
try {
    & ip netns exec $ns ip link set lo up
    $file = Join-Path ([IO.Path]::GetTempPath()) "psst-bench-lossy-$([guid]::NewGuid().ToString('n')).json"
    $peer = Start-Peer ip 'netns', 'exec', $ns, 'python3', '-c', $listenerPy, $file, "$Ports"
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    while (-not (Test-Path $file) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    if (-not (Test-Path $file)) { throw 'the listener peer did not start' }
    $set = Get-Content -Raw $file | ConvertFrom-Json
    Remove-Item $file
    $open = [int[]] $set.open | Sort-Object
    $dropped = [int[]] $set.free | Sort-Object
    $all = (@($open) + @($dropped)) -join ','
    & ip netns exec $ns nft add table inet f
    & ip netns exec $ns nft add chain inet f input '{ type filter hook input priority 0; }'
    & ip netns exec $ns nft add rule inet f input tcp dport "{ $($dropped -join ', ') }" drop
    & ip netns exec $ns nft add rule inet f input 'tcp flags & (syn | ack) == syn numgen random mod 100 < 10 drop'
    if ($LASTEXITCODE -ne 0) { throw 'nft rule failed' }

    Set-Content $child @'
param([string] $Manifest, [string] $Ports)
Import-Module $Manifest
$sw = [Diagnostics.Stopwatch]::StartNew()
$r = Test-TcpPort 127.0.0.1 -Port $Ports -Timeout 1 -Retries 4
$s = $sw.Elapsed.TotalSeconds
"$s $(@($r.Where({ $_.Status -eq 'Open' })).Count) $(@($r.Where({ $_.Status -eq 'Filtered' })).Count)"
'@
    $pwsh = @(Get-PwshCommand)
    $manifest = Join-Path $ModulePath 'PSSocket.psd1'
    Write-Host "$Ports open + $Ports dropped ports, 10 % of SYNs dropped, in namespace $ns ($Repeat rounds)" -ForegroundColor Cyan
    $cases = [ordered]@{
        'Test-TcpPort -Timeout 1 -Retries 4' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $line = & ip netns exec $ns @pwsh -NoProfile -NonInteractive -File $child -Manifest $manifest -Ports $all | Select-Object -Last 1
            $wall = $sw.Elapsed.TotalSeconds
            $parts = "$line".Split(' ')
            @{ Seconds = [double]::Parse($parts[0], [Globalization.CultureInfo]::InvariantCulture); Wall = $wall; Right = ([int] $parts[1] -eq $Ports -and [int] $parts[2] -eq $Ports) }
        }
        'nmap -sT -n -Pn -T4' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $out = & ip netns exec $ns nmap -sT -n -Pn -T4 -p $all 127.0.0.1 -oG -
            $s = $sw.Elapsed.TotalSeconds
            $line = "$($out | Where-Object { $_ -match '\bPorts:' })"
            $nOpen = [regex]::Matches($line, '(\d+)/open/').Count
            $nFiltered = [regex]::Matches($line, '(\d+)/filtered/').Count
            if ($line -match 'Ignored State: filtered \((\d+)\)') { $nFiltered += [int] $Matches[1] }
            @{ Seconds = $s; Wall = $s; Right = ($nOpen -eq $Ports -and $nFiltered -eq $Ports) }
        }
    }
    $samples = Invoke-Alternating $cases -Repeat $Repeat
    $ours = Get-Median ([double[]] @($samples['Test-TcpPort -Timeout 1 -Retries 4'] | ForEach-Object { $_.Seconds }))
    $oursWall = Get-Median ([double[]] @($samples['Test-TcpPort -Timeout 1 -Retries 4'] | ForEach-Object { $_.Wall }))
    $nmap = Get-Median ([double[]] @($samples['nmap -sT -n -Pn -T4'] | ForEach-Object { $_.Seconds }))
    $right = [ordered]@{}
    foreach ($k in $samples.Keys) { $right[$k] = "$(@($samples[$k] | Where-Object { $_.Right }).Count) of $($samples[$k].Count) runs got every port right" }
    $extra = [ordered]@{
        'Test-TcpPort / nmap time (target <= 1.5)' = '{0:0.00}x' -f ($ours / $nmap)
        'fresh pwsh process wall / nmap' = '{0:0.00}x' -f ($oursWall / $nmap)
    }
    foreach ($k in $right.Keys) { $extra["correct: $k"] = $right[$k] }
    Write-BenchResult -Name 'LossyPortSweep' -Samples $samples -Ours 'Test-TcpPort -Timeout 1 -Retries 4' -References 'nmap -sT -n -Pn -T4' -Extra $extra
}
finally {
    if ($peer) { Stop-Peer $peer }
    & ip netns del $ns
    Remove-Item $child -ErrorAction SilentlyContinue
}

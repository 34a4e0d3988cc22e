<#
.SYNOPSIS
    1 GiB through a TCP relay on loopback: Start-SocketRelay (in this pwsh) against
    socat TCP-LISTEN:<p>,fork,reuseaddr TCP:127.0.0.1:<target>, the same socat sender and sink
    on both sides of each. The relay's process memory is sampled during every round and compared
    before the first and after the last round (it must stay flat).
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $SizeMB = 1024, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')

$size = [long] $SizeMB * 1MB
$base = if (Test-Path /dev/shm) { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$dir = New-Item -ItemType Directory -Force (Join-Path $base "pssocket-relay-bench-$PID")
$sampler = New-Worker

# Sends $size zero bytes through the relay port to a sink that counts them; returns the seconds
# from the sender's start to the sink's count, and checks that every byte arrived.
function Invoke-RelayedTransfer([int] $TargetPort, [int] $RelayPort) {
    $count = Join-Path $dir 'count.txt'
    Remove-Item $count -ErrorAction SilentlyContinue
    $sink = Start-Peer bash '-c', "socat -u TCP-LISTEN:$TargetPort,bind=127.0.0.1,reuseaddr STDOUT | wc -c > '$count'"
    try {
        Wait-TcpPortListening $TargetPort
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $tx = Start-Peer socat '-u', "OPEN:/dev/zero,readbytes=$size", "TCP:127.0.0.1:$RelayPort"
        $ok = $sink.WaitForExit(300000)
        $sw.Stop()
        Stop-Peer $tx
    }
    finally { Stop-Peer $sink }
    $got = if (Test-Path $count) { [long] (Get-Content $count) } else { 0 }
    if (-not $ok -or $got -ne $size) { throw "relayed $got of $size bytes" }
    $sw.Elapsed.TotalSeconds
}

# The sink's socat listens once; a connect probe would be its one client, so watch the socket table instead.
function Wait-TcpPortListening([int] $Port) {
    $hex = ':{0:X4} ' -f $Port
    for ($i = 0; $i -lt 200; $i++) {
        if ((Get-Content /proc/net/tcp) -match "^\s*\d+: 0100007F$hex[0-9A-F:]+ 0A ") { return }
        Start-Sleep -Milliseconds 25
    }
    throw "nothing listens on 127.0.0.1:$Port"
}

$script:WorkingSet = [System.Collections.Generic.List[double]]::new()
$cases = [ordered]@{
    'Start-SocketRelay' = {
        $target = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $target
        try {
            $me = [Diagnostics.Process]::GetCurrentProcess()
            $cpu = $me.TotalProcessorTime
            # Sampled every 100 ms: the sampler's own CPU stays out of the relay's figure.
            $sample = Start-Sampling $sampler -IntervalMs 100
            $seconds = Invoke-RelayedTransfer $target $relay.Port
            $peak = Stop-Sampling $sampler $sample
            $me.Refresh()
            $cpu = ($me.TotalProcessorTime - $cpu).TotalSeconds
            if ($relay.BytesToTarget -ne $size) { throw "the relay counted $($relay.BytesToTarget) bytes" }
        }
        finally { Stop-SocketServer $relay -Wait -Timeout 30 }
        $script:WorkingSet.Add([Math]::Round($peak / 1MB, 1))
        @{ Seconds = $seconds; CpuSeconds = $cpu; PeakMB = [Math]::Round($peak / 1MB, 1) }
    }
    'socat relay' = {
        $target = Get-FreeTcpPort
        $port = Get-FreeTcpPort
        $relay = Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:$target"
        try {
            Wait-TcpPortListening $port
            $seconds = Invoke-RelayedTransfer $target $port
            # Once the forked child that relayed is reaped, the parent's cutime/cstime hold its CPU.
            for ($i = 0; $i -lt 200 -and "$(Get-Content "/proc/$($relay.Id)/task/$($relay.Id)/children")".Trim(); $i++) { Start-Sleep -Milliseconds 25 }
            $stat = (Get-Content "/proc/$($relay.Id)/stat") -replace '^.*\) ', '' -split ' '
            $cpu = (([long] $stat[11] + [long] $stat[12] + [long] $stat[13] + [long] $stat[14]) / 100)
        }
        finally { Stop-Peer $relay }
        @{ Seconds = $seconds; CpuSeconds = $cpu }
    }
}

try {
    Write-Host "relay: $SizeMB MiB through a loopback TCP relay, $Repeat rounds"
    [GC]::Collect()
    $before = [Math]::Round([Diagnostics.Process]::GetCurrentProcess().WorkingSet64 / 1MB, 1)
    $samples = Invoke-Alternating $cases -Repeat $Repeat -Warmup
    [GC]::Collect()
    $after = [Math]::Round([Diagnostics.Process]::GetCurrentProcess().WorkingSet64 / 1MB, 1)
    # On a loaded machine wall time swings with the neighbours; the CPU each relay spends per GiB does not.
    $cpuPerGiB = foreach ($k in $samples.Keys) { '{0} {1:0.00}' -f $k, (Get-Median ([double[]] @($samples[$k] | ForEach-Object { $_.CpuSeconds * 1024 / $SizeMB }))) }
    Write-BenchResult -Name 'Relay' -Samples $samples -Ours 'Start-SocketRelay' -References 'socat relay' `
        -Figure { param($s) $SizeMB / $s.Seconds } -Unit 'MiB/s' -HigherIsBetter `
        -Targets @{ 'socat relay' = 1.0 } `
        -Extra (@{
            'relay process working set before the rounds (MiB)' = $before
            'relay process working set after the rounds (MiB)'  = $after
            'relay process peak working set in each round (MiB)' = ($script:WorkingSet -join ', ')
            'CPU seconds per GiB relayed (median)' = ($cpuPerGiB -join '; ')
        })
}
finally {
    $sampler.Dispose()
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}

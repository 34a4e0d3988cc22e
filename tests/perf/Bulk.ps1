<#
.SYNOPSIS
    1 GiB file to file over loopback: Send-SocketData -Path -> Receive-SocketData -ToEnd -Path,
    against raw .NET NetworkStream.CopyTo in this pwsh, and against socat.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $SizeMB = 1024, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')

$base = if (Test-Path /dev/shm) { '/dev/shm' } else { [IO.Path]::GetTempPath() }
$dir = New-Item -ItemType Directory -Force (Join-Path $base "pssocket-bulk-$PID")
$src = Join-Path $dir 'src.bin'
$dst = Join-Path $dir 'dst.bin'
$size = [long] $SizeMB * 1MB
$chunk = [byte[]]::new(4MB)
[Random]::new(7).NextBytes($chunk)
$fs = [IO.File]::Create($src)
for ($left = $size; $left -gt 0; $left -= $chunk.Length) { $fs.Write($chunk, 0, [Math]::Min($left, $chunk.Length)) }
$fs.Dispose()

$sampler = New-Worker
$receiver = New-Worker
function Invoke-Transfer([scriptblock] $Receive, [object[]] $ReceiveArgs, [scriptblock] $Send) {
    Remove-Item $dst -ErrorAction SilentlyContinue
    [GC]::Collect()
    $baseline = [Diagnostics.Process]::GetCurrentProcess().WorkingSet64
    $receiver.Commands.Clear()
    $null = $receiver.AddScript($Receive)
    foreach ($a in $ReceiveArgs) { $null = $receiver.AddArgument($a) }
    $sample = Start-Sampling $sampler
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $h = $receiver.BeginInvoke()
    & $Send
    $null = $receiver.EndInvoke($h)
    $sw.Stop()
    $peak = Stop-Sampling $sampler $sample
    if ($receiver.HadErrors) { throw "receiver failed: $($receiver.Streams.Error | Select-Object -First 1)" }
    if ((Get-Item $dst).Length -ne $size) { throw "received $((Get-Item $dst).Length) of $size bytes" }
    @{ Seconds = $sw.Elapsed.TotalSeconds; PeakDeltaMB = [Math]::Round(($peak - $baseline) / 1MB, 1) }
}

$cases = [ordered]@{
    'PSSocket' = {
        $l = New-TcpListener -Port 0
        try {
            Invoke-Transfer -ReceiveArgs $l.Id, $dst -Receive {
                param($id, $dst)
                $s = Wait-TcpConnection $id -Timeout 30
                Receive-SocketData $s -ToEnd -Path $dst -Timeout 30
                Remove-SocketSession $s
            } -Send {
                $c = Connect-TcpSocket 127.0.0.1 $l.Port
                Send-SocketData $c -Path $src
                Remove-SocketSession $c
            }
        }
        finally { Remove-SocketSession $l }
    }
    'raw .NET CopyTo' = {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start()
        try {
            Invoke-Transfer -ReceiveArgs $l, $dst -Receive {
                param($l, $dst)
                $c = $l.AcceptTcpClient()
                $out = [IO.File]::Create($dst)
                try { $c.GetStream().CopyTo($out) } finally { $out.Dispose(); $c.Dispose() }
            } -Send {
                $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $l.LocalEndpoint.Port)
                $in = [IO.File]::OpenRead($src)
                try { $in.CopyTo($c.GetStream()) } finally { $in.Dispose(); $c.Dispose() }
            }
        }
        finally { $l.Stop() }
    }
    'socat' = {
        Remove-Item $dst -ErrorAction SilentlyContinue
        $port = Get-FreeTcpPort
        $rx = Start-Peer socat '-u', "TCP-LISTEN:$port,reuseaddr", "OPEN:$dst,creat,trunc"
        Start-Sleep -Milliseconds 300
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $tx = Start-Peer socat '-u', "OPEN:$src", "TCP:127.0.0.1:$port"
        $ok = $rx.WaitForExit(120000) -and $tx.WaitForExit(120000)
        $sw.Stop()
        Stop-Peer $rx; Stop-Peer $tx
        if (-not $ok -or (Get-Item $dst).Length -ne $size) { throw 'socat transfer incomplete' }
        @{ Seconds = $sw.Elapsed.TotalSeconds; PeakDeltaMB = 0 }
    }
}

try {
    Write-Host "bulk: $SizeMB MiB file to file over loopback, $Repeat rounds"
    $samples = Invoke-Alternating $cases -Repeat $Repeat -Warmup
    $peak = ($samples['PSSocket'] | ForEach-Object PeakDeltaMB | Measure-Object -Maximum).Maximum
    $rawPeak = ($samples['raw .NET CopyTo'] | ForEach-Object PeakDeltaMB | Measure-Object -Maximum).Maximum
    Write-BenchResult -Name 'Bulk' -Samples $samples -Ours 'PSSocket' -References 'raw .NET CopyTo', 'socat' `
        -Figure { param($s) $SizeMB / $s.Seconds } -Unit 'MiB/s' -HigherIsBetter `
        -Targets @{ 'raw .NET CopyTo' = 0.9; 'socat' = 1.0 } `
        -Extra @{ 'peak working-set growth, PSSocket (MiB)' = $peak; 'peak working-set growth, raw .NET (MiB)' = $rawPeak }
}
finally {
    $receiver.Dispose(); $sampler.Dispose()
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}

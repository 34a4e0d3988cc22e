<#
.SYNOPSIS
    5,000 sessions to one echo peer, as issue 28 goal 5 states them: opened by piping 5,000
    targets into ONE Connect-TcpSocket call, closed by one `Get-SocketSession | Remove-SocketSession`;
    against 5,000 raw .NET TcpClients opened and disposed in a loop in this pwsh. Reports the open
    and close ratios (wall and CPU seconds), managed and working-set KB per live session, and, as
    a separate figure, one line round trip on each of the first RoundTrips sessions.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Count = 5000, [int] $RoundTrips = 1000, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')

$port = Get-FreeTcpPort
$peer = Start-Peer python3 (Join-Path $PSScriptRoot '_echo.py'), $port
Wait-TcpPort $port
$targets = [string[]]@(for ($i = 0; $i -lt $Count; $i++) { "127.0.0.1:$port" })

function Get-Memory {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $p = [Diagnostics.Process]::GetCurrentProcess()
    @{ Managed = [GC]::GetTotalMemory($true); WorkingSet = $p.WorkingSet64 }
}

# Runs the open and close script blocks with wall and CPU seconds and the memory held in between.
function Measure-Sessions([scriptblock] $Open, [scriptblock] $Use, [scriptblock] $Close) {
    $before = Get-Memory
    $cpu = Get-CpuSeconds
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $held = & $Open
    $openSeconds = $sw.Elapsed.TotalSeconds
    $openCpu = (Get-CpuSeconds) - $cpu
    $after = Get-Memory
    $trip = & $Use $held
    [GC]::Collect()
    $cpu = Get-CpuSeconds
    $sw.Restart()
    & $Close $held
    $closeSeconds = $sw.Elapsed.TotalSeconds
    $closeCpu = (Get-CpuSeconds) - $cpu
    @{
        Seconds = $openSeconds; CpuSeconds = $openCpu; Close = $closeSeconds; CloseCpu = $closeCpu; RoundTrip = $trip
        ManagedKB = ($after.Managed - $before.Managed) / 1KB / $Count
        WorkingSetKB = ($after.WorkingSet - $before.WorkingSet) / 1KB / $Count
    }
}

$cases = [ordered]@{
    'PSSocket' = {
        Measure-Sessions -Open {
            $s = @($targets | Connect-TcpSocket)
            if ($s.Count -ne $Count) { throw "expected $Count sessions, Connect-TcpSocket gave $($s.Count)" }
            , $s
        } -Use {
            param($s)
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $RoundTrips; $i++) {
                Send-SocketData $s[$i] 'ping' -Line
                $null = Receive-SocketData $s[$i] -Line
            }
            $sw.Elapsed.TotalSeconds
        } -Close {
            Get-SocketSession | Remove-SocketSession
            if (@(Get-SocketSession).Count) { throw 'sessions left after Remove-SocketSession' }
        }
    }
    'raw .NET TcpClient' = {
        Measure-Sessions -Open {
            $c = [System.Collections.Generic.List[System.Net.Sockets.TcpClient]]::new()
            foreach ($t in $targets) { $c.Add([System.Net.Sockets.TcpClient]::new('127.0.0.1', $port)) }
            , $c
        } -Use {
            param($c)
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $RoundTrips; $i++) {
                $ns = $c[$i].GetStream()
                $w = [IO.StreamWriter]::new($ns); $w.NewLine = "`n"; $w.AutoFlush = $true
                $r = [IO.StreamReader]::new($ns)
                $w.WriteLine('ping')
                $null = $r.ReadLine()
            }
            $sw.Elapsed.TotalSeconds
        } -Close {
            param($c)
            foreach ($t in $c) { $t.Dispose() }
        }
    }
}

try {
    Write-Host "sessions: $Count sessions opened by one piped Connect-TcpSocket, closed by one piped Remove-SocketSession, $Repeat rounds"
    # Warm-up, unrecorded: 200 sessions each way, so JIT and the binders' first use are not timed
    # (build.ps1 -Compare runs each build in a fresh process with -Repeat 1).
    $full = $Count, $RoundTrips, $targets
    $Count, $RoundTrips, $targets = 200, 100, $targets[0..199]
    foreach ($k in $cases.Keys) { $null = & $cases[$k] }
    $Count, $RoundTrips, $targets = $full
    $samples = Invoke-Alternating $cases -Repeat $Repeat
    $raw = 'raw .NET TcpClient'
    $m = { param($case, $k) Get-Median ([double[]]@($samples[$case] | ForEach-Object { $_[$k] })) }
    $target = { param($value, $limit) '{0:0.0} (target <= {1}: {2})' -f $value, $limit, $(if ($value -le $limit) { 'met' } else { 'NOT met' }) }
    $extra = [ordered]@{
        'PSSocket managed KB per live session' = & $target (& $m 'PSSocket' 'ManagedKB') 4
        'PSSocket working-set KB per live session' = & $target (& $m 'PSSocket' 'WorkingSetKB') 4
        'raw .NET managed / working-set KB per client' = '{0:0.0} / {1:0.0}' -f (& $m $raw 'ManagedKB'), (& $m $raw 'WorkingSetKB')
        'open ratio (wall, CPU)' = '{0:0.00}x, {1:0.00}x (target <= 2.0x)' -f ((& $m 'PSSocket' 'Seconds') / (& $m $raw 'Seconds')), ((& $m 'PSSocket' 'CpuSeconds') / (& $m $raw 'CpuSeconds'))
        'line round trip on an open session (ms): PSSocket, raw' = '{0:0.000}, {1:0.000}' -f ((& $m 'PSSocket' 'RoundTrip') * 1000 / $RoundTrips), ((& $m $raw 'RoundTrip') * 1000 / $RoundTrips)
    }
    Write-BenchResult -Name 'Sessions' -Samples $samples -Ours 'PSSocket' -References $raw -Extra $extra

    # Closing, as its own result (so -Compare shows it too): the close phase's wall and CPU seconds.
    $closing = [ordered]@{}
    foreach ($k in $samples.Keys) {
        $closing[$k] = [System.Collections.Generic.List[object]]::new()
        foreach ($s in $samples[$k]) { $closing[$k].Add(@{ Seconds = $s.Close; CpuSeconds = $s.CloseCpu }) }
    }
    Write-BenchResult -Name 'SessionsClose' -Samples $closing -Ours 'PSSocket' -References $raw -Extra ([ordered]@{
            'close ratio (wall, CPU)' = '{0:0.00}x, {1:0.00}x (target <= 2.0x)' -f ((& $m 'PSSocket' 'Close') / (& $m $raw 'Close')), ((& $m 'PSSocket' 'CloseCpu') / (& $m $raw 'CloseCpu'))
        })
}
finally {
    Get-SocketSession | Remove-SocketSession
    Stop-Peer $peer
}

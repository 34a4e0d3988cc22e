<#
.SYNOPSIS
    5,000 sessions to one echo peer: open, one line each, then Get-SocketSession | Remove-SocketSession.
    Time per session, managed and working-set memory per live session, removal time; against the
    same with raw .NET TcpClient + StreamReader in this pwsh.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Count = 5000, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')

$port = Get-FreeTcpPort
$peer = Start-Peer python3 (Join-Path $PSScriptRoot '_echo.py'), $port
Wait-TcpPort $port

function Get-Memory {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $p = [Diagnostics.Process]::GetCurrentProcess()
    @{ Managed = [GC]::GetTotalMemory($true); WorkingSet = $p.WorkingSet64 }
}

$cases = [ordered]@{
    'PSSocket' = {
        $before = Get-Memory
        $sw = [Diagnostics.Stopwatch]::StartNew()
        for ($i = 0; $i -lt $Count; $i++) {
            $s = Connect-TcpSocket 127.0.0.1 $port
            Send-SocketData $s 'ping' -Line
            $null = Receive-SocketData $s -Line
        }
        $open = $sw.Elapsed.TotalSeconds
        $after = Get-Memory
        $live = @(Get-SocketSession -Kind Tcp).Count
        $sw.Restart()
        Get-SocketSession | Remove-SocketSession
        $remove = $sw.Elapsed.TotalSeconds
        if ($live -ne $Count) { throw "expected $Count live sessions, saw $live" }
        @{
            Seconds = $open; Remove = $remove
            ManagedKB = ($after.Managed - $before.Managed) / 1KB / $Count
            WorkingSetKB = ($after.WorkingSet - $before.WorkingSet) / 1KB / $Count
        }
    }
    'raw .NET TcpClient' = {
        $before = Get-Memory
        $clients = [System.Collections.Generic.List[object]]::new()
        $sw = [Diagnostics.Stopwatch]::StartNew()
        for ($i = 0; $i -lt $Count; $i++) {
            $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port)
            $ns = $c.GetStream()
            $w = [IO.StreamWriter]::new($ns); $w.NewLine = "`n"; $w.AutoFlush = $true
            $r = [IO.StreamReader]::new($ns)
            $w.WriteLine('ping')
            $null = $r.ReadLine()
            $clients.Add(@($c, $w, $r))
        }
        $open = $sw.Elapsed.TotalSeconds
        $after = Get-Memory
        $sw.Restart()
        foreach ($t in $clients) { $t[0].Dispose() }
        $remove = $sw.Elapsed.TotalSeconds
        @{
            Seconds = $open; Remove = $remove
            ManagedKB = ($after.Managed - $before.Managed) / 1KB / $Count
            WorkingSetKB = ($after.WorkingSet - $before.WorkingSet) / 1KB / $Count
        }
    }
}

try {
    Write-Host "sessions: $Count sessions, one line each, $Repeat rounds"
    $samples = Invoke-Alternating $cases -Repeat $Repeat
    $ours = $samples['PSSocket']
    $m = { param($k) Get-Median ([double[]]@($ours | ForEach-Object { $_[$k] })) }
    $extra = [ordered]@{
        'PSSocket ms per session (open + 1 line)' = '{0:0.000}' -f ((& $m 'Seconds') * 1000 / $Count)
        'PSSocket managed KB per live session' = '{0:0.0} (target <= 30)' -f (& $m 'ManagedKB')
        'PSSocket working-set KB per live session' = '{0:0.0} (target <= 30)' -f (& $m 'WorkingSetKB')
        'PSSocket removal of all (s)' = '{0:0.000} (target < 1)' -f (& $m 'Remove')
        'raw .NET managed KB per client' = '{0:0.0}' -f (Get-Median ([double[]]@($samples['raw .NET TcpClient'] | ForEach-Object ManagedKB)))
    }
    Write-BenchResult -Name 'Sessions' -Samples $samples -Ours 'PSSocket' -References 'raw .NET TcpClient' `
        -Figure { param($s) $Count / $s.Seconds } -Unit 'sessions/s' -HigherIsBetter -Extra $extra
}
finally {
    Get-SocketSession | Remove-SocketSession
    Stop-Peer $peer
}

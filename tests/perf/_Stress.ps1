<#
.SYNOPSIS
    build.ps1 -Task Stress: a bounded soak (default 5 minutes, never more than 10) of connect/send/
    receive/remove cycles, listener accepts, timeouts, refused connects, UDP round trips and TLS
    conversations (openssl s_server) against loopback peers, from
    several runspaces at once. Prints operations, bytes, errors by ErrorId, peak memory and the fd
    count at start and end. Not part of Test.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [double] $Minutes = 5, [int] $Workers = 4)
. (Join-Path $PSScriptRoot '_common.ps1')
$Minutes = [Math]::Min($Minutes, 10)

function Get-FdCount { @(Get-ChildItem /proc/self/fd -ErrorAction SilentlyContinue).Count }

$port = Get-FreeTcpPort
$peer = Start-Peer python3 (Join-Path $PSScriptRoot '_echo.py'), $port
Wait-TcpPort $port
# A TLS peer: openssl s_server -www answers each GET with a status page.
$tlsDir = Join-Path ([IO.Path]::GetTempPath()) ("stress-tls-" + [guid]::NewGuid().ToString('n'))
$null = New-Item -ItemType Directory $tlsDir
$null = & openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tlsDir/k.pem" -out "$tlsDir/c.pem" -days 2 -subj '/CN=localhost' 2>&1
$tlsPort = Get-FreeTcpPort
$tlsPeer = Start-Peer openssl 's_server', '-accept', "127.0.0.1:$tlsPort", '-cert', "$tlsDir/c.pem", '-key', "$tlsDir/k.pem", '-www', '-quiet'
Wait-TcpPort $tlsPort
$fdStart = Get-FdCount
[GC]::Collect()
$memStart = [GC]::GetTotalMemory($true)

$until = [DateTime]::UtcNow.AddMinutes($Minutes)
$manifest = Join-Path $ModulePath 'PSSocket.psd1'
$pool = [runspacefactory]::CreateRunspacePool(1, $Workers)
$pool.Open()
$jobs = foreach ($w in 1..$Workers) {
    $ps = [powershell]::Create()
    $ps.RunspacePool = $pool
    $null = $ps.AddScript({
            param($manifest, $port, $until, $worker, $tlsPort)
            Import-Module $manifest
            # Every failure the scenarios do not expect reaches the catch below and is counted.
            $ErrorActionPreference = 'Stop'
            # Bound but never listening: connects to it are refused and no other worker's
            # listener can take the port (a freed port could be reused by New-TcpListener -Port 0).
            $refuser = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
            $refuser.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
            $refusedPort = $refuser.LocalEndPoint.Port
            $ops = 0L; $bytes = 0L
            $errors = @{}
            $rng = [Random]::new($worker)
            $note = { param($e) $id = ($e.FullyQualifiedErrorId -split ',')[0]; $errors[$id] = 1 + [int] $errors[$id] }
            while ([DateTime]::UtcNow -lt $until) {
                $kind = $rng.Next(12)
                try {
                    if ($kind -lt 6) {
                        # A conversation: lines both ways, a byte count, then removal.
                        $s = Connect-TcpSocket 127.0.0.1 $port -Timeout 5
                        $n = $rng.Next(1, 20)
                        1..$n | ForEach-Object { "line $_ of worker $worker" } | Send-SocketData $s -Line
                        $back = @(Receive-SocketData $s -Line -Count $n -Timeout 5)
                        if ($back.Count -ne $n -or $back[-1] -ne "line $n of worker $worker") { $errors['WrongReply'] = 1 + [int] $errors['WrongReply'] }
                        $payload = [byte[]]::new($rng.Next(1, 200000)); $rng.NextBytes($payload)
                        Send-SocketData $s $payload
                        $got = Receive-SocketData $s -Count $payload.Length -AsBytes -Timeout 10
                        if (-not [Linq.Enumerable]::SequenceEqual($got, $payload)) { $errors['WrongBytes'] = 1 + [int] $errors['WrongBytes'] }
                        $bytes += 2 * $payload.Length
                        Remove-SocketSession $s
                    }
                    elseif ($kind -lt 8) {
                        # A listener, a client, an accept, a half-close read to the end.
                        $l = New-TcpListener -Port 0
                        $c = Connect-TcpSocket 127.0.0.1 $l.Port
                        $a = Wait-TcpConnection $l -Timeout 5
                        Send-SocketData $a 'bye'
                        Remove-SocketSession $a
                        $t = Receive-SocketData $c -ToEnd -Timeout 5
                        if ($t -ne 'bye') { $errors['WrongReply'] = 1 + [int] $errors['WrongReply'] }
                        Remove-SocketSession $c, $l
                    }
                    elseif ($kind -eq 8) {
                        # A timeout that must leave the session usable.
                        $s = Connect-TcpSocket 127.0.0.1 $port
                        Receive-SocketData $s -Timeout 0.05 -ErrorAction SilentlyContinue -ErrorVariable ev
                        foreach ($e in $ev) { & $note $e }
                        Send-SocketData $s 'after-timeout' -Line
                        if ((Receive-SocketData $s -Line -Timeout 5) -ne 'after-timeout') { $errors['WrongReply'] = 1 + [int] $errors['WrongReply'] }
                        Remove-SocketSession $s
                    }
                    elseif ($kind -eq 10) {
                        # A UDP round trip: listener, one-shot send, datagram with its sender.
                        $u = New-UdpListener -Port 0
                        $text = "dgram $ops of worker $worker"
                        Invoke-UdpSend 127.0.0.1 $u.Port $text
                        $d = Receive-SocketData $u -Timeout 5
                        if ($d.Text -ne $text) { $errors['WrongReply'] = 1 + [int] $errors['WrongReply'] }
                        $bytes += $d.Length
                        Remove-SocketSession $u
                    }
                    elseif ($kind -eq 11) {
                        # A TLS conversation with openssl s_server (self-signed: validation skipped on purpose).
                        $t = Connect-TcpSocket localhost $tlsPort -UseTls -SkipCertificateCheck -Timeout 5
                        Send-SocketData $t "GET / HTTP/1.0`r`n`r`n"
                        $page = Receive-SocketData $t -ToEnd -Timeout 10
                        if ($page -notlike 'HTTP/1.0 200*') { $errors['WrongReply'] = 1 + [int] $errors['WrongReply'] }
                        $bytes += $page.Length
                        Remove-SocketSession $t
                    }
                    else {
                        # A refused connect: an error record, nothing registered.
                        $stray = Connect-TcpSocket 127.0.0.1 $refusedPort -ErrorAction SilentlyContinue -ErrorVariable ev
                        foreach ($e in $ev) { & $note $e }
                        if ($stray) { $errors['UnexpectedConnect'] = 1 + [int] $errors['UnexpectedConnect']; Remove-SocketSession $stray }
                    }
                    $ops++
                }
                catch { & $note $_ ; $errors['Unexpected:' + $_.Exception.GetType().Name] = 1 + [int] $errors['Unexpected:' + $_.Exception.GetType().Name] }
            }
            $refuser.Dispose()
            [pscustomobject]@{ Worker = $worker; Operations = $ops; Bytes = $bytes; Errors = $errors }
        }).AddArgument($manifest).AddArgument($port).AddArgument($until).AddArgument($w).AddArgument($tlsPort)
    [pscustomobject]@{ PS = $ps; Handle = $ps.BeginInvoke() }
}

$peakWs = 0L; $peakFd = 0
while ($jobs | Where-Object { -not $_.Handle.IsCompleted }) {
    $p = [Diagnostics.Process]::GetCurrentProcess()
    $peakWs = [Math]::Max($peakWs, $p.WorkingSet64)
    $peakFd = [Math]::Max($peakFd, (Get-FdCount))
    Start-Sleep -Milliseconds 500
}
$results = foreach ($j in $jobs) { $j.PS.EndInvoke($j.Handle); $j.PS.Dispose() }
$pool.Dispose()
Stop-Peer $peer
Stop-Peer $tlsPeer
Remove-Item -Recurse -Force $tlsDir -ErrorAction SilentlyContinue
$left = @(Get-SocketSession).Count
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
Start-Sleep -Seconds 1
$fdEnd = Get-FdCount

$errors = @{}
foreach ($r in $results) { foreach ($k in $r.Errors.Keys) { $errors[$k] = [int] $errors[$k] + $r.Errors[$k] } }
$summary = [ordered]@{
    minutes = $Minutes; workers = $Workers
    operations = ($results | Measure-Object Operations -Sum).Sum
    bytes = ($results | Measure-Object Bytes -Sum).Sum
    errorsById = $errors
    peakWorkingSetMB = [Math]::Round($peakWs / 1MB, 1)
    managedGrowthMB = [Math]::Round(([GC]::GetTotalMemory($true) - $memStart) / 1MB, 1)
    fdStart = $fdStart; fdPeak = $peakFd; fdEnd = $fdEnd
    sessionsLeft = $left
}
Write-Host ''
Write-Host "== Stress ($Minutes min, $Workers runspaces)"
foreach ($k in $summary.Keys) {
    if ($k -eq 'errorsById') {
        Write-Host '  errors by ErrorId:'
        foreach ($e in ($errors.Keys | Sort-Object)) { Write-Host ("    {0,-40} {1}" -f $e, $errors[$e]) }
    }
    else { Write-Host ("  {0,-20} {1}" -f $k, $summary[$k]) }
}
$summary | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $script:ResultsDir 'Stress.json') -Encoding utf8NoBOM
$bad = [int] $errors['WrongReply'] + [int] $errors['WrongBytes'] + [int] $errors['UnexpectedConnect'] + @($errors.Keys | Where-Object { $_ -like 'Unexpected:*' }).Count
if ($bad -gt 0 -or $left -gt 0) { exit 1 }

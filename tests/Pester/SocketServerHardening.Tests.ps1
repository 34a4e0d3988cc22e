# Start-SocketServer against hostile or broken clients: silent and trickling connections, TLS
# connections that never handshake, resets, floods of output, script blocks that cannot be stopped.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    function Wait-Until {
        param([scriptblock] $Condition, [double] $TimeoutSec = 15)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (& $Condition) { return $true }
            Start-Sleep -Milliseconds 50
        }
        [bool] (& $Condition)
    }

    # python3 holding N silent connections open (for at most 120 s); prints each local port.
    function Start-SilentClients {
        param([int] $Port, [int] $Count)
        $p = Start-Peer python3 '-u', '-c', @"
import socket, time
ss = []
for _ in range($Count):
    s = socket.create_connection(('127.0.0.1', $Port)); ss.append(s); print(s.getsockname()[1])
print('connected')
time.sleep(120)
"@
        $p
    }

    $script:Echo = { while ($null -ne ($l = Receive-SocketData $_ -Line -Timeout 120 -ErrorAction Ignore)) { Send-SocketData $_ $l -Line } }
}

Describe 'Start-SocketServer against silent, slow and resetting clients' {
    AfterEach {
        Get-SocketSession -Kind TcpServer, UdpServer | Remove-SocketSession -Confirm:$false
    }

    It 'serves a real client while 32 silent connections hold every slot: -IdleTimeout frees them and records why' {
        $srv = Start-SocketServer -Port 0 $script:Echo -IdleTimeout 2
        $srv.IdleTimeout | Should -Be ([TimeSpan]::FromSeconds(2))
        $silent = Start-SilentClients -Port $srv.Port -Count 32
        try {
            Wait-Until { $srv.ClientsActive -ge 32 } -TimeoutSec 30 | Should -BeTrue
            $c = Connect-TcpSocket 127.0.0.1 $srv.Port
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Send-SocketData $c 'real' -Line
            Receive-SocketData $c -Line -Timeout 20 | Should -Be 'real'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 20
            Wait-Until { $srv.ClientsFailed -ge 32 } -TimeoutSec 30 | Should -BeTrue
            $srv.ClientsReset | Should -BeOfType [int]
            $idle = @(Receive-SocketServerOutput $srv | Where-Object { $_.CloseReason -match 'idle timeout' })
            $idle.Count | Should -BeGreaterOrEqual 32
            $idle[0].Succeeded | Should -BeFalse
            "$($idle[0].Errors[-1])" | Should -Match 'idle timeout'
        }
        finally { Stop-Peer $silent }
    }

    It 'closes a client that trickles a byte at a time once -ClientTimeout passes' {
        $srv = Start-SocketServer -Port 0 { while ($null -ne (Receive-SocketData $_ -Count 1 -Timeout 30 -ErrorAction Ignore)) { } } -ClientTimeout 2
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        $clock = [Diagnostics.Stopwatch]::StartNew()
        # loopback is shared with other test runs: pick this client's record by its port
        $r = @()
        while ($clock.Elapsed.TotalSeconds -lt 20 -and $r.Count -eq 0) {
            try { Send-SocketData $c 'x' } catch { Write-Verbose "closed by the server: $_" }
            Start-Sleep -Milliseconds 300
            $r = @(Receive-SocketServerOutput $srv | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        }
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 15
        $r.Count | Should -Be 1
        $r[0].CloseReason | Should -Match 'client timeout'
        $r[0].Succeeded | Should -BeFalse
    }

    It 'serves a TLS client at once while silent connections never start their handshake' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-tls-$([guid]::NewGuid().ToString('n'))"
        New-Item -ItemType Directory $dir | Out-Null
        try {
            & openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 -subj '/CN=localhost' 2>&1 | Out-Null
            & openssl pkcs12 -export -inkey "$dir/key.pem" -in "$dir/cert.pem" -out "$dir/server.pfx" -passout pass: 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 0
            $srv = Start-SocketServer -Port 0 -Certificate "$dir/server.pfx" -ThrottleLimit 2 -NewLine "`r`n" {
                while (Receive-SocketData $_ -Line -Timeout 10) { }
                Send-SocketData $_ "HTTP/1.1 200 OK`r`nContent-Length: 2`r`nConnection: close`r`n`r`nOK"
            }
            $silent = Start-SilentClients -Port $srv.Port -Count 10
            try {
                Start-Sleep -Milliseconds 500
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $out = & curl -s --max-time 20 --cacert "$dir/cert.pem" "https://localhost:$($srv.Port)/"
                $LASTEXITCODE | Should -Be 0
                $out | Should -Be 'OK'
                # before: the silent sockets held both slots for the 15 s handshake limit
                $clock.Elapsed.TotalSeconds | Should -BeLessThan 8
                $srv.ClientsActive | Should -BeLessOrEqual 1
            }
            finally { Stop-Peer $silent }
        }
        finally { Remove-Item -Recurse -Force $dir -ErrorAction Ignore }
    }

    It 'records a client that connects and resets as failed, without running the script block' {
        $srv = Start-SocketServer -Port 0 -ThrottleLimit 1 { $null = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore; 'ran' }
        $holder = Connect-TcpSocket 127.0.0.1 $srv.Port
        Wait-Until { $srv.ClientsActive -eq 1 } | Should -BeTrue
        # while the one slot is taken, three clients connect and reset (SO_LINGER 0) in the backlog
        $py = Start-Peer python3 '-u', '-c', @"
import socket, struct
for _ in range(3):
    s = socket.create_connection(('127.0.0.1', $($srv.Port)))
    print(s.getsockname()[1])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
"@
        try {
            $py.WaitForExit(20000) | Should -BeTrue
            $py.WaitForExit()
            Send-SocketData $holder 'done' -Line
            Wait-Until { $srv.ClientsReset -ge 3 } | Should -BeTrue
            $records = @(Receive-SocketServerOutput $srv)
            $reset = @($records | Where-Object { $_.CloseReason -eq 'Reset by the client before any data' })
            $reset.Count | Should -BeGreaterOrEqual 3
            $reset | ForEach-Object { $_.Succeeded | Should -BeFalse; $_.Output | Should -BeNullOrEmpty }
            "$($reset[0].Errors[0])" | Should -Match 'reset the connection before sending any data'
            @($records | Where-Object { $_.Output -contains 'ran' }).ClientEndPoint.Port | Should -Contain $holder.LocalEndPoint.Port
        }
        finally { Stop-Peer $py }
    }

    It 'caps unread records by size: the oldest are dropped, counted and warned about' {
        $srv = Start-SocketServer -Port 0 { 'x' * 1MB } -MaxRecordBytes 3MB
        $srv.MaxRecordBytes | Should -Be 3MB
        foreach ($i in 1..6) { $c = Connect-TcpSocket 127.0.0.1 $srv.Port; Remove-SocketSession $c }
        Wait-Until { $srv.ClientsAccepted -ge 6 -and $srv.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        $srv.RecordsDropped | Should -BeGreaterOrEqual 5
        $srv.RecordBytesDropped | Should -BeGreaterOrEqual 8MB
        $kept = @(Receive-SocketServerOutput $srv -WarningVariable warn -WarningAction SilentlyContinue)
        $kept.Count | Should -BeLessOrEqual 1
        "$warn" | Should -Match 'dropped \d+ unread client records.*MaxRecordBytes'
    }

    It 'leaves the registry when stopped, its object keeping the records: 50 start/stop cycles leave nothing' {
        $before = @(Get-SocketSession).Count
        foreach ($i in 1..50) {
            $srv = Start-SocketServer -Port 0 { 'hi' }
            Stop-SocketServer $srv
        }
        @(Get-SocketSession).Count | Should -Be $before
        $srv.State | Should -Be 'Closed'
        Get-SocketSession -Id $srv.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # stopping again or removing the object does nothing and reports nothing
        Stop-SocketServer $srv -ErrorVariable err
        Remove-SocketSession $srv -ErrorVariable err2
        $err + $err2 | Should -BeNullOrEmpty
        $c2 = Start-SocketServer -Port 0 { "served $($_.RemoteEndPoint.Port)" }
        $c = Connect-TcpSocket 127.0.0.1 $c2.Port
        Stop-SocketServer $c2 -Wait -Timeout 10
        (Receive-SocketServerOutput $c2 | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port }).Output | Should -Be "served $($c.LocalEndPoint.Port)"
        Remove-SocketSession $c
    }

    It 'Stop-SocketServer returns within -Timeout plus a few seconds from script blocks stuck in .NET, reports them, and pwsh exits' {
        $script = Join-Path ([IO.Path]::GetTempPath()) "pssocket-stuck-$([guid]::NewGuid().ToString('n')).ps1"
        Set-Content -Path $script -Encoding utf8NoBOM -Value @"
Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'
`$srv = Start-SocketServer -Port 0 { [Threading.Thread]::Sleep(300000) }
`$cs = 1..2 | ForEach-Object { Connect-TcpSocket 127.0.0.1 `$srv.Port }
`$deadline = [DateTime]::UtcNow.AddSeconds(30)
while (`$srv.ClientsActive -lt 2 -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 50 }
`$clock = [Diagnostics.Stopwatch]::StartNew()
Stop-SocketServer `$srv -Timeout 1 -WarningVariable warn -WarningAction SilentlyContinue
'stop={0:0.0} warnings={1} active={2}' -f `$clock.Elapsed.TotalSeconds, `$warn.Count, `$srv.ClientsActive
"@
        $cmd = Get-PwshCommand
        $exe = $cmd[0]
        $args = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script)
        $psi = [System.Diagnostics.ProcessStartInfo]::new($exe)
        foreach ($a in $args) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.UseShellExecute = $false
        $p = [System.Diagnostics.Process]::Start($psi)
        try {
            $outTask = $p.StandardOutput.ReadToEndAsync()
            $p.WaitForExit(60000) | Should -BeTrue -Because 'stuck script blocks must not keep pwsh alive'
            $out = $outTask.Result
            $out | Should -Match 'stop=(\d+\.\d) warnings=2'
            [double] ([regex]::Match($out, 'stop=(\d+\.\d)').Groups[1].Value) | Should -BeLessThan 8
        }
        finally {
            if (-not $p.HasExited) { $p.Kill($true) }
            $p.Dispose()
            Remove-Item $script -ErrorAction Ignore
        }
    }
}

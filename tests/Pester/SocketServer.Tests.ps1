BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # An echo server in one line: every line a client sends comes back.
    $script:Echo = { while ($null -ne ($l = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore)) { Send-SocketData $_ $l -Line } }

    # Sockets only: other descriptors (an assembly PowerShell maps when a command first loads its
    # module) come and go with what the test script itself runs and say nothing about the server.
    function Get-SocketFdCount {
        @(Get-ChildItem /proc/self/fd -ErrorAction Ignore | Where-Object { $_.LinkTarget -like 'socket:*' }).Count
    }

    # Loopback is shared with other test runs (port sweeps may connect to any port), so the
    # tests pick their own clients' records by port instead of counting every record.
    function Get-RecordOf {
        param($Server, [object[]] $Client)
        $ports = @($Client | ForEach-Object { $_.LocalEndPoint.Port })
        @(Receive-SocketServerOutput $Server | Where-Object { $_.ClientEndPoint.Port -in $ports })
    }

    function Invoke-Python {
        param([string] $Code, [string[]] $ArgumentList, [int] $TimeoutSec = 120)
        $file = Join-Path ([IO.Path]::GetTempPath()) "pssocket-server-$([guid]::NewGuid().ToString('n')).py"
        Set-Content -Path $file -Value $Code -Encoding utf8NoBOM
        try {
            $out = & timeout $TimeoutSec python3 $file @ArgumentList 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($out | ForEach-Object { "$_" }) }
        }
        finally { Remove-Item $file -ErrorAction Ignore }
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

    $script:SlowEcho = { while ($null -ne ($l = Receive-SocketData $_ -Line -Timeout 120 -ErrorAction Ignore)) { Send-SocketData $_ $l -Line } }
}

Describe 'Start-SocketServer (TCP)' {
    AfterEach {
        Get-SocketSession -Kind TcpServer, UdpServer | Remove-SocketSession -Confirm:$false
        Remove-AllSocketSessions
    }

    It 'returns a registered, listening server session at once' {
        $srv = Start-SocketServer -Port 0 $script:Echo -Name 'echo-srv'
        $srv.Kind | Should -Be 'TcpServer'
        $srv.State | Should -Be 'Listening'
        $srv.Port | Should -BeGreaterThan 0
        $srv.LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (Get-SocketSession -Name 'echo-srv').Id | Should -Be $srv.Id
        (Get-SocketSession -Kind TcpServer).Id | Should -Contain $srv.Id
        $srv.ClientsAccepted | Should -BeOfType [int]
        $srv.ClientsActive | Should -BeOfType [int]
        $srv.ClientsFailed | Should -BeOfType [int]
        ($srv | Format-Table -View Server | Out-String -Width 200) | Should -Match 'Listen\s+Target\s+Clients\s+Failed\s+Bytes'
        # A server's own table takes the sessions after it too, so servers among other sessions stay one table.
        $other = New-TcpListener -Port 0
        try {
            $table = @($srv, $other) | Format-Table | Out-String -Width 200
            $table | Should -Match 'Listen\s+Target\s+Clients\s+Failed\s+Bytes\s+State\s+Kind'
            $table | Should -Not -Match '\d+ clients, \d+ active'
            $table | Should -Match 'Listening\s+TcpListener'
            ($table -split "`n" | Where-Object { $_ -match '^\s*-+\s+-+' }).Count | Should -Be 1
        }
        finally { Remove-SocketSession $other }
    }

    It 'echoes in one line, with the client session as $_ and the first argument, -ArgumentList after it' {
        $srv = Start-SocketServer -Port 0 -ArgumentList 'tag', 7 -ScriptBlock {
            param($client, $tag, $n)
            $line = Receive-SocketData $_ -Line -Timeout 10
            Send-SocketData $client "$line/$tag/$n/$($_.Kind)/$([object]::ReferenceEquals($_, $client))" -Line
            'served'
        }
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $c 'hi' -Line
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'hi/tag/7/Tcp/True'
        Stop-SocketServer $srv -Wait -Timeout 10
        $r = Get-RecordOf $srv $c
        $r.Count | Should -Be 1
        $r[0].Output | Should -Be 'served'
        $r[0].Succeeded | Should -BeTrue
        $r[0].ClientEndPoint.Port | Should -Be $c.LocalEndPoint.Port
        $r[0].Duration | Should -BeGreaterThan ([TimeSpan]::Zero)
        $r[0].StartedAt | Should -BeLessOrEqual (Get-Date)
    }

    It 'serves 50 concurrent python3 clients, each getting exactly its own 100 lines back' {
        $srv = Start-SocketServer -Port 0 $script:Echo -ThrottleLimit 50
        $py = @'
import socket, sys, threading
port = int(sys.argv[1]); bad = []
def client(i):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=60)
        lines = ['client%d-line%d' % (i, j) for j in range(100)]
        s.sendall(''.join(l + '\n' for l in lines).encode())
        f = s.makefile('r')
        got = [f.readline().rstrip('\n') for _ in range(100)]
        if got != lines: bad.append('%d: wrong lines' % i)
        s.close()
    except Exception as e:
        bad.append('%d: %r' % (i, e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(50)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad=%d' % len(bad)); [print(b) for b in bad[:5]]
'@
        $r = Invoke-Python $py $srv.Port
        $r.Output | Should -Contain 'bad=0'
        $r.ExitCode | Should -Be 0
        Wait-Until { $srv.ClientsActive -eq 0 } | Should -BeTrue
        $srv.ClientsAccepted | Should -BeGreaterOrEqual 50
        $srv.ClientsFailed | Should -Be 0
        $records = @(Receive-SocketServerOutput $srv)
        @($records | Where-Object Succeeded).Count | Should -BeGreaterOrEqual 50
        # every client's session was closed and removed when its script block ended
        @(Get-SocketSession -Kind Tcp).Count | Should -Be 0
    }

    It 'accepts new clients while older ones are mid-conversation' {
        $srv = Start-SocketServer -Port 0 $script:Echo
        $old = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $old 'old-1' -Line
        Receive-SocketData $old -Line -Timeout 10 | Should -Be 'old-1'
        foreach ($i in 1..3) {
            $new = Connect-TcpSocket 127.0.0.1 $srv.Port
            Send-SocketData $new "new-$i" -Line
            Receive-SocketData $new -Line -Timeout 10 | Should -Be "new-$i"
            Remove-SocketSession $new
        }
        Send-SocketData $old 'old-2' -Line
        Receive-SocketData $old -Line -Timeout 10 | Should -Be 'old-2'
        $srv.ClientsAccepted | Should -BeGreaterOrEqual 4
        Wait-Until { $srv.ClientsActive -eq 1 } | Should -BeTrue
    }

    It 'closes only the client whose script block throws; the error is in its record and the others finish' {
        $srv = Start-SocketServer -Port 0 {
            while ($null -ne ($l = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore)) {
                if ($l -eq 'boom') { throw "boom from $($_.RemoteEndPoint)" }
                Send-SocketData $_ $l -Line
            }
        }
        $good = Connect-TcpSocket 127.0.0.1 $srv.Port
        $bad = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $good 'a' -Line
        Receive-SocketData $good -Line -Timeout 10 | Should -Be 'a'
        Send-SocketData $bad 'boom' -Line
        # the server closes the failed client's connection: it reads end of stream
        Receive-SocketData $bad -ToEnd -Timeout 10 | Should -BeNullOrEmpty
        (Get-SocketSession -Id $bad.Id).State | Should -Be 'RemoteClosed'
        Wait-Until { $srv.ClientsFailed -ge 1 } | Should -BeTrue
        # the other client and new clients are still served
        Send-SocketData $good 'b' -Line
        Receive-SocketData $good -Line -Timeout 10 | Should -Be 'b'
        $late = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $late 'c' -Line
        Receive-SocketData $late -Line -Timeout 10 | Should -Be 'c'
        Remove-SocketSession $good, $late
        Wait-Until { $srv.ClientsActive -eq 0 } | Should -BeTrue
        $records = Get-RecordOf $srv $good, $bad, $late
        $records.Count | Should -Be 3
        $failed = @($records | Where-Object { -not $_.Succeeded })
        $failed.Count | Should -Be 1
        $failed[0].ClientEndPoint.Port | Should -Be $bad.LocalEndPoint.Port
        $failed[0].Errors[-1] | Should -BeOfType [System.Management.Automation.ErrorRecord]
        "$($failed[0].Errors[-1])" | Should -Match 'boom from'
        $srv.ClientsFailed | Should -BeGreaterOrEqual 1
        $srv.State | Should -Be 'Listening'
    }

    It 'serves at most -ThrottleLimit clients; the next one waits in the backlog and is served when one finishes' {
        $srv = Start-SocketServer -Port 0 $script:Echo -ThrottleLimit 2
        $a = Connect-TcpSocket 127.0.0.1 $srv.Port
        $b = Connect-TcpSocket 127.0.0.1 $srv.Port
        foreach ($s in $a, $b) {
            Send-SocketData $s 'x' -Line
            Receive-SocketData $s -Line -Timeout 10 | Should -Be 'x'
        }
        # the third connects (the kernel completes the handshake) but is not served yet
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $c 'waiting' -Line
        { Receive-SocketData $c -Line -Timeout 1 } | Should -Throw -ErrorId 'ReceiveTimeout*'
        $srv.ClientsActive | Should -Be 2
        Remove-SocketSession $a
        Receive-SocketData $c -Line -Timeout 15 | Should -Be 'waiting'
        $srv.ClientsAccepted | Should -BeGreaterOrEqual 3
        $srv.ClientsActive | Should -BeLessOrEqual 2
    }

    It 'Stop-SocketServer -Wait lets a client being served finish' {
        $srv = Start-SocketServer -Port 0 { $l = Receive-SocketData $_ -Line -Timeout 30; Start-Sleep -Milliseconds 300; Send-SocketData $_ "done $l" -Line; 'finished' }
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Wait-Until { $srv.ClientsActive -eq 1 } | Should -BeTrue
        Send-SocketData $c 'job' -Line
        Stop-SocketServer $srv -Wait -Timeout 20
        Receive-SocketData $c -Line -Timeout 5 | Should -Be 'done job'
        $srv.State | Should -Be 'Stopped'
        (Get-RecordOf $srv $c).Output | Should -Be 'finished'
        # it no longer accepts
        { Connect-TcpSocket 127.0.0.1 $srv.Port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
    }

    It 'Receive-SocketServerOutput -Wait streams records until the server stops, -Timeout ends the wait quietly' {
        $srv = Start-SocketServer -Port 0 { "hello $($_.RemoteEndPoint.Port)" }
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        $got = @(Receive-SocketServerOutput $srv -Wait -Timeout 1.5 | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        $got.Count | Should -Be 1
        $got[0].Output | Should -Be "hello $($c.LocalEndPoint.Port)"
        Stop-SocketServer $srv
        Receive-SocketServerOutput $srv -Wait | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port } | Should -BeNullOrEmpty
        $srv.Completion.IsCompleted | Should -BeTrue
    }

    It 'leaves no sockets or runspaces behind when stopped with clients connected' {
        # warm up once so lazily created process-wide handles are in the baseline
        $warm = Start-SocketServer -Port 0 $script:Echo
        $w = Connect-TcpSocket 127.0.0.1 $warm.Port
        Send-SocketData $w 'w' -Line
        Receive-SocketData $w -Line -Timeout 10 | Should -Be 'w'
        # stopped with its client connected, like the server below (that path loads assemblies once)
        Stop-SocketServer $warm
        Remove-SocketSession $w
        Wait-Until { $warm.Completion.IsCompleted } | Should -BeTrue
        [GC]::Collect(); [GC]::WaitForPendingFinalizers()
        $fd0 = Get-SocketFdCount
        $rs0 = @(Get-Runspace).Count

        $srv = Start-SocketServer -Port 0 $script:Echo -ThrottleLimit 8
        $holder = Start-Peer python3 '-c', @"
import socket, time
ss = [socket.create_connection(('127.0.0.1', $($srv.Port))) for _ in range(5)]
for s in ss: s.sendall(b'hi\n')
time.sleep(120)
"@
        try {
            Wait-Until { $srv.ClientsActive -eq 5 } | Should -BeTrue
            @(Get-Runspace).Count | Should -BeGreaterThan $rs0
            (Get-SocketFdCount) | Should -BeGreaterThan ($fd0 + 5)
            Stop-SocketServer $srv
            $srv.State | Should -Be 'Stopped'
            $srv.ClientsActive | Should -Be 0
            @(Get-SocketSession -Kind Tcp).Count | Should -Be 0
            Wait-Until { @(Get-Runspace).Count -le $rs0 } -TimeoutSec 10 | Should -BeTrue
            [GC]::Collect(); [GC]::WaitForPendingFinalizers()
            Wait-Until { (Get-SocketFdCount) -le $fd0 } -TimeoutSec 10 | Should -BeTrue -Because "sockets went from $fd0 to $(Get-SocketFdCount)"
        }
        finally { Stop-Peer $holder }
    }

    It 'Remove-SocketSession on a server stops it the same way' {
        $rs0 = @(Get-Runspace).Count
        $srv = Start-SocketServer -Port 0 $script:Echo
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $c 'x' -Line
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'x'
        Remove-SocketSession $srv
        $srv.State | Should -Be 'Closed'
        Get-SocketSession | Where-Object Id -EQ $srv.Id | Should -BeNullOrEmpty
        Receive-SocketData $c -ToEnd -Timeout 10 | Should -BeNullOrEmpty
        Wait-Until { @(Get-Runspace).Count -le $rs0 } -TimeoutSec 10 | Should -BeTrue
        # its records stay readable from the object
        (Get-RecordOf $srv $c).Count | Should -Be 1
    }

    It 'can be stopped by its own script block (a mock device''s "reload" command)' {
        $rs0 = @(Get-Runspace).Count
        $srv = Start-SocketServer -Port 0 {
            while ($null -ne ($l = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore)) {
                if ($l -eq 'reload') { Send-SocketData $_ 'bye' -Line; Stop-SocketServer $_.Server; return }
                Send-SocketData $_ $l -Line
            }
        }
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $c 'reload' -Line
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'bye'
        Wait-Until { $srv.Completion.IsCompleted } -TimeoutSec 5 | Should -BeTrue
        $srv.State | Should -Be 'Stopped'
        Wait-Until { @(Get-Runspace).Count -le $rs0 } -TimeoutSec 10 | Should -BeTrue
    }

    It 'Ctrl+C during Stop-SocketServer -Wait stops the server at once' {
        $rs0 = @(Get-Runspace).Count
        $srv = Start-SocketServer -Port 0 $script:Echo
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Wait-Until { $srv.ClientsActive -eq 1 } | Should -BeTrue
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'; Stop-SocketServer $($srv.Id) -Wait")
            $h = $ps.BeginInvoke()
            Wait-Until { $srv.State -eq 'Stopped' -or $h.IsCompleted } -TimeoutSec 10 | Out-Null
            Start-Sleep -Milliseconds 300
            $h.IsCompleted | Should -BeFalse -Because 'the client is still being served'
            $ps.Stop()
            $h.IsCompleted | Should -BeTrue
        }
        finally { $ps.Dispose() }
        $srv.State | Should -Be 'Stopped'
        Receive-SocketData $c -ToEnd -Timeout 10 | Should -BeNullOrEmpty
        Wait-Until { @(Get-Runspace).Count -le $rs0 } -TimeoutSec 10 | Should -BeTrue
    }

    It 'answers curl as a tiny HTTP health endpoint' {
        $srv = Start-SocketServer -Port 0 -NewLine "`r`n" {
            $request = Receive-SocketData $_ -Line -Timeout 10
            while (Receive-SocketData $_ -Line -Timeout 10) { }   # headers until the empty line
            $body = '{"status":"ok","path":"' + ($request -split ' ')[1] + '"}'
            Send-SocketData $_ ("HTTP/1.1 200 OK`r`nContent-Type: application/json`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n" + $body)
            $request
        }
        $out = & curl -s --max-time 10 "http://127.0.0.1:$($srv.Port)/health"
        $LASTEXITCODE | Should -Be 0
        ($out | ConvertFrom-Json).status | Should -Be 'ok'
        ($out | ConvertFrom-Json).path | Should -Be '/health'
        Stop-SocketServer $srv -Wait -Timeout 10
        (Receive-SocketServerOutput $srv).Output | Should -Contain 'GET /health HTTP/1.1'
    }

    It 'is a TLS server with -Certificate (PFX path), answering curl over HTTPS' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-tls-$([guid]::NewGuid().ToString('n'))"
        New-Item -ItemType Directory $dir | Out-Null
        try {
            & openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 -subj '/CN=localhost' 2>&1 | Out-Null
            & openssl pkcs12 -export -inkey "$dir/key.pem" -in "$dir/cert.pem" -out "$dir/server.pfx" -passout pass: 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 0
            $srv = Start-SocketServer -Port 0 -Certificate "$dir/server.pfx" -NewLine "`r`n" {
                while (Receive-SocketData $_ -Line -Timeout 10) { }
                Send-SocketData $_ "HTTP/1.1 200 OK`r`nContent-Length: 2`r`nConnection: close`r`n`r`nOK"
            }
            $srv.IsTls | Should -BeTrue
            $out = & curl -s --max-time 10 --cacert "$dir/cert.pem" "https://localhost:$($srv.Port)/"
            $LASTEXITCODE | Should -Be 0
            $out | Should -Be 'OK'
            # a client that does not speak TLS fails only itself
            $plain = Connect-TcpSocket 127.0.0.1 $srv.Port
            Send-SocketData $plain "GET / HTTP/1.0`r`n`r`n"
            Wait-Until { $srv.ClientsFailed -ge 1 } | Should -BeTrue
            $r = Get-RecordOf $srv $plain
            $r.Succeeded | Should -BeFalse
            $r.Errors[0].Exception.Message | Should -Match 'TLS handshake'
        }
        finally { Remove-Item -Recurse -Force $dir -ErrorAction Ignore }
    }

    It 'hands the client to a process block too' {
        $srv = Start-SocketServer -Port 0 { process { Send-SocketData $_ "kind=$($_.Kind)" -Line } }
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'kind=Tcp'
    }

    It 'reads $using: values captured when the server starts, like ForEach-Object -Parallel' {
        $greeting = 'hello'
        $table = @{ n = 7 }
        $srv = Start-SocketServer -Port 0 { Send-SocketData $_ "$using:greeting/$($using:table.n)/$(& { "$using:greeting".ToUpper() })" -Line }
        # later changes to the variable do not reach the server; the captured object is shared
        $greeting = 'changed'
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'hello/7/HELLO'
    }

    It 'reads $using: in a -Udp server' {
        $prefix = 're:'
        $srv = Start-SocketServer -Udp -Port 0 { "$using:prefix$($_.Text.Trim())" }
        $reply = 'x' | & socat -t 2 - "UDP:127.0.0.1:$($srv.Port)"
        $reply | Should -Be 're:x'
    }

    It 'refuses a $using: variable that is not set, an expression or a script block value, and registers nothing' {
        Remove-Variable -Name notSet -ErrorAction Ignore
        { Start-SocketServer -Port 0 { $using:notSet } } | Should -Throw -ErrorId 'InvalidArgument*'
        $block = { 1 }
        { Start-SocketServer -Port 0 { & $using:block } } | Should -Throw -ErrorId 'InvalidArgument*'
        Get-SocketSession -Kind TcpServer | Should -BeNullOrEmpty
    }

    It 'writes AddressInUse for a port that is taken and registers nothing' {
        $srv = Start-SocketServer -Port 0 $script:Echo
        $n = (Get-SocketSession).Count
        Start-SocketServer -Port $srv.Port $script:Echo -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddressInUse*'
        (Get-SocketSession).Count | Should -Be $n
    }

    It 'Stop-SocketServer refuses a session that is not a server' {
        $l = New-TcpListener -Port 0
        Stop-SocketServer $l -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind*'
        $l.State | Should -Be 'Listening'
    }
}

Describe 'Start-SocketServer -Udp' {
    AfterEach {
        Get-SocketSession -Kind TcpServer, UdpServer | Remove-SocketSession -Confirm:$false
    }

    It 'answers socat datagrams; string output is encoded and sent back to the sender' {
        $srv = Start-SocketServer -Udp -Port 0 { param($req) "pong:$($req.Text.Trim())" }
        $srv.Kind | Should -Be 'UdpServer'
        $reply = 'ping' | & socat -t 2 - "UDP:127.0.0.1:$($srv.Port)"
        $reply | Should -Be 'pong:ping'
        Wait-Until { $srv.ClientsActive -eq 0 -and $srv.Available -ge 1 } | Should -BeTrue
        $r = Receive-SocketServerOutput $srv
        $r.Output | Should -Be 'pong:ping'
        $r.ClientEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        $srv.ClientsAccepted | Should -BeGreaterOrEqual 1
    }

    It 'sends byte output as is, to each sender' {
        $srv = Start-SocketServer -Udp -Port 0 { , [byte[]] ($_.Bytes | ForEach-Object { $_ + 1 }) }
        $a = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        $b = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        try {
            $a.Client.ReceiveTimeout = 10000; $b.Client.ReceiveTimeout = 10000
            $null = $a.Send([byte[]](1, 2, 3), 3, '127.0.0.1', $srv.Port)
            $null = $b.Send([byte[]](10, 20), 2, '127.0.0.1', $srv.Port)
            $from = [System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0)
            $a.Receive([ref] $from) | Should -Be @(2, 3, 4)
            $b.Receive([ref] $from) | Should -Be @(11, 21)
        }
        finally { $a.Dispose(); $b.Dispose() }
    }
}

# Hostile or broken clients: silent and trickling connections, TLS connections that never
# handshake, resets, floods of output, script blocks that cannot be stopped.
Describe 'Start-SocketServer against silent, slow and resetting clients' {
    AfterEach {
        Get-SocketSession -Kind TcpServer, UdpServer | Remove-SocketSession -Confirm:$false
    }

    It 'serves a real client while 32 silent connections hold every slot: -IdleTimeout frees them and records why' {
        $srv = Start-SocketServer -Port 0 $script:SlowEcho -IdleTimeout 2
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

    It 'does not count a client as idle while its bytes wait for a slow script block to read them' {
        # The script block takes 3 s to get to its first read; the client's line waits unread in the
        # meantime. That client is busy, not idle: -IdleTimeout 1 must not close it.
        $srv = Start-SocketServer -Port 0 { Start-Sleep -Seconds 3; $l = Receive-SocketData $_ -Line -Timeout 20; Send-SocketData $_ "late $l" -Line } -IdleTimeout 1
        $c = Connect-TcpSocket 127.0.0.1 $srv.Port
        Send-SocketData $c 'waiting' -Line
        Receive-SocketData $c -Line -Timeout 30 | Should -Be 'late waiting'
        Remove-SocketSession $c
        Wait-Until { $srv.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        @(Receive-SocketServerOutput $srv | Where-Object { $_.CloseReason -match 'idle timeout' }).Count | Should -Be 0
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

    It 'stays listed as Stopped until Remove-SocketSession, its object keeping the records: 50 stop/remove cycles leave nothing' {
        $before = @(Get-SocketSession).Count
        foreach ($i in 1..50) {
            $srv = Start-SocketServer -Port 0 { 'hi' }
            Stop-SocketServer $srv
            (Get-SocketSession -Id $srv.Id).State | Should -Be 'Stopped'
            Remove-SocketSession $srv
        }
        @(Get-SocketSession).Count | Should -Be $before
        $srv.State | Should -Be 'Stopped'
        Get-SocketSession -Id $srv.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # stopping again or removing the object does nothing and reports nothing
        Stop-SocketServer $srv -ErrorVariable err
        Remove-SocketSession $srv -ErrorVariable err2
        $err + $err2 | Should -BeNullOrEmpty
        $c2 = Start-SocketServer -Port 0 { "served $($_.RemoteEndPoint.Port)" }
        $c = Connect-TcpSocket 127.0.0.1 $c2.Port
        # The connect is done once the kernel queued it; the stop may only come after the accept.
        Wait-Until { $c2.ClientsAccepted -ge 1 } -TimeoutSec 30 | Should -BeTrue
        Stop-SocketServer $c2 -Wait -Timeout 10
        (Receive-SocketServerOutput $c2 | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port }).Output | Should -Be "served $($c.LocalEndPoint.Port)"
        Remove-SocketSession $c
    }

    It 'Stop-SocketServer returns within -Timeout plus a few seconds from script blocks stuck in .NET, reports them, and pwsh exits' {
        $script = Join-Path ([IO.Path]::GetTempPath()) "pssocket-stuck-$([guid]::NewGuid().ToString('n')).ps1"
        Set-Content -Path $script -Encoding utf8NoBOM -Value @"
Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'
`$srv = Start-SocketServer -Port 0 { Send-SocketData `$_ 'in' -Line; [Threading.Thread]::Sleep(300000) }
`$cs = 1..2 | ForEach-Object { Connect-TcpSocket 127.0.0.1 `$srv.Port }
# each script block says when it is in the sleep: a stop before that would find nothing stuck
`$cs | ForEach-Object { `$null = Receive-SocketData `$_ -Line -Timeout 120 }
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
            $p.WaitForExit(180000) | Should -BeTrue -Because 'stuck script blocks must not keep pwsh alive'
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

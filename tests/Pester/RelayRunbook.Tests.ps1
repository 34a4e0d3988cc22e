# Relays and servers as a runbook author meets them: service names for ports, a clean stop after a
# clean client, TLS probes that open nothing, no relay to itself or loops between relays,
# Stop-SocketRelay and stopped sessions that stay listed, the foreground mode (Wait-SocketServer,
# -Wait -Duration) and records that hold ErrorRecords. Peers: socat (echo), openssl (certificate),
# python3 (a target that counts its connections).
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-relayrb-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    $null = Get-PeerSkipReason socat
    $script:EchoPort = Get-FreeTcpPort
    $Peers.Add((Start-Peer socat "TCP-LISTEN:$EchoPort,bind=127.0.0.1,fork,reuseaddr,backlog=512", 'PIPE'))
    Wait-TcpPort -Port $EchoPort -TimeoutSec 60

    # A target that writes one line per connection it accepts to a file.
    $null = Get-PeerSkipReason python3
    $script:CountLog = Join-Path $Dir 'count.log'
    $script:CountPort = Get-FreeTcpPort
    $Peers.Add((Start-Peer python3 '-c', @"
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $CountPort)); l.listen(64)
while True:
    c, _ = l.accept()
    with open(r'$CountLog', 'a') as f: f.write('x\n')
    c.close()
"@))
    Wait-TcpPort -Port $CountPort -TimeoutSec 60
    # Wait-TcpPort's own connect was counted: start from what is there now.
    function script:Get-TargetConnections { if (Test-Path $CountLog) { @(Get-Content $CountLog).Count } else { 0 } }

    $null = Get-PeerSkipReason openssl
    $script:Pem = Join-Path $Dir 'relay.pem'
    Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout (Join-Path $Dir 'relay.key') -out $Pem -days 2 -subj '/CN=localhost' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'

    # A client that sends a line, half-closes, reads the echo to the end and closes: a clean client.
    function script:Invoke-CleanClient([int] $Port) {
        $c = [System.Net.Sockets.TcpClient]::new()
        try {
            $c.Connect('127.0.0.1', $Port)
            $s = $c.GetStream()
            $bytes = [Text.Encoding]::ASCII.GetBytes("ping`n")
            $s.Write($bytes, 0, $bytes.Length)
            $c.Client.Shutdown('Send')
            $buffer = [byte[]]::new(64); $got = 0
            $s.ReadTimeout = 10000
            while (($n = $s.Read($buffer, $got, $buffer.Length - $got)) -gt 0) { $got += $n }
            [Text.Encoding]::ASCII.GetString($buffer, 0, $got)
            $c.Client.LocalEndPoint.Port
        }
        finally { $c.Dispose() }
    }
}

AfterAll {
    Get-SocketSession | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue
    $Peers | Stop-Peer
    Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue
}

Describe 'Start-SocketRelay: names, self-targets and loops' {
    AfterEach { Get-SocketSession | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue }

    It 'takes a service name for -TargetPort (redis) and completes it, and -Proxy completes proxy schemes, not files' {
        $relay = Start-SocketRelay 0 127.0.0.1 redis
        $relay.TargetPort | Should -Be 6379
        $names = (TabExpansion2 -inputScript ($s = 'Start-SocketRelay 0 127.0.0.1 -TargetPort red') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'redis'
        $names = (TabExpansion2 -inputScript ($s = 'Start-SocketRelay 0 127.0.0.1 80 -Proxy ') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'socks5://'
        $names | Should -Not -Match '[\\/]\w'
    }

    It 'refuses a relay to its own listening endpoint (InvalidArgument) and leaves nothing listening' {
        $port = Get-FreeTcpPort
        $r = Start-SocketRelay $port 127.0.0.1 $port -ErrorVariable bad -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        "$($bad[0])" | Should -Match 'connect to itself'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        { Connect-TcpSocket 127.0.0.1 $port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
        $u = Get-FreeUdpPort
        { Start-SocketRelay $u localhost $u -Udp -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'refuses the second of two relays that would point at each other (InvalidArgument naming the loop)' {
        $portB = Get-FreeTcpPort
        $a = Start-SocketRelay 0 127.0.0.1 $portB -Name loop-a
        $b = Start-SocketRelay $portB localhost $a.Port -Name loop-b -ErrorVariable bad -ErrorAction SilentlyContinue
        $b | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        "$($bad[0])" | Should -Match 'loop'
        # the first relay is untouched: its clients get the refusal of the target that is not there
        $c = Connect-TcpSocket 127.0.0.1 $a.Port -Timeout 5
        Receive-SocketData $c -ToEnd -Timeout 10 | Should -BeNullOrEmpty
        Wait-Until { $a.ClientsFailed -eq 1 } -TimeoutSec 10 | Should -BeTrue
        $a.ClientsAccepted | Should -Be 1
    }
}

Describe 'Relay records: clean clients, TLS probes, ErrorRecords' {
    AfterEach { Get-SocketSession | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue }

    It 'records a client whose both directions ended as a success, however soon the relay is stopped (8 runs)' {
        $failed = 0
        foreach ($i in 1..8) {
            $relay = Start-SocketRelay 0 127.0.0.1 $EchoPort
            $answer, $port = Invoke-CleanClient $relay.Port
            $answer | Should -Be "ping`n"
            Stop-SocketRelay $relay
            Wait-Until { $relay.Completion.IsCompleted } -TimeoutSec 15 | Should -BeTrue
            $rec = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $port })
            $rec.Count | Should -Be 1
            if (-not $rec[0].Succeeded) { $failed++ }
            Remove-SocketSession $relay
        }
        $failed | Should -Be 0
    }

    It 'counts a Test-TcpPort -Tls probe of a TLS relay in ClientsReset and opens no target connection' {
        $relay = Start-SocketRelay 0 127.0.0.1 $CountPort -Certificate $Pem
        # A probe counts as one when it closes within the relay's 500 ms after its handshake; on a
        # loaded machine Test-TcpPort can close later, so up to six probes are tried, each judged alone
        # (what each try saw is in the failure message).
        $counted = $false
        $tries = [System.Collections.Generic.List[string]]::new()
        foreach ($try in 1..6) {
            $before = Get-TargetConnections
            $resetBefore = $relay.ClientsReset; $failedBefore = $relay.ClientsFailed
            $r = Test-TcpPort 127.0.0.1 $relay.Port -Tls -SkipCertificateCheck -Timeout 10
            $r.Status | Should -Be 'Open'
            $reset = Wait-Until { $relay.ClientsReset -gt $resetBefore } -TimeoutSec 10
            Start-Sleep -Milliseconds 500
            $tries.Add("try ${try}: probe latency $($r.Latency) ms, reset +$($relay.ClientsReset - $resetBefore), failed +$($relay.ClientsFailed - $failedBefore), target connections +$((Get-TargetConnections) - $before)")
            if ($reset -and (Get-TargetConnections) -eq $before -and $relay.ClientsFailed -eq $failedBefore) { $counted = $true; break }
        }
        $counted | Should -BeTrue -Because ($tries -join '; ')
    }

    It 'keeps ErrorRecords in records, never a .NET exception with its stack trace' {
        $dead = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $dead
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port -Timeout 5
        Receive-SocketData $c -ToEnd -Timeout 10 | Out-Null
        Wait-Until { $relay.ClientsFailed -ge 1 } -TimeoutSec 15 | Should -BeTrue
        $rec = @(Receive-SocketServerOutput $relay)[0]
        $rec.Errors[0] | Should -BeOfType [System.Management.Automation.ErrorRecord]
        $rec.Errors[0].FullyQualifiedErrorId | Should -Match '^ConnectionRefused'
        $text = ($rec | Format-List * | Out-String) + "$($rec.Errors)"
        $text | Should -Not -Match '\bat PSSocket\.|--- End of stack trace|\.cs:line'
    }
}

Describe 'Stopped servers and relays stay listed; Stop-SocketRelay' {
    AfterEach { Get-SocketSession | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue }

    It 'stops a relay by name with Stop-SocketRelay; it stays listed as Stopped with its records until Remove-SocketSession' {
        $relay = Start-SocketRelay 0 127.0.0.1 $EchoPort -Name rb-fwd
        $null = Invoke-CleanClient $relay.Port
        Wait-Until { $relay.ClientsAccepted -ge 1 -and $relay.ClientsActive -eq 0 } -TimeoutSec 15 | Should -BeTrue
        Stop-SocketRelay rb-fwd
        (Get-SocketSession -Name rb-fwd).State | Should -Be 'Stopped'
        @(Receive-SocketServerOutput rb-fwd).Count | Should -Be 1
        { Connect-TcpSocket 127.0.0.1 $relay.Port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
        Stop-SocketRelay rb-fwd -ErrorVariable again
        $again | Should -BeNullOrEmpty
        Remove-SocketSession rb-fwd
        Get-SocketSession -Name rb-fwd -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # the name is free again for the next run of the runbook
        (Start-SocketRelay 0 127.0.0.1 $EchoPort -Name rb-fwd).State | Should -Be 'Listening'
    }

    It 'lets a stopped relay''s name be used again while it is still listed' {
        $old = Start-SocketRelay 0 127.0.0.1 $EchoPort -Name rb-again
        Stop-SocketRelay $old
        $new = Start-SocketRelay 0 127.0.0.1 $EchoPort -Name rb-again
        $new.State | Should -Be 'Listening'
        (Get-SocketSession -Name rb-again).Id | Should -Be $new.Id
    }

    It 'refuses Stop-SocketRelay on a server (WrongSessionKind) and stops servers and relays with Stop-SocketServer example 3' {
        $srv = Start-SocketServer -Port 0 { 'hi' }
        Stop-SocketRelay $srv -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind,*'
        $relay = Start-SocketRelay 0 127.0.0.1 $EchoPort
        Get-SocketSession -Kind TcpServer, UdpServer, Relay | Stop-SocketServer -PassThru | Remove-SocketSession
        $srv.State, $relay.State | Should -Be @('Stopped', 'Stopped')
        Get-SocketSession -Kind TcpServer, Relay | Should -BeNullOrEmpty
    }
}

Describe 'The foreground mode: Wait-SocketServer and -Wait -Duration' {
    AfterEach { Get-SocketSession | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue }

    It 'Wait-SocketServer -Timeout returns when the time passes and leaves the relay running' {
        $relay = Start-SocketRelay 0 127.0.0.1 $EchoPort
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Wait-SocketServer $relay -Timeout 1 | Should -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $relay.State | Should -Be 'Listening'
    }

    It 'Start-SocketRelay -Wait -Duration -PassThru -Verbose writes each client''s record live, then stops the relay' {
        $port = Get-FreeTcpPort
        $ps = New-ModulePowerShell
        try {
            [void] $ps.AddScript("Start-SocketRelay $port 127.0.0.1 $EchoPort -Name rb-window -Wait -Duration 6 -PassThru -Verbose")
            $async = $ps.BeginInvoke()
            Wait-TcpPort -Port $port -TimeoutSec 60
            $answer, $clientPort = Invoke-CleanClient $port
            $answer | Should -Be "ping`n"
            $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60)) | Should -BeTrue
            $out = @($ps.EndInvoke($async))
            $mine = @($out | Where-Object { $_.ClientEndPoint.Port -eq $clientPort })
            $mine.Count | Should -Be 1
            $mine[0].Succeeded | Should -BeTrue
            ($ps.Streams.Verbose -join "`n") | Should -Match "127\.0\.0\.1:$clientPort"
            (Get-SocketSession -Name rb-window).State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
    }

    It 'Ctrl+C on Start-SocketServer -Wait stops the server; Wait-SocketServer ends when the server is stopped elsewhere' {
        $port = Get-FreeTcpPort
        $ps = New-ModulePowerShell
        try {
            [void] $ps.AddScript("Start-SocketServer $port { 'hi' } -Name rb-fg -Wait")
            $async = $ps.BeginInvoke()
            Wait-TcpPort -Port $port -TimeoutSec 60
            $ps.Stop()
            $async.IsCompleted | Should -BeTrue
            (Get-SocketSession -Name rb-fg).State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }

        $relay = Start-SocketRelay 0 127.0.0.1 $EchoPort
        $ps = New-ModulePowerShell
        try {
            [void] $ps.AddScript("Wait-SocketServer $($relay.Id) -PassThru")
            $async = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 500
            $null, $clientPort = Invoke-CleanClient $relay.Port
            Start-Sleep -Milliseconds 300
            $async.IsCompleted | Should -BeFalse
            Stop-SocketRelay $relay
            $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(30)) | Should -BeTrue
            @($ps.EndInvoke($async)).ClientEndPoint.Port | Should -Contain $clientPort
        }
        finally { $ps.Dispose() }
    }

    It 'refuses -Duration or -PassThru without -Wait' {
        { Start-SocketRelay 0 127.0.0.1 $EchoPort -Duration 5 } | Should -Throw -ErrorId 'InvalidArgument,*'
    }
}

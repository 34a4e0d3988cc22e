BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # socat echoing every connection (a process per connection), on a port of its own.
    function Start-SocatEcho {
        $port = Get-FreeTcpPort
        $p = Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=512", 'PIPE'
        Wait-TcpPort -Port $port
        [pscustomobject]@{ Process = $p; Port = $port }
    }

    function Wait-Until {
        param([scriptblock] $Condition, [double] $TimeoutSec = 15)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (& $Condition) { return $true }
            Start-Sleep -Milliseconds 50
        }
        [bool] (& $Condition)
    }
}

Describe 'Start-SocketRelay (TCP)' {
    BeforeAll { $script:Echo = Start-SocatEcho }
    AfterAll { Stop-Peer $script:Echo.Process }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'returns a registered Relay session at once, bound to loopback, and relays both ways' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Name fwd
        $relay.Kind | Should -Be 'Relay'
        $relay.State | Should -Be 'Listening'
        $relay.LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (Get-SocketSession -Name fwd).Id | Should -Be $relay.Id
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'through the relay' -Line
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'through the relay'
        Remove-SocketSession $c
        Wait-Until { $relay.ClientsActive -eq 0 } | Should -BeTrue
        $relay.BytesToTarget | Should -BeGreaterOrEqual 18
        $relay.BytesFromTarget | Should -BeGreaterOrEqual 18
        $relay.ClientsAccepted | Should -BeGreaterOrEqual 1
        (Get-SocketSession -Kind Relay | Format-Table | Out-String -Width 200) | Should -Match '\d+ clients, \d+ active'
    }

    It 'gives 200 concurrent python3 clients exactly their own bytes back (SHA-256), each ending with a half-close' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port
        $py = @"
import socket, threading, hashlib, os
port = $($relay.Port); bad = []
def client(i):
    try:
        data = os.urandom(65536 + i * 97)
        s = socket.create_connection(('127.0.0.1', port), timeout=120)
        def send():
            s.sendall(data); s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send); t.start()
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b: break
            got += b
        t.join(); s.close()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest(): bad.append('%d: %d of %d bytes' % (i, len(got), len(data)))
    except Exception as e:
        bad.append('%d: %r' % (i, e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(200)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad=%d' % len(bad)); [print(b) for b in bad[:5]]
"@
        $out = & timeout 300 python3 -c $py 2>&1
        $LASTEXITCODE | Should -Be 0
        $out | Should -Contain 'bad=0'
        Wait-Until { $relay.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        $relay.ClientsAccepted | Should -BeGreaterOrEqual 200
        $expected = 0; foreach ($i in 0..199) { $expected += 65536 + $i * 97 }
        $relay.BytesToTarget | Should -BeGreaterOrEqual $expected
        $relay.BytesFromTarget | Should -BeGreaterOrEqual $expected
    }

    It 'passes a half-close on: the target answers after the client has finished sending' {
        # the target reads to end of stream, then answers with what it counted (Wait-TcpPort's probe too)
        $port = Get-FreeTcpPort
        $target = Start-Peer python3 '-c', @"
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $port)); l.listen(4)
while True:
    c, _ = l.accept(); n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        n += len(b)
    try:
        c.sendall(b'got %d\n' % n); c.close()
    except OSError:
        pass
"@
        try {
            Wait-TcpPort -Port $port
            $relay = Start-SocketRelay 0 127.0.0.1 $port
            $out = & timeout 60 python3 -c @"
import socket
s = socket.create_connection(('127.0.0.1', $($relay.Port)), timeout=30)
s.sendall(b'x' * 100000); s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip())
"@
            $out | Should -Be 'got 100000'
        }
        finally { Stop-Peer $target }
    }

    It 'records a client whose target refuses as failed and keeps relaying; Stop-SocketServer stops it and it leaves the registry' {
        $closedPort = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $closedPort
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Receive-SocketData $c -ToEnd -Timeout 15 | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        $r.Count | Should -Be 1
        $r[0].Succeeded | Should -BeFalse
        "$($r[0].Errors[0])" | Should -Match 'refused'
        $relay.State | Should -Be 'Listening'
        Stop-SocketServer $relay
        $relay.State | Should -Be 'Closed'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        { Connect-TcpSocket 127.0.0.1 $relay.Port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
    }

    It 'writes AddressInUse for a local port that is taken and registers nothing' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port
        Start-SocketRelay $relay.Port 127.0.0.1 $script:Echo.Port -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddressInUse*'
        @(Get-SocketSession -Kind Relay).Count | Should -Be 1
    }
}

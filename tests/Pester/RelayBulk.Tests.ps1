BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # Runs python3 as both ends of a relayed connection: it listens as the target on $Target, connects
    # to the relay on $Relay, and the two ends stream $MiB MiB of seeded random bytes to each other at
    # the same time. The client half-closes after its bytes; the target reads to that end, then sends
    # the digest of what it got (so the answer can only come after the half-close passed through),
    # then half-closes. Prints one line per check.
    function Invoke-RelayedStreams {
        param([int] $Target, [int] $Relay, [int] $MiB, [switch] $TargetEndsFirst)
        $py = @"
import socket, threading, hashlib, random, sys
size = $MiB * 1048576; target_first = $(if ($TargetEndsFirst) { 'True' } else { 'False' })
def pattern(seed):
    r = random.Random(seed)
    return [r.randbytes(1048576) for _ in range($MiB)]
up, down = pattern(1), pattern(2)
def digest(chunks):
    h = hashlib.sha256()
    for c in chunks: h.update(c)
    return h.hexdigest()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $Target)); l.listen(1)
c = socket.create_connection(('127.0.0.1', $Relay), timeout=120)
t, _ = l.accept(); t.settimeout(120)
res = {}
def read_all(s, key):
    h = hashlib.sha256(); n = 0
    while True:
        b = s.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    res[key] = (n, h.hexdigest())
def send_all(s, chunks, half_close):
    for ch in chunks: s.sendall(ch)
    if half_close: s.shutdown(socket.SHUT_WR)
def target_side():
    if target_first:
        send_all(t, down, True)
        read_all(t, 'at_target')
    else:
        sender = threading.Thread(target=send_all, args=(t, down, False)); sender.start()
        read_all(t, 'at_target'); sender.join()
        t.sendall(('digest ' + res['at_target'][1]).encode()); t.shutdown(socket.SHUT_WR)
def client_side():
    sender = threading.Thread(target=send_all, args=(c, up, not target_first)); sender.start()
    if target_first:
        read_all(c, 'at_client'); sender.join(); c.shutdown(socket.SHUT_WR)
    else:
        read_all(c, 'at_client'); sender.join()
ts = [threading.Thread(target=target_side), threading.Thread(target=client_side)]
[x.start() for x in ts]; [x.join() for x in ts]
n, h = res['at_target']
print('to target %s' % ('same' if n == size and h == digest(up) else 'different: %d bytes' % n))
n, h = res['at_client']
want = size + (0 if target_first else len('digest ') + 64)
print('to client %d of %d bytes' % (n, want))
if target_first:
    print('back %s' % ('same' if h == digest(down) else 'different'))
else:
    g = hashlib.sha256(); [g.update(x) for x in down]; g.update(('digest ' + digest(up)).encode())
    print('back %s' % ('same, then the digest after the half-close' if h == g.hexdigest() else 'different'))
"@
        & timeout 300 python3 -c $py 2>&1
    }
}

Describe 'Start-SocketRelay moves bulk data exactly (the kernel copy on Linux, the managed one elsewhere)' {
    # Records of clients that sent nothing either way are left out: another process's port sweep may touch the relay's port.
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'relays 64 MiB each way at the same time, byte for byte in order, and the answer sent after the client''s half-close' {
        $target = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $target
        $out = Invoke-RelayedStreams -Target $target -Relay $relay.Port -MiB 64
        $out | Should -Be @('to target same', "to client $(64MB + 71) of $(64MB + 71) bytes", 'back same, then the digest after the half-close')
        Wait-Until { $relay.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        $relay.BytesToTarget | Should -Be 64MB
        $relay.BytesFromTarget | Should -Be (64MB + 71)
        $r = @(Receive-SocketServerOutput $relay | Where-Object { "$($_.Output)" -notlike '*: 0 bytes to the target, 0 bytes back' })
        $r.Count | Should -Be 1
        $r[0].Succeeded | Should -BeTrue
        $r[0].CloseReason | Should -Be 'Both sides closed'
        "$($r[0].Output)" | Should -BeLike "* -> 127.0.0.1:${target}: $(64MB) bytes to the target, $(64MB + 71) bytes back"
    }

    It 'passes the target''s half-close on first: the client reads to the end, then still sends 16 MiB that arrive whole' {
        $target = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $target
        $out = Invoke-RelayedStreams -Target $target -Relay $relay.Port -MiB 16 -TargetEndsFirst
        $out | Should -Be @('to target same', "to client $(16MB) of $(16MB) bytes", 'back same')
        Wait-Until { $relay.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        $relay.BytesToTarget | Should -Be 16MB
        $relay.BytesFromTarget | Should -Be 16MB
    }

    It 'echoes 32 MiB through socat unchanged while the client still sends (ncat-style full duplex)' {
        $echo = Start-PeerOnFreePort { param($port) Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'PIPE' }
        try {
            $relay = Start-SocketRelay 0 127.0.0.1 $echo.Port
            $out = & timeout 300 python3 -c @"
import socket, threading, hashlib, random
data = random.Random(3).randbytes(32 << 20)
s = socket.create_connection(('127.0.0.1', $($relay.Port)), timeout=120)
def send():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
th = threading.Thread(target=send); th.start()
h = hashlib.sha256(); n = 0
while True:
    b = s.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
th.join()
print('%d %s' % (n, 'same' if h.digest() == hashlib.sha256(data).digest() else 'different'))
"@ 2>&1
            $out | Should -Be "$(32MB) same"
            Wait-Until { $relay.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
            $relay.BytesToTarget | Should -BeGreaterOrEqual 32MB
        }
        finally { Stop-Peer $echo.Process }
    }

    It 'stops in the middle of a transfer at once: the client sees the end, the count stops, the record says the relay was stopped' {
        $sink = Start-PeerOnFreePort { param($port) Start-Peer socat '-u', "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'OPEN:/dev/null' }
        $client = $null
        try {
            $relay = Start-SocketRelay 0 127.0.0.1 $sink.Port
            # Sends zeros for as long as the connection takes them, then says how it ended.
            $client = Start-Peer python3 '-c', @"
import socket
s = socket.create_connection(('127.0.0.1', $($relay.Port)), timeout=120)
buf = bytes(1 << 20); n = 0
try:
    while True: n += s.send(buf)
except OSError as e:
    print('ended after %d bytes: %s' % (n, type(e).__name__))
"@
            Wait-Until { $relay.BytesToTarget -ge 64MB } -TimeoutSec 60 | Should -BeTrue
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Stop-SocketServer $relay
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $client.WaitForExit(30000) | Should -BeTrue
            $relay.State | Should -Be 'Stopped'
            $r = @(Receive-SocketServerOutput $relay | Where-Object { "$($_.Output)" -notlike '*: 0 bytes to the target, 0 bytes back' })
            $r.Count | Should -Be 1
            $r[0].Succeeded | Should -BeFalse
            $r[0].CloseReason | Should -Be 'The relay was stopped'
            # Counted as written: the count only grows while relaying, and stops with it.
            $at = $relay.BytesToTarget
            Start-Sleep -Milliseconds 300
            $relay.BytesToTarget | Should -Be $at
            { Connect-TcpSocket 127.0.0.1 $relay.Port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
        }
        finally {
            Stop-Peer $client
            Stop-Peer $sink.Process
        }
    }
}

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-files-$PID"
    New-Item -ItemType Directory -Force $script:Dir | Out-Null
    $script:Src = Join-Path $script:Dir 'src.bin'
    New-RandomFile -Path $script:Src -Size 64MB
    $script:SrcHash = (Get-FileHash $script:Src -Algorithm SHA256).Hash

    # python3 serving one connection on a free port ($Body runs with the accepted socket as c);
    # returns the process and the session connected to it (the peer's first and only client).
    function Start-PythonPeer([string] $Body) {
        $port = Get-FreeTcpPort
        $p = Start-Peer python3 '-c', @"
import socket, hashlib, time, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $port)); l.listen(1)
c, _ = l.accept()
$Body
"@
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ($true) {
            try { return [pscustomobject]@{ Process = $p; Session = (Connect-TcpSocket 127.0.0.1 $port -Timeout 2 -ErrorAction Stop) } }
            catch { if ($p.HasExited -or [DateTime]::UtcNow -gt $deadline) { Stop-Peer $p; throw "python3 did not listen on ${port}: $_" } }
            Start-Sleep -Milliseconds 100
        }
    }
}

AfterAll { Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue }

Describe 'Send-SocketData -Path and Receive-SocketData -Path move files exactly' {
    AfterEach { Remove-AllSocketSessions }

    It 'sends 64 MiB to python3, which gets every byte once and in order, and counts them in BytesSent' {
        $out = Join-Path $script:Dir 'py-got.txt'
        $peer = Start-PythonPeer @"
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
open(r'$out', 'w').write('%d %s' % (n, h.hexdigest().upper()))
"@
        try {
            $s = $peer.Session
            Send-SocketData $s 'x'
            Send-SocketData $s -Path $script:Src -Timeout 30
            $s.BytesSent | Should -Be (64MB + 1)
            Remove-SocketSession $s
            $peer.Process.WaitForExit(60000) | Should -BeTrue
            $n, $hash = (Get-Content $out) -split ' '
            [long] $n | Should -Be (64MB + 1)
            $expected = [Security.Cryptography.SHA256]::Create()
            $null = $expected.TransformBlock([byte[]] @(0x78), 0, 1, $null, 0)
            $bytes = [IO.File]::ReadAllBytes($script:Src)
            $null = $expected.TransformFinalBlock($bytes, 0, $bytes.Length)
            $hash | Should -Be ([Convert]::ToHexString($expected.Hash))
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'receives a stream in exact -Count pieces into one file with -Append, nothing lost or doubled, the rest still buffered' {
        $peer = Start-PythonPeer @"
data = open(r'$($script:Src)', 'rb').read()
c.sendall(data); c.sendall(b'tail'); time.sleep(30)
"@
        $dst = Join-Path $script:Dir 'pieces.bin'
        try {
            $s = $peer.Session
            Receive-SocketData $s -Count 1000003 -Path $dst -Timeout 30
            (Get-Item $dst).Length | Should -Be 1000003
            Receive-SocketData $s -Count (64MB - 1000003) -Path $dst -Append -Timeout 30
            (Get-FileHash $dst -Algorithm SHA256).Hash | Should -Be $script:SrcHash
            $s.BytesReceived | Should -BeGreaterOrEqual 64MB
            Receive-SocketData $s -Count 4 -Timeout 30 | Should -Be 'tail'
            $s.BytesReceived | Should -Be (64MB + 4)
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'times out a -Path receive when the peer pauses mid-stream, keeps the session open, and a later -Append receive completes the file' {
        $peer = Start-PythonPeer @"
data = open(r'$($script:Src)', 'rb').read()
c.sendall(data[:8 << 20]); time.sleep(4); c.sendall(data[8 << 20:]); c.close()
"@
        $dst = Join-Path $script:Dir 'paused.bin'
        try {
            $s = $peer.Session
            $err = $null
            Receive-SocketData $s -ToEnd -Path $dst -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
            "$($err[0])" | Should -BeLike "*after $(8MB) bytes*"
            $s.State | Should -Be 'Open'
            (Get-Item $dst).Length | Should -Be 8MB
            Receive-SocketData $s -ToEnd -Path $dst -Append -Timeout 30
            (Get-FileHash $dst -Algorithm SHA256).Hash | Should -Be $script:SrcHash
            $s.State | Should -Be 'RemoteClosed'
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'fails a -Path send the peer stops reading with SendTimeout, keeps the session Open, and says how much went' {
        $peer = Start-PythonPeer 'time.sleep(60)'
        try {
            $s = $peer.Session
            $err = $null
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Send-SocketData $s -Path $script:Src -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 20
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SendTimeout,*'
            $s.State | Should -Be 'Open'
            $s.BytesSent | Should -BeGreaterThan 0
            $s.BytesSent | Should -BeLessThan 64MB
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'ends a -Path receive at once with SessionClosed when another runspace removes the session' {
        $peer = Start-PythonPeer @"
c.sendall(b'x' * 1000); time.sleep(60)
"@
        $dst = Join-Path $script:Dir 'removed.bin'
        $ps = New-ModulePowerShell
        try {
            $s = $peer.Session
            $null = $ps.AddScript({ param($id, $dst) Receive-SocketData -Id $id -ToEnd -Path $dst -Timeout 60 }).AddArgument($s.Id).AddArgument($dst)
            $h = $ps.BeginInvoke()
            Wait-Until { $s.BytesReceived -ge 1000 } -TimeoutSec 30 | Should -BeTrue
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Remove-SocketSession $s
            $h.AsyncWaitHandle.WaitOne(15000) | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $null = $ps.EndInvoke($h)
            $ps.Streams.Error[0].FullyQualifiedErrorId | Should -BeLike 'SessionClosed,*'
        }
        finally { $ps.Dispose(); Stop-Peer $peer.Process }
    }
}

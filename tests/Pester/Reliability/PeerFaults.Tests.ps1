# Reliability: what the user sees when the peer resets, half-closes, stalls, dribbles or floods.
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
}

Describe 'Peer faults' {
    AfterEach {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        $script:peer = $null
    }

    It 'reports ConnectionReset when the peer resets during a receive, after handing over what arrived' {
        $script:peer = Start-FaultPeer rst-after-send 5000, 0.5
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $got = Receive-SocketData $s -Count 5000 -AsBytes -Timeout 5
        $got.Length | Should -Be 5000
        @($got | Where-Object { $_ -ne [byte][char]'x' }).Count | Should -Be 0
        { Receive-SocketData $s -Until 'never' -Timeout 5 } | Should -Throw -ErrorId 'ConnectionReset*'
        (Get-SocketSession -Id $s.Id).State | Should -Be 'Faulted'
        $s.Available | Should -Be 0
    }

    It 'keeps the bytes buffered before a reset readable with -Count after the read fails' {
        $script:peer = Start-FaultPeer rst-after-send 3000, 0.3
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        # The peer exits right after its reset: from then on the 3000 bytes and the reset are both here.
        $peer.Process.WaitForExit(30000) | Should -BeTrue
        # -Line never finds a newline: the reset surfaces, and every byte that came before it stays buffered.
        $err = $null
        try { Receive-SocketData $s -Line -Timeout 10 } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ConnectionReset*'
        $s.Available | Should -Be 3000
        $rest = Receive-SocketData $s -Count 3000 -AsBytes -Timeout 5
        $rest.Length | Should -Be 3000
        @($rest | Where-Object { $_ -ne [byte][char]'x' }).Count | Should -Be 0
    }

    It 'reports ConnectionReset (or a closed pipe) when the peer resets during a large send' {
        $script:peer = Start-FaultPeer rst-after-read 100000
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $payload = [byte[]]::new(4MB)
        $err = $null
        try {
            foreach ($i in 1..20) { Send-SocketData $s $payload -Timeout 5 }
        }
        catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Match '^(ConnectionReset|ConnectionAborted|RemoteClosed)'
        $err.Exception.GetType().FullName | Should -Be 'PSSocket.PSSocketException'
        (Get-SocketSession -Id $s.Id).State | Should -BeIn 'Faulted', 'RemoteClosed'
        # A later send reports the same fault instead of hanging or succeeding.
        { Send-SocketData $s 'more' -Timeout 2 } | Should -Throw
    }

    It 'still sends after the peer half-closes, and -ToEnd ends cleanly' {
        $out = Join-Path ([IO.Path]::GetTempPath()) ("half-" + [guid]::NewGuid())
        $script:peer = Start-FaultPeer halfclose 'greeting from peer', $out
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        Receive-SocketData $s -ToEnd -Timeout 5 | Should -Be 'greeting from peer'
        (Get-SocketSession -Id $s.Id).State | Should -Be 'RemoteClosed'
        $payload = [byte[]]::new(300000); [Random]::new(7).NextBytes($payload)
        Send-SocketData $s $payload -Timeout 5
        Remove-SocketSession $s
        $report = Wait-File $out
        Remove-Item $out -ErrorAction SilentlyContinue
        $report | Should -Be "300000 $(Get-BytesSha256 $payload)"
    }

    It 'fails a send to a peer that never reads with SendTimeout within the timeout, not a hang' {
        $script:peer = Start-FaultPeer noread 60
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $chunk = [byte[]]::new(1MB)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $err = $null
        try { foreach ($i in 1..200) { Send-SocketData $s $chunk -Timeout 1 } } catch { $err = $_ }
        $sw.Stop()
        $err.FullyQualifiedErrorId | Should -BeLike 'SendTimeout*'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 15
        (Get-SocketSession -Id $s.Id).State | Should -Be 'Open'
        # The next short send also times out cleanly (the earlier write is still queued).
        { Send-SocketData $s 'x' -Timeout 0.5 } | Should -Throw -ErrorId 'SendTimeout*'
        Remove-SocketSession $s
        Get-SocketSession -Id $s.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'times out a slowloris peer on -Until and keeps the dribbled bytes' {
        $script:peer = Start-FaultPeer slowloris 'abcdefghijklmnopqrstuvwxyz'
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $sw = [Diagnostics.Stopwatch]::StartNew()
        { Receive-SocketData $s -Until 'z' -Timeout 0.6 } | Should -Throw -ErrorId 'ReceiveTimeout*'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 3
        Start-Sleep -Milliseconds 300
        $got = Receive-SocketData $s -Count 3 -Timeout 2
        $got | Should -Be 'abc'
    }

    It 'stops a slowloris peer on -Line at -MaxBytes with ReceiveLimitExceeded' {
        $script:peer = Start-FaultPeer slowloris 'abcdefghijklmnopqrstuvwxyz'
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        { Receive-SocketData $s -Line -MaxBytes 5 -Timeout 5 } | Should -Throw -ErrorId 'ReceiveLimitExceeded*'
        $s.Available | Should -BeGreaterOrEqual 5
        Receive-SocketData $s -Count 5 -Timeout 1 | Should -Be 'abcde'
    }

    It 'fails -Line at -MaxBytes against 100 MiB without a delimiter, memory bounded, data readable' {
        $script:peer = Start-FaultPeer flood 100
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        [GC]::Collect()
        $before = [Diagnostics.Process]::GetCurrentProcess().WorkingSet64
        { Receive-SocketData $s -Line -MaxBytes 8MB -Timeout 20 } | Should -Throw -ErrorId 'ReceiveLimitExceeded*'
        $s.Available | Should -BeGreaterOrEqual 8MB
        $s.Available | Should -BeLessThan 9MB
        $after = [Diagnostics.Process]::GetCurrentProcess().WorkingSet64
        ($after - $before) | Should -BeLessThan 80MB
        $head = Receive-SocketData $s -Count 1MB -AsBytes -Timeout 5
        $head.Length | Should -Be 1MB
        @($head | Select-Object -Unique) | Should -Be @([byte][char]'a')
        # The default limit (16 MiB) applies without -MaxBytes too.
        { Receive-SocketData $s -Line -Timeout 20 } | Should -Throw -ErrorId 'ReceiveLimitExceeded*'
        $s.Available | Should -BeLessThan 17MB
    }

    # Regression: -Pattern re-matched the whole buffer after every 64 KiB chunk, so a fast sender
    # without a match cost time quadratic in -MaxBytes (about 7 s for 16 MiB, now under 1 s).
    It 'gives up on -Pattern at -MaxBytes against a fast 24 MiB sender in seconds, not quadratic time' {
        $script:peer = Start-FaultPeer flood 24
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $sw = [Diagnostics.Stopwatch]::StartNew()
        { Receive-SocketData $s -Pattern 'nev(er)' -Timeout 30 } | Should -Throw -ErrorId 'ReceiveLimitExceeded*'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10 -Because "quadratic matching of 16 MiB takes minutes; linear takes about a second on a quiet machine"
        $s.Available | Should -BeGreaterOrEqual 16MB
    }
}

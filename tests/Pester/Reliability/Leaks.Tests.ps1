# Reliability: thousands of cycles leave no file descriptor or managed memory behind.
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
    # 20,000 TCP cycles take about 20 s on a 2-core machine.
    $script:TcpCycles = 20000

    function Get-Baseline {
        [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
        [pscustomobject]@{ Fd = Get-FdCount; Memory = [GC]::GetTotalMemory($true) }
    }

    # Waits (bounded) for fds and memory to come back near the baseline.
    function Assert-Baseline {
        param($Before, [int] $FdSlack = 3, [long] $MemorySlack = 8MB)
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        do {
            $now = Get-Baseline
            if ($now.Fd -le $Before.Fd + $FdSlack -and $now.Memory -le $Before.Memory + $MemorySlack) { break }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        Write-Host "    fd $($Before.Fd) -> $($now.Fd); managed $([int]($Before.Memory / 1KB)) KiB -> $([int]($now.Memory / 1KB)) KiB"
        $now.Fd | Should -BeLessOrEqual ($Before.Fd + $FdSlack)
        $now.Memory | Should -BeLessOrEqual ($Before.Memory + $MemorySlack)
    }
}

Describe 'Leaks' {
    AfterAll {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
    }

    It 'returns to the fd and memory baseline after thousands of connect/send/receive/remove cycles' {
        $script:peer = Start-FaultPeer echo
        $port = $peer.Port
        foreach ($i in 1..200) { $s = Connect-TcpSocket 127.0.0.1 $port; Send-SocketData $s "warm $i" -Line; $null = Receive-SocketData $s -Line -Timeout 5; Remove-SocketSession $s }
        $before = Get-Baseline
        $bad = 0
        foreach ($i in 1..$TcpCycles) {
            $s = Connect-TcpSocket 127.0.0.1 $port -Timeout 5
            Send-SocketData $s "cycle $i" -Line
            if ((Receive-SocketData $s -Line -Timeout 5) -ne "cycle $i") { $bad++ }
            Remove-SocketSession $s
        }
        $bad | Should -Be 0
        @(Get-SocketSession).Count | Should -Be 0
        Assert-Baseline $before
    }

    It 'returns to the baseline after listener open/accept/remove cycles' {
        $l0 = New-TcpListener -Port 0; Remove-SocketSession $l0
        $before = Get-Baseline
        foreach ($i in 1..2000) {
            $l = New-TcpListener -Port 0
            if ($i % 10 -eq 0) {
                $c = Connect-TcpSocket 127.0.0.1 $l.Port
                $a = Wait-TcpConnection $l -Timeout 5
                Remove-SocketSession $c, $a
            }
            Remove-SocketSession $l
        }
        @(Get-SocketSession).Count | Should -Be 0
        Assert-Baseline $before
    }

    It 'returns to the baseline after UDP listener and send cycles' {
        $u0 = New-UdpListener -Port 0; Remove-SocketSession $u0
        $before = Get-Baseline
        $bad = 0
        foreach ($i in 1..2000) {
            $u = New-UdpListener -Port 0
            Invoke-UdpSend 127.0.0.1 $u.Port "dgram $i"
            $d = Receive-SocketData $u -Timeout 5
            if ($d.Text -ne "dgram $i") { $bad++ }
            Remove-SocketSession $u
        }
        $bad | Should -Be 0
        @(Get-SocketSession).Count | Should -Be 0
        Assert-Baseline $before
    }
}

Describe 'Vanished peers' {
    AfterEach {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        $script:peer = $null
    }

    It 'reports a session whose peer process was killed as RemoteClosed or Faulted, not Open' {
        $script:peer = Start-FaultPeer noread 60
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $s.State | Should -Be 'Open'
        $peer.Process.Kill(); $null = $peer.Process.WaitForExit(5000)
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-SocketSession -Id $s.Id).State -eq 'Open' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        (Get-SocketSession -Id $s.Id).State | Should -BeIn 'RemoteClosed', 'Faulted'
    }

    It 'reports a reset peer as Faulted without any read' {
        $script:peer = Start-FaultPeer rst-after-send 0, 0.2
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-SocketSession -Id $s.Id).State -eq 'Open' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        (Get-SocketSession -Id $s.Id).State | Should -Be 'Faulted'
    }

    It 'sets SO_KEEPALIVE with -KeepAlive and not without' {
        $l = New-TcpListener -Port 0
        $k = Connect-TcpSocket 127.0.0.1 $l.Port -KeepAlive
        $n = Connect-TcpSocket 127.0.0.1 $l.Port
        [int] $k.Socket.GetSocketOption('Socket', 'KeepAlive') | Should -Not -Be 0
        [int] $n.Socket.GetSocketOption('Socket', 'KeepAlive') | Should -Be 0
    }
}

# Reliability: hostile parameters, connection floods and undecodable bytes.
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')

    $rng = [Random]::new(1234)
    $pieces = @('', ' ', "`0", 'ü', '日本', '🎉', '[', '(', '*', '\', '%00', '..', ':', '::1', '127.0.0.1', '-1', '0', '65536',
        '99999999999', 'a b', "`r`n", '(?<', 'a{99999999}', '$(1)', '\\server\share', 'localhost', 'utf-99', 'ascii', 'x' * 300)
    $script:Hostile = @('', ' ', "`0", "a`0b", ('x' * 100000), 'ü日本🎉', '[', '(unclosed', '*+', '(?<=a+)b{,', '\', '256.256.256.256',
        '-1', '65536', '0x50', '1-', '1-70000', ',,', 'http://127.0.0.1:80/', '::ffff:999.1.1.1', "`u{FFFF}", "`u{D800}")
    $script:Hostile += foreach ($i in 1..40) { -join (1..$rng.Next(1, 5) | ForEach-Object { $pieces[$rng.Next($pieces.Count)] }) }

    # Runs a call with -ErrorAction Stop semantics; returns $null on success or the ErrorRecord.
    function Invoke-Hostile {
        param([scriptblock] $Call)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $err = $null
        try { $null = & $Call } catch { $err = $_ }
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err
    }

    # An ErrorId is stable when it is a name, not an exception type that escaped a cmdlet.
    function Assert-StableError {
        param($ErrorRecord, [string] $What)
        if (-not $ErrorRecord) { return }
        $id = ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
        $id | Should -Match '^[A-Za-z]+$' -Because "$What gave '$($ErrorRecord.FullyQualifiedErrorId)': $($ErrorRecord.Exception.GetType().FullName) $($ErrorRecord.Exception.Message)"
        $id | Should -Not -BeLike '*Exception' -Because "$What gave '$($ErrorRecord.FullyQualifiedErrorId)'"
        $script:SeenIds[$id] = 1 + [int] $script:SeenIds[$id]
    }
    $script:SeenIds = @{}
}

Describe 'Fuzzed parameters' {
    BeforeAll {
        $script:peer = Start-FaultPeer echo
        $script:s = Connect-TcpSocket 127.0.0.1 $peer.Port -Name fuzz
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        Write-Host "    ErrorIds seen: $(($script:SeenIds.GetEnumerator() | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ' ')"
    }

    It 'Connect-TcpSocket -ComputerName / -Port / -Encoding / -NewLine end in stable errors' {
        foreach ($h in $Hostile) {
            Assert-StableError (Invoke-Hostile { Connect-TcpSocket -ComputerName $h -Port $peer.Port -Timeout 1 }) "ComputerName '$h'"
            Assert-StableError (Invoke-Hostile { Connect-TcpSocket 127.0.0.1 -Port $h -Timeout 1 }) "Port '$h'"
            Assert-StableError (Invoke-Hostile { Connect-TcpSocket 127.0.0.1 $peer.Port -Encoding $h -Timeout 1 }) "Encoding '$h'"
            $err = Invoke-Hostile { $c = Connect-TcpSocket 127.0.0.1 $peer.Port -NewLine $h -Timeout 1; try { Send-SocketData $c 'hi' -Line; $null = Receive-SocketData $c -Line -Timeout 0.3 } finally { Remove-SocketSession $c } }
            if ($err -and ($err.FullyQualifiedErrorId -split ',')[0] -ne 'ReceiveTimeout') { Assert-StableError $err "NewLine '$h'" }
            Get-SocketSession | Where-Object Name -ne 'fuzz' | Remove-SocketSession
        }
    }

    It 'Receive-SocketData -Pattern / -Until / -Encoding end in stable errors and the session stays usable' {
        foreach ($h in $Hostile) {
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Pattern $h -Timeout 0.05 }) "Pattern '$h'"
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Until $h -Timeout 0.05 }) "Until '$h'"
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Encoding $h -Timeout 0.05 }) "Receive -Encoding '$h'"
            Assert-StableError (Invoke-Hostile { Send-SocketData $h 'x' }) "Session '$h'"
        }
        $s.State | Should -Be 'Open'
        $s.Available | Should -Be 0
        Send-SocketData $s 'still fine' -Line
        Receive-SocketData $s -Line -Timeout 5 | Should -Be 'still fine'
    }

    It 'Test-TcpPort, New-TcpListener, New-UdpListener and Invoke-UdpSend end in stable errors' {
        foreach ($h in $Hostile) {
            Assert-StableError (Invoke-Hostile { Test-TcpPort -ComputerName $h -Port $peer.Port -Timeout 0.5 }) "Test-TcpPort ComputerName '$h'"
            Assert-StableError (Invoke-Hostile { Test-TcpPort 127.0.0.1 -Port $h -Timeout 0.5 }) "Test-TcpPort Port '$h'"
            Assert-StableError (Invoke-Hostile { New-TcpListener -Port 0 -Address $h }) "New-TcpListener Address '$h'"
            Assert-StableError (Invoke-Hostile { New-UdpListener -Port 0 -Address $h }) "New-UdpListener Address '$h'"
            Assert-StableError (Invoke-Hostile { Invoke-UdpSend -ComputerName $h -Port 9 -Data 'x' }) "Invoke-UdpSend ComputerName '$h'"
            Get-SocketSession | Where-Object Name -ne 'fuzz' | Remove-SocketSession
        }
    }
}

Describe 'Connection flood' {
    AfterAll { Remove-AllSocketSessions }

    It 'keeps a listener flooded by 2,000 unaccepted connections working' {
        $l = New-TcpListener -Port 0
        $flood = foreach ($i in 1..2000) {
            $x = [Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
            $null = $x.ConnectAsync('127.0.0.1', $l.Port)
            $x
        }
        try {
            Start-Sleep -Milliseconds 500
            $l.State | Should -Be 'Listening'
            $first = Wait-TcpConnection $l -Timeout 5
            $first.State | Should -Be 'Open'
        }
        finally { $flood | ForEach-Object Dispose }
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 10
        $myPort = $c.LocalEndPoint.Port
        Send-SocketData $c 'after the flood' -Line
        $found = $null
        foreach ($i in 1..2100) {
            $a = Wait-TcpConnection $l -Timeout 10
            if ($a.RemoteEndPoint.Port -eq $myPort) { $found = $a; break }
            Remove-SocketSession $a
        }
        $found | Should -Not -BeNullOrEmpty
        Receive-SocketData $found -Line -Timeout 5 | Should -Be 'after the flood'
    }
}

Describe 'Undecodable bytes' {
    AfterAll { Remove-AllSocketSessions }

    It 'decodes invalid <Encoding> bytes with replacement characters and -AsBytes returns them exactly' -ForEach @(
        @{ Encoding = 'utf8'; Replacement = [char] 0xFFFD }
        @{ Encoding = 'ascii'; Replacement = '?' }
    ) {
        $l = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Encoding $Encoding
        $a = Wait-TcpConnection $l -Timeout 5
        $all = [byte[]] (0..255)
        Send-SocketData $a $all
        $got = Receive-SocketData $c -Count 256 -AsBytes -Timeout 5
        Get-BytesSha256 $got | Should -Be (Get-BytesSha256 $all)
        $bad = [byte[]] @(0x41, 0xFF, 0xC3, 0x28, 0x80, 0x42, 0x0A)
        Send-SocketData $a $bad
        $line = Receive-SocketData $c -Line -Timeout 5
        $line | Should -BeLike "A*$Replacement*B"
        $line | Should -Not -Match '[\u0100-\uFFFC]'
        Send-SocketData $a $bad
        $raw = Receive-SocketData $c -Until "`n" -AsBytes -Timeout 5
        Get-BytesSha256 $raw | Should -Be (Get-BytesSha256 $bad)
        Remove-SocketSession $c, $a, $l
    }
}

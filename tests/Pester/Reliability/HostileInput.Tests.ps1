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
        $ErrorActionPreference = 'Stop'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $err = $null
        try { $null = & $Call } catch { $err = $_ }
        # No hang: generous, since a name lookup alone can take many seconds on a loaded machine.
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 90 -Because "a hostile value must not hang a call ($Call)"
        $err
    }

    # How a value looks in a failure message (control characters and lone surrogates made visible).
    function Show-Value([string] $Value) {
        $v = if ($Value.Length -gt 60) { $Value.Substring(0, 60) + "...($($Value.Length) chars)" } else { $Value }
        ConvertTo-Json $v -Compress
    }

    # A hostile value must be refused, with an ErrorId that is a name, not an exception type that
    # escaped a cmdlet. Accepting it is a failure.
    function Assert-StableError {
        param($ErrorRecord, [string] $What)
        $ErrorRecord | Should -Not -BeNullOrEmpty -Because "$What must be refused with an error, but it was accepted"
        $id = ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
        $id | Should -Match '^[A-Za-z]+$' -Because "$What gave '$($ErrorRecord.FullyQualifiedErrorId)': $($ErrorRecord.Exception.GetType().FullName) $($ErrorRecord.Exception.Message)"
        $id | Should -Not -BeLike '*Exception' -Because "$What gave '$($ErrorRecord.FullyQualifiedErrorId)'"
        $script:SeenIds[$id] = 1 + [int] $script:SeenIds[$id]
    }

    # Some generated values are legitimate for some parameters (a numeric IPv4 form such as 65536 is
    # 0.1.0.0, '1-' is the documented open port range). These oracles say which, independently of the
    # module: such a value may be accepted; every other value must be refused.
    function Test-LegitAddress([string] $Value) {
        $t = $Value.Trim()
        $ip = $null
        [string]::Equals($t, 'localhost', 'OrdinalIgnoreCase') -or [System.Net.IPAddress]::TryParse($t, [ref] $ip)
    }
    function Test-LegitTarget([string] $Value) {
        # Test-TcpPort also takes host:port and URLs (scheme://host[:port]/) for a legitimate host.
        $t = $Value.Trim()
        $u = $null
        if ($t -match '^[A-Za-z][A-Za-z0-9+.-]*://' -and [Uri]::TryCreate($t, 'Absolute', [ref] $u)) { return Test-LegitAddress $u.Host }
        if ($t -match '^(\[[^\]]+\]|[^:\[\]]+):(\d{1,5})$') { return [int] $Matches[2] -in 1..65535 -and (Test-LegitAddress $Matches[1]) }
        Test-LegitAddress $t
    }
    function Test-LegitBindAddress([string] $Value) {
        # Blank means the documented default (loopback), as when -Address is not given.
        $t = $Value.Trim()
        [string]::IsNullOrWhiteSpace($Value) -or (Test-LegitAddress $Value) -or
        @('Any', '*', 'IPv4Any', 'IPv6Any', 'Loopback', 'IPv6Loopback').Where({ [string]::Equals($t, $_, 'OrdinalIgnoreCase') }).Count -gt 0
    }
    function Test-LegitPortSpec([string] $Value) {
        # Numbers, N-M, -M and N- ranges in a comma list (a trailing comma is harmless), all within 1-65535.
        $items = @($Value.Trim() -replace ',$', '' -split ',')
        foreach ($i in $items) {
            if ($i -notmatch '^\s*(\d{1,5})?\s*(-\s*(\d{1,5})?)?\s*$' -or $i.Trim() -in '', '-') { return $false }
            $lo = if ($Matches[1]) { [int] $Matches[1] } else { 1 }
            $hi = if ($Matches[2]) { if ($Matches[3]) { [int] $Matches[3] } else { 65535 } } else { $lo }
            if ($lo -lt 1 -or $hi -gt 65535 -or $lo -gt $hi) { return $false }
        }
        $true
    }
    function Test-LegitEncoding([string] $Value) {
        $t = $Value.Trim()
        $n = 0
        try { $null = if ([int]::TryParse($t, [ref] $n)) { [Text.Encoding]::GetEncoding($n) } else { [Text.Encoding]::GetEncoding($t) }; $true } catch { $false }
    }

    # Either refused with a stable error, or - only where the oracle calls the value legitimate - accepted.
    function Assert-Hostile {
        param([scriptblock] $Call, [string] $What, [bool] $Legit)
        $err = Invoke-Hostile $Call
        if ($Legit -and -not $err) { return }
        Assert-StableError $err $What
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
            $v = Show-Value $h
            Assert-Hostile { Connect-TcpSocket -ComputerName $h -Port $peer.Port -Timeout 5 } "ComputerName $v" (Test-LegitAddress $h)
            Assert-Hostile { Connect-TcpSocket 127.0.0.1 -Port $h -Timeout 5 } "Port $v" (($h -as [int]) -in 1..65535)
            Assert-Hostile { Connect-TcpSocket 127.0.0.1 $peer.Port -Encoding $h -Timeout 5 } "Encoding $v" (Test-LegitEncoding $h)
            # Any non-empty text is a legitimate NewLine; then a line must make the round trip (or, where
            # the encoding cannot carry the text, never complete). An empty NewLine must be refused.
            $script:line = $null
            $err = Invoke-Hostile { $c = Connect-TcpSocket 127.0.0.1 $peer.Port -NewLine $h -Timeout 5; try { Send-SocketData $c 'hi' -Line; $script:line = Receive-SocketData $c -Line -Timeout 2 } finally { Remove-SocketSession $c } }
            if ($h.Length -eq 0) { Assert-StableError $err "NewLine $v" }
            elseif ($err -and ($err.FullyQualifiedErrorId -split ',')[0] -ne 'ReceiveTimeout') { Assert-StableError $err "NewLine $v" }
            elseif (-not $err) { $script:line | Should -Be 'hi' -Because "NewLine $v" }
            Get-SocketSession | Where-Object Name -ne 'fuzz' | Remove-SocketSession
        }
    }

    It 'Receive-SocketData -Pattern / -Until / -Encoding end in stable errors and the session stays usable' {
        # Nothing arrives meanwhile, so even a legitimate value ends in ReceiveTimeout: never in silence.
        foreach ($h in $Hostile) {
            $v = Show-Value $h
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Pattern $h -Timeout 0.05 }) "Pattern $v"
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Until $h -Timeout 0.05 }) "Until $v"
            Assert-StableError (Invoke-Hostile { Receive-SocketData $s -Encoding $h -Timeout 0.05 }) "Receive -Encoding $v"
            Assert-StableError (Invoke-Hostile { Send-SocketData $h 'x' }) "Session $v"
        }
        $s.State | Should -Be 'Open'
        $s.Available | Should -Be 0
        Send-SocketData $s 'still fine' -Line
        Receive-SocketData $s -Line -Timeout 5 | Should -Be 'still fine'
    }

    It 'Test-TcpPort, New-TcpListener, New-UdpListener and Invoke-UdpSend end in stable errors' {
        foreach ($h in $Hostile) {
            $v = Show-Value $h
            Assert-Hostile { Test-TcpPort -ComputerName $h -Port $peer.Port -Timeout 0.5 } "Test-TcpPort ComputerName $v" (Test-LegitTarget $h)
            Assert-Hostile { Test-TcpPort 127.0.0.1 -Port $h -Timeout 0.5 } "Test-TcpPort Port $v" (Test-LegitPortSpec $h)
            Assert-Hostile { New-TcpListener -Port 0 -Address $h } "New-TcpListener Address $v" (Test-LegitBindAddress $h)
            Assert-Hostile { New-UdpListener -Port 0 -Address $h } "New-UdpListener Address $v" (Test-LegitBindAddress $h)
            Assert-Hostile { Invoke-UdpSend -ComputerName $h -Port 9 -Data 'x' } "Invoke-UdpSend ComputerName $v" (Test-LegitAddress $h)
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
        # The flood filled the accept queue (backlog 512): while it is full the kernel drops new SYNs.
        # The listener must still hand out every queued connection; then a new client gets through.
        $drained = 0
        while ($drained -le 2100) {
            $a = Wait-TcpConnection $l -Timeout 2 -ErrorAction SilentlyContinue
            if (-not $a) { break }
            Remove-SocketSession $a
            $drained++
        }
        $drained | Should -BeGreaterThan 0
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 30
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

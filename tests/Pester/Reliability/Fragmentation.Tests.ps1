# Reliability: a peer that splits every write into random 1-7 byte pieces with random pauses.
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
    $script:lines = foreach ($i in 1..3000) { "line ${i}: grüße ✓ 日本語 🎉 $('é' * ($i % 11)) end" }
    $script:text = ($script:lines -join "`n") + "`n"
    $script:file = Join-Path ([IO.Path]::GetTempPath()) ("frag-" + [guid]::NewGuid())
    [IO.File]::WriteAllText($script:file, $script:text, [Text.UTF8Encoding]::new($false))
    $script:bytes = [IO.File]::ReadAllBytes($script:file)
}
AfterAll { Remove-Item $script:file -ErrorAction SilentlyContinue }

Describe 'Fragmented delivery' {
    AfterEach {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        $script:peer = $null
    }

    It 'reads thousands of multi-byte UTF-8 lines back identically with -Line' {
        $script:peer = Start-FaultPeer fragment $file, 1
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $got = @(Receive-SocketData $s -Line -Count $lines.Count -Timeout 20)
        $got.Count | Should -Be $lines.Count
        $joined = ($got -join "`n") + "`n"
        Get-BytesSha256 ([Text.Encoding]::UTF8.GetBytes($joined)) | Should -Be (Get-BytesSha256 $bytes)
        Receive-SocketData $s -ToEnd -Timeout 5 | Should -BeNullOrEmpty
    }

    It 'reads the exact bytes with -AsBytes -ToEnd' {
        $script:peer = Start-FaultPeer fragment $file, 2
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $got = Receive-SocketData $s -ToEnd -AsBytes -Timeout 20
        Get-BytesSha256 $got | Should -Be (Get-BytesSha256 $bytes)
    }

    It 'never splits a character in text reads of what is available' {
        $script:peer = Start-FaultPeer fragment $file, 3
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $sb = [Text.StringBuilder]::new()
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ($s.State -eq 'Open' -or $s.Available -gt 0) {
            if ([DateTime]::UtcNow -gt $deadline) { throw 'took too long' }
            $piece = $null
            try { $piece = Receive-SocketData $s -Timeout 2 } catch { if ($_.FullyQualifiedErrorId -notlike 'RemoteClosed*') { throw } ; break }
            $piece | Should -Not -Match "\uFFFD"
            $null = $sb.Append($piece)
        }
        Get-BytesSha256 ([Text.Encoding]::UTF8.GetBytes($sb.ToString())) | Should -Be (Get-BytesSha256 $bytes)
    }

    It 'finds -Pattern matches that span pieces, leaving the rest buffered' {
        $script:peer = Start-FaultPeer fragment $file, 4
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $sb = [Text.StringBuilder]::new()
        foreach ($i in 1..270) {
            $m = Receive-SocketData $s -Pattern '日本語 🎉 é{10} end\n' -Timeout 20
            $m | Should -BeLike '*é end*'
            $null = $sb.Append($m)
        }
        $null = $sb.Append((Receive-SocketData $s -ToEnd -Timeout 20))
        Get-BytesSha256 ([Text.Encoding]::UTF8.GetBytes($sb.ToString())) | Should -Be (Get-BytesSha256 $bytes)
    }

    It 'finds -Until delimiters that span pieces' {
        $script:peer = Start-FaultPeer fragment $file, 5
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $sb = [Text.StringBuilder]::new()
        foreach ($i in 1..500) { $null = $sb.Append((Receive-SocketData $s -Until '🎉 é' -Timeout 20)) }
        $null = $sb.Append((Receive-SocketData $s -ToEnd -Timeout 20))
        Get-BytesSha256 ([Text.Encoding]::UTF8.GetBytes($sb.ToString())) | Should -Be (Get-BytesSha256 $bytes)
    }
}

BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-transcript-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    # A connected pair from a listener of its own (no stale client waits in its backlog).
    function New-Pair {
        $l = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -NoDelay
        $s = Wait-TcpConnection $l -Timeout 10
        Remove-SocketSession $l
        $c, $s
    }
}
AfterAll {
    Remove-AllSocketSessions
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Transcript files are readable by their owner only' -Skip:$IsWindows {
    AfterEach { Remove-AllSocketSessions }

    It 'creates Start-SocketTranscript and -TranscriptPath files with mode 0600' {
        $c, $s = New-Pair
        $log = Join-Path $script:Dir 'mode.log'
        Start-SocketTranscript $c -Path $log
        (Get-Item $log).UnixFileMode | Should -Be ([IO.UnixFileMode] 'UserRead, UserWrite')
        $log2 = Join-Path $script:Dir 'connect-mode.log'
        $l = New-TcpListener -Port 0
        $null = Connect-TcpSocket 127.0.0.1 $l.Port -TranscriptPath $log2
        (Get-Item $log2).UnixFileMode | Should -Be ([IO.UnixFileMode] 'UserRead, UserWrite')
    }

    It 'narrows an existing world-readable file before writing traffic into it' {
        $log = Join-Path $script:Dir 'wide.log'
        Set-Content -Path $log -Value 'old'
        & chmod 644 $log
        $c, $s = New-Pair
        Start-SocketTranscript $c -Path $log -Append
        (Get-Item $log).UnixFileMode | Should -Be ([IO.UnixFileMode] 'UserRead, UserWrite')
    }
}

Describe '-NoClobber keeps existing files' {
    AfterEach { Remove-AllSocketSessions }

    It 'Start-SocketTranscript -NoClobber refuses an existing file with NoClobber and leaves it as it was' {
        $log = Join-Path $script:Dir 'keep.log'
        Set-Content -Path $log -Value 'precious'
        $c, $s = New-Pair
        { Start-SocketTranscript $c -Path $log -NoClobber -ErrorAction Stop } | Should -Throw -ErrorId 'NoClobber,PSSocket.Commands.StartSocketTranscriptCommand'
        $c.TranscriptPath | Should -BeNullOrEmpty
        Get-Content -Raw $log | Should -Be "precious$([Environment]::NewLine)"
        $new = Join-Path $script:Dir 'fresh.log'
        Start-SocketTranscript $c -Path $new -NoClobber
        $c.TranscriptPath | Should -Be $new
    }

    It 'Connect-TcpSocket -TranscriptPath -NoClobber refuses an existing file and connects nothing' {
        $log = Join-Path $script:Dir 'keep-connect.log'
        Set-Content -Path $log -Value 'precious'
        $l = New-TcpListener -Port 0
        $err = $null
        Connect-TcpSocket 127.0.0.1 $l.Port -TranscriptPath $log -NoClobber -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NoClobber,PSSocket.Commands.ConnectTcpSocketCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        @(Get-SocketSession | Where-Object Kind -EQ 'Tcp').Count | Should -Be 0
        Get-Content -Raw $log | Should -Be "precious$([Environment]::NewLine)"
    }

    It 'Receive-SocketData -Path -NoClobber refuses an existing file and keeps the data buffered' {
        $out = Join-Path $script:Dir 'keep-receive.bin'
        Set-Content -Path $out -Value 'precious'
        $c, $s = New-Pair
        Send-SocketData $s 'payload' -Line
        $err = $null
        Receive-SocketData $c -Line -Path $out -NoClobber -Timeout 5 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NoClobber,PSSocket.Commands.ReceiveSocketDataCommand'
        Get-Content -Raw $out | Should -Be "precious$([Environment]::NewLine)"
        Receive-SocketData $c -Line -Timeout 5 | Should -Be 'payload'
    }
}

Describe 'Start-SocketTranscript -Format Hex' {
    AfterEach { Remove-AllSocketSessions }

    It 'dumps all 256 byte values split across reads as ncat -x does, each chunk under a time and direction line' {
        $c, $s = New-Pair
        $log = Join-Path $script:Dir 'hex.log'
        Start-SocketTranscript $c -Path $log -Format Hex
        $all = [byte[]] (0..255)
        $chunks = @(, $all[0..99]) + @(, $all[100..199]) + @(, $all[200..255])
        foreach ($chunk in $chunks) {
            Send-SocketData $s ([byte[]] $chunk)
            $got = Receive-SocketData $c -Count $chunk.Count -AsBytes -Timeout 10
            $got.Count | Should -Be $chunk.Count
        }
        Send-SocketData $c ([byte[]] (0x41, 0x42, 0x0d, 0x0a, 0xff))
        Send-SocketData $c (ConvertTo-SecureString 'Pa55word!' -AsPlainText -Force)
        Stop-SocketTranscript $c | Out-Null

        $expected = @(foreach ($chunk in $chunks) { '<< {0} bytes' -f $chunk.Count; Format-NcatHex ([byte[]] $chunk) }) +
            '>> 5 bytes' + (Format-NcatHex ([byte[]] (0x41, 0x42, 0x0d, 0x0a, 0xff))) + '>> ********'
        $lines = (Get-Content -Raw $log) -split "`n" | Where-Object { $_ -ne '' }
        $lines[0] | Should -Match '## Transcript of session'
        $lines[-1] | Should -Match '## Transcript stopped$'
        $body = $lines[1..($lines.Count - 2)]
        $stamp = '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d '
        $body | Where-Object { $_ -match '^\d{4}-' } | ForEach-Object { $_ | Should -Match "$stamp(<<|>>) " }
        ($body -replace $stamp, '') -join "`n" | Should -BeExactly ($expected -join "`n")
        (Get-Content -Raw $log) | Should -Not -Match 'Pa55word'
        (Get-Content -Raw $log) | Should -Not -Match "`r"
    }

    It 'writes the same hex lines as a real ncat -x dump of the same chunks' -Skip:([bool] (Get-PeerSkipReason ncat)) {
        # The same three chunks go to ncat -x and to a session with a Hex transcript.
        $all = [byte[]] (0..255)
        $chunks = @(, $all[0..99]) + @(, $all[100..199]) + @(, $all[200..255])
        $port = Get-FreeTcpPort
        $ncatLog = Join-Path $script:Dir 'ncat-x.log'
        $ncat = Start-Peer -FilePath ncat -ArgumentList @('-lk', '127.0.0.1', "$port", '-x', $ncatLog)
        try {
            Wait-TcpPort -Port $port
            $toNcat = Connect-TcpSocket 127.0.0.1 $port -NoDelay
            $c, $s = New-Pair
            $log = Join-Path $script:Dir 'hex-vs-ncat.log'
            Start-SocketTranscript $c -Path $log -Format Hex
            $expectedLength = 0
            foreach ($chunk in $chunks) {
                Send-SocketData $toNcat ([byte[]] $chunk)
                Send-SocketData $s ([byte[]] $chunk)
                $null = Receive-SocketData $c -Count $chunk.Count -AsBytes -Timeout 10
                $expectedLength += [Math]::Ceiling($chunk.Count / 16) * 74
                # A pause between chunks, so ncat reads each one on its own (as the session did).
                Start-Sleep -Milliseconds 300
            }
            Stop-SocketTranscript $c | Out-Null
            Wait-FileLength -Path $ncatLog -Length $expectedLength | Should -BeTrue
            $ours = ((Get-Content -Raw $log) -split "`n" | Where-Object { $_ -match '^[0-9a-f]{4}   ' }) -join "`n"
            $ours + "`n" | Should -BeExactly (Get-Content -Raw $ncatLog)
        }
        finally { Stop-Peer $ncat }
    }
}

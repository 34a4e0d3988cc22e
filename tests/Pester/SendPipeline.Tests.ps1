BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

Describe 'Send-SocketData with pipeline input' {
    BeforeEach {
        $script:listener = New-TcpListener -Port 0
        $script:client = Connect-TcpSocket 127.0.0.1 $listener.Port
        $script:server = Wait-TcpConnection $listener -Timeout 5
    }
    AfterEach {
        Remove-SocketSession $client, $server, $listener -ErrorAction SilentlyContinue
    }

    It 'sends 200,000 piped lines in order and all of them arrive' {
        $n = 200000
        $reader = [powershell]::Create()
        $null = $reader.AddScript("Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'").Invoke()
        $reader.Commands.Clear()
        $null = $reader.AddScript({ param($id, $n) @(Receive-SocketData $id -Line -Count $n -Timeout 60) }).AddArgument($server.Id).AddArgument($n)
        $h = $reader.BeginInvoke()
        1..$n | Send-SocketData $client -Line
        $lines = $reader.EndInvoke($h)
        $reader.Dispose()
        $lines.Count | Should -Be $n
        $lines[0] | Should -Be '1'
        $lines[99999] | Should -Be '100000'
        $lines[-1] | Should -Be "$n"
        $client.BytesSent | Should -Be ((1..$n | ForEach-Object { "$_".Length + 1 } | Measure-Object -Sum).Sum)
    }

    It 'keeps the order of strings, bytes and byte arrays mixed in one pipeline' {
        'a', [byte[]](0x62, 0x63), [byte] 0x64, 'e', [byte] 0x66 | Send-SocketData $client
        Receive-SocketData $server -Count 6 -Timeout 5 | Should -Be 'abcdef'
    }

    It 'does not hold back the lines of a slow producer until the pipeline ends' {
        $writer = [powershell]::Create()
        $null = $writer.AddScript("Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'").Invoke()
        $writer.Commands.Clear()
        $null = $writer.AddScript({ param($id) & { 'first'; Start-Sleep -Seconds 3; 'second' } | Send-SocketData $id -Line }).AddArgument($client.Id)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $h = $writer.BeginInvoke()
        Receive-SocketData $server -Line -Timeout 2.5 | Should -Be 'first'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 2.5
        Receive-SocketData $server -Line -Timeout 10 | Should -Be 'second'
        $null = $writer.EndInvoke($h)
        $writer.Dispose()
    }

    It 'reports a failed write to a closed peer as an error and not a crash' {
        Remove-SocketSession $server
        Start-Sleep -Milliseconds 200
        $err = $null
        1..20000 | ForEach-Object { 'x' * 100 } | Send-SocketData $client -Line -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -Not -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Match '^(ConnectionReset|SessionClosed|SocketError)'
    }
}

Describe 'Send-SocketData with pipeline input when the peer stops reading' {
    BeforeAll {
        $script:report = Join-Path ([IO.Path]::GetTempPath()) "pssocket-slow-reader-$PID.json"
        Remove-Item $report -ErrorAction SilentlyContinue
        $script:peer = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command python3).Source @((Join-Path $PSScriptRoot 'peers/slow-reader.py'), $port, $report, 6) }
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $peer.Process
        Remove-Item $report -ErrorAction SilentlyContinue
    }

    It 'delivers the lines queued behind a send timeout intact and in order, or says which bytes did not go' {
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        $err = $null
        1..100000 | ForEach-Object { 'L{0:D7} {1}' -f $_, ('x' * 90) } | Send-SocketData $s -Line -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable err
        Wait-Until { Test-Path $report } -TimeoutSec 90 | Should -BeTrue
        $got = Get-Content $report -Raw | ConvertFrom-Json
        Remove-SocketSession $s

        # The peer read nothing for 6 s: the sends did time out, and said so.
        $err.Count | Should -BeGreaterThan 0
        $err | ForEach-Object { $_.FullyQualifiedErrorId | Should -Match '^SendTimeout' }
        $got.duplicates | Should -Be 0
        $got.outOfOrder | Should -Be 0
        $got.gaps | Should -Be 0
        $got.first | Should -Be 1
        if ($got.last -lt 100000) {
            # Only the end may be missing, and the last error names exactly those bytes.
            $missing = (100000 - $got.last) * 100
            "$($err[-1])" | Should -Match "the last $missing bytes \(from byte $($got.bytes) of this pipeline's data on\) were not sent"
        }
        $got.lines | Should -Be $got.last
    }
}

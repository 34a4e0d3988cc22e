BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

Describe 'NewLine Any never reaches the wire or a file as text' -Skip:([bool] (Get-PeerSkipReason python3)) {
    BeforeAll {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-newline-$PID"
        $null = New-Item -ItemType Directory -Force $Dir
    }
    AfterAll {
        Remove-AllSocketSessions
        Remove-Item -Recurse -Force $Dir -ErrorAction Ignore
    }
    AfterEach { Stop-Peer $script:Peer; $script:Peer = $null }

    It 'Receive-SocketData -Line -Path ends each line in the file with CRLF on a NewLine Any session' {
        $l = New-TcpListener -NewLine Any
        # A python3 client sends three lines ended LF, CRLF and a bare CR.
        $code = @'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'one\ntwo\r\nthree\r')
time.sleep(10)
'@
        $script:Peer = Start-Peer python3 @('-c', $code, $l.Port)
        $s = Wait-TcpConnection $l -Timeout 10
        $s.NewLine | Should -Be 'Any'
        $file = Join-Path $Dir 'lines.txt'
        Receive-SocketData $s -Line -Count 3 -Path $file -Timeout 10
        [IO.File]::ReadAllText($file) | Should -BeExactly "one`r`ntwo`r`nthree`r`n"
    }

    It 'Send-SocketData -Line on a UDP session with NewLine Any sends CRLF' {
        # A python3 receiver on a port it picks (written to a file), that records the first datagram in hex.
        $portFile = Join-Path $Dir 'udp.port'
        $dataFile = Join-Path $Dir 'udp.data'
        Remove-Item $portFile, $dataFile -ErrorAction Ignore
        $code = @'
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(('127.0.0.1', 0)); r.settimeout(20)
open(sys.argv[1] + '.tmp', 'w').write(str(r.getsockname()[1]))
import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
data, _ = r.recvfrom(65536)
open(sys.argv[2] + '.tmp', 'w').write(data.hex())
os.rename(sys.argv[2] + '.tmp', sys.argv[2])
'@
        $script:Peer = Start-Peer python3 @('-c', $code, $portFile, $dataFile)
        for ($i = 0; $i -lt 200 -and -not (Test-Path $portFile); $i++) { Start-Sleep -Milliseconds 50 }
        $port = [int] (Get-Content $portFile)
        $u = New-UdpListener
        $u.NewLine = 'Any'
        Send-SocketData $u 'x' -Line -RemoteEndPoint "127.0.0.1:$port"
        for ($i = 0; $i -lt 200 -and -not (Test-Path $dataFile); $i++) { Start-Sleep -Milliseconds 50 }
        Get-Content $dataFile | Should -Be '780d0a'
    }

    It 'rejects an empty NewLine and keeps the word Any as the name of the value' {
        $l = New-TcpListener
        { $l.NewLine = '' } | Should -Throw
        $l.NewLine = 'any'
        $l.NewLine | Should -Be 'Any'
        $l.NewLine.IsAny | Should -BeTrue
        $l.NewLine.Text | Should -BeExactly "`r`n"
        $l.NewLine = "`r`n"
        $l.NewLine.IsAny | Should -BeFalse
    }
}

BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

Describe 'Receive-SocketData timeouts say what arrived' -Skip:([bool] (Get-PeerSkipReason python3)) {
    BeforeAll {
        # A python3 client that sends what it is given (hex) to the port, then stays connected.
        $script:Client = @'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(bytes.fromhex(sys.argv[2]))
time.sleep(20)
'@
        function Start-Sender([int] $Port, [byte[]] $Bytes) {
            Start-Peer python3 @('-c', $Client, $Port, [Convert]::ToHexString($Bytes))
        }
    }
    AfterEach {
        Stop-Peer $script:Peer
        $script:Peer = $null
        Remove-AllSocketSessions
    }

    It 'names the timeout, the bytes buffered and their escaped tail' {
        $l = New-TcpListener
        $script:Peer = Start-Sender $l.Port ([Text.Encoding]::UTF8.GetBytes("220 ready`r`n`e[0m> "))
        $s = Wait-TcpConnection $l -Timeout 10
        # Wait (bounded) until everything the peer sent is buffered, so the message is predictable.
        for ($i = 0; $i -lt 100 -and $s.Available -lt 17; $i++) { $null = Receive-SocketData $s -Count 999 -Timeout 0.05 -ErrorAction Ignore }
        $s.Available | Should -Be 17
        $err = $null
        Receive-SocketData $s -Until 'never' -Timeout 0.5 -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
        $message = $err[0].Exception.Message
        $message | Should -BeLike '*0.5 s*'
        $message | Should -BeLike '*17 bytes arrived and stay buffered*'
        $message | Should -BeLike '*"220 ready\r\n\e`[0m> "*'
        Receive-SocketData $s -Count 17 -Timeout 5 | Should -Be "220 ready`r`n`e[0m> "
    }

    It 'shows only the last 200 bytes and how many of a -Count arrived' {
        $l = New-TcpListener
        $bytes = [Text.Encoding]::ASCII.GetBytes(('x' * 300) + 'END')
        $script:Peer = Start-Sender $l.Port $bytes
        $s = Wait-TcpConnection $l -Timeout 10
        for ($i = 0; $i -lt 100 -and $s.Available -lt 303; $i++) { $null = Receive-SocketData $s -Count 999 -Timeout 0.05 -ErrorAction Ignore }
        $err = $null
        Receive-SocketData $s -Count 1000 -Timeout 0.25 -ErrorVariable err -ErrorAction SilentlyContinue
        $message = $err[0].Exception.Message
        $message | Should -BeLike '*0.25 s*'
        $message | Should -BeLike '*303 of 1000 bytes arrived*'
        $message | Should -BeLike ('*Last 200 bytes received: "' + ('x' * 197) + 'END"*')
    }

    It 'says nothing arrived when nothing did' {
        $l = New-TcpListener
        $script:Peer = Start-Sender $l.Port @()
        $s = Wait-TcpConnection $l -Timeout 10
        $err = $null
        Receive-SocketData $s -Line -Timeout 0.2 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -BeLike '*within the timeout of 0.2 s: nothing arrived.*'
    }
}

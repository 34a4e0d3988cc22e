BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

Describe 'A TCP conversation on loopback' {
    AfterAll { Remove-AllSocketSessions }

    It 'carries lines both ways between a listener and a client' {
        $listener = New-TcpListener -Port 0
        $listener.State | Should -Be 'Listening'
        $client = Connect-TcpSocket 127.0.0.1 $listener.Port
        $server = Wait-TcpConnection $listener -Timeout 5
        Send-SocketData $client -Data 'hello' -Line
        Receive-SocketData $server -Line -Timeout 5 | Should -Be 'hello'
        Send-SocketData $server -Data "one`ntwo`nthree`n"
        Receive-SocketData $client -Line -Timeout 5 | Should -Be 'one'
        Receive-SocketData $client -Line -Count 2 -Timeout 5 | Should -Be @('two', 'three')
        (Get-SocketSession -Id $client.Id).BytesSent | Should -Be 6
    }
}

BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Peers = Join-Path $PSScriptRoot 'peers'
    $script:Python = (Get-Command python3).Source
    $script:Secret = ConvertTo-SecureString 's3cret' -AsPlainText -Force
}

Describe 'Connect-TcpSocket -Telnet against a negotiating telnet server' {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'telnet-server.py'), $port) }
        $script:Server = $peerOnPort.Process
        $script:Port = $peerOnPort.Port
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Server
    }

    It 'answers the negotiation like a client, returns clean text and logs in through a conversation' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n"
        $s.IsTelnet | Should -BeTrue
        $t = Invoke-SocketConversation $s @(
            @{ Expect = 'login: '; Capture = 'Banner' }
            @{ Send = 'tester' }
            @{ Expect = 'Password: ' }
            @{ Send = $Secret }
            @{ Expect = '$ ' }
            @{ Send = 'report'; Expect = '(?<Negotiation>NEGOTIATION \w+)(?<Detail>.*)\r\n\$ '; Regex = $true }
        ) -Timeout 5
        $t.Success | Should -BeTrue
        $t.Captures.Negotiation | Should -Be 'NEGOTIATION OK' -Because $t.Captures.Detail
        $t.Captures.Detail | Should -Be ' ttype=xterm'
        # No negotiation byte leaks into the text.
        $t.Captures.Banner | Should -Be "`r`nDebian GNU/Linux test`r`n`r`n"
        ($t.Steps.Received -join '') | Should -Not -Match '[\u00f0-\u00ff\ufffd]'
    }

    It 'turns IAC IAC into one 0xFF byte when receiving' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n"
        $null = Invoke-SocketConversation $s @(@{ Expect = 'login: ' }, @{ Send = 'tester' }, @{ Expect = 'Password: ' }, @{ Send = $Secret }, @{ Expect = '$ ' }) -Timeout 5
        Send-SocketData $s 'ff' -Line
        $bytes = Receive-SocketData $s -Count 5 -AsBytes -Timeout 5
        $bytes -join ',' | Should -Be '65,255,66,13,10'
    }

    It 'escapes 0xFF when sending, so the server sees the byte itself' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n"
        $null = Invoke-SocketConversation $s @(@{ Expect = 'login: ' }, @{ Send = 'tester' }, @{ Expect = 'Password: ' }, @{ Send = $Secret }, @{ Expect = '$ ' }) -Timeout 5
        $t = Invoke-SocketConversation $s @(
            @{ Send = 'bytes'; Expect = '> ' }
            @{ Send = [byte[]] (0x41, 0xFF, 0x42, 13, 10) }
            @{ Expect = '^(?<Hex>[0-9a-f]+)\r\n'; Regex = $true }
        ) -Timeout 5
        $t.Captures.Hex | Should -Be '41ff42'
    }

    It 'shows the raw negotiation without -Telnet (so -Telnet is what cleans it)' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Encoding Latin1
        $raw = Receive-SocketData $s -Count 15 -AsBytes -Timeout 5
        $raw[0] | Should -Be 255
        $raw[1] | Should -Be 251
    }
}

Describe 'Connect-TcpSocket -Telnet against the system telnetd (inetutils)' -Skip:([bool] (Get-PeerSkipReason telnetd)) {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'telnetd-launcher.py'), $port, (Join-Path $Peers 'test-login.sh')) }
        $script:Daemon = $peerOnPort.Process
        $script:Port = $peerOnPort.Port
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Daemon
    }

    It 'logs in and runs a command through Invoke-SocketConversation' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n" -StripAnsi
        $t = Invoke-SocketConversation $s @(
            @{ Expect = 'login:' }
            @{ Send = 'tester' }
            @{ Expect = 'Password:' }
            @{ Send = $Secret }
            @{ Expect = 'Welcome tester' }
            @{ Expect = '\$ $'; Regex = $true }
            @{ Send = 'echo sum=$((6*7)) term=$TERM'; Expect = '(?m)^sum=(?<Sum>\d+) term=(?<Term>\S+)\r?$'; Regex = $true }
            @{ Expect = '\$ $'; Regex = $true }
            @{ Send = 'exit' }
        ) -Timeout 10
        $t.Success | Should -BeTrue
        $t.Captures.Sum | Should -Be '42'
        # The daemon asked for our terminal type by subnegotiation and set TERM from the answer.
        $t.Captures.Term | Should -Be 'xterm'
        Receive-SocketData $s -ToEnd -Timeout 10 | Out-Null
        $s.State | Should -Be 'RemoteClosed'
    }

    It 'reports a refused login as a failed expectation' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n"
        $null = Invoke-SocketConversation $s @(
            @{ Expect = 'login:' }, @{ Send = 'tester' }, @{ Expect = 'Password:' }, @{ Send = 'wrong' }, @{ Expect = 'Welcome'; Timeout = 5 }
        ) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExpectationFailed*'
        $err[0].Exception.Message | Should -Match 'Login incorrect'
    }
}

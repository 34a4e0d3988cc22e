# What a PowerShell user meets besides the cmdlets' results: tab completion, the default
# session table, and Verbose/Debug streams that tell what happens without leaking payloads.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $hasTestTcpPort = [bool] (Get-Command Test-TcpPort -Module PSSocket -ErrorAction SilentlyContinue)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    function script:Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Tab completion' {
    BeforeAll {
        Remove-AllSocketSessions
        $script:listener = New-TcpListener -Port 0 -Name 'completion-listener'
        $script:named = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'core-switch'
        $script:spaced = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'lab device'
        $script:anonymous = Connect-TcpSocket 127.0.0.1 $listener.Port
    }
    AfterAll { Remove-AllSocketSessions }

    It 'completes -Session with live session names and the Ids of unnamed sessions, only those it can send on' {
        $texts = (Complete 'Send-SocketData -Session ').CompletionText
        $texts | Should -Contain 'core-switch'
        $texts | Should -Contain "$($anonymous.Id)"
        $texts | Should -Not -Contain 'completion-listener'
        (Complete 'Remove-SocketSession ').CompletionText | Should -Contain 'completion-listener'
    }

    It 'offers only Ids for -Id' {
        $texts = @((Complete 'Get-SocketSession -Id ').CompletionText)
        $texts.Count | Should -BeGreaterThan 3
        $texts | ForEach-Object { $_ | Should -Match '^\d+$' }
        $texts | Should -Contain "$($named.Id)"
    }

    It 'offers only servers for <Command>' -ForEach @(@{ Command = 'Stop-SocketServer' }, @{ Command = 'Receive-SocketServerOutput' }) {
        $srv = Start-SocketServer -Port 0 { } -Name 'completion-server'
        try {
            $texts = @((Complete "$Command ").CompletionText)
            $texts | Should -Contain 'completion-server'
            $texts | Should -Not -Contain 'core-switch'
            $texts | Should -Not -Contain 'completion-listener'
            $texts | Should -Not -Contain "$($anonymous.Id)"
        }
        finally { Remove-SocketSession $srv }
    }

    It 'offers service names for Connect-TcpSocket -Port, and no ranges' {
        $texts = (Complete 'Connect-TcpSocket 127.0.0.1 -Port ht').CompletionText
        $texts | Should -Contain 'http'
        $texts | Should -Contain 'https'
        (Complete 'Connect-TcpSocket 127.0.0.1 -Port 1-').CompletionText | Should -BeNullOrEmpty
    }

    It 'completes a name prefix and quotes names that need it' {
        (Complete 'Receive-SocketData -Session core').CompletionText | Should -Be @('core-switch')
        (Complete 'Receive-SocketData -Session lab').CompletionText | Should -Be @("'lab device'")
    }

    It 'completes an Id prefix' {
        (Complete "Remove-SocketSession -Session $($anonymous.Id)").CompletionText | Should -Contain "$($anonymous.Id)"
    }

    It 'completes the positional session argument' {
        (Complete 'Receive-SocketData core').CompletionText | Should -Be @('core-switch')
    }

    It 'offers only listeners for Wait-TcpConnection -Listener' {
        $texts = (Complete 'Wait-TcpConnection -Listener ').CompletionText
        $texts | Should -Contain 'completion-listener'
        $texts | Should -Not -Contain 'core-switch'
    }

    It 'offers names only for Get-SocketSession -Name' {
        $texts = (Complete 'Get-SocketSession -Name ').CompletionText
        $texts | Should -Contain 'core-switch'
        $texts | Should -Not -Contain "$($anonymous.Id)"
    }

    It 'forgets removed sessions' {
        $gone = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'short-lived'
        (Complete 'Send-SocketData -Session short').CompletionText | Should -Be @('short-lived')
        Remove-SocketSession $gone
        Complete 'Send-SocketData -Session short' | Should -BeNullOrEmpty
    }

    It 'completes -Encoding with encoding names on <Command>' -ForEach @(
        @{ Command = 'Connect-TcpSocket' }, @{ Command = 'Send-SocketData' }, @{ Command = 'Receive-SocketData' }, @{ Command = 'New-TcpListener' }
    ) {
        $texts = (Complete "$Command -Encoding ").CompletionText
        $texts | Should -Contain 'utf8'
        $texts | Should -Contain 'latin1'
        $texts | Should -Contain 'ascii'
        (Complete "$Command -Encoding lat").CompletionText | Should -Be @('latin1')
    }

    It 'completes Test-TcpPort -Port with well-known service names' -Skip:(-not $hasTestTcpPort) {
        $texts = (Complete 'Test-TcpPort 127.0.0.1 -Port ht').CompletionText
        $texts | Should -Contain 'http'
        $texts | Should -Contain 'https'
        (Complete 'Test-TcpPort 127.0.0.1 -Port ').CompletionText | Should -Contain 'ssh'
    }

    It 'completes New-TcpListener -Address with bind addresses' {
        $texts = (Complete 'New-TcpListener -Address ').CompletionText
        $texts | Should -Contain 'Loopback'
        $texts | Should -Contain 'Any'
    }
}

Describe 'The default session table' {
    BeforeAll {
        Remove-AllSocketSessions
        $script:listener = New-TcpListener -Port 0 -Name 'listener'
        $script:client = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'sw-core-01'
        $script:server = Wait-TcpConnection $listener -Timeout 5
        Send-SocketData $client 'hello' -Line
    }
    AfterAll { Remove-AllSocketSessions }

    It 'fits an 80-column console with both endpoints whole and no header wrapped' {
        $text = Get-SocketSession | Out-String -Width 80
        $lines = $text -split "`r?`n" | Where-Object { $_ }
        $lines[0] | Should -Match '^\s*Id\s+Name\s+Kind\s+State\s+LocalEndPoint\s+RemoteEndPoint\s*$'
        $lines[1] | Should -Match '^\s*--\s+----\s+----\s+-----\s+-------------\s+--------------\s*$'
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        $local = [PSSocket.Net.Endpoints]::Format($client.LocalEndPoint)
        $remote = [PSSocket.Net.Endpoints]::Format($client.RemoteEndPoint)
        $row = $lines | Where-Object { $_ -match 'sw-core-01' }
        $row | Should -Match ([regex]::Escape($local))
        $row | Should -Match ([regex]::Escape($remote))
        $text | Should -Not -Match '…'
        # A wider console shows the byte counters too.
        $wide = Get-SocketSession | Out-String -Width 100
        ($wide -split "`r?`n" | Where-Object { $_ })[0] | Should -Match 'RemoteEndPoint\s+Sent\s+Recv\s*$'
        ($wide -split "`r?`n" | Where-Object { $_ -match 'sw-core-01' }) | Should -Match '\b6\s+0\s*$'
    }

    It 'cuts a long name with the one ellipsis and wraps no header' {
        $long = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'core-switch-building-7-floor-3'
        try {
            $text = Get-SocketSession | Out-String -Width 80
            $lines = $text -split "`r?`n" | Where-Object { $_ }
            $lines[0] | Should -Match '^\s*Id\s+Name\s+Kind\s+State\s+LocalEndPoint\s+RemoteEndPoint\s*$'
            $lines[1] | Should -Match '^[\s-]+$'
            $lines | Where-Object { $_ -match 'core-swit' } | Should -Match 'core-swit…'
            $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        }
        finally { Remove-SocketSession $long }
    }

    It 'keeps IPv6 endpoints whole at 120 columns' {
        $l6 = New-TcpListener -Address IPv6Loopback -Port 0
        $c6 = Connect-TcpSocket ::1 $l6.Port
        $text = Get-SocketSession | Out-String -Width 120
        $text | Should -Match ([regex]::Escape([PSSocket.Net.Endpoints]::Format($c6.LocalEndPoint)))
        $text | Should -Match ([regex]::Escape([PSSocket.Net.Endpoints]::Format($c6.RemoteEndPoint)))
        $text | Should -Not -Match '…'
    }

    It 'has a list view with encoding, new line and buffer facts' {
        $text = Get-SocketSession -Id $client.Id | Format-List | Out-String
        $text | Should -Match 'Encoding\s+: utf-8'
        $text | Should -Match 'NewLine\s+: \\n\s'
        $crlf = Connect-TcpSocket 127.0.0.1 $listener.Port -NewLine "`r`n"
        ($crlf | Format-List | Out-String) | Should -Match 'NewLine\s+: \\r\\n\s'
        Remove-SocketSession $crlf
        $text | Should -Match 'Available\s+: 0'
    }
}

Describe 'Verbose and Debug output' {
    BeforeAll {
        Remove-AllSocketSessions
        $script:listener = New-TcpListener -Port 0
        $script:client = Connect-TcpSocket 127.0.0.1 $listener.Port
        $script:server = Wait-TcpConnection $listener -Timeout 5
        $script:Secret = 'TOPSECRET-' + [guid]::NewGuid().ToString('n')
        $script:SecretHex = (([Text.Encoding]::UTF8.GetBytes('TOPSECRET') | ForEach-Object { $_.ToString('x2') }) -join ' ')
    }
    AfterAll { Remove-AllSocketSessions }

    It 'Connect-TcpSocket -Verbose says what it resolves and which address it connects to' {
        $v = @(Connect-TcpSocket localhost $listener.Port -AddressFamily IPv4 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $text = $v.Message -join "`n"
        $text | Should -Match 'Resolving localhost'
        $text | Should -Match "Connecting to localhost at 127\.0\.0\.1:$($listener.Port)"
        $text | Should -Match 'Connected: session \d+'
    }

    It 'Send-SocketData -Verbose gives the byte count, never the payload' {
        $v = @(Send-SocketData $client $Secret -Line -Verbose 4>&1)
        $v.Count | Should -BeGreaterThan 0
        $text = $v.Message -join "`n"
        $text | Should -Match "Sent $($Secret.Length + 1) bytes"
        $text | Should -Not -Match 'TOPSECRET'
        $text | Should -Not -Match $SecretHex
        Receive-SocketData $server -Line -Timeout 5 | Should -Be $Secret
    }

    It 'Send-SocketData -Path -Verbose names the file, not its content' {
        $file = Join-Path $TestDrive 'secret.txt'
        Set-Content $file $Secret -NoNewline
        $v = @(Send-SocketData $client -Path $file -Verbose 4>&1)
        ($v.Message -join "`n") | Should -Not -Match 'TOPSECRET'
        ($v.Message -join "`n") | Should -Match 'secret\.txt'
        Receive-SocketData $server -Count $Secret.Length -Timeout 5 | Should -Be $Secret
    }

    It 'Receive-SocketData -Verbose gives the byte count and what stays buffered, never the payload' {
        Send-SocketData $server "$Secret`nrest"
        $out = @(Receive-SocketData $client -Line -Timeout 5 -Verbose 4>&1)
        $v = $out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $out | Where-Object { $_ -is [string] } | Should -Be $Secret
        ($v.Message -join "`n") | Should -Match 'Received \d+ bytes'
        ($v.Message -join "`n") | Should -Not -Match 'TOPSECRET'
        Receive-SocketData $client -Count 4 -Timeout 5 | Should -Be 'rest'
    }

    It 'shows a hex preview of the payload only under -Debug' {
        $d = @(Send-SocketData $client $Secret -Debug 5>&1 | Where-Object { $_ -is [System.Management.Automation.DebugRecord] })
        ($d.Message -join "`n") | Should -Match $SecretHex
        ($d.Message -join "`n") | Should -Not -Match 'TOPSECRET'
        Receive-SocketData $server -Count $Secret.Length -Timeout 5 | Should -Be $Secret
    }
}

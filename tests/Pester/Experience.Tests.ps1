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

    It 'fits an 80-column console with the name (20), the state and both endpoints whole, no header wrapped' {
        $text = Get-SocketSession | Out-String -Width 80
        $lines = $text -split "`r?`n" | Where-Object { $_ }
        $lines[0] | Should -Match '^\s*Id\s+Name\s+State\s+LocalEndPoint\s+RemoteEndPoint\s*$'
        $lines[1] | Should -Match '^\s*--\s+----\s+-----\s+-------------\s+--------------\s*$'
        # The Name column is 20 characters wide: from the start of Name to the start of State.
        ($lines[0].IndexOf('State') - $lines[0].IndexOf('Name')) | Should -BeGreaterOrEqual 21
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        $local = [PSSocket.Net.Endpoints]::Format($client.LocalEndPoint)
        $remote = [PSSocket.Net.Endpoints]::Format($client.RemoteEndPoint)
        $row = $lines | Where-Object { $_ -match 'sw-core-01' }
        $row | Should -Match ([regex]::Escape($local))
        $row | Should -Match ([regex]::Escape($remote))
        $text | Should -Not -Match '…'
        # A wider console shows the kind and the byte counters too.
        $wide = Get-SocketSession | Out-String -Width 120
        ($wide -split "`r?`n" | Where-Object { $_ })[0] | Should -Match 'RemoteEndPoint\s+Kind\s+Sent\s+Recv\s*$'
        ($wide -split "`r?`n" | Where-Object { $_ -match 'sw-core-01' }) | Should -Match '\bTcp\s+6\s+0\s*$'
    }

    It 'shows a 20-character name whole and cuts only a longer one, with the one ellipsis' {
        $twenty = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'production-db-west-1'
        $long = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'core-switch-building-7-floor-3'
        try {
            $text = Get-SocketSession | Out-String -Width 80
            $lines = $text -split "`r?`n" | Where-Object { $_ }
            $lines[0] | Should -Match '^\s*Id\s+Name\s+State\s+LocalEndPoint\s+RemoteEndPoint\s*$'
            $lines[1] | Should -Match '^[\s-]+$'
            $lines | Where-Object { $_ -match 'production-db' } | Should -Match 'production-db-west-1 '
            $lines | Where-Object { $_ -match 'core-swit' } | Should -Match 'core-switch-buildin…'
            $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        }
        finally { Remove-SocketSession $twenty, $long }
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

Describe 'Servers and relays in the session list' {
    BeforeAll {
        Remove-AllSocketSessions
        $script:target = New-TcpListener -Port 0 -Name 'relay-target'
        $script:server = Start-SocketServer -Port 0 { $null = Receive-SocketData $Session -Line -Timeout 5; 'served' } -Name 'nightly-echo-server'
        $script:relay = Start-SocketRelay -Port 0 127.0.0.1 $target.Port -Name 'redis-forward-west'
        $script:client = Connect-TcpSocket 127.0.0.1 $server.Port -Name 'sw-core-01'
        Send-SocketData $client 'hello' -Line
        Wait-Until { $server.ClientsAccepted -ge 1 } -Timeout 30 | Out-Null
    }
    AfterAll { Remove-AllSocketSessions }

    It 'lists servers and relays after the connections, in the one table, a relay with its target as the remote end' {
        $all = @(Get-SocketSession)
        $kinds = $all | ForEach-Object { $_ -is [PSSocket.SocketServerSession] }
        # Every connection before every server: no $true followed by a $false.
        (($kinds | ForEach-Object { if ($_) { 1 } else { 0 } }) -join '') | Should -Match '^0*1*$'
        $text = $all | Out-String -Width 80
        $text | Should -Not -Match 'clients, \d+ active'
        $text | Should -Not -Match 'Unspecified'
        $row = $text -split "`r?`n" | Where-Object { $_ -match 'redis-forward-west' }
        $row | Should -Match ([regex]::Escape("127.0.0.1:$($relay.Port)"))
        $row | Should -Match ([regex]::Escape("127.0.0.1:$($target.Port)"))
        $text -split "`r?`n" | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It 'shows servers and relays alone with Listen, Target, Clients, Failed and Bytes at 80 columns' {
        $text = Get-SocketSession -Kind Relay, TcpServer | Out-String -Width 80
        $lines = $text -split "`r?`n" | Where-Object { $_ }
        $lines[0] | Should -Match '^\s*Id\s+Name\s+Listen\s+Target\s+Clients\s+Failed\s+Bytes\s*$'
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        $relayRow = $lines | Where-Object { $_ -match 'redis-forward-west' }
        $relayRow | Should -Match ("127\.0\.0\.1:$($relay.Port)\s+127\.0\.0\.1:$($target.Port)\s+0\s+0\s+0\s*$")
        $serverRow = $lines | Where-Object { $_ -match 'nightly-echo-server' }
        $serverRow | Should -Match ("127\.0\.0\.1:$($server.Port)\s+1\s+0\s+\d+\s*$")
        # Wider, the state and the kind follow.
        ((Get-SocketSession -Kind Relay | Out-String -Width 120) -split "`r?`n" | Where-Object { $_ })[0] | Should -Match 'Bytes\s+State\s+Kind\s*$'
        (Start-SocketRelay -Port 0 127.0.0.1 $target.Port -Name 'shown-when-started' | Out-String -Width 80) | Should -Match 'Listen\s+Target\s+Clients'
    }

    It 'shows a relay''s client records at 80 columns with both endpoints whole and why the connection closed (socat echo)' {
        $port = Get-FreeTcpPort
        $echo = Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'PIPE'
        try {
            Wait-TcpPort -Port $port
            $fwd = Start-SocketRelay -Port 0 127.0.0.1 $port -Name 'echo-forward'
            $c = Connect-TcpSocket 127.0.0.1 $fwd.Port
            Send-SocketData $c 'ping' -Line
            Receive-SocketData $c -Line -Timeout 10 | Should -Be 'ping'
            $clientEnd = [PSSocket.Net.Endpoints]::Format($c.LocalEndPoint)
            Remove-SocketSession $c
            Wait-Until { $fwd.ClientsActive -eq 0 -and $fwd.ClientsAccepted -ge 1 } -Timeout 30 | Should -BeTrue
            $records = @(Receive-SocketServerOutput $fwd)
            $records | Should -HaveCount 1
            $text = $records | Out-String -Width 80
            $lines = $text -split "`r?`n" | Where-Object { $_ }
            $lines[0] | Should -Match '^\s*Server\s+ClientEndPoint\s+StartedAt\s+Duration\s+Succeeded\s+Result\s*$'
            $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
            # The Result column wraps (at any character): read it back without the white space.
            $flat = ($lines | Select-Object -Skip 2 | ForEach-Object { $_.Substring([Math]::Min($_.Length, 59)) }) -join '' -replace '\s', ''
            $text | Should -Match ([regex]::Escape($clientEnd))
            $flat | Should -Match ([regex]::Escape("127.0.0.1:$port"))
            $flat | Should -Match '5bytestothetarget,5bytesback'
            $records[0].CloseReason | Should -Not -BeNullOrEmpty
            $flat | Should -Match ([regex]::Escape("($($records[0].CloseReason -replace '\s', ''))"))
        }
        finally {
            Get-SocketSession -Name 'echo-forward' -ErrorAction SilentlyContinue | Remove-SocketSession
            Stop-Peer $echo
        }
    }

    It 'matches the sample table of Start-SocketServer example 5 (its header and rules)' {
        $lines = Get-Content (Join-Path $RepoRoot 'docs/en-US/Start-SocketServer.md')
        $at = [array]::IndexOf($lines, '### Example 5: Limit concurrency and look at the counters')
        $at | Should -BeGreaterThan 0
        $fence = $at; $seen = 0
        while ($seen -lt 3) { $fence++; if ($lines[$fence] -match '^```') { $seen++ } }
        $sample = $lines[($fence + 1)..($fence + 2)]
        $real = (Get-SocketSession -Kind TcpServer | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ } | Select-Object -First 2
        $sample[0].TrimEnd() | Should -Be $real[0].TrimEnd()
        $sample[1].TrimEnd() | Should -Be $real[1].TrimEnd()
    }

    It 'shows a relay in Format-List as text: the target as host:port, TLS as its certificate, no type names' {
        $key = Join-Path $TestDrive 'relay.key'; $pem = Join-Path $TestDrive 'relay.pem'
        Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $pem -days 2 -subj '/CN=relay-view.test'
        $cert = Join-Path $TestDrive 'relay-with-key.pem'
        Set-Content $cert ((Get-Content $pem -Raw) + (Get-Content $key -Raw))
        $tls = Start-SocketRelay -Port 0 127.0.0.1 $target.Port -Certificate $cert -UseTls -SkipCertificateCheck -Name 'tls-forward'
        try {
            $text = $tls | Format-List | Out-String -Width 80
            $text | Should -Match "Target\s+: 127\.0\.0\.1:$($target.Port)\s"
            $text | Should -Match "Listen\s+: 127\.0\.0\.1:$($tls.Port)\s"
            $text | Should -Match 'Certificate\s+: CN=.+\(expires \d{4}-\d\d-\d\d\)'
            $text | Should -Match 'TargetTls\s+: TLS to 127\.0\.0\.1, certificate not checked'
            $text | Should -Not -Match 'PSSocket\.Net\.|System\.|Unspecified'
            # Even Format-List * names the TLS settings in words.
            $all = $tls | Format-List * | Out-String -Width 200
            $all | Should -Not -Match 'PSSocket\.Net\.Tls(Server|Client)Options'
            $all | Should -Match 'ClientTls\s+: TLS as CN='
        }
        finally { Remove-SocketSession $tls }
    }
}

Describe 'The about_PSSocket parallel example with the module imported by path' {
    It 'runs in a fresh pwsh that imported PSSocket by path, with no PSSocket on PSModulePath (socat echo)' {
        $lines = Get-Content (Join-Path $RepoRoot 'docs/en-US/about_PSSocket.md')
        $start = [array]::IndexOf($lines, '### Running in parallel')
        $start | Should -BeGreaterThan 0
        $open = $start + 1; while ($lines[$open] -ne '```powershell') { $open++ }
        $close = $open + 1; while ($lines[$close] -ne '```') { $close++ }
        $code = ($lines[($open + 1)..($close - 1)]) -join "`n"
        $code | Should -Match 'Import-Module'
        $port = Get-FreeTcpPort
        $echo = Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'PIPE'
        try {
            Wait-TcpPort -Port $port
            $script = Join-Path $TestDrive 'parallel.ps1'
            $manifest = Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'
            Set-Content $script -Value @"
`$env:PSModulePath = (`$env:PSModulePath -split [IO.Path]::PathSeparator | Where-Object { -not (Test-Path (Join-Path `$_ 'PSSocket')) }) -join [IO.Path]::PathSeparator
Import-Module '$manifest'
`$Port = $port
$code
"@
            $pwsh = @(Get-PwshCommand)
            $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $script 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($out | Out-String)
            ($out | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -BeNullOrEmpty
            @($out | Where-Object { $_ -match '^job \d$' } | Sort-Object) | Should -Be @('job 1', 'job 2', 'job 3', 'job 4')
        }
        finally { Stop-Peer $echo }
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

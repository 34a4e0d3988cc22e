BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Peers = Join-Path $PSScriptRoot 'peers'
    $script:Python = (Get-Command python3).Source
}

Describe 'Invoke-SocketConversation against a scripted switch CLI' {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'fake-switch.py'), $port) }
        $script:Switch = $peerOnPort.Process
        $script:SwitchPort = $peerOnPort.Port
        $script:Login = @(
            @{ Expect = 'Username:' }
            @{ Send = 'admin' }
            @{ Expect = 'Password:' }
            @{ Send = (ConvertTo-SecureString 'cisco123' -AsPlainText -Force) }
            @{ Expect = '^\S+>$'; Regex = $true; Timeout = 5 }
        )
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Switch
    }
    AfterEach { Remove-AllSocketSessions }

    It 'ends a step as failed when its Fail text arrives before Expect (text and regex)' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort -StripAnsi
        $err = $null
        $t = Invoke-SocketConversation $s -Script ($Login + @(
                @{ Send = 'show bogus'; Expect = 'switch01>'; Fail = '% Invalid input' }
                @{ Send = 'show version'; Expect = 'switch01>' }
            )) -ErrorVariable err -ErrorAction SilentlyContinue
        $t.Success | Should -BeFalse
        $t.FailedStep | Should -Be 6
        $t.Steps.Count | Should -Be 6
        $t.Steps[5].Success | Should -BeFalse
        $t.Steps[5].Received | Should -Match '% Invalid input'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExpectationFailed,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        "$($err[0])" | Should -Match 'Invalid input'
        # The prompt after the failure is still buffered for the next command; a regex Fail that
        # does not appear lets the step succeed.
        $t2 = Invoke-SocketConversation $s @(
            @{ Expect = 'switch01>' }
            @{ Send = 'show version'; Expect = '^switch01>'; Regex = $true; Page = '--More--'; Fail = '^% (Invalid|Incomplete)'; Timeout = 10 }
        )
        $t2.Success | Should -BeTrue
        $t2.Steps[1].Received | Should -Match 'Cisco IOS Software'
    }

    It 'refuses a Fail without an Expect, before sending anything' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort
        { Invoke-SocketConversation $s @(@{ Send = 'x'; Fail = 'oops' }) } | Should -Throw -ErrorId 'InvalidArgument,*'
        $s.BytesSent | Should -Be 0
    }

    It 'logs in, collects paged show output into a capture and returns a transcript' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort -StripAnsi
        $script = $Login + @(
            @{ Send = 'show version'; Expect = '^switch01>'; Regex = $true; Page = '--More--'; Capture = 'Version' }
            @{ Send = 'exit'; Line = $true }
        )
        $t = Invoke-SocketConversation $s -Script $script
        $t | Should -BeOfType PSSocket.ConversationTranscript
        $t.Success | Should -BeTrue
        $t.Steps.Count | Should -Be 7
        $t.Steps.Kind | Should -Be @('Expect', 'Send', 'Expect', 'Send', 'Expect', 'SendExpect', 'Send')
        $t.Steps | ForEach-Object { $_.Success | Should -BeTrue }
        $t.Steps[5].Pages | Should -Be 1
        $version = $t.Captures.Version
        $version | Should -Match 'Version 15\.0\(2\)SE11'
        $version | Should -Match 'Configuration register is 0xF'
        # Every output line arrived once, in order, with the pager prompt and its erasure gone.
        ($version -split "`r?`n" | Where-Object { $_ -like 'Interface *' }).Count | Should -Be 8
        $version | Should -Not -Match 'More'
        $version | Should -Not -Match "`b"
        $version | Should -Not -Match '(?m)^ '
        $t.Steps[5].Received | Should -Match 'switch01>$'
        $t.Elapsed | Should -BeGreaterThan ([TimeSpan]::Zero)
        $t.Elapsed.TotalSeconds | Should -BeLessThan 30
    }

    It 'pulls named regex groups into Captures and answers several pages' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort -StripAnsi
        $script = $Login + @(
            @{ Send = 'enable'; Expect = 'switch01#' }
            @{ Send = 'show running-config'; Expect = '(?m)^hostname (?<Hostname>\S+)'; Regex = $true; Page = '--More--' }
            @{ Expect = '^switch01#'; Regex = $true; Page = '--More--'; Capture = 'Rest' }
        )
        $t = Invoke-SocketConversation $s $script -Timeout 5
        $t.Success | Should -BeTrue
        $t.Captures.Hostname | Should -Be 'switch01'
        $t.Captures.Rest | Should -Match 'interface FastEthernet0/24'
        $t.Captures.Rest | Should -Match '(?m)^end'
        # 77 lines at 10 a page: 7 pager prompts answered.
        ($t.Steps | Measure-Object Pages -Sum).Sum | Should -Be 7
        ([regex]::Matches($t.Captures.Rest, 'interface FastEthernet')).Count | Should -Be 24
    }

    It 'stops at the first failed expectation with ExpectationFailed, the last bytes received and the transcript' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort
        $script = @(
            @{ Expect = 'Username:' }
            @{ Send = 'admin' }
            @{ Expect = 'Nonsense prompt'; Timeout = 0.5 }
            @{ Send = 'never sent' }
        )
        $t = Invoke-SocketConversation $s $script -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExpectationFailed*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $err[0].Exception.Message | Should -Match 'Step 3'
        $err[0].Exception.Message | Should -Match 'Last \d+ bytes received: " ?Password: "'
        $err[0].TargetObject | Should -BeOfType PSSocket.ConversationTranscript
        $err[0].TargetObject.FailedStep | Should -Be 3
        $t.Success | Should -BeFalse
        $t.Steps.Count | Should -Be 3
        $t.Steps[2].Success | Should -BeFalse
        # The unmatched text stays buffered for the next read.
        Receive-SocketData $s -Until 'Password: ' -Timeout 2 | Should -Be ' Password: '
        $s.State | Should -Be 'Open'
    }

    It 'throws with -ErrorAction Stop and still carries the transcript' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort
        $caught = $null
        try { Invoke-SocketConversation $s @(@{ Expect = 'Never'; Timeout = 0.3 }) -ErrorAction Stop }
        catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.TargetObject.Steps[0].Success | Should -BeFalse
        $caught.TargetObject.Steps[0].Error | Should -Match 'Username:'
    }

    It 'reports a peer that closes before the expectation as ExpectationFailed (ConnectionError)' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort
        $script = @(@{ Expect = 'Username:' }, @{ Send = 'nobody' }, @{ Expect = 'Password:' }, @{ Send = 'wrong' }, @{ Expect = 'switch01>'; Timeout = 5 })
        $null = Invoke-SocketConversation $s $script -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExpectationFailed*'
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $err[0].Exception.Message | Should -Match 'closed the connection'
        $err[0].Exception.Message | Should -Match 'Authentication failed'
    }

    It 'never stores a SecureString secret in the transcript, verbose output or a transcript file' {
        $log = Join-Path ([IO.Path]::GetTempPath()) "pssocket-conv-$PID.log"
        try {
            $s = Connect-TcpSocket 127.0.0.1 $SwitchPort -TranscriptPath $log
            $s.TranscriptPath | Should -Be $log
            $t = Invoke-SocketConversation $s ($Login + @(@{ Send = 'exit' })) -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -is [PSSocket.ConversationTranscript] }
            $t.Success | Should -BeTrue
            $verbose = ($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
            $verbose | Should -Match "sent 'admin'"
            $verbose | Should -Match "sent '\*{8}'"
            $verbose | Should -Not -Match 'cisco123'
            $t.Steps[3].Sent | Should -Be '********'
            ($t | ConvertTo-Json -Depth 4 -WarningAction SilentlyContinue) | Should -Not -Match 'cisco123'
            $file = Stop-SocketTranscript $s
            $file.FullName | Should -Be $log
            $text = Get-Content -Raw $log
            $text | Should -Match '>> admin'
            $text | Should -Match '>> \*{8}'
            $text | Should -Match '<< Password: '
            $text | Should -Not -Match 'cisco123'
        }
        finally { Remove-Item $log -ErrorAction SilentlyContinue }
    }

    It 'rejects a malformed script before sending anything' {
        $s = Connect-TcpSocket 127.0.0.1 $SwitchPort
        { Invoke-SocketConversation $s @(@{ Expcet = 'typo' }) } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.InvokeSocketConversationCommand'
        { Invoke-SocketConversation $s @(@{ Expect = '(unclosed'; Regex = $true }) } | Should -Throw '*not valid*'
        { Invoke-SocketConversation $s @('just a string') } | Should -Throw '*hashtable*'
        $s.BytesSent | Should -Be 0
    }
}

Describe 'Invoke-SocketConversation against an SMTP server' {
    BeforeAll {
        $script:MailDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-mail-$PID"
        New-Item -ItemType Directory -Force $MailDir | Out-Null
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'smtp-server.py'), $port, $MailDir) }
        $script:Smtp = $peerOnPort.Process
        $script:SmtpPort = $peerOnPort.Port
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Smtp
        Remove-Item -Recurse -Force $MailDir -ErrorAction SilentlyContinue
    }

    It 'sends a test mail with EHLO, MAIL FROM, RCPT TO, DATA and QUIT, checking every reply code' {
        $s = Connect-TcpSocket 127.0.0.1 $SmtpPort -NewLine "`r`n"
        $body = "Subject: PSSocket test`r`n`r`nHello from a runbook.`r`n..leading dot`r`n."
        $t = Invoke-SocketConversation $s @(
            @{ Expect = '^220 .*\r\n'; Regex = $true; Capture = 'Banner' }
            @{ Send = 'EHLO runbook.example.test'; Expect = '^250 .*\r\n'; Regex = $true; Capture = 'Ehlo' }
            @{ Send = 'MAIL FROM:<ops@example.test>'; Expect = '^250 .*\r\n'; Regex = $true }
            @{ Send = 'RCPT TO:<admin@example.test>'; Expect = '^250 .*\r\n'; Regex = $true }
            @{ Send = 'DATA'; Expect = '^354 .*\r\n'; Regex = $true }
            @{ Send = $body; Expect = '^250 .*queued as (?<QueueId>\S+)\r\n'; Regex = $true }
            @{ Send = 'QUIT'; Expect = '^221 .*\r\n'; Regex = $true }
        )
        $t.Success | Should -BeTrue
        $t.Steps.Count | Should -Be 7
        $codes = $t.Steps | ForEach-Object { ($_.Received -split "`r`n" | Where-Object { $_ } | Select-Object -Last 1).Substring(0, 3) }
        $codes | Should -Be @('220', '250', '250', '250', '354', '250', '221')
        $t.Steps[1].Received | Should -Match '250-SIZE'
        $t.Captures.QueueId | Should -Match '^TEST\d{4}$'
        $mail = Get-Content -Raw (Join-Path $MailDir "$([int]$t.Captures.QueueId.Substring(4)).eml")
        $mail | Should -Match 'X-Envelope-From: <ops@example.test>'
        $mail | Should -Match 'X-Envelope-To: <admin@example.test>'
        $mail | Should -Match 'Hello from a runbook\.'
        $mail | Should -Match '(?m)^\.leading dot'
        Receive-SocketData $s -ToEnd -Timeout 5 | Should -BeNullOrEmpty
    }

    It 'fails at the refused recipient with the server reply in the error' {
        $s = Connect-TcpSocket 127.0.0.1 $SmtpPort -NewLine "`r`n"
        $null = Invoke-SocketConversation $s @(
            @{ Expect = '^220 '; Regex = $true }
            @{ Send = 'EHLO runbook'; Expect = '^250 .*\r\n'; Regex = $true }
            @{ Send = 'MAIL FROM:<ops@example.test>'; Expect = '^250 '; Regex = $true }
            @{ Send = 'RCPT TO:<someone@elsewhere.test>'; Expect = '^250 '; Regex = $true; Timeout = 1 }
        ) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExpectationFailed*'
        $err[0].Exception.Message | Should -Match '550 5\.7\.1 Relaying denied'
        $err[0].TargetObject.FailedStep | Should -Be 4
    }
}

Describe 'Receive-SocketData -Pattern -AsMatch and -StripAnsi' {
    BeforeAll {
        $script:Listener = New-TcpListener -Port 0
        $script:Client = Connect-TcpSocket 127.0.0.1 $Listener.Port
        $script:Server = Wait-TcpConnection $Listener -Timeout 5
    }
    AfterAll { Remove-AllSocketSessions }

    It 'returns the match with its groups so a runbook pulls a value out in one line' {
        Send-SocketData $Server "redis_version:7.0.15`r`nuptime_in_seconds:42`r`n"
        $m = Receive-SocketData $Client -Pattern 'redis_version:(?<Version>[\d.]+)' -AsMatch -Timeout 5
        $m | Should -BeOfType System.Text.RegularExpressions.Match
        $m.Groups['Version'].Value | Should -Be '7.0.15'
        (Receive-SocketData $Client -Pattern 'uptime_in_seconds:(\d+)' -AsMatch -Timeout 5).Groups[1].Value | Should -Be '42'
        $null = Receive-SocketData $Client -Timeout 1
    }

    It 'removes colour codes and overstrikes with -StripAnsi and matches the clean text' {
        Send-SocketData $Server "`e[1;32mUP`e[0m link`e[K`r`nB`bBo`bol`bld`r`n"
        Receive-SocketData $Client -Pattern 'UP link' -StripAnsi -Timeout 5 | Should -Be 'UP link'
        Receive-SocketData $Client -Line -Count 2 -StripAnsi -Timeout 5 | Should -Be @('', 'Bold')
    }

    It 'strips by default on a session connected with -StripAnsi' {
        $c2 = Connect-TcpSocket 127.0.0.1 $Listener.Port -StripAnsi
        $s2 = Wait-TcpConnection $Listener -Timeout 5
        $c2.StripAnsi | Should -BeTrue
        Send-SocketData $s2 "`e]0;title`aprompt`e[0m> "
        Receive-SocketData $c2 -Until '> ' -Timeout 5 | Should -Be 'prompt> '
    }

    It 'ends lines at CRLF, LF and bare CR with NewLine Any, and sends CRLF' {
        $c3 = Connect-TcpSocket 127.0.0.1 $Listener.Port -NewLine Any
        $s3 = Wait-TcpConnection $Listener -Timeout 5
        $c3.NewLine | Should -Be 'Any'
        Send-SocketData $s3 "one`r`ntwo`nthree`rfour`r"
        Receive-SocketData $c3 -Line -Count 4 -Timeout 5 | Should -Be @('one', 'two', 'three', 'four')
        Send-SocketData $c3 'hi' -Line
        $bytes = Receive-SocketData $s3 -Count 4 -AsBytes -Timeout 5
        $bytes -join ',' | Should -Be '104,105,13,10'
    }
}

Describe 'Invoke-SocketConversation as a redis health check' -Skip:([bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command redis-server).Source @('--port', $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no') }
        $script:Redis = $peerOnPort.Process
        $script:RedisPort = $peerOnPort.Port
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Redis
    }

    It 'pings, reads the version and uptime as captures' {
        $r = Connect-TcpSocket 127.0.0.1 $RedisPort -NewLine "`r`n"
        $t = Invoke-SocketConversation $r @(
            @{ Send = 'PING'; Expect = '+PONG'; Timeout = 2 }
            @{ Send = 'INFO server'; Expect = 'redis_version:(?<Version>[\d.]+)'; Regex = $true }
            @{ Expect = 'uptime_in_seconds:(?<Uptime>\d+)'; Regex = $true }
        )
        $t.Success | Should -BeTrue
        $t.Captures.Version | Should -Match '^\d+\.\d+\.\d+$'
        [int] $t.Captures.Uptime | Should -BeGreaterOrEqual 0
        $t.Steps[0].Received | Should -Be '+PONG'
    }
}

Describe 'Start-SocketTranscript and Stop-SocketTranscript' {
    BeforeAll {
        $script:Listener = New-TcpListener -Port 0
        $script:Log = Join-Path ([IO.Path]::GetTempPath()) "pssocket-transcript-$PID.log"
    }
    AfterAll {
        Remove-AllSocketSessions
        Remove-Item $Log -ErrorAction SilentlyContinue
    }

    It 'records both directions once each, with timestamps and markers, and redacts a SecureString sent with Send-SocketData' {
        $c = Connect-TcpSocket 127.0.0.1 $Listener.Port
        $s = Wait-TcpConnection $Listener -Timeout 5
        Start-SocketTranscript $c -Path $Log
        $c.TranscriptPath | Should -Be $Log
        Send-SocketData $c 'hello' -Line
        Send-SocketData $c (ConvertTo-SecureString 'Pa55word!' -AsPlainText -Force) -Line
        Receive-SocketData $s -Line -Count 2 -Timeout 5 | Should -Be @('hello', 'Pa55word!')
        Send-SocketData $s "first`r`nsecond`r`n`e[1mbold"
        # Read in two parts: the transcript still shows each received byte once.
        Receive-SocketData $c -Line -Timeout 5 | Should -Be 'first'
        Receive-SocketData $c -Until 'bold' -Timeout 5 | Out-Null
        { Start-SocketTranscript $c -Path $Log } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StartSocketTranscriptCommand'
        $stopped = Stop-SocketTranscript $c
        $c.TranscriptPath | Should -BeNullOrEmpty
        # The transcript's facts, not a FileInfo: the path, the records marked >> or <<, the size.
        $stopped | Should -BeOfType [PSSocket.SocketTranscriptInfo]
        $stopped.Path | Should -Be $Log
        $stopped.SessionId | Should -Be $c.Id
        $stopped.Records | Should -Be 5
        $stopped.Bytes | Should -Be (Get-Item $Log).Length
        $view = $stopped | Out-String -Width 80
        $view | Should -Match 'Session\s+Format\s+Records\s+Bytes\s+Path'
        $view | Should -Match ("\b$($c.Id)\s+Text\s+5\s+$((Get-Item $Log).Length)\s+" + [regex]::Escape($Log))
        # Its Path binds to Get-Content -Path from the pipeline.
        ($stopped | Get-Content) | Should -HaveCount 7
        $lines = Get-Content $Log
        $lines | Should -HaveCount 7
        $lines[0] | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ## Transcript of session'
        $lines[1] | Should -Match ' >> hello$'
        $lines[2] | Should -Match ' >> \*{8}$'
        $lines[3] | Should -Match ' << first$'
        $lines[4] | Should -Match ' << second$'
        $lines[5] | Should -Match ' << \\e\[1mbold$'
        $lines[6] | Should -Match ' ## Transcript stopped$'
        Get-Content -Raw $Log | Should -Not -Match 'Pa55word'
        { Stop-SocketTranscript $c -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StopSocketTranscriptCommand'
    }

    It 'fails clearly when the file cannot be created' {
        $c = Connect-TcpSocket 127.0.0.1 $Listener.Port
        $null = Wait-TcpConnection $Listener -Timeout 5
        { Start-SocketTranscript $c -Path '/nonexistent-dir/x.log' -ErrorAction Stop } | Should -Throw -ErrorId 'FileOpenFailed,PSSocket.Commands.StartSocketTranscriptCommand'
        $c.TranscriptPath | Should -BeNullOrEmpty
    }
}

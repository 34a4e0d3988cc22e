BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Peers = Join-Path $PSScriptRoot 'peers'
    $script:Python = (Get-Command python3).Source
    $script:IsRoot = $IsLinux -and (id -u) -eq '0'
    $script:Password = 'pa55-w0rd'
    $script:PasswordHex = [Convert]::ToHexString([Text.Encoding]::UTF8.GetBytes($Password)).ToLowerInvariant()
    $script:Secure = ConvertTo-SecureString $Password -AsPlainText -Force
    $script:Credential = [pscredential]::new('operator', $Secure)

    # Starts recorder.py (one hex line per TCP read, datagram or ICMP payload) and waits until it is bound.
    function Start-Recorder([string] $Kind) {
        $port = if ($Kind -eq 'udp') { Get-FreeUdpPort } else { Get-FreeTcpPort }
        $file = Join-Path ([IO.Path]::GetTempPath()) "pssocket-recorder-$([guid]::NewGuid()).hex"
        $peer = Start-Peer $Python @((Join-Path $Peers 'recorder.py'), $Kind, $port, $file)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        while (-not (Test-Path $file) -and $sw.Elapsed.TotalSeconds -lt 20 -and -not $peer.HasExited) { Start-Sleep -Milliseconds 50 }
        Test-Path $file | Should -BeTrue -Because 'the recorder peer binds within 20 s'
        [pscustomobject]@{ Port = $port; File = $file; Process = $peer }
    }

    # The hex lines recorded so far, once they hold the expected text (or the deadline passes).
    function Get-Recorded($Recorder, [string] $Until, [double] $TimeoutSec = 10) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        do {
            $text = (Get-Content -Raw $Recorder.File) ?? ''
            if ($Until -and $text.Replace("`n", '').Contains($Until)) { break }
            Start-Sleep -Milliseconds 50
        } while ($sw.Elapsed.TotalSeconds -lt $TimeoutSec)
        $text
    }

    function Stop-Recorder($Recorder) {
        Stop-Peer $Recorder.Process
        Remove-Item $Recorder.File -ErrorAction SilentlyContinue
    }

    function Get-Hex([string] $Text) { [Convert]::ToHexString([Text.Encoding]::UTF8.GetBytes($Text)).ToLowerInvariant() }
}

Describe 'Send-SocketData sends secrets as their text and shows them nowhere else' {
    AfterEach { Remove-AllSocketSessions }

    It 'sends a PSCredential''s password on a Tcp session, ******** in the transcript, not in Verbose or Debug' {
        $rec = Start-Recorder tcp
        $log = Join-Path ([IO.Path]::GetTempPath()) "pssocket-secret-$([guid]::NewGuid()).log"
        try {
            $s = Connect-TcpSocket 127.0.0.1 $rec.Port
            Start-SocketTranscript $s -Path $log
            $streams = Send-SocketData $s $Credential -Line -Verbose -Debug 4>&1 5>&1 | Out-String
            Send-SocketData $s 'end' -Line
            $got = Get-Recorded $rec -Until (Get-Hex 'end')
            $got.Replace("`n", '') | Should -Be ($PasswordHex + (Get-Hex "`nend`n"))
            Stop-SocketTranscript $s
            $transcript = Get-Content -Raw $log
            $transcript | Should -Match ([regex]::Escape('********'))
            $transcript | Should -Not -Match $Password
            $streams | Should -Match 'secret'
            $streams | Should -Not -Match $Password
            $streams | Should -Not -Match ([Text.Encoding]::UTF8.GetBytes($Password)[0..3].ForEach({ $_.ToString('x2') }) -join ' ')
        }
        finally {
            Stop-Recorder $rec
            Remove-Item $log -ErrorAction SilentlyContinue
        }
    }

    It 'sends a SecureString from the pipeline on a Tcp session' {
        $rec = Start-Recorder tcp
        try {
            $s = Connect-TcpSocket 127.0.0.1 $rec.Port
            'user', $Secure, 'done' | Send-SocketData $s -Line
            $got = Get-Recorded $rec -Until (Get-Hex 'done')
            $got.Replace("`n", '') | Should -Be (Get-Hex "user`n$Password`ndone`n")
        }
        finally { Stop-Recorder $rec }
    }

    It 'sends a SecureString and a PSCredential on a Udp session as one datagram each, never in Debug' {
        $rec = Start-Recorder udp
        try {
            $u = New-UdpListener
            $streams = Send-SocketData $u $Secure -RemoteEndPoint "127.0.0.1:$($rec.Port)" -Debug 5>&1 | Out-String
            Send-SocketData $u $Credential -RemoteEndPoint "127.0.0.1:$($rec.Port)"
            $got = Get-Recorded $rec -Until "$PasswordHex$PasswordHex"
            ($got -split "`n" | Where-Object { $_ }) | Should -Be @($PasswordHex, $PasswordHex)
            $streams | Should -Match 'secret'
            $streams | Should -Not -Match $Password
        }
        finally { Stop-Recorder $rec }
    }

    It 'sends a SecureString''s text as the packet on a Raw session (root)' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'raw sockets need root; this run is not root'; return }
        $rec = Start-Recorder icmp
        try {
            $raw = New-RawSocket -Protocol Icmp
            # Type 42 is unassigned: the kernel passes it to raw sockets and answers nothing.
            $marker = [char] 42 + 'pssocket-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
            $secret = ConvertTo-SecureString $marker -AsPlainText -Force
            Send-SocketData $raw $secret -RemoteAddress 127.0.0.1
            (Get-Recorded $rec -Until (Get-Hex $marker)).Replace("`n", '') | Should -Match (Get-Hex $marker)
        }
        finally { Stop-Recorder $rec }
    }

    It 'sends a PSCredential''s password through a telnet session (escaped as telnet needs)' {
        $port = Get-FreeTcpPort
        $server = Start-Peer $Python @((Join-Path $Peers 'telnet-server.py'), $port)
        try {
            Wait-TcpPort -Port $port
            $s = Connect-TcpSocket 127.0.0.1 $port -Telnet -NewLine "`r`n"
            $login = [pscredential]::new('tester', (ConvertTo-SecureString 's3cret' -AsPlainText -Force))
            $t = Invoke-SocketConversation $s @(@{ Expect = 'login: ' }, @{ Send = 'tester' }, @{ Expect = 'Password: ' }) -Timeout 5
            $t.Success | Should -BeTrue
            Send-SocketData $s $login -Line
            Receive-SocketData $s -Until '$ ' -Timeout 5 | Should -Match 'Last login'
            Send-SocketData $s 'bytes' -Line
            $null = Receive-SocketData $s -Until '> ' -Timeout 5
            Send-SocketData $s $Credential -Line
            Receive-SocketData $s -Line -Timeout 5 | Should -Be $PasswordHex
        }
        finally { Stop-Peer $server }
    }
}

Describe 'Send-SocketData refuses what is not data' {
    AfterEach { Remove-AllSocketSessions }

    It 'writes InvalidArgument for a hashtable and a custom object, sends nothing for them, and goes on' {
        $rec = Start-Recorder tcp
        try {
            $s = Connect-TcpSocket 127.0.0.1 $rec.Port
            $err = $null
            'a', @{ Key = 'v' }, [pscustomobject]@{ Name = 'x' }, 'b' | Send-SocketData $s -ErrorVariable err -ErrorAction SilentlyContinue
            Send-SocketData $s -Data 'c', (Get-Date), 'd' -ErrorVariable +err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 3
            $err | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*' }
            $err | ForEach-Object { $_.CategoryInfo.Category | Should -Be 'InvalidArgument' }
            "$($err[0])" | Should -Match 'Hashtable'
            "$($err[1])" | Should -Match 'PSCustomObject'
            "$($err[2])" | Should -Match 'DateTime.*item 2'
            (Get-Recorded $rec -Until (Get-Hex 'abcd')).Replace("`n", '') | Should -Be (Get-Hex 'abcd')
            $s.BytesSent | Should -Be 4
        }
        finally { Stop-Recorder $rec }
    }

    It 'refuses a hashtable on a Udp session: no datagram leaves' {
        $rec = Start-Recorder udp
        try {
            $u = New-UdpListener
            $err = $null
            Send-SocketData $u @{ a = 1 } -RemoteEndPoint "127.0.0.1:$($rec.Port)" -ErrorVariable err -ErrorAction SilentlyContinue
            Send-SocketData $u 'after' -RemoteEndPoint "127.0.0.1:$($rec.Port)"
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
            ((Get-Recorded $rec -Until (Get-Hex 'after')) -split "`n" | Where-Object { $_ }) | Should -Be @(Get-Hex 'after')
        }
        finally { Stop-Recorder $rec }
    }

    It 'sends the contents of a file piped from Get-Item, on Tcp and as one Udp datagram' {
        $file = Join-Path ([IO.Path]::GetTempPath()) "pssocket-payload-$([guid]::NewGuid()).txt"
        [IO.File]::WriteAllText($file, 'file body')
        $tcp = Start-Recorder tcp
        $udp = Start-Recorder udp
        try {
            $s = Connect-TcpSocket 127.0.0.1 $tcp.Port
            Get-Item $file | Send-SocketData $s
            (Get-Recorded $tcp -Until (Get-Hex 'file body')).Replace("`n", '') | Should -Be (Get-Hex 'file body')
            $u = New-UdpListener
            Send-SocketData $u (Get-Item $file) -RemoteEndPoint "127.0.0.1:$($udp.Port)"
            ((Get-Recorded $udp -Until (Get-Hex 'file body')) -split "`n" | Where-Object { $_ }) | Should -Be @(Get-Hex 'file body')
        }
        finally {
            Stop-Recorder $tcp
            Stop-Recorder $udp
            Remove-Item $file -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Invoke-UdpSend sends like Send-SocketData and fails per target' {
    It 'sends a PSCredential''s password and refuses a hashtable' {
        $rec = Start-Recorder udp
        try {
            $err = $null
            $Credential, @{ a = 1 }, 'after' | Invoke-UdpSend 127.0.0.1 $rec.Port -ErrorVariable err -ErrorAction SilentlyContinue -Debug 5>&1 |
                Out-String | Should -Not -Match $Password
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
            ((Get-Recorded $rec -Until (Get-Hex 'after')) -split "`n" | Where-Object { $_ }) | Should -Be @($PasswordHex, (Get-Hex 'after'))
        }
        finally { Stop-Recorder $rec }
    }

    It 'is silent for a host that does not resolve under -ErrorAction SilentlyContinue' {
        $err = $null
        $out = Invoke-UdpSend nosuchhost.invalid 514 'x' -Timeout 5 -ErrorAction SilentlyContinue -ErrorVariable err 2>&1
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound,*'
    }

    It 'names a blank -ComputerName as a non-terminating InvalidArgument error' {
        $err = $null
        Invoke-UdpSend '  ' 514 'x' -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        "$($err[0])" | Should -Match 'Entry 1'
    }
}

Describe 'Invoke-SocketConversation sends a step''s Send as Send-SocketData would' {
    AfterEach { Remove-AllSocketSessions }

    It 'sends the characters of a char[] and the text of a number, not their type names' {
        $rec = Start-Recorder tcp
        try {
            $s = Connect-TcpSocket 127.0.0.1 $rec.Port
            $null = Invoke-SocketConversation $s @(@{ Send = [char[]] 'hi' }, @{ Send = 42 }, @{ Send = 'end' })
            $got = Get-Recorded $rec -Until (Get-Hex 'end')
            $got.Replace("`n", '') | Should -Be (Get-Hex "hi`n42`nend`n")
            # The same items through Send-SocketData give the same bytes.
            Send-SocketData $s ([char[]] 'hi') -Line
            Send-SocketData $s 42 -Line
            Send-SocketData $s 'end2' -Line
            $got = Get-Recorded $rec -Until (Get-Hex 'end2')
            $got.Replace("`n", '') | Should -Be (Get-Hex "hi`n42`nend`nhi`n42`nend2`n")
        }
        finally { Stop-Recorder $rec }
    }

    It 'refuses a Send it cannot send with InvalidArgument before sending anything' {
        $rec = Start-Recorder tcp
        try {
            $s = Connect-TcpSocket 127.0.0.1 $rec.Port
            { Invoke-SocketConversation $s @(@{ Send = 'first' }, @{ Send = @{ a = 1 } }) } | Should -Throw -ErrorId 'InvalidArgument*'
            Send-SocketData $s 'end' -Line
            (Get-Recorded $rec -Until (Get-Hex 'end')).Replace("`n", '') | Should -Be (Get-Hex "end`n")
        }
        finally { Stop-Recorder $rec }
    }
}

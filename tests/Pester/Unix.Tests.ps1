BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:NoPeer = Get-PeerSkipReason socat
    # Short: sun_path holds 107 bytes, and the temp folder may be long.
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssu-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    # A socat stream echo on a fresh socket path (a process per connection).
    function Start-SocatEcho {
        param([string] $Name = "echo$([Guid]::NewGuid().ToString('n').Substring(0, 6)).sock")
        $path = Join-Path $script:Dir $Name
        $null = Start-UnixSocketPeer (Get-Command socat).Source @("UNIX-LISTEN:$path,fork", 'PIPE') $path $script:Peers
        $path
    }

    # Runs a python3 snippet as the unprivileged user nobody (setpriv), returning its output.
    function Invoke-AsNobody {
        param([string] $Code, [string[]] $Arguments)
        $out = & setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/python3 -c $Code @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out | Out-String).Trim() }
    }
}

AfterAll {
    Remove-AllSocketSessions
    foreach ($p in $script:Peers) { Stop-Peer $p }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Connect-UnixSocket to a socat stream echo' {
    BeforeAll {
        if ($NoPeer) { return }
        $script:EchoPath = Start-SocatEcho
    }
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Remove-AllSocketSessions }

    It 'is a registered Unix session that shows the path and the peer process' {
        $s = Connect-UnixSocket $EchoPath -Name ux
        $s.Kind | Should -Be 'Unix'
        $s.Path | Should -Be $EchoPath
        "$($s.RemoteEndPoint)" | Should -Be $EchoPath
        (Get-SocketSession -Name ux).Id | Should -Be $s.Id
        $s.ProcessId | Should -BeGreaterThan 0
        $s.UserId | Should -Be ([int] (id -u))
        ($s | Format-Table | Out-String) | Should -Match ([regex]::Escape((Split-Path $EchoPath -Leaf)))
    }

    It 'receives in every mode: -Line, -Until, -Count, -Pattern, bytes after the stop staying buffered' {
        $s = Connect-UnixSocket $EchoPath
        Send-SocketData $s "one`ntwo;three1234" -Timeout 10
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'one'
        Receive-SocketData $s -Until ';' -Timeout 10 | Should -Be 'two;'
        Receive-SocketData $s -Pattern 'thr(ee)' -Timeout 10 | Should -Be 'three'
        $bytes = Receive-SocketData $s -Count 4 -AsBytes -Timeout 10
        [Text.Encoding]::ASCII.GetString($bytes) | Should -Be '1234'
        $s.Available | Should -Be 0
    }

    It 'echoes 1 MiB byte-exact through the stream while another runspace sends it' {
        $s = Connect-UnixSocket $EchoPath
        $data = [byte[]]::new(1MB); [Random]::new(7).NextBytes($data)
        # The echo sends back while we send: the receive runs here while a thread job sends on the same session.
        $id = $s.Id
        $job = Start-ThreadJob { Import-Module (Join-Path $using:env:PSSOCKET_MODULE 'PSSocket.psd1'); Send-SocketData $using:id $using:data -Timeout 60 }
        $back = Receive-SocketData $s -Count $data.Length -AsBytes -Timeout 60
        $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop
        $job | Remove-Job -Force
        Get-BytesSha256 $back | Should -Be (Get-BytesSha256 $data)
    }

    It 'holds a conversation and records a transcript like a TCP session' {
        $s = Connect-UnixSocket $EchoPath
        $log = Join-Path $Dir "conv-$([Guid]::NewGuid().ToString('n')).log"
        Start-SocketTranscript $s -Path $log
        $t = Invoke-SocketConversation $s @(@{ Send = 'HELLO unix'; Expect = 'HELLO unix' })
        $t.Success | Should -BeTrue
        Stop-SocketTranscript $s | Out-Null
        Get-Content -Raw $log | Should -Match 'HELLO unix'
    }

    It 'closes with Remove-SocketSession' {
        $s = Connect-UnixSocket $EchoPath
        Remove-SocketSession $s
        $s.State | Should -Be 'Closed'
        Get-SocketSession | Where-Object Id -EQ $s.Id | Should -BeNullOrEmpty
    }

    It 'reaches a datagram socket only with -Datagram (WrongSocketType, not the raw EPROTOTYPE text)' {
        Connect-UnixSocket $EchoPath -Datagram -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^WrongSocketType,'
        $e[0].Exception.Message | Should -Match 'leave out -Datagram'
        $e[0].Exception.Message | Should -Not -Match 'Protocol wrong type'
    }
}

Describe 'Connect-UnixSocket -Datagram' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Remove-AllSocketSessions }

    It 'sends datagrams to a python3 SOCK_DGRAM receiver, one per item, and reads its answer' {
        $path = Join-Path $Dir 'py-dgram.sock'
        $got = Join-Path $Dir 'py-dgram.txt'
        $code = @'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
for i in range(2):
    data, addr = s.recvfrom(65536)
    with open(sys.argv[2], 'ab') as f: f.write(data + b'|')
    if addr: s.sendto(b'ack:' + data, addr)
'@
        $null = Start-UnixSocketPeer /usr/bin/python3 @('-c', $code, $path, $got) $path $script:Peers
        $s = Connect-UnixSocket $path -Datagram
        $s.Kind | Should -Be 'UnixDatagram'
        '<13>job done', 'second' | Send-SocketData $s -Timeout 10
        $answers = Receive-SocketData $s -Count 2 -Timeout 30
        $answers.Text | Should -Be 'ack:<13>job done', 'ack:second'
        Wait-Until { (Test-Path $got) -and (Get-Content -Raw $got) -eq '<13>job done|second|' } -TimeoutSec 30 | Should -BeTrue
    }

    It 'gets each datagram back from socat UNIX-RECVFROM with its boundaries kept' {
        $path = Join-Path $Dir 'socat-dgram.sock'
        $null = Start-UnixSocketPeer (Get-Command socat).Source @("UNIX-RECVFROM:$path,fork", 'PIPE') $path $script:Peers
        $s = Connect-UnixSocket $path -Datagram
        Send-SocketData $s 'alpha' -Timeout 10
        $d = Receive-SocketData $s -Timeout 20
        $d.Text | Should -Be 'alpha'
        "$($d.RemoteEndPoint)" | Should -Be $path
    }

    It 'refuses a stream socket with -Datagram and a datagram socket without it' {
        $path = Join-Path $Dir 'dgram-only.sock'
        $null = Start-UnixSocketPeer /usr/bin/python3 @('-c', 'import socket,sys,time; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); time.sleep(600)', $path) $path $script:Peers
        Connect-UnixSocket $path -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^WrongSocketType,'
        $e[0].Exception.Message | Should -Match 'add -Datagram'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe 'Abstract names (@name, Linux)' -Skip:(-not $IsLinux) {
    AfterEach { Remove-AllSocketSessions }

    It 'listens, connects and accepts on an abstract name, with no file anywhere' {
        $name = "@pssocket-test-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $l = New-UnixListener $name
        $l.Path | Should -Be $name
        $c = Connect-UnixSocket $name
        $a = Wait-TcpConnection $l -Timeout 30
        Send-SocketData $c 'abstract' -Line
        Receive-SocketData $a -Line -Timeout 10 | Should -Be 'abstract'
        $c.Path | Should -Be $name
    }

    It 'reaches an abstract name socat listens on' {
        if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer; return }
        $name = "pssocket-socat-$PID"
        $p = Start-Peer (Get-Command socat).Source @("ABSTRACT-LISTEN:$name,fork", 'PIPE')
        $script:Peers.Add($p)
        $s = $null
        Wait-Until { $script:s = Connect-UnixSocket "@$name" -ErrorAction SilentlyContinue; $script:s } -TimeoutSec 60 | Should -BeTrue
        Send-SocketData $script:s 'via abstract' -Line
        Receive-SocketData $script:s -Line -Timeout 10 | Should -Be 'via abstract'
    }
}

Describe 'New-UnixListener' {
    AfterEach { Remove-AllSocketSessions }

    It 'accepts clients as Unix sessions showing the peer process, user and group (a client run as nobody)' {
        $path = Join-Path $Dir 'creds.sock'
        $l = New-UnixListener $path -Mode 0666
        $job = Start-ThreadJob { & setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/python3 -c 'import os,socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"%d\n" % os.getpid()); s.recv(1)' $using:path 2>&1 }
        try {
            $a = Wait-TcpConnection $l -Timeout 60
            $a.Kind | Should -Be 'Unix'
            $clientPid = [int] (Receive-SocketData $a -Line -Timeout 30)
            $a.ProcessId | Should -Be $clientPid
            $a.UserId | Should -Be ([int] (id -u nobody))
            $a.GroupId | Should -Be ([int] (getent group nogroup).Split(':')[2])
            Send-SocketData $a 'x'
        }
        finally { $job | Wait-Job -Timeout 30 | Remove-Job -Force }
    }

    It 'sets -Mode 0600 so another user (nobody) is refused, while 0666 lets it in' {
        $closed = Join-Path $Dir 'owner-only.sock'
        $open = Join-Path $Dir 'everyone.sock'
        $l1 = New-UnixListener $closed -Mode 0600
        $l2 = New-UnixListener $open -Mode 0666
        $l1.Mode | Should -Be '0600'
        (Get-Item $closed).UnixFileMode | Should -Be ([IO.UnixFileMode] 'UserRead, UserWrite')
        $try = 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("connected")'
        $r1 = Invoke-AsNobody $try $closed
        $r1.ExitCode | Should -Not -Be 0
        $r1.Output | Should -Match 'PermissionError|Permission denied'
        $r2 = Invoke-AsNobody $try $open
        $r2.Output | Should -Be 'connected'
        (Wait-TcpConnection $l2 -Timeout 30).Kind | Should -Be 'Unix'
    }

    It 'refuses an existing stale socket without -Force, replaces it with -Force' {
        $path = Join-Path $Dir 'stale.sock'
        $py = 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])'
        & /usr/bin/python3 -c $py $path
        Test-Path $path | Should -BeTrue
        Connect-UnixSocket $path -ErrorAction SilentlyContinue -ErrorVariable refused | Should -BeNullOrEmpty
        $refused[0].FullyQualifiedErrorId | Should -Match '^ConnectionRefused,'
        New-UnixListener $path -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^AddressInUse,'
        $e[0].Exception.Message | Should -Match '-Force'
        $l = New-UnixListener $path -Force
        $l.State | Should -Be 'Listening'
        $c = Connect-UnixSocket $path
        (Wait-TcpConnection $l -Timeout 30).Kind | Should -Be 'Unix'
    }

    It 'never removes a regular file, -Force or not (NotASocket), and Connect-UnixSocket says it is not a socket' {
        $path = Join-Path $Dir 'precious.txt'
        Set-Content -Path $path -Value 'keep me'
        New-UnixListener $path -Force -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^NotASocket,'
        Get-Content $path | Should -Be 'keep me'
        Connect-UnixSocket $path -ErrorAction SilentlyContinue -ErrorVariable c | Should -BeNullOrEmpty
        $c[0].FullyQualifiedErrorId | Should -Match '^NotASocket,'
    }

    It 'never takes over a live socket, even with -Force (AddressInUse), and the live one keeps working' {
        if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer; return }
        $path = Start-SocatEcho
        New-UnixListener $path -Force -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^AddressInUse,'
        $s = Connect-UnixSocket $path
        Send-SocketData $s 'still here' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'still here'
    }

    It 'removes its own socket file when removed' {
        $path = Join-Path $Dir 'own.sock'
        $l = New-UnixListener $path
        Test-Path $path | Should -BeTrue
        Remove-SocketSession $l
        Test-Path $path | Should -BeFalse
    }

    It 'refuses a bad -Mode before creating anything' {
        $path = Join-Path $Dir 'badmode.sock'
        { New-UnixListener $path -Mode 'rw-------' } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.NewUnixListenerCommand'
        Test-Path $path | Should -BeFalse
    }
}

Describe 'Completion of socket paths' {
    AfterEach { Remove-AllSocketSessions }

    It 'offers the socket files and folders under what is typed, not the regular files' {
        $folder = Join-Path $Dir 'complete'
        New-Item -ItemType Directory -Path (Join-Path $folder 'sub') -Force | Out-Null
        Set-Content -Path (Join-Path $folder 'notes.txt') -Value 'x'
        $l = New-UnixListener (Join-Path $folder 'app.sock')
        $line = "Connect-UnixSocket $folder/"
        $found = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $found | Should -Contain "$folder/app.sock"
        $found | Should -Contain "$folder/sub/"
        $found | Should -Not -Contain "$folder/notes.txt"
    }
}

Describe 'Errors with stable ErrorIds' {
    It 'says no such socket (SocketNotFound, ObjectNotFound)' {
        Connect-UnixSocket (Join-Path $Dir 'missing.sock') -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^SocketNotFound,'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e[0].TargetObject | Should -Be (Join-Path $Dir 'missing.sock')
    }

    It 'gives the sun_path limit for a path too long (InvalidArgument)' {
        $long = '/tmp/' + ('d' * 120) + '.sock'
        Connect-UnixSocket $long -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^InvalidArgument,'
        $e[0].Exception.Message | Should -Match "at most $(if ($IsMacOS) { 103 } else { 107 }) bytes"
    }

    It 'goes on with the next path of a pipeline after one fails' {
        if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer; return }
        $good = Start-SocatEcho
        $sessions = (Join-Path $Dir 'nothing.sock'), $good | Connect-UnixSocket -ErrorAction SilentlyContinue -ErrorVariable e
        @($sessions).Count | Should -Be 1
        $e.Count | Should -Be 1
        Remove-AllSocketSessions
    }
}

Describe 'Start-SocketServer -UnixSocket and Start-SocketRelay with Unix sockets' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Remove-AllSocketSessions }

    It 'serves each client of a Unix socket with the script block and removes the socket file when stopped' {
        $path = Join-Path $Dir 'srv.sock'
        $srv = Start-SocketServer -UnixSocket $path { $l = Receive-SocketData $_ -Line -Timeout 30; Send-SocketData $_ "uid $($_.UserId) said $l" -Line }
        "$($srv.LocalEndPoint)" | Should -Be $path
        $c = Connect-UnixSocket $path
        Send-SocketData $c 'hi' -Line
        Receive-SocketData $c -Line -Timeout 30 | Should -Be "uid $(id -u) said hi"
        Stop-SocketServer $srv
        Wait-Until { -not (Test-Path $path) } -TimeoutSec 30 | Should -BeTrue
    }

    It 'relays a loopback TCP port to a Unix socket (-TargetUnixSocket)' {
        $echo = Start-SocatEcho
        $r = Start-SocketRelay -Port 0 -TargetUnixSocket $echo
        $t = Connect-TcpSocket 127.0.0.1 $r.Port
        Send-SocketData $t 'tcp to unix' -Line
        Receive-SocketData $t -Line -Timeout 30 | Should -Be 'tcp to unix'
    }

    It 'relays a Unix socket to a Unix socket and to a TCP port (-UnixSocket)' {
        $echo = Start-SocatEcho
        $front = Join-Path $Dir 'front.sock'
        $null = Start-SocketRelay -UnixSocket $front -TargetUnixSocket $echo
        $u = Connect-UnixSocket $front
        Send-SocketData $u 'unix to unix' -Line
        Receive-SocketData $u -Line -Timeout 30 | Should -Be 'unix to unix'

        $tcpEcho = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command socat).Source @("TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'PIPE') }
        $script:Peers.Add($tcpEcho.Process)
        $front2 = Join-Path $Dir 'front2.sock'
        $r2 = Start-SocketRelay -UnixSocket $front2 -ComputerName 127.0.0.1 -TargetPort $tcpEcho.Port
        $u2 = Connect-UnixSocket $front2
        Send-SocketData $u2 'unix to tcp' -Line
        Receive-SocketData $u2 -Line -Timeout 30 | Should -Be 'unix to tcp'
        Remove-SocketSession $r2
        Wait-Until { -not (Test-Path $front2) } -TimeoutSec 30 | Should -BeTrue
    }
}

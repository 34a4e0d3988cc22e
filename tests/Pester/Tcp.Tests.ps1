BeforeDiscovery {
    # IPv6 loopback may be switched off (containers): these tests need [::1] to bind, not only the API.
    $script:HasIPv6Loopback = try {
        $probe = [System.Net.Sockets.Socket]::new([System.Net.Sockets.AddressFamily]::InterNetworkV6, 'Stream', 'Tcp')
        try { $probe.Bind([System.Net.IPEndPoint]::new([ipaddress]::IPv6Loopback, 0)); $true } finally { $probe.Dispose() }
    }
    catch { $false }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # A connected pair on loopback through the module's own listener: $client and $server sessions.
    function New-LoopbackPair {
        param([string] $Encoding)
        $extra = @{}
        if ($Encoding) { $extra.Encoding = $Encoding }
        $l = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -NoDelay @extra
        $s = Wait-TcpConnection $l -Timeout 5
        Remove-SocketSession $l
        [pscustomobject]@{ Client = $c; Server = $s }
    }

    # Connects to a one-shot peer that is still starting (a probe connection would use it up).
    function Connect-WhenReady {
        param([int] $Port)
        for ($i = 0; $i -lt 100; $i++) {
            $s = Connect-TcpSocket 127.0.0.1 $Port -Timeout 2 -ErrorAction SilentlyContinue
            if ($s) { return $s }
            Start-Sleep -Milliseconds 50
        }
        throw "nothing accepted on port $Port"
    }

    function Get-ErrorOf {
        param([scriptblock] $Script)
        $ErrorActionPreference = 'Continue'
        @(& $Script 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    }
}

Describe 'Connect-TcpSocket and Receive-SocketData against redis-server' {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer redis-server @('--port', "$port", '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no') }
        $redis = $peerOnPort.Process
        $port = $peerOnPort.Port
        $r = Connect-TcpSocket -ComputerName 127.0.0.1 -Port $port -Name redis
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $redis
    }

    It 'answers PING with +PONG' {
        Send-SocketData redis "PING`r`n"
        Receive-SocketData redis -Line -Timeout 5 | Should -Be '+PONG'
    }

    It 'stores and returns a 100 KB value through RESP' {
        $value = 'the quick brown fox jumps over the lazy dog 0123456789 ~!@#$%^&*()_+{}|:<>? ' * 1400
        $value = $value.Substring(0, 102400)
        $cmd = "*3`r`n`$3`r`nSET`r`n`$6`r`nbigkey`r`n`$$($value.Length)`r`n$value`r`n"
        Send-SocketData $r $cmd
        Receive-SocketData $r -Line -Timeout 5 | Should -Be '+OK'
        Send-SocketData $r "*2`r`n`$3`r`nGET`r`n`$6`r`nbigkey`r`n"
        Receive-SocketData $r -Line -Timeout 5 | Should -Be "`$102400"
        $got = Receive-SocketData $r -Count 102400 -Timeout 10
        $got | Should -BeExactly $value
        (Receive-SocketData $r -Count 2 -AsBytes -Timeout 5) | Should -Be @(13, 10)
        $r.Available | Should -Be 0
    }

    It 'reads three lines sent in one write with three -Line calls' {
        Send-SocketData $r "*2`r`n`$4`r`nECHO`r`n`$4`r`nabcd`r`n" # bulk reply: 2 lines
        Send-SocketData $r "PING`r`n"                             # with the PONG: three lines, one segment likely
        $pair = New-LoopbackPair
        Send-SocketData $pair.Server "first`nsecond`r`nthird`n"
        Receive-SocketData $pair.Client -Line -Timeout 5 | Should -Be 'first'
        Receive-SocketData $pair.Client -Line -Timeout 5 | Should -Be 'second'
        Receive-SocketData $pair.Client -Line -Timeout 5 | Should -Be 'third'
        Receive-SocketData $r -Line -Count 3 -Timeout 5 | Should -Be @('$4', 'abcd', '+PONG')
    }
}

Describe 'A 32 MiB file both ways through socat' {
    BeforeAll {
        $src = Join-Path ([IO.Path]::GetTempPath()) "pssocket-src-$PID.bin"
        $dst = Join-Path ([IO.Path]::GetTempPath()) "pssocket-dst-$PID.bin"
        New-RandomFile -Path $src -Size 32MB
        $srcHash = (Get-FileHash $src -Algorithm SHA256).Hash
    }
    AfterEach {
        Remove-AllSocketSessions
        if ($peer) { Stop-Peer $peer; $peer = $null }
        Remove-Item $dst -ErrorAction SilentlyContinue
    }
    AfterAll { Remove-Item $src -ErrorAction SilentlyContinue }

    It 'sends a file with Send-SocketData -Path' {
        $port = Get-FreeTcpPort
        $peer = Start-Peer socat @('-u', "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr", "CREATE:$dst")
        $s = Connect-WhenReady $port
        Send-SocketData $s -Path $src -Timeout 30
        $s.BytesSent | Should -Be 32MB
        Remove-SocketSession $s
        $peer.WaitForExit(30000) | Should -BeTrue
        (Get-FileHash $dst -Algorithm SHA256).Hash | Should -Be $srcHash
    }

    It 'receives a file with Receive-SocketData -ToEnd -Path' {
        $port = Get-FreeTcpPort
        $peer = Start-Peer socat @('-u', "OPEN:$src", "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr")
        $s = Connect-WhenReady $port
        Receive-SocketData $s -ToEnd -Path $dst -Timeout 30
        (Get-FileHash $dst -Algorithm SHA256).Hash | Should -Be $srcHash
        $s.State | Should -Be 'RemoteClosed'
    }

    It 'receives exactly -Count bytes into a file and leaves the rest buffered' {
        $port = Get-FreeTcpPort
        $peer = Start-Peer socat @('-u', "OPEN:$src", "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr")
        $s = Connect-WhenReady $port
        Receive-SocketData $s -Count (32MB - 10) -Path $dst -Timeout 30
        $tail = Receive-SocketData $s -ToEnd -AsBytes -Timeout 30
        $tail.Length | Should -Be 10
        $fs = [IO.File]::Open($dst, 'Append')
        try { $fs.Write($tail, 0, $tail.Length) } finally { $fs.Dispose() }
        (Get-FileHash $dst -Algorithm SHA256).Hash | Should -Be $srcHash
    }
}

Describe 'Receive-SocketData modes' {
    BeforeEach { $p = New-LoopbackPair }
    AfterEach { Remove-AllSocketSessions }

    It 'times out with ReceiveTimeout, keeps the session Open and the data intact' {
        Send-SocketData $p.Server 'abc'
        $err = Get-ErrorOf { Receive-SocketData $p.Client -Count 5 -Timeout 0.5 }
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $p.Client.State | Should -Be 'Open'
        $p.Client.Available | Should -Be 3
        Receive-SocketData $p.Client -Count 3 -Timeout 5 | Should -Be 'abc'
    }

    It 'gives a later read the bytes that arrived after a timeout' {
        $err = Get-ErrorOf { Receive-SocketData $p.Client -Timeout 0.3 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
        Send-SocketData $p.Server 'late'
        Receive-SocketData $p.Client -Timeout 5 | Should -Be 'late'
    }

    It 'returns buffered data after the peer closes, then shows RemoteClosed, then fails with RemoteClosed' {
        Send-SocketData $p.Server 'bye'
        Remove-SocketSession $p.Server
        Start-Sleep -Milliseconds 100
        Receive-SocketData $p.Client -Timeout 5 | Should -Be 'bye'
        $p.Client.State | Should -Be 'RemoteClosed'
        $err = Get-ErrorOf { Receive-SocketData $p.Client -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteClosed,*'
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'keeps bytes after the -Until delimiter for the next call' {
        Send-SocketData $p.Server 'key=value;next'
        Receive-SocketData $p.Client -Until ';' -Timeout 5 | Should -Be 'key=value;'
        Receive-SocketData $p.Client -Count 4 -Timeout 5 | Should -Be 'next'
    }

    It 'finds an -Until delimiter that arrives in pieces' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'; Receive-SocketData -Session $($p.Client.Id) -Until 'END' -Timeout 10")
            $h = $ps.BeginInvoke()
            Send-SocketData $p.Server 'data E'
            Start-Sleep -Milliseconds 200
            Send-SocketData $p.Server 'NDrest'
            $h.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
            $ps.EndInvoke($h) | Should -Be 'data END'
        }
        finally { $ps.Dispose() }
        Receive-SocketData $p.Client -Timeout 5 | Should -Be 'rest'
    }

    It 'reads up to a -Pattern match and keeps the rest' {
        Send-SocketData $p.Server "login: admin`nPassword: tail"
        Receive-SocketData $p.Client -Pattern 'Pass\w+:\s*' -Timeout 5 | Should -Be "login: admin`nPassword: "
        Receive-SocketData $p.Client -Timeout 5 | Should -Be 'tail'
        Send-SocketData $p.Server 'code=42;'
        $m = Receive-SocketData $p.Client -Pattern 'code=(\d+);' -AsMatch -Timeout 5
        $m.Groups[1].Value | Should -Be '42'
    }

    It 'fails with ReceiveLimitExceeded at -MaxBytes and keeps the data readable with -Count' {
        $blob = 'x' * 5000
        Send-SocketData $p.Server $blob
        Start-Sleep -Milliseconds 100
        $err = Get-ErrorOf { Receive-SocketData $p.Client -Line -MaxBytes 1000 -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveLimitExceeded,*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $p.Client.State | Should -Be 'Open'
        Receive-SocketData $p.Client -Count 5000 -Timeout 5 | Should -BeExactly $blob
    }

    It 'returns the exact bytes with -AsBytes' {
        [byte[]] $bytes = 0..255
        Send-SocketData $p.Server -Data $bytes
        $got = Receive-SocketData $p.Client -Count 256 -AsBytes -Timeout 5
        $got.GetType() | Should -Be ([byte[]])
        [Convert]::ToHexString($got) | Should -Be ([Convert]::ToHexString($bytes))
    }

    It 'sends each pipeline item in order and -Line appends the NewLine' {
        'a', 'b', 'c' | Send-SocketData $p.Server -Line
        Receive-SocketData $p.Client -Count 6 -Timeout 5 | Should -Be "a`nb`nc`n"
        $p.Server.NewLine = "`r`n"
        Send-SocketData $p.Server 'crlf' -Line -PassThru | Should -Be $p.Server
        (Receive-SocketData $p.Client -Count 6 -AsBytes -Timeout 5) | Should -Be @(99, 114, 108, 102, 13, 10)
    }

    It 'round-trips latin1 and unicode text' {
        Send-SocketData $p.Server 'café' -Encoding latin1
        (Receive-SocketData $p.Client -Count 4 -AsBytes -Timeout 5) | Should -Be @(0x63, 0x61, 0x66, 0xE9)
        Send-SocketData $p.Server 'café' -Encoding latin1
        Receive-SocketData $p.Client -Count 4 -Encoding latin1 -Timeout 5 | Should -BeExactly 'café'
        Send-SocketData $p.Server 'héllo wörld' -Encoding unicode -Line
        Receive-SocketData $p.Client -Line -Encoding unicode -Timeout 5 | Should -BeExactly 'héllo wörld'
    }

    It 'uses the session encoding given to Connect-TcpSocket' {
        Remove-AllSocketSessions
        $q = New-LoopbackPair -Encoding latin1
        $q.Client.Encoding.CodePage | Should -Be 28591
        Send-SocketData $q.Client 'ÿ'
        (Receive-SocketData $q.Server -Count 1 -AsBytes -Timeout 5) | Should -Be 0xFF
    }

    It 'does not cut a UTF-8 character that arrives in two writes' {
        $euro = [Text.Encoding]::UTF8.GetBytes('a€')
        Send-SocketData $p.Server -Data ([byte[]] $euro[0..1])
        Start-Sleep -Milliseconds 100
        Receive-SocketData $p.Client -Timeout 5 | Should -BeExactly 'a'
        Send-SocketData $p.Server -Data ([byte[]] $euro[2..3])
        Receive-SocketData $p.Client -Timeout 5 | Should -BeExactly '€'
    }

    It 'is stopped by Stop() (Ctrl+C) at once and the session keeps its buffered data' {
        Send-SocketData $p.Server 'keep'
        $ps = New-ModulePowerShell
        try {
            $null = $ps.AddScript("Receive-SocketData -Session $($p.Client.Id) -Until 'never' -Timeout 0")
            $h = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 500
            $h.IsCompleted | Should -BeFalse
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
        $p.Client.State | Should -Be 'Open'
        Receive-SocketData $p.Client -Count 4 -Timeout 5 | Should -Be 'keep'
        Send-SocketData $p.Server 'more'
        Receive-SocketData $p.Client -Timeout 5 | Should -Be 'more'
    }
}

Describe 'Connect-TcpSocket failures and targets' {
    BeforeAll { Remove-AllSocketSessions }
    AfterEach { Remove-AllSocketSessions }

    It 'reports a refused port as ConnectionRefused and registers nothing' {
        $before = @(Get-SocketSession).Count
        $port = Get-FreeTcpPort
        $err = Get-ErrorOf { Connect-TcpSocket 127.0.0.1 $port -Timeout 5 }
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionRefused,*'
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $err[0].TargetObject | Should -Match "$port"
        @(Get-SocketSession).Count | Should -Be $before
    }

    It 'reports an unresolvable name as HostNotFound' {
        $err = Get-ErrorOf { Connect-TcpSocket no-such-host.invalid 80 -Timeout 15 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        @(Get-SocketSession).Count | Should -Be 0
    }

    It 'connects to IPv6 ::1' -Skip:(-not $HasIPv6Loopback) {
        $l = New-TcpListener -Address IPv6Loopback -Port 0
        $c = Connect-TcpSocket '::1' $l.Port -Timeout 5
        $c.RemoteEndPoint.Address | Should -Be ([ipaddress]::IPv6Loopback)
        $c2 = Connect-TcpSocket "[::1]:$($l.Port)" -AddressFamily IPv6 -Timeout 5
        $c2.State | Should -Be 'Open'
        $s = Wait-TcpConnection $l -Timeout 5 -Count 2
        $s.Count | Should -Be 2
    }

    It 'connects each piped target and one dead target does not stop the others' {
        $l = New-TcpListener -Port 0
        $dead = Get-FreeTcpPort
        $targets = @(
            [pscustomobject]@{ ComputerName = '127.0.0.1'; Port = $l.Port }
            [pscustomobject]@{ ComputerName = '127.0.0.1'; Port = $dead }
            [pscustomobject]@{ ComputerName = 'localhost'; Port = $l.Port }
        )
        $err = $null
        $sessions = $targets | Connect-TcpSocket -Timeout 5 -ErrorAction SilentlyContinue -ErrorVariable err
        $sessions.Count | Should -Be 2
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionRefused,*'
        $sessions | ForEach-Object { $_.RemoteEndPoint.Port | Should -Be $l.Port }
    }

    It 'refuses a -Name a live session already has with DuplicateSessionName' {
        $l = New-TcpListener -Port 0 -Name dupname
        $err = Get-ErrorOf { Connect-TcpSocket 127.0.0.1 $l.Port -Name DupName -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DuplicateSessionName,*'
        @(Get-SocketSession -Kind Tcp).Count | Should -Be 0
    }
}

Describe 'Resets, files and bad input' {
    AfterEach {
        Remove-AllSocketSessions
        if ($peer) { Stop-Peer $peer; $peer = $null }
    }

    It 'shows Faulted and ConnectionReset when the peer resets, and earlier-buffered data is still readable' {
        $port = Get-FreeTcpPort
        # A python3 peer that sends 'abc', then closes with SO_LINGER 0, which sends a reset.
        $script = @"
import socket, struct, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', $port)); l.listen(1)
c, _ = l.accept(); c.sendall(b'abc'); c.recv(1)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close(); time.sleep(5)
"@
        $peer = Start-Peer python3 @('-c', $script)
        $s = Connect-WhenReady $port
        Receive-SocketData $s -Count 1 -Timeout 5 | Should -Be 'a'
        $s.Available | Should -Be 2
        Send-SocketData $s 'x'
        $err = Get-ErrorOf { Receive-SocketData $s -Count 5 -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionReset,*'
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $s.State | Should -Be 'Faulted'
        $s.CloseReason | Should -Not -BeNullOrEmpty
        Receive-SocketData $s -Count 2 -Timeout 5 | Should -Be 'bc'
        $err = Get-ErrorOf { Receive-SocketData $s -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionReset,*'
    }

    It 'times out a -Path receive when the peer stalls, keeping what arrived' {
        $p = New-LoopbackPair
        $file = Join-Path ([IO.Path]::GetTempPath()) "pssocket-stall-$PID.bin"
        try {
            Send-SocketData $p.Server 'abc'
            $err = Get-ErrorOf { Receive-SocketData $p.Client -Count 10 -Path $file -Timeout 0.5 }
            $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
            Get-Content -Raw $file | Should -Be 'abc'
            $p.Client.State | Should -Be 'Open'
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }

    It 'writes every line of -Line -Count to the -Path file' {
        $p = New-LoopbackPair
        $file = Join-Path ([IO.Path]::GetTempPath()) "pssocket-lines-$PID.txt"
        try {
            Send-SocketData $p.Server "l1`r`nl2`nl3`nrest"
            Receive-SocketData $p.Client -Line -Count 3 -Path $file -Timeout 5
            Get-Content $file | Should -Be @('l1', 'l2', 'l3')
            Receive-SocketData $p.Client -Timeout 5 | Should -Be 'rest'
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }

    It 'reports a -Path it cannot write before taking any data' {
        $p = New-LoopbackPair
        Send-SocketData $p.Server "line`n"
        $bad = Join-Path ([IO.Path]::GetTempPath()) 'no-such-dir-pssocket/out.txt'
        $err = Get-ErrorOf { Receive-SocketData $p.Client -Line -Path $bad -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FileOpenFailed,*'
        Receive-SocketData $p.Client -Line -Timeout 5 | Should -Be 'line'
    }

    It 'reports a missing -Path file to send without touching the session' {
        $p = New-LoopbackPair
        $err = Get-ErrorOf { Send-SocketData $p.Client -Path (Join-Path ([IO.Path]::GetTempPath()) 'no-such-file.bin') }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FileOpenFailed,*'
        $p.Client.State | Should -Be 'Open'
        $p.Client.BytesSent | Should -Be 0
    }

    It 'rejects an invalid -Pattern before reading' {
        $p = New-LoopbackPair
        { Receive-SocketData $p.Client -Pattern '([' -Timeout 1 } | Should -Throw -ErrorId 'InvalidPattern*'
    }

    It 'reports a connect nobody answers as ConnectionTimedOut and registers nothing' {
        # A listener that never accepts: once its queue is full the kernel drops further SYNs.
        $l = New-TcpListener -Backlog 1
        $timedOut = $null
        for ($i = 0; $i -lt 8 -and -not $timedOut; $i++) {
            $before = @(Get-SocketSession).Count
            $err = Get-ErrorOf { Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 1 }
            if ($err) {
                $timedOut = $err[0]
                @(Get-SocketSession).Count | Should -Be $before
            }
        }
        $timedOut.FullyQualifiedErrorId | Should -BeLike 'ConnectionTimedOut,*'
        $timedOut.CategoryInfo.Category | Should -Be 'OperationTimeout'
    }

    It 'stops a connect nobody answers at once on Ctrl+C, even with -Timeout 0, and registers nothing' {
        # A listener that never accepts, its queue filled: the kernel drops further SYNs.
        $l = New-TcpListener -Backlog 1
        $fill = @(for ($i = 0; $i -lt 4; $i++) {
                $c = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
                $null = $c.ConnectAsync('127.0.0.1', $l.Port)
                $c
            })
        $ps = New-ModulePowerShell
        try {
            Start-Sleep -Milliseconds 300
            $before = @(Get-SocketSession).Count
            $null = $ps.AddScript("Connect-TcpSocket 127.0.0.1 $($l.Port) -Timeout 0")
            $h = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 1000
            $h.IsCompleted | Should -BeFalse -Because 'nothing answers the connect'
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            @(Get-SocketSession).Count | Should -Be $before
        }
        finally {
            $ps.Dispose()
            $fill | ForEach-Object Dispose
        }
    }

    It 'ends a receive in another runspace with SessionClosed when the session is removed' {
        $p = New-LoopbackPair
        $ps = New-ModulePowerShell
        try {
            $null = $ps.AddScript("Receive-SocketData -Session $($p.Client.Id) -ToEnd -Timeout 20")
            $h = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 300
            Remove-SocketSession $p.Client
            $h.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
            $null = $ps.EndInvoke($h)
            $ps.Streams.Error.Count | Should -Be 1
            $ps.Streams.Error[0].FullyQualifiedErrorId | Should -BeLike 'SessionClosed,*'
        }
        finally { $ps.Dispose() }
    }

    It 'fails a send the peer does not take with SendTimeout and keeps the session Open' {
        $p = New-LoopbackPair
        $blob = [byte[]]::new(64MB)
        $err = Get-ErrorOf { Send-SocketData $p.Client -Data $blob -Timeout 1 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SendTimeout,*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $p.Client.State | Should -Be 'Open'
        # The queued write finishes once the peer reads, so nothing is reordered or lost.
        $sink = Join-Path ([IO.Path]::GetTempPath()) "pssocket-sink-$PID.bin"
        try {
            Receive-SocketData $p.Server -Count 64MB -Path $sink -Timeout 30
            (Get-Item $sink).Length | Should -Be 64MB
        }
        finally { Remove-Item $sink -ErrorAction SilentlyContinue }
        Send-SocketData $p.Client 'after' -Timeout 10
        Receive-SocketData $p.Server -Timeout 10 | Should -Be 'after'
    }

    It 'accepts host:port and asks for a port when there is none' {
        $l = New-TcpListener
        $c = Connect-TcpSocket "127.0.0.1:$($l.Port)" -Timeout 5
        $c.RemoteEndPoint.Port | Should -Be $l.Port
        $err = Get-ErrorOf { Connect-TcpSocket 127.0.0.1 -Timeout 5 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
    }
}

Describe 'Connect-TcpSocket targets' {
    AfterEach { Remove-AllSocketSessions }

    It 'connects to an IPv4-mapped IPv6 address (::ffff:127.0.0.1) as Test-TcpPort reaches it' {
        $peer = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command python3).Source @((Join-Path $PSScriptRoot 'peers/send-bytes.py'), $port, '6869') }
        try {
            (Test-TcpPort '::ffff:127.0.0.1' -Port $peer.Port).Status | Should -Be 'Open'
            foreach ($target in @('::ffff:127.0.0.1', '[::ffff:127.0.0.1]')) {
                $s = Connect-TcpSocket $target $peer.Port -Timeout 10
                $s.RemoteEndPoint.Address | Should -Be ([ipaddress] '127.0.0.1')
                Receive-SocketData $s -Count 2 -Timeout 10 | Should -Be 'hi'
            }
            $s = Connect-TcpSocket "[::ffff:127.0.0.1]:$($peer.Port)" -Timeout 10
            Receive-SocketData $s -Count 2 -Timeout 10 | Should -Be 'hi'
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'takes a well-known service name for -Port and after host: (the table Test-TcpPort uses)' {
        # Whether or not something listens on the service's port here, the port tried is the service's.
        foreach ($case in @(@{ Args = @('127.0.0.1', 'http'); Port = 80 }, @{ Args = @('127.0.0.1:redis'); Port = 6379 }, @{ Args = @('127.0.0.1', 'HTTPS'); Port = 443 })) {
            $err = $null
            $a = $case.Args
            $s = Connect-TcpSocket @a -Timeout 5 -ErrorAction SilentlyContinue -ErrorVariable err
            if ($s) { $s.RemoteEndPoint.Port | Should -Be $case.Port }
            else { "$($err[0].TargetObject)" | Should -Be "127.0.0.1:$($case.Port)" }
        }
        { Connect-TcpSocket 127.0.0.1 no-such-service } | Should -Throw '*no-such-service*'
    }

    It 'writes a non-terminating InvalidArgument for a blank entry, naming its position, and connects the rest' {
        $l = New-TcpListener
        $err = $null
        $sessions = @("127.0.0.1:$($l.Port)", '', "  `r", "127.0.0.1:$($l.Port)" | Connect-TcpSocket -ErrorAction SilentlyContinue -ErrorVariable err)
        $sessions.Count | Should -Be 2
        $err.Count | Should -Be 2
        $err | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*' }
        "$($err[0])" | Should -Match 'Entry 2'
        "$($err[1])" | Should -Match 'Entry 3'
        "$($err[1])" | Should -Match ([regex]::Escape('\r'))
    }
}

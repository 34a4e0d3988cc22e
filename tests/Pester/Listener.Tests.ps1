BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # Starts a client process whose standard output the test reads (Start-Peer drains it away).
    function Start-Client {
        param([string] $FilePath, [string[]] $ArgumentList)
        $psi = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
        foreach ($a in $ArgumentList) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardInput = $true
        $p = [System.Diagnostics.Process]::Start($psi)
        $p.BeginErrorReadLine()
        $p
    }

    function Read-ClientLine {
        param($Process, [int] $TimeoutMs = 10000)
        $t = $Process.StandardOutput.ReadLineAsync()
        if (-not $t.Wait($TimeoutMs)) { throw "no line from $($Process.ProcessName) within $TimeoutMs ms" }
        $t.Result
    }

    function Get-ErrorOf {
        param([scriptblock] $Script)
        $ErrorActionPreference = 'Continue'
        @(& $Script 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    }
}

Describe 'New-TcpListener and Wait-TcpConnection' {
    BeforeAll { Remove-AllSocketSessions }
    AfterEach {
        Remove-AllSocketSessions
        if ($client) { Stop-Peer $client; $client = $null }
    }

    It 'binds 127.0.0.1 on a port the system picks, shown on the session' {
        $l = New-TcpListener
        $l.Kind | Should -Be 'TcpListener'
        $l.State | Should -Be 'Listening'
        $l.LocalEndPoint.Address | Should -Be ([ipaddress]::Loopback)
        $l.Port | Should -BeGreaterThan 0
        $l.LocalEndPoint.Port | Should -Be $l.Port
    }

    It 'binds every interface, IPv4 and IPv6, with -Address Any' {
        $l = New-TcpListener -Port 0 -Address Any
        $l.LocalEndPoint.Address | Should -BeIn @([ipaddress]::IPv6Any, [ipaddress]::Any)
        $a = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 5
        $a.State | Should -Be 'Open'
        $v6 = try { $t = [Net.Sockets.TcpListener]::new([ipaddress]::IPv6Loopback, 0); $t.Start(); $t.Stop(); $true } catch { $false }
        if ($v6 -and $l.LocalEndPoint.Address -eq [ipaddress]::IPv6Any) {
            $b = Connect-TcpSocket '::1' $l.Port -Timeout 5
            $b.State | Should -Be 'Open'
        }
    }

    It 'reports a port in use as AddressInUse' {
        $l = New-TcpListener -Port 0
        $err = Get-ErrorOf { New-TcpListener -Port $l.Port }
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddressInUse,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        @(Get-SocketSession -Kind TcpListener).Count | Should -Be 1
    }

    It 'rejects an address that is not local with InvalidArgument' {
        $err = Get-ErrorOf { New-TcpListener -Address 'not-an-ip' }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
    }

    It 'times out with AcceptTimeout when nobody connects, and stays Listening' {
        $l = New-TcpListener
        $err = Get-ErrorOf { Wait-TcpConnection $l -Timeout 0.3 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AcceptTimeout,*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        $l.State | Should -Be 'Listening'
    }

    It 'talks with an ncat client both ways' {
        $l = New-TcpListener -Name ncatlistener
        $client = Start-Client ncat @('127.0.0.1', "$($l.Port)")
        $s = Wait-TcpConnection ncatlistener -Timeout 10 -Name fromncat
        $s.Kind | Should -Be 'Tcp'
        $s.Name | Should -Be 'fromncat'
        $s.RemoteEndPoint.Address | Should -Be ([ipaddress]::Loopback)
        $client.StandardInput.WriteLine('hello from ncat')
        $client.StandardInput.Flush()
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'hello from ncat'
        Send-SocketData $s 'hello from pwsh' -Line
        Read-ClientLine $client | Should -Be 'hello from pwsh'
        $client.StandardInput.Close()
        Receive-SocketData $s -ToEnd -Timeout 10 | Should -Be ''
        $s.State | Should -Be 'RemoteClosed'
        $l.AcceptedCount | Should -Be 1
    }

    It 'answers curl with a small HTTP response' {
        $l = New-TcpListener
        $client = Start-Client curl @('-s', '-m', '10', "http://127.0.0.1:$($l.Port)/hello?x=1")
        $s = Wait-TcpConnection $l -Timeout 10
        $request = Receive-SocketData $s -Until "`r`n`r`n" -Timeout 10
        $request | Should -Match '^GET /hello\?x=1 HTTP/1\.1\r\n'
        $request | Should -Match "Host: 127\.0\.0\.1:$($l.Port)"
        $body = 'hi curl'
        Send-SocketData $s "HTTP/1.1 200 OK`r`nContent-Type: text/plain`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n$body"
        Remove-SocketSession $s
        $client.WaitForExit(10000) | Should -BeTrue
        $client.ExitCode | Should -Be 0
        $client.StandardOutput.ReadToEnd() | Should -Be $body
    }

    It 'accepts -Count clients, each a registered session, and keeps listening' {
        $l = New-TcpListener
        $c = 1..3 | ForEach-Object { Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 5 }
        $accepted = Wait-TcpConnection $l -Count 3 -Timeout 10 -Name worker
        $accepted.Count | Should -Be 3
        $accepted.Name | Should -Be @('worker1', 'worker2', 'worker3')
        @(Get-SocketSession -Name 'worker*').Count | Should -Be 3
        $l.State | Should -Be 'Listening'
        $late = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 5
        (Wait-TcpConnection $l -Timeout 5).RemoteEndPoint.Port | Should -Be $late.LocalEndPoint.Port
    }

    It 'hands a client that connects after a timed-out wait to the next wait' {
        $l = New-TcpListener
        $null = Get-ErrorOf { Wait-TcpConnection $l -Timeout 0.2 }
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 5
        $s = Wait-TcpConnection $l -Timeout 5
        $s.RemoteEndPoint.Port | Should -Be $c.LocalEndPoint.Port
    }

    It 'refuses a session that is not a listener with WrongSessionKind' {
        $l = New-TcpListener
        $c = Connect-TcpSocket 127.0.0.1 $l.Port
        $err = Get-ErrorOf { Wait-TcpConnection $c -Timeout 1 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind,*'
    }

    It 'is stopped by Stop() while waiting for a client' {
        $l = New-TcpListener
        $ps = New-ModulePowerShell
        try {
            $null = $ps.AddScript("Wait-TcpConnection $($l.Id)")
            $h = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 300
            $h.IsCompleted | Should -BeFalse
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne(10000) | Should -BeTrue
        }
        finally { $ps.Dispose() }
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Timeout 5
        (Wait-TcpConnection $l -Timeout 5).RemoteEndPoint.Port | Should -Be $c.LocalEndPoint.Port
    }
}

Describe 'New-TcpListener -Certificate: handshakes run concurrently' {
    BeforeAll {
        $script:TlsDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-listener-tls-$([guid]::NewGuid().ToString('n'))"
        New-Item -ItemType Directory $script:TlsDir | Out-Null
        & openssl req -x509 -newkey rsa:2048 -nodes -keyout "$script:TlsDir/key.pem" -out "$script:TlsDir/cert.pem" -days 1 -subj '/CN=localhost' -addext 'subjectAltName=DNS:localhost' 2>&1 | Out-Null
        & openssl pkcs12 -export -inkey "$script:TlsDir/key.pem" -in "$script:TlsDir/cert.pem" -out "$script:TlsDir/server.pfx" -passout pass: 2>&1 | Out-Null
    }
    AfterAll { Remove-Item -Recurse -Force $script:TlsDir -ErrorAction Ignore }
    AfterEach { Remove-AllSocketSessions }

    It 'returns the openssl s_client that completes first, not the silent connection accepted before it' {
        $listener = New-TcpListener -Port 0 -Certificate "$script:TlsDir/server.pfx"
        # accepted first, never says a word: before, Wait-TcpConnection sat in its handshake for 30 s
        $silent = Start-Peer python3 '-c', "import socket, time; s = socket.create_connection(('127.0.0.1', $($listener.Port))); time.sleep(120)"
        $client = $null
        try {
            Start-Sleep -Milliseconds 300
            $client = Start-Client openssl 's_client', '-connect', "127.0.0.1:$($listener.Port)", '-servername', 'localhost', '-CAfile', "$script:TlsDir/cert.pem", '-verify_return_error', '-quiet'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $s = Wait-TcpConnection $listener -Timeout 25
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $s.IsTls | Should -BeTrue
            $s.TlsServerName | Should -Be 'localhost'
            Send-SocketData $s 'hello over tls' -Line
            $client.StandardOutput.ReadLineAsync().Wait(10000) | Should -BeTrue
        }
        finally {
            Stop-Peer $silent
            if ($client) { Stop-Peer $client }
        }
    }

    It 'drops port probes that close or reset before a byte, so a -Count 1 wait returns the real client with no error' {
        $listener = New-TcpListener -Port 0 -Certificate "$script:TlsDir/server.pfx"
        Test-TcpPort 127.0.0.1 $listener.Port -Quiet | Should -BeTrue
        # one probe closes (FIN), one resets (SO_LINGER 0), both before sending a byte
        $py = Start-Peer python3 '-c', @"
import socket, struct
a = socket.create_connection(('127.0.0.1', $($listener.Port))); a.close()
b = socket.create_connection(('127.0.0.1', $($listener.Port)))
b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); b.close()
"@
        $client = $null
        try {
            $py.WaitForExit(20000) | Should -BeTrue
            $client = Start-Client openssl 's_client', '-connect', "127.0.0.1:$($listener.Port)", '-servername', 'localhost', '-CAfile', "$script:TlsDir/cert.pem", '-quiet'
            $err = $null
            $s = Wait-TcpConnection $listener -Timeout 25 -ErrorVariable err
            $err | Should -BeNullOrEmpty
            $s.IsTls | Should -BeTrue
            Wait-Until { $listener.ClientsReset -ge 3 } | Should -BeTrue
            $listener.State | Should -Be 'Listening'
        }
        finally {
            Stop-Peer $py
            if ($client) { Stop-Peer $client }
        }
    }

    It 'keeps a client whose handshake completed while nobody waited for the next Wait-TcpConnection' {
        $listener = New-TcpListener -Port 0 -Certificate "$script:TlsDir/server.pfx"
        { Wait-TcpConnection $listener -Timeout 0.2 } | Should -Throw -ErrorId 'AcceptTimeout*'
        $client = Start-Client openssl 's_client', '-connect', "127.0.0.1:$($listener.Port)", '-servername', 'localhost', '-CAfile', "$script:TlsDir/cert.pem", '-quiet'
        try {
            Start-Sleep -Seconds 1
            $s = Wait-TcpConnection $listener -Timeout 15
            $s.IsTls | Should -BeTrue
        }
        finally { Stop-Peer $client }
    }
}

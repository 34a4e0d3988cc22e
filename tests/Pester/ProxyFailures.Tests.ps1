# When the proxy itself fails: Test-TcpPort -Proxy writes one error per proxy failure (not a silent
# Error per port) and its rows say why; a host name with a line break never reaches a proxy; a
# hostile proxy that echoes the credential does not get it into an error; a malformed -Proxy is the
# module's own error, with the password redacted. Peers: tinyproxy (HTTP CONNECT, Basic auth),
# microsocks (SOCKS5 with a password), a port nothing listens on, and python3 fake proxies that
# record what reaches them or answer 407 with the credential they were sent.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-proxyfail-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    $script:Secret = 'Pr0xy-s3cret'
    $script:Cred = [pscredential]::new('alice', (ConvertTo-SecureString $Secret -AsPlainText -Force))
    $script:WrongCred = [pscredential]::new('alice', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))

    function Start-TestPeer([string] $FilePath, [string[]] $ArgumentList, [int] $Port) {
        $p = Start-Peer -FilePath $FilePath -ArgumentList $ArgumentList
        $script:Peers.Add($p)
        Wait-TcpPort -Port $Port -TimeoutSec 60
    }

    # A target that answers: a listener this file owns.
    $script:Target = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
    $Target.Start()
    $script:TargetPort = $Target.LocalEndpoint.Port

    $script:NoTiny = Get-PeerSkipReason tinyproxy
    if (-not $NoTiny) {
        $script:Tiny = Get-FreeTcpPort
        $conf = Join-Path $Dir 'tinyproxy.conf'
        $users = if ($IsLinux -and (id -u) -eq '0') { "User nobody`nGroup nogroup" } else { '' }
        Set-Content -Path $conf -Value "Port $Tiny`nListen 127.0.0.1`nTimeout 30`nMaxClients 50`nBasicAuth alice $Secret`n$users"
        Start-TestPeer (Get-Command tinyproxy).Source @('-d', '-c', $conf) $Tiny
    }

    $script:NoSocks = Get-PeerSkipReason microsocks
    if (-not $NoSocks) {
        $script:Socks = Get-FreeTcpPort
        Start-TestPeer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', $Socks, '-u', 'alice', '-P', $Secret) $Socks
    }

    # Fake proxies: 'record' writes every byte it receives to a file and answers 200; 'echo407'
    # answers 407 with the decoded Proxy-Authorization in its reason phrase, as a hostile proxy could.
    $script:NoPython = Get-PeerSkipReason python3
    if (-not $NoPython) {
        $py = Join-Path $Dir 'fakeproxy.py'
        Set-Content $py -Value @'
import base64, socket, sys, threading
mode, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(50)
def serve(c):
    data = b""
    c.settimeout(10)
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk: break
            data += chunk
        with open(log, "ab") as f: f.write(data)
        if mode == "echo407":
            auth = ""
            for line in data.split(b"\r\n"):
                if line.lower().startswith(b"proxy-authorization: basic "):
                    auth = base64.b64decode(line.split(b" ")[2]).decode("utf-8", "replace")
            c.sendall(("HTTP/1.1 407 bad login " + auth + "\r\nContent-Length: 0\r\n\r\n").encode())
        else:
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    except Exception:
        pass
    finally:
        c.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
'@
        $script:RecordLog = Join-Path $Dir 'record.log'
        $script:Record = Get-FreeTcpPort
        Start-TestPeer python3 @($py, 'record', $Record, $RecordLog) $Record
        $script:EchoLog = Join-Path $Dir 'echo.log'
        $script:Echo407 = Get-FreeTcpPort
        Start-TestPeer python3 @($py, 'echo407', $Echo407, $EchoLog) $Echo407
    }
}

AfterAll {
    Remove-AllSocketSessions
    $Peers | Stop-Peer
    if ($Target) { $Target.Stop() }
    Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue
}

Describe 'Test-TcpPort -Proxy when the proxy itself fails' {
    It 'writes one ProxyAuthenticationFailed error for a proxy that refuses the credential (tinyproxy), and the rows say why' {
        if ($NoTiny) { Set-ItResult -Skipped -Because $NoTiny; return }
        $rows = @(Test-TcpPort 127.0.0.1 -Port $TargetPort, ($TargetPort + 1), ($TargetPort + 2) -Proxy "http://127.0.0.1:$Tiny" -ProxyCredential $WrongCred -Timeout 10 -ErrorVariable bad -ErrorAction SilentlyContinue)
        $rows.Count | Should -Be 3
        $rows.Status | Sort-Object -Unique | Should -Be 'Error'
        @($bad).Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        "$($bad[0])" | Should -Not -Match 'not-the-password'
        $table = $rows | Out-String -Width 80
        ($table -replace '\s+', ' ') | Should -Match 'rejected the user name or password'
        foreach ($line in $table -split "`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }

    It 'lets -ErrorAction Stop catch a wrong SOCKS5 password (microsocks)' {
        if ($NoSocks) { Set-ItResult -Skipped -Because $NoSocks; return }
        { Test-TcpPort 127.0.0.1 $TargetPort -Proxy "socks5://127.0.0.1:$Socks" -ProxyCredential $WrongCred -Timeout 10 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProxyAuthenticationFailed,PSSocket.Commands.TestTcpPortCommand'
        (Test-TcpPort 127.0.0.1 $TargetPort -Proxy "socks5://127.0.0.1:$Socks" -ProxyCredential $Cred -Timeout 10).Status | Should -Be 'Open'
    }

    It 'writes one ProxyUnreachable error for a proxy nothing listens on, whatever the number of ports' {
        $dead = Get-FreeTcpPort
        $rows = @(Test-TcpPort 127.0.0.1 -Port 1-5 -Proxy "socks5://127.0.0.1:$dead" -Timeout 10 -ErrorVariable bad -ErrorAction SilentlyContinue)
        $rows.Count | Should -Be 5
        @($bad).Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'ProxyUnreachable,*'
        "$($bad[0].TargetObject)" | Should -Match "127\.0\.0\.1:$dead"
        $rows[0].Detail | Should -Match 'could not be reached'
    }
}

Describe 'A host name with control characters never reaches a proxy' {
    It 'refuses CR/LF in -ComputerName before any request, for every proxy kind (InvalidArgument)' {
        if ($NoPython) { Set-ItResult -Skipped -Because $NoPython; return }
        $evil = "127.0.0.1:$TargetPort HTTP/1.1`r`nX-Injected: 1`r`n`r`nGET /admin"
        foreach ($scheme in 'http', 'socks5h', 'socks4a', 'socks5') {
            $e = $null
            Connect-TcpSocket $evil $TargetPort -Proxy "$($scheme)://127.0.0.1:$Record" -Timeout 5 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
            "$($e[0])" | Should -Match 'control character'
        }
        $e = $null
        $rows = Test-TcpPort $evil -Port $TargetPort -Proxy "http://127.0.0.1:$Record" -Timeout 5 -ErrorVariable e -ErrorAction SilentlyContinue
        $rows | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        { Start-SocketRelay 0 $evil $TargetPort -Proxy "http://127.0.0.1:$Record" -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StartSocketRelayCommand'
        Start-Sleep -Milliseconds 300
        (Test-Path $RecordLog) -and (Get-Content -Raw $RecordLog) | Should -BeFalse -Because 'nothing may reach the proxy'
    }
}

Describe 'What a hostile or malformed proxy cannot make the module show' {
    It 'leaves out a 407 reason that repeats the credential sent (python3 fake proxy)' {
        if ($NoPython) { Set-ItResult -Skipped -Because $NoPython; return }
        $e = $null
        Connect-TcpSocket 127.0.0.1 $TargetPort -Proxy "http://127.0.0.1:$Echo407" -ProxyCredential $Cred -Timeout 10 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        (Get-Content -Raw $EchoLog) | Should -Match 'Proxy-Authorization' -Because 'the fake proxy got the credential, so its answer carried it'
        "$($e[0])" | Should -Match 'HTTP 407'
        "$($e[0]) $($e[0].Exception.InnerException)" | Should -Not -Match ([regex]::Escape($Secret))
        $rows = Test-TcpPort 127.0.0.1 $TargetPort -Proxy "http://127.0.0.1:$Echo407" -ProxyCredential $Cred -Timeout 10 -ErrorVariable e2 -ErrorAction SilentlyContinue
        "$($rows.Detail) $($e2)" | Should -Not -Match ([regex]::Escape($Secret))
    }

    It 'takes -Proxy as text and shows its own error for a malformed URI, with the password redacted' {
        foreach ($cmd in { Connect-TcpSocket 127.0.0.1 $TargetPort -Proxy 'socks5://u:pw-S3cret@bad host' -ErrorAction Stop },
            { Test-TcpPort 127.0.0.1 $TargetPort -Proxy 'socks5://u:pw-S3cret@bad host' -ErrorAction Stop },
            { Start-SocketRelay 0 127.0.0.1 $TargetPort -Proxy 'socks5://u:pw-S3cret@bad host' -ErrorAction Stop }) {
            $err = $null
            try { & $cmd } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
            "$err" | Should -Not -Match 'pw-S3cret'
            "$err" | Should -Match 'not a proxy'
        }
    }

    It 'completes -Proxy with proxy schemes, not file names' {
        $names = (TabExpansion2 -inputScript ($s = 'Test-TcpPort 127.0.0.1 22 -Proxy ') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'socks5h://'
        $names | Should -Not -Match '[\\/]\w'
    }
}

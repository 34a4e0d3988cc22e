# What a hostile peer can make PSSocket do, each attack against a real peer on loopback: certificates
# that point at URLs the attacker chooses, silent connections, escape sequences in certificate names.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-hostile-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    # A web server that accepts and never answers, counting connections (the AIA and CRL address).
    function Start-SilentHttp {
        param([string] $Name)
        $portFile = Join-Path $script:Dir "$Name.port"
        $countFile = Join-Path $script:Dir "$Name.count"
        $p = Start-Peer python3 @((Join-Path $PSScriptRoot 'peers/silent-http.py'), $portFile, $countFile)
        $script:Peers.Add($p)
        $null = Wait-Until { Test-Path $portFile } -TimeoutSec 60
        if (-not (Test-Path $portFile)) { throw "silent-http.py did not start (exited: $($p.HasExited))" }
        [pscustomobject]@{ Port = [int] (Get-Content -Raw $portFile); CountFile = $countFile }
    }
    function Get-Fetches { param($Http) [int] ((Get-Content -Raw $Http.CountFile) -split ' ')[0] }

    function New-Cert {
        param([string] $Name, [string] $Subject, [string] $Extensions, [string] $Ca)
        $key = Join-Path $script:Dir "$Name.key"; $pem = Join-Path $script:Dir "$Name.pem"; $ext = Join-Path $script:Dir "$Name.ext"
        Set-Content -Path $ext -Value $Extensions
        if (-not $Ca) {
            $cfg = Join-Path $script:Dir "$Name.cnf"
            Set-Content -Path $cfg -Value "[req]`ndistinguished_name = dn`n[dn]`n[v3_req]`n$Extensions"
            Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $pem -days 2 -subj $Subject -extensions v3_req -config $cfg
        }
        else {
            $csr = Join-Path $script:Dir "$Name.csr"
            Invoke-OpenSsl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $csr -subj $Subject
            Invoke-OpenSsl x509 -req -in $csr -CA (Join-Path $script:Dir "$Ca.pem") -CAkey (Join-Path $script:Dir "$Ca.key") -CAcreateserial -out $pem -days 2 -extfile $ext
        }
        $pem
    }

    $script:Aia = Start-SilentHttp aia
    $unique = [Guid]::NewGuid().ToString('n').Substring(0, 8)
    $caExt = "basicConstraints=critical,CA:TRUE`nkeyUsage=critical,keyCertSign,cRLSign"
    $script:RootPem = New-Cert -Name root -Subject "/CN=PSSocket Hostile Root $unique" -Extensions $caExt
    # The intermediate is never sent: a chain builder that wants it must fetch it from the AIA URL.
    $null = New-Cert -Name inter -Subject "/CN=PSSocket Hostile Intermediate $unique" -Extensions $caExt -Ca root
    $aiaUrl = "http://127.0.0.1:$($script:Aia.Port)/inter.crt"
    $script:AiaClientPem = New-Cert -Name aiaclient -Subject '/CN=aia-client' -Ca inter -Extensions "basicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=clientAuth`nauthorityInfoAccess=caIssuers;URI:$aiaUrl"
    $script:AiaServerPem = New-Cert -Name aiaserver -Subject '/CN=localhost' -Ca inter -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth`nauthorityInfoAccess=caIssuers;URI:$aiaUrl"
    $script:ServerPem = New-Cert -Name server -Subject '/CN=localhost' -Ca root -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth"
    $script:GoodClientPem = New-Cert -Name goodclient -Subject '/CN=good-client' -Ca root -Extensions "basicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=clientAuth"

    # Certificates of the trusted root whose CRL lives on the silent server, or at too many addresses.
    $script:Crl = Start-SilentHttp crl
    $crlUrl = "http://127.0.0.1:$($script:Crl.Port)/root.crl"
    $script:CrlClientPem = New-Cert -Name crlclient -Subject '/CN=crl-client' -Ca root -Extensions "basicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=clientAuth`ncrlDistributionPoints=URI:$crlUrl"
    $script:CrlServerPem = New-Cert -Name crlserver -Subject '/CN=localhost' -Ca root -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth`ncrlDistributionPoints=URI:$crlUrl"
    $many = (1..6 | ForEach-Object { "URI:http://127.0.0.1:$($script:Crl.Port)/many$_.crl" }) -join ','
    $script:ManyCrlServerPem = New-Cert -Name manycrl -Subject '/CN=localhost' -Ca root -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth`ncrlDistributionPoints=$many"

    # A self-signed certificate whose names carry a terminal title sequence, a forged line and a C1 CSI.
    $script:EvilSubject = "/CN=evil`e]0;pwned`a`r`nFORGED LINE/O=x$([char]0x9b)31m"
    $evilKey = Join-Path $script:Dir 'evil.key'
    Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $evilKey -out (Join-Path $script:Dir 'evil.pem') -days 2 -utf8 -subj $script:EvilSubject
    # Whether text holds a raw control character (a line feed only as a line of its own) or the forged line.
    function Test-Raw { param([string] $Text) $Text -match "[\x00-\x08\x0b-\x1f\x7f-\x9f]" -or $Text -match '(?m)^FORGED' }

    # openssl s_client presenting a certificate; its output goes to a file.
    function Start-CertClient {
        param([int] $Port, [string] $Name, [string] $Send = '')
        $out = Join-Path $script:Dir "$Name-$([Guid]::NewGuid().ToString('n').Substring(0, 6)).out"
        $cmd = "(printf '$Send'; sleep 20) | exec openssl s_client -connect 127.0.0.1:$Port -cert '$(Join-Path $script:Dir "$Name.pem")' -key '$(Join-Path $script:Dir "$Name.key")' -CAfile '$script:RootPem' -quiet > '$out' 2>&1"
        $p = Start-Peer bash @('-c', $cmd)
        $script:Peers.Add($p)
        [pscustomobject]@{ Process = $p; Output = $out }
    }

    function Stop-TestPeer {
        param([System.Diagnostics.Process] $Process)
        $null = $script:Peers.Remove($Process)
        Stop-Peer $Process
    }

    # 300 connections from python3 that never send a byte; returns once they are all open.
    function Start-SilentFlood {
        param([int] $Port, [int] $Count = 300)
        $ready = Join-Path $script:Dir "flood-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $p = Start-Peer python3 @((Join-Path $PSScriptRoot 'peers/silent-flood.py'), $Port, $Count, $ready)
        $script:Peers.Add($p)
        $null = Wait-Until { Test-Path $ready } -TimeoutSec 60
        if (-not (Test-Path $ready)) { throw "silent-flood.py did not open its connections (exited: $($p.HasExited))" }
        $p
    }

    function Start-OpenSslServer {
        param([string] $Name)
        $port = Get-FreeTcpPort
        $p = Start-Peer openssl @('s_server', '-accept', "127.0.0.1:$port", '-cert', (Join-Path $script:Dir "$Name.pem"), '-key', (Join-Path $script:Dir "$Name.key"), '-quiet', '-www')
        $script:Peers.Add($p)
        Wait-TcpPort -Port $port -TimeoutSec 60
        $port
    }
}

AfterAll {
    Get-SocketSession | Remove-SocketSession
    foreach ($p in $script:Peers) { Stop-Peer $p }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'A peer certificate whose missing issuer is named by an AIA URL that never answers' {
    It 'Start-SocketServer -RequireClientCertificate refuses the client without fetching the URL, within the handshake timeout' {
        $before = Get-Fetches $script:Aia
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RootPem { 'served' }
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $c = Start-CertClient -Port $srv.Port -Name aiaclient
            Wait-Until { $srv.ClientsFailed -ge 1 } -TimeoutSec 30 | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $r = @(Receive-SocketServerOutput $srv)
            $r[0].Errors[0].Exception.Message | Should -Match 'untrusted root'
            Start-Sleep -Milliseconds 500
            (Get-Fetches $script:Aia) - $before | Should -Be 0
        }
        finally { Stop-SocketServer $srv; Stop-TestPeer $c.Process }
    }

    It 'New-TcpListener -RequireClientCertificate refuses the client without fetching the URL' {
        $before = Get-Fetches $script:Aia
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RootPem
        try {
            $c = Start-CertClient -Port $listener.Port -Name aiaclient
            Wait-TcpConnection $listener -Timeout 30 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].Exception.Message | Should -Match 'untrusted root'
            Start-Sleep -Milliseconds 500
            (Get-Fetches $script:Aia) - $before | Should -Be 0
        }
        finally { Remove-SocketSession $listener; Stop-TestPeer $c.Process }
    }

    It 'Connect-TcpSocket -UseTls refuses the server without fetching the URL' {
        $port = Start-OpenSslServer aiaserver
        $before = Get-Fetches $script:Aia
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Connect-TcpSocket 127.0.0.1 $port -UseTls -TlsServerName localhost -TrustedCertificate $script:RootPem -Timeout 30 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $err[0].Exception.Message | Should -Match 'untrusted root'
        Start-Sleep -Milliseconds 500
        (Get-Fetches $script:Aia) - $before | Should -Be 0
    }

    It 'Test-TcpPort -Tls reports the certificate invalid without fetching the URL' {
        $port = Start-OpenSslServer aiaserver
        $before = Get-Fetches $script:Aia
        $r = Test-TcpPort 127.0.0.1 $port -Tls -TlsServerName localhost -TrustedCertificate $script:RootPem -Timeout 30 -ErrorAction SilentlyContinue
        $r.Status | Should -Be Open
        $r.CertificateValid | Should -BeFalse
        Start-Sleep -Milliseconds 500
        (Get-Fetches $script:Aia) - $before | Should -Be 0
    }
}

Describe 'Revocation lists that a peer certificate names, fetched only with -CheckRevocation and bounded' {
    It 'Start-SocketServer -CheckRevocation refuses a client whose CRL never comes, with RevocationUnknown naming it, within the handshake timeout' {
        $before = Get-Fetches $script:Crl
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RootPem -CheckRevocation { 'served' }
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $c = Start-CertClient -Port $srv.Port -Name crlclient
            Wait-Until { $srv.ClientsFailed -ge 1 } -TimeoutSec 30 | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $r = @(Receive-SocketServerOutput $srv)
            $r[0].Errors[0].Exception.Message | Should -Match "root\.crl"
            (Get-Fetches $script:Crl) - $before | Should -BeLessOrEqual 1
        }
        finally { Stop-SocketServer $srv; Stop-TestPeer $c.Process }
    }

    It 'Start-SocketServer without -CheckRevocation fetches no CRL and serves the client' {
        $before = Get-Fetches $script:Crl
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RootPem { 'served' }
        try {
            $c = Start-CertClient -Port $srv.Port -Name crlclient
            Wait-Until { $srv.ClientsAccepted -ge 1 -and $srv.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
            $srv.ClientsFailed | Should -Be 0
            (Get-Fetches $script:Crl) - $before | Should -Be 0
        }
        finally { Stop-SocketServer $srv; Stop-TestPeer $c.Process }
    }

    It 'a handshake that times out while the CRL is fetched names the revocation fetch and its URL' {
        $port = Start-OpenSslServer crlserver
        Connect-TcpSocket 127.0.0.1 $port -UseTls -TlsServerName localhost -TrustedCertificate $script:RootPem -CheckRevocation -Timeout 2 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RevocationUnknown,*'
        $err[0].Exception.Message | Should -Match "revocation check \(-CheckRevocation\) was still fetching .*http://127\.0\.0\.1:$($script:Crl.Port)/root\.crl"
        $err[0].Exception.Message | Should -Not -Match 'speaking TLS'
    }

    It 'fetches no CRL for a certificate naming more CRL addresses than the bound' {
        $port = Start-OpenSslServer manycrl
        $before = Get-Fetches $script:Crl
        Connect-TcpSocket 127.0.0.1 $port -UseTls -TlsServerName localhost -TrustedCertificate $script:RootPem -CheckRevocation -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RevocationUnknown,*'
        $err[0].Exception.Message | Should -Match 'names 6 revocation list addresses, more than the 4'
        (Get-Fetches $script:Crl) - $before | Should -Be 0
    }
}

Describe 'Silent connections on a TLS listening surface do not delay a real client' {
    It 'Start-SocketServer -Certificate serves a TLS client at once while 300 silent connections are open' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem { Send-SocketData $_ 'served' -Line }
        try {
            $flood = Start-SilentFlood -Port $srv.Port
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $c = Connect-TcpSocket localhost $srv.Port -AddressFamily IPv4 -UseTls -TrustedCertificate $script:RootPem -Timeout 30
            Receive-SocketData $c -Line -Timeout 30 | Should -Be 'served'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            Remove-SocketSession $c
        }
        finally { Stop-SocketServer $srv; Stop-TestPeer $flood }
    }

    It 'New-TcpListener -Certificate hands a TLS client to Wait-TcpConnection at once while 300 silent connections are open' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem
        try {
            # The first wait starts accepting ahead; the flood then meets the listener, not a full backlog.
            Wait-TcpConnection $listener -Timeout 0.1 -ErrorAction SilentlyContinue
            $flood = Start-SilentFlood -Port $listener.Port
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps = New-ModulePowerShell
            $null = $ps.AddScript("Connect-TcpSocket localhost $($listener.Port) -AddressFamily IPv4 -UseTls -TrustedCertificate '$script:RootPem' -Timeout 30 | Send-SocketData -Data 'hello' -Line -PassThru").BeginInvoke()
            $s = Wait-TcpConnection $listener -Timeout 30
            Receive-SocketData $s -Line -Timeout 30 | Should -Be 'hello'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            $listener.HandshakesPushedOut | Should -BeGreaterThan 0
        }
        finally { Remove-SocketSession $listener; Stop-TestPeer $flood; if ($ps) { $ps.Dispose() } }
    }

    It 'Start-SocketRelay -Certificate relays a TLS client at once while 300 silent connections are open' {
        $target = Start-SocketServer -Port 0 { Send-SocketData $_ 'relayed' -Line }
        $relay = Start-SocketRelay 0 127.0.0.1 $target.Port -Certificate $script:ServerPem
        try {
            $flood = Start-SilentFlood -Port $relay.Port
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $c = Connect-TcpSocket localhost $relay.Port -AddressFamily IPv4 -UseTls -TrustedCertificate $script:RootPem -Timeout 30
            Receive-SocketData $c -Line -Timeout 30 | Should -Be 'relayed'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            Remove-SocketSession $c
        }
        finally { Stop-SocketServer $relay; Stop-SocketServer $target; Stop-TestPeer $flood }
    }
}

Describe 'Control characters in a hostile certificate never reach the console raw' {
    BeforeAll {
        $script:EvilPort = Start-OpenSslServer evil
        # PowerShell's own header colours are escape sequences too: views are compared as plain text.
        $script:Rendering = $PSStyle.OutputRendering
        $PSStyle.OutputRendering = 'PlainText'
    }
    AfterAll { $PSStyle.OutputRendering = $script:Rendering }

    It 'Test-TcpPort -Tls escapes the subject and issuer in its result, its table and its error' {
        $r = Test-TcpPort 127.0.0.1 $script:EvilPort -Tls -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue
        $r.CertificateSubject | Should -BeLike '*\e]0;pwned\x07\r\nFORGED LINE*'
        Test-Raw $r.CertificateSubject | Should -BeFalse
        Test-Raw $r.CertificateIssuer | Should -BeFalse
        Test-Raw ($r | Format-Table | Out-String -Width 400) | Should -BeFalse
        Test-Raw ($r | Format-List | Out-String -Width 400) | Should -BeFalse
        $err.Count | Should -BeGreaterThan 0
        Test-Raw $err[0].Exception.Message | Should -BeFalse
    }

    It 'Connect-TcpSocket -UseTls escapes them in its error and in the session views' {
        Connect-TcpSocket 127.0.0.1 $script:EvilPort -UseTls -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'evil\\e\]0;pwned'
        Test-Raw $err[0].Exception.Message | Should -BeFalse
        $s = Connect-TcpSocket 127.0.0.1 $script:EvilPort -UseTls -SkipCertificateCheck -Timeout 20
        try {
            Test-Raw ($s | Format-List | Out-String -Width 400) | Should -BeFalse
            Test-Raw ($s | Format-Table -View Tls | Out-String -Width 400) | Should -BeFalse
            Test-Raw (Get-SocketSession -Id $s.Id | Out-String -Width 400) | Should -BeFalse
            $s.CertificateSubject | Should -BeLike '*\e]0;pwned*'
        }
        finally { Remove-SocketSession $s }
    }

    It 'Start-SocketRelay -UseTls escapes them in the record of a refused target' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:EvilPort -UseTls
        try {
            $c = Connect-TcpSocket 127.0.0.1 $relay.Port
            Wait-Until { $relay.ClientsFailed -ge 1 } -TimeoutSec 30 | Should -BeTrue
            $r = @(Receive-SocketServerOutput $relay)
            $r[0].Errors[0].Exception.Message | Should -Match 'evil\\e\]0;pwned'
            Test-Raw $r[0].Errors[0].Exception.Message | Should -BeFalse
            Test-Raw ($r | Format-Table | Out-String -Width 400) | Should -BeFalse
            Test-Raw ($r | Format-List | Out-String -Width 400) | Should -BeFalse
        }
        finally { Stop-SocketServer $relay; if ($c) { Remove-SocketSession $c } }
    }
}

Describe 'A symbolic link planted where PSSocket writes a file is never followed' {
    BeforeAll {
        # A peer that sends a line as soon as a client connects, and keeps the connection open.
        $script:Talker = Start-PeerOnFreePort {
            param($port)
            Start-Peer python3 @('-c', "import socket,time`ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',$port));s.listen(8)`nheld=[]`nwhile True:`n c,_=s.accept();c.sendall(b'peer data\n');held.append(c)")
        } -TimeoutSec 60
        $script:Peers.Add($script:Talker.Process)
        $script:Shared = Join-Path $script:Dir 'shared'
        New-Item -ItemType Directory $script:Shared | Out-Null
    }

    BeforeEach {
        # The victim: a file of the caller's that a link in the shared folder points at.
        $script:Victim = Join-Path $script:Dir "victim-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        Set-Content -Path $script:Victim -Value 'precious' -NoNewline
        chmod 0644 $script:Victim
        $script:Link = Join-Path $script:Shared "log-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $null = New-Item -ItemType SymbolicLink -Path $script:Link -Target $script:Victim
    }

    It 'Start-SocketRelay -TranscriptPath refuses the link (PermissionDenied, saying why) and leaves its target as it was' {
        # Relays stopped by earlier tests stay listed as Stopped: a refused start adds none.
        $relaysBefore = @(Get-SocketSession -Kind Relay).Count
        { Start-SocketRelay 0 127.0.0.1 $script:Talker.Port -TranscriptPath $script:Link } | Should -Throw -ErrorId 'PermissionDenied,*'
        try { Start-SocketRelay 0 127.0.0.1 $script:Talker.Port -TranscriptPath $script:Link } catch { $_.Exception.Message | Should -Match 'symbolic link' }
        Get-Content -Raw $script:Victim | Should -Be 'precious'
        (stat -c '%a' $script:Victim) | Should -Be '644'
        @(Get-SocketSession -Kind Relay).Count | Should -Be $relaysBefore
    }

    It 'Start-SocketTranscript and Receive-SocketData -Path refuse the link and leave its target as it was' {
        $s = Connect-TcpSocket 127.0.0.1 $script:Talker.Port
        try {
            Start-SocketTranscript $s -Path $script:Link -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'PermissionDenied,*'
            $err[0].Exception.Message | Should -Match 'symbolic link'
            Receive-SocketData $s -Line -Path $script:Link -Timeout 10 -ErrorVariable err2 -ErrorAction SilentlyContinue
            $err2[0].FullyQualifiedErrorId | Should -BeLike 'PermissionDenied,*'
            Get-Content -Raw $script:Victim | Should -Be 'precious'
            (stat -c '%a' $script:Victim) | Should -Be '644'
        }
        finally { Remove-SocketSession $s }
    }

    It 'Connect-TcpSocket -TranscriptPath creates no file through a dangling link' {
        $target = Join-Path $script:Dir "created-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $dangling = Join-Path $script:Shared "dangling-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $null = New-Item -ItemType SymbolicLink -Path $dangling -Target $target
        $s = Connect-TcpSocket 127.0.0.1 $script:Talker.Port -TranscriptPath $dangling -ErrorVariable err -ErrorAction SilentlyContinue
        try {
            $err[0].Exception.Message | Should -Match 'symbolic link'
            Test-Path $target | Should -BeFalse
        }
        finally { if ($s) { Remove-SocketSession $s } }
    }

    It 'still writes a transcript to a plain file, readable by its owner only' {
        $file = Join-Path $script:Shared "plain-$([Guid]::NewGuid().ToString('n').Substring(0, 6)).log"
        $s = Connect-TcpSocket 127.0.0.1 $script:Talker.Port -TranscriptPath $file
        try {
            Receive-SocketData $s -Line -Timeout 10 | Should -Be 'peer data'
            Wait-Until { (Get-Content -Raw $file) -match 'peer data' } | Should -BeTrue
            (stat -c '%a' $file) | Should -Be '600'
        }
        finally { Remove-SocketSession $s }
    }
}

Describe 'A secret the peer echoes back stays out of the transcript' {
    BeforeAll {
        # Echoes every read back in two pieces (a split echo), as a device with echo on may.
        $script:Echoer = Start-PeerOnFreePort {
            param($port)
            Start-Peer python3 @('-c', "import socket,threading,time`ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',$port));s.listen(8)`ndef serve(c):`n while True:`n  d=c.recv(4096)`n  if not d: return`n  c.sendall(d[:5]); time.sleep(0.2); c.sendall(d[5:])`nwhile True:`n c,_=s.accept(); threading.Thread(target=serve,args=(c,),daemon=True).start()")
        } -TimeoutSec 60
        $script:Peers.Add($script:Echoer.Process)
    }

    It 'writes the echo of a secret sent with Send-SocketData as ******** and keeps the rest of the reply' {
        $log = Join-Path $script:Dir "echo-$([Guid]::NewGuid().ToString('n').Substring(0, 6)).log"
        $s = Connect-TcpSocket 127.0.0.1 $script:Echoer.Port -TranscriptPath $log
        try {
            Send-SocketData $s (ConvertTo-SecureString 'hunter2-Sesame' -AsPlainText -Force) -Line
            Receive-SocketData $s -Line -Timeout 10 | Should -Be 'hunter2-Sesame'
            Send-SocketData $s 'after' -Line
            Receive-SocketData $s -Line -Timeout 10 | Should -Be 'after'
        }
        finally { Remove-SocketSession $s }
        $text = Get-Content -Raw $log
        $text | Should -Not -Match 'Sesame'
        $text | Should -Not -Match 'hunte'
        $text | Should -Match '>> \*{8}'
        $text | Should -Match '<< \*{8}'
        $text | Should -Match '<< after'
    }

    It 'writes the echo of an Invoke-SocketConversation secret as ******** in the transcript' {
        $log = Join-Path $script:Dir "conv-$([Guid]::NewGuid().ToString('n').Substring(0, 6)).log"
        $s = Connect-TcpSocket 127.0.0.1 $script:Echoer.Port -TranscriptPath $log
        try {
            $t = Invoke-SocketConversation $s @(@{ Send = (ConvertTo-SecureString 'open-Sesame-42' -AsPlainText -Force); Expect = '42' })
            $t.Success | Should -BeTrue
        }
        finally { Remove-SocketSession $s }
        $text = Get-Content -Raw $log
        $text | Should -Not -Match 'Sesame'
        $text | Should -Match '<< \*{8}'
    }
}

Describe 'Records of refused TLS clients are bounded by what they really hold' {
    It 'a relay record of a client gone before its handshake keeps its address, not the failed session, and counts its error at 1 KB or more' {
        $relay = Start-SocketRelay 0 127.0.0.1 (Get-FreeTcpPort) -Certificate $script:ServerPem
        try {
            $py = Start-Peer python3 @('-c', "import socket,struct`nfor i in range(50):`n s=socket.create_connection(('127.0.0.1',$($relay.Port)))`n s.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0)); s.close()")
            $script:Peers.Add($py)
            Wait-Until { $relay.ClientsReset + $relay.ClientsFailed -ge 50 } -TimeoutSec 60 | Should -BeTrue
            $records = @(Receive-SocketServerOutput $relay)
            $records.Count | Should -Be 50
            foreach ($r in $records) {
                $r.Errors[0].Target | Should -Not -BeOfType [PSSocket.SocketSession]
                $r.EstimatedBytes | Should -BeGreaterOrEqual 1024
            }
        }
        finally { Stop-SocketServer $relay }
    }
}

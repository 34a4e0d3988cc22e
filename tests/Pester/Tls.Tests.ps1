BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:CertDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-tls-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:CertDir | Out-Null

    # A plain function (not advanced): its arguments are openssl's, like -out, not common parameters.
    function Invoke-OpenSsl {
        $out = & openssl @args 2>&1
        if ($LASTEXITCODE -ne 0) { throw "openssl $($args -join ' ') failed: $out" }
    }

    # A test CA, certificates it signs and a self-signed one: all made here, trusted nowhere else.
    function New-TestCertificate {
        param([string] $Name, [string] $Subject, [string] $Extensions, [int] $Days = 2, [switch] $SelfSigned)
        $key = Join-Path $script:CertDir "$Name.key"
        $pem = Join-Path $script:CertDir "$Name.pem"
        $ext = Join-Path $script:CertDir "$Name.ext"
        Set-Content -Path $ext -Value $Extensions
        if ($SelfSigned) {
            Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $pem -days $Days -subj $Subject -extensions v3_req -config (New-OpenSslConfig $Extensions)
        }
        else {
            $csr = Join-Path $script:CertDir "$Name.csr"
            Invoke-OpenSsl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $csr -subj $Subject
            Invoke-OpenSsl x509 -req -in $csr -CA $script:CaPem -CAkey $script:CaKey -CAcreateserial -out $pem -days $Days -extfile $ext
        }
        $pem
    }

    function New-OpenSslConfig {
        param([string] $Extensions)
        $cfg = Join-Path $script:CertDir "req-$([Guid]::NewGuid().ToString('n')).cnf"
        Set-Content -Path $cfg -Value "[req]`ndistinguished_name = dn`n[dn]`n[v3_req]`n$Extensions"
        $cfg
    }

    $script:CaKey = Join-Path $script:CertDir 'ca.key'
    $script:CaPem = Join-Path $script:CertDir 'ca.pem'
    Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $script:CaKey -out $script:CaPem -days 2 -subj '/CN=PSSocket Test CA' -extensions v3_req -config (New-OpenSslConfig "basicConstraints=critical,CA:TRUE`nkeyUsage=critical,keyCertSign,cRLSign")
    $serverExt = "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth"
    $script:ServerPem = New-TestCertificate -Name server -Subject '/CN=localhost' -Extensions $serverExt
    $script:ExpiredPem = New-TestCertificate -Name expired -Subject '/CN=localhost' -Extensions $serverExt -Days -1
    $script:SelfPem = New-TestCertificate -Name self -Subject '/CN=localhost' -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1" -SelfSigned
    $script:ClientPem = New-TestCertificate -Name client -Subject '/CN=pssocket-client' -Extensions "basicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=clientAuth"
    $script:ClientPfx = Join-Path $script:CertDir 'client.pfx'
    Invoke-OpenSsl pkcs12 -export -in $script:ClientPem -inkey (Join-Path $script:CertDir 'client.key') -out $script:ClientPfx -passout pass:pfx-secret
    $script:ServerPfx = Join-Path $script:CertDir 'server.pfx'
    Invoke-OpenSsl pkcs12 -export -in $script:ServerPem -inkey (Join-Path $script:CertDir 'server.key') -out $script:ServerPfx -passout pass:pfx-secret
    $script:PfxPassword = ConvertTo-SecureString 'pfx-secret' -AsPlainText -Force

    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    # openssl s_server on a free loopback port; -www answers GET with a status page.
    function Start-OpenSslServer {
        param([string] $Name, [string[]] $Extra = @('-www'))
        $port = Get-FreeTcpPort
        $argList = @('s_server', '-accept', "127.0.0.1:$port", '-cert', (Join-Path $script:CertDir "$Name.pem"), '-key', (Join-Path $script:CertDir "$Name.key"), '-quiet') + $Extra
        $p = Start-Peer -FilePath openssl -ArgumentList $argList
        $script:Peers.Add($p)
        Wait-TcpPort -Port $port
        $port
    }

    # openssl s_client whose stdout goes to a file (stdin redirected so the test can type into it).
    function Start-OpenSslClient {
        param([int] $Port, [string] $Output, [string[]] $Extra = @(), [string] $InputFile)
        $cmd = "exec openssl s_client -connect 127.0.0.1:$Port -servername localhost -CAfile '$script:CaPem' -verify_return_error -quiet $($Extra -join ' ')"
        if ($InputFile) { $cmd += " < '$InputFile'" }
        $cmd += " > '$Output' 2> '$Output.err'"
        $p = Start-Peer -FilePath bash -ArgumentList @('-c', $cmd) -RedirectInput:(-not $InputFile)
        $script:Peers.Add($p)
        $p
    }

    function Stop-TestPeer {
        param([System.Diagnostics.Process] $Process)
        $null = $script:Peers.Remove($Process)
        Stop-Peer $Process
    }

    function Wait-FileContent {
        param([string] $Path, [string] $Pattern, [double] $TimeoutSec = 10)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ([DateTime]::UtcNow -lt $deadline) {
            if ((Test-Path $Path) -and ((Get-Content -Raw $Path) -match $Pattern)) { return $true }
            Start-Sleep -Milliseconds 50
        }
        $false
    }

    function Wait-FileLength {
        param([string] $Path, [long] $Length, [double] $TimeoutSec = 30)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ([DateTime]::UtcNow -lt $deadline) {
            if ((Test-Path $Path) -and (Get-Item $Path).Length -ge $Length) { return $true }
            Start-Sleep -Milliseconds 100
        }
        $false
    }
}

AfterAll {
    Remove-AllSocketSessions
    @($script:Peers) | Stop-Peer
    Remove-Item -Recurse -Force $script:CertDir -ErrorAction SilentlyContinue
}

Describe 'Connect-TcpSocket -UseTls against openssl s_server' {
    BeforeAll {
        $script:SelfPort = Start-OpenSslServer -Name self
        $script:CaPort = Start-OpenSslServer -Name server
        $script:ExpiredPort = Start-OpenSslServer -Name expired
    }
    AfterEach { Remove-AllSocketSessions }

    It 'refuses a self-signed certificate by default, names the reason and registers nothing' {
        $before = @(Get-SocketSession).Count
        $err = $null
        $s = Connect-TcpSocket 127.0.0.1 $script:SelfPort -UseTls -ErrorVariable err -ErrorAction SilentlyContinue
        $s | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match 'untrusted root'
        $err[0].Exception.Message | Should -Match 'self-signed'
        @(Get-SocketSession).Count | Should -Be $before
    }

    It 'connects with -SkipCertificateCheck and shows the TLS facts' {
        $s = Connect-TcpSocket 127.0.0.1 $script:SelfPort -UseTls -SkipCertificateCheck
        $s.IsTls | Should -BeTrue
        $s.TlsProtocol | Should -BeIn @('Tls12', 'Tls13')
        $s.CipherSuite | Should -Not -BeNullOrEmpty
        $s.RemoteCertificate.Subject | Should -Be 'CN=localhost'
        $s.TlsServerName | Should -Be '127.0.0.1'
        Send-SocketData $s "GET / HTTP/1.0`r`n`r`n"
        Receive-SocketData $s -ToEnd -Timeout 10 | Should -Match 'HTTP/1.0 200 ok'
    }

    It 'refuses a certificate from an unknown CA, and accepts it once the CA is trusted' {
        $err = $null
        Connect-TcpSocket localhost $script:CaPort -UseTls -AddressFamily IPv4 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'untrusted root'

        $s = Connect-TcpSocket localhost $script:CaPort -UseTls -AddressFamily IPv4 -TrustedCertificate $script:CaPem
        $s.IsTls | Should -BeTrue
        $s.TlsServerName | Should -Be 'localhost'
        $s.RemoteCertificate.Issuer | Should -Be 'CN=PSSocket Test CA'
        Send-SocketData $s "GET / HTTP/1.0`r`n`r`n"
        Receive-SocketData $s -ToEnd -Timeout 10 | Should -Match '200 ok'
    }

    It 'validates by IP address and takes the CA as a certificate object' {
        $ca = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($script:CaPem)
        $s = Connect-TcpSocket 127.0.0.1 $script:CaPort -UseTls -CertificateAuthority $ca
        $s.IsTls | Should -BeTrue
    }

    It 'detects a name mismatch' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:CaPort -UseTls -TrustedCertificate $script:CaPem -TlsServerName 'wrong.example' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'name mismatch'
        $err[0].Exception.Message | Should -Match 'wrong\.example'
        $err[0].Exception.Message | Should -Not -Match 'untrusted root'
    }

    It 'detects an expired certificate' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:ExpiredPort -UseTls -TrustedCertificate $script:CaPem -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match 'expired'
        $err[0].Exception.Message | Should -Not -Match 'untrusted root'
    }

    It 'negotiates the version asked for with -TlsProtocol and fails clearly when the server has none of them' {
        $port12 = Start-OpenSslServer -Name server -Extra @('-www', '-tls1_2')
        $s = Connect-TcpSocket 127.0.0.1 $port12 -UseTls -TrustedCertificate $script:CaPem -TlsProtocol Tls12
        $s.TlsProtocol | Should -Be 'Tls12'
        Remove-SocketSession $s   # s_server serves one connection at a time
        $err = $null
        Connect-TcpSocket 127.0.0.1 $port12 -UseTls -TrustedCertificate $script:CaPem -TlsProtocol Tls13 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'handshake failed'
    }

    It 'asks for -UseTls when a TLS parameter is given without it' {
        { Connect-TcpSocket 127.0.0.1 $script:CaPort -SkipCertificateCheck } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.ConnectTcpSocketCommand'
    }

    It 'fails with a clear timeout when the peer does not speak TLS' {
        $plain = New-TcpListener -Port 0
        $err = $null
        Connect-TcpSocket 127.0.0.1 $plain.Port -UseTls -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTimedOut,*'
        $err[0].Exception.Message | Should -Match 'TLS handshake'
        @(Get-SocketSession | Where-Object Kind -EQ 'Tcp').Count | Should -Be 0
    }

    It 'stops a handshake that never ends at Ctrl+C and registers nothing' {
        $plain = New-TcpListener -Port 0
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$((Get-Module PSSocket).Path)'; Connect-TcpSocket 127.0.0.1 $($plain.Port) -UseTls -Timeout 0")
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while ($plain.AcceptedCount -eq 0 -and [DateTime]::UtcNow -lt $deadline) {
                $null = Wait-TcpConnection $plain -Timeout 0.2 -ErrorAction SilentlyContinue
            }
            Start-Sleep -Milliseconds 300
            $async.IsCompleted | Should -BeFalse
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne(5000) | Should -BeTrue
            @(Get-SocketSession | Where-Object { $_.Kind -eq 'Tcp' -and $_.RemoteEndPoint.Port -eq $plain.Port }).Count | Should -Be 0
        }
        finally { $ps.Dispose() }
    }

    It 'prints no certificate or key material in Verbose output' {
        $verbose = Connect-TcpSocket localhost $script:CaPort -AddressFamily IPv4 -UseTls -TrustedCertificate $script:CaPem -ClientCertificate $script:ClientPfx -ClientCertificatePassword $script:PfxPassword -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | Out-String
        $verbose | Should -Match 'Connecting to localhost'
        $verbose | Should -Match 'TLS established'
        $verbose | Should -Not -Match 'BEGIN|PRIVATE|pfx-secret'
        $raw = [Convert]::ToBase64String([System.Security.Cryptography.X509Certificates.X509Certificate2]::new($script:ServerPem).RawData)
        $verbose | Should -Not -Match ([regex]::Escape($raw.Substring(0, 40)))
    }

    It 'shows TLS facts in the list view and the Tls table view' {
        $s = Connect-TcpSocket 127.0.0.1 $script:CaPort -UseTls -TrustedCertificate $script:CaPem
        $list = $s | Format-List | Out-String
        $list | Should -Match 'TlsProtocol\s*:\s*Tls1[23]'
        $list | Should -Match 'CipherSuite\s*:\s*\S'
        $list | Should -Match 'RemoteCertificate\s*:\s*CN=localhost'
        $list | Should -Match 'CertificateExpires'
        $table = $s | Format-Table -View Tls | Out-String -Width 200
        $table | Should -Match 'CN=localhost'
        $table | Should -Match 'Tls1[23]'
    }
}

Describe 'Client certificates' {
    BeforeAll {
        $script:VerifyPort = Start-OpenSslServer -Name server -Extra @('-www', '-Verify', '1', '-CAfile', $script:CaPem)
    }
    AfterEach { Remove-AllSocketSessions }

    It 'is accepted by openssl s_server -Verify 1 from a PFX with its password' {
        $s = Connect-TcpSocket 127.0.0.1 $script:VerifyPort -UseTls -TrustedCertificate $script:CaPem -ClientCertificate $script:ClientPfx -ClientCertificatePassword $script:PfxPassword
        Send-SocketData $s "GET / HTTP/1.0`r`n`r`n"
        $page = Receive-SocketData $s -ToEnd -Timeout 10
        $page | Should -Match '200 ok'
        $page | Should -Match 'pssocket-client'
    }

    It 'is accepted from a PEM file with its key beside it' {
        $s = Connect-TcpSocket 127.0.0.1 $script:VerifyPort -UseTls -TrustedCertificate $script:CaPem -ClientCertificate $script:ClientPem
        Send-SocketData $s "GET / HTTP/1.0`r`n`r`n"
        Receive-SocketData $s -ToEnd -Timeout 10 | Should -Match 'pssocket-client'
    }

    It 'fails the TLS 1.2 handshake without one' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:VerifyPort -UseTls -TrustedCertificate $script:CaPem -TlsProtocol Tls12 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
    }

    It 'names the missing client certificate when TLS 1.3 refuses it after the handshake' {
        $s = Connect-TcpSocket 127.0.0.1 $script:VerifyPort -UseTls -TrustedCertificate $script:CaPem -TlsProtocol Tls13
        Send-SocketData $s "GET / HTTP/1.0`r`n`r`n" -ErrorAction SilentlyContinue
        $err = $null
        Receive-SocketData $s -ToEnd -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'certificate required'
        $err[0].Exception.Message | Should -Match '-ClientCertificate'
    }

    It 'refuses a wrong PFX password with a clear terminating error' {
        $bad = ConvertTo-SecureString 'nope' -AsPlainText -Force
        { Connect-TcpSocket 127.0.0.1 $script:VerifyPort -UseTls -ClientCertificate $script:ClientPfx -ClientCertificatePassword $bad } |
            Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.ConnectTcpSocketCommand'
    }
}

Describe 'New-TcpListener -Certificate with openssl s_client' {
    AfterEach { Remove-AllSocketSessions }

    It 'carries data both ways and the client validates our chain' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem
        $listener.IsTls | Should -BeTrue
        $out = Join-Path $script:CertDir 'both-ways.out'
        $client = Start-OpenSslClient -Port $listener.Port -Output $out
        $server = Wait-TcpConnection $listener -Timeout 10
        $server.IsTls | Should -BeTrue
        $server.IsTlsServer | Should -BeTrue
        $server.RemoteCertificate | Should -BeNullOrEmpty
        $server.TlsServerName | Should -Be 'localhost'
        Send-SocketData $server 'hello from pssocket' -Line
        Wait-FileContent -Path $out -Pattern 'hello from pssocket' | Should -BeTrue
        $client.StandardInput.WriteLine('hello from openssl')
        $client.StandardInput.Flush()
        Receive-SocketData $server -Line -Timeout 10 | Should -Be 'hello from openssl'
        Remove-SocketSession $server
        $client.WaitForExit(10000) | Should -BeTrue
        # Closing sent close_notify: openssl 3 reports a bare TCP close as a truncation.
        Get-Content -Raw "$out.err" | Should -Not -Match 'unexpected eof'
        Stop-TestPeer $client
    }

    It 'loads a PFX with its password' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPfx -CertificatePassword $script:PfxPassword
        $listener.Certificate.Subject | Should -Be 'CN=localhost'
        $out = Join-Path $script:CertDir 'pfx.out'
        $client = Start-OpenSslClient -Port $listener.Port -Output $out
        $server = Wait-TcpConnection $listener -Timeout 10
        Send-SocketData $server 'pfx works' -Line
        Wait-FileContent -Path $out -Pattern 'pfx works' | Should -BeTrue
        Stop-TestPeer $client
    }

    It 'moves 32 MiB each way with matching SHA256' {
        $size = 32MB
        $file = Join-Path $script:CertDir 'big.bin'
        New-RandomFile -Path $file -Size $size
        $expected = (Get-FileHash -Algorithm SHA256 $file).Hash
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem

        # Ours to openssl: Send-SocketData -Path, then close so s_client ends its output.
        $down = Join-Path $script:CertDir 'down.bin'
        $client = Start-OpenSslClient -Port $listener.Port -Output $down
        $server = Wait-TcpConnection $listener -Timeout 10
        Send-SocketData $server -Path $file -Timeout 30
        $server.BytesSent | Should -Be $size
        Wait-FileLength -Path $down -Length $size | Should -BeTrue
        Remove-SocketSession $server
        Stop-TestPeer $client
        (Get-FileHash -Algorithm SHA256 $down).Hash | Should -Be $expected

        # openssl to ours: Receive-SocketData -Path -Count streams it to disk.
        $up = Join-Path $script:CertDir 'up.bin'
        $client = Start-OpenSslClient -Port $listener.Port -Output (Join-Path $script:CertDir 'up.out') -InputFile $file
        $server = Wait-TcpConnection $listener -Timeout 10
        Receive-SocketData $server -Count $size -Path $up -Timeout 30
        Stop-TestPeer $client
        (Get-FileHash -Algorithm SHA256 $up).Hash | Should -Be $expected
    }

    It 'keeps every receive mode the same over TLS, including bytes past a delimiter' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem
        $data = Join-Path $script:CertDir 'modes.txt'
        [IO.File]::WriteAllText($data, "first line`nsecond line`r`nA;B;rest`nid=1234 tail`nABCDEFGHIJ")
        $client = Start-OpenSslClient -Port $listener.Port -Output (Join-Path $script:CertDir 'modes.out') -InputFile $data
        $server = Wait-TcpConnection $listener -Timeout 10
        Receive-SocketData $server -Line -Timeout 10 | Should -Be 'first line'
        Receive-SocketData $server -Line -Timeout 10 | Should -Be 'second line'
        Receive-SocketData $server -Until ';' -Timeout 10 | Should -Be 'A;'
        Receive-SocketData $server -Until ';' -Timeout 10 | Should -Be 'B;'
        Receive-SocketData $server -Line -Timeout 10 | Should -Be 'rest'
        $m = Receive-SocketData $server -Pattern 'id=(\d+)' -AsMatch -Timeout 10
        $m.Groups[1].Value | Should -Be '1234'
        Receive-SocketData $server -Line -Timeout 10 | Should -Be ' tail'
        $bytes = Receive-SocketData $server -Count 4 -AsBytes -Timeout 10
        [Text.Encoding]::ASCII.GetString($bytes) | Should -Be 'ABCD'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $rest = Receive-SocketData $server -Timeout 20
        $sw.Stop()
        $rest | Should -Be 'EFGHIJ'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        Stop-TestPeer $client
    }

    It 'shows the client certificate with -RequireClientCertificate and refuses clients without one' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:CaPem
        $client = Start-OpenSslClient -Port $listener.Port -Output (Join-Path $script:CertDir 'mtls.out') -Extra @('-cert', $script:ClientPem, '-key', (Join-Path $script:CertDir 'client.key'))
        $server = Wait-TcpConnection $listener -Timeout 10
        $server.RemoteCertificate.Subject | Should -Be 'CN=pssocket-client'
        ($server | Format-List | Out-String) | Should -Match 'RemoteCertificate\s*:\s*CN=pssocket-client'
        Stop-TestPeer $client

        $client = Start-OpenSslClient -Port $listener.Port -Output (Join-Path $script:CertDir 'nocert.out')
        $err = $null
        Wait-TcpConnection $listener -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'client certificate'
        $listener.State | Should -Be 'Listening'
        Stop-TestPeer $client
    }

    It 'refuses a certificate without a private key' {
        $err = $null
        $certOnly = Join-Path $script:CertDir 'ca-only.crt'
        Copy-Item $script:CaPem $certOnly
        New-TcpListener -Port 0 -Certificate $certOnly -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
    }
}

Describe 'Start-SocketServer -Certificate' {
    AfterEach { Remove-AllSocketSessions }

    It 'gives each served client the same TLS facts as any TLS session' {
        $cert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($script:ServerPfx, 'pfx-secret')
        $srv = Start-SocketServer -Port 0 -Certificate $cert {
            Send-SocketData $_ "$($_.IsTls) $($_.TlsProtocol) $($_.TlsServerName) $([bool]$_.CipherSuite)" -Line
        }
        $c = Connect-TcpSocket localhost $srv.Port -AddressFamily IPv4 -UseTls -TrustedCertificate $script:CaPem
        Receive-SocketData $c -Line -Timeout 10 | Should -Match '^True Tls1[23] localhost True$'
        Stop-SocketServer $srv -Wait -Timeout 10
    }
}

Describe 'Start-SocketTls (STARTTLS)' {
    BeforeAll {
        $script:SmtpScript = Join-Path $script:CertDir 'smtp.py'
        Set-Content -Path $script:SmtpScript -Value @'
import socket, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(5)
while True:
    conn, _ = srv.accept()
    try:
        f = conn.makefile("rwb")
        f.write(b"220 test ESMTP ready\r\n"); f.flush()
        tls = None
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                if tls is None:
                    f.write(b"250-test greets you\r\n250-SIZE 1000\r\n250 STARTTLS\r\n")
                else:
                    f.write(b"250-test greets you over " + tls.version().encode() + b"\r\n250 AUTH PLAIN\r\n")
                f.flush()
            elif cmd == b"STARTTLS" and tls is None:
                f.write(b"220 Ready to start TLS\r\n"); f.flush()
                f.close()
                tls = ctx.wrap_socket(conn, server_side=True)
                f = tls.makefile("rwb")
            elif cmd == b"QUIT":
                f.write(b"221 bye\r\n"); f.flush()
                break
            else:
                f.write(b"250 ok " + line.strip() + (b" (encrypted)" if tls else b" (plain)") + b"\r\n"); f.flush()
        f.close()
        (tls or conn).close()
    except Exception as e:
        print("session error:", e, flush=True)
'@
        $script:SmtpPort = Get-FreeTcpPort
        $p = Start-Peer -FilePath python3 -ArgumentList @($script:SmtpScript, $script:SmtpPort, $script:ServerPem, (Join-Path $script:CertDir 'server.key'))
        $script:Peers.Add($p)
        Wait-TcpPort -Port $script:SmtpPort
    }
    AfterEach { Remove-AllSocketSessions }

    It 'runs EHLO, STARTTLS, then an encrypted conversation with a python ssl server' {
        $s = Connect-TcpSocket localhost $script:SmtpPort -AddressFamily IPv4 -NewLine "`r`n"
        Receive-SocketData $s -Line -Timeout 10 | Should -Match '^220 '
        Send-SocketData $s 'EHLO me' -Line
        $caps = Receive-SocketData $s -Pattern '(?m)^250 .*\r?\n' -Timeout 10
        $caps | Should -Match 'STARTTLS'
        Send-SocketData $s 'STARTTLS' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Match '^220 Ready'
        $s.IsTls | Should -BeFalse
        Start-SocketTls $s -TrustedCertificate $script:CaPem
        $s.IsTls | Should -BeTrue
        $s.TlsServerName | Should -Be 'localhost'
        $s.RemoteCertificate.Subject | Should -Be 'CN=localhost'
        Send-SocketData $s 'EHLO me' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Match 'greets you over TLSv1\.[23]'
        Receive-SocketData $s -Line -Timeout 10 | Should -Be '250 AUTH PLAIN'
        Send-SocketData $s 'MAIL FROM:<a@example.test>' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Match 'encrypted'
        Send-SocketData $s 'QUIT' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Be '221 bye'
    }

    It 'validates the STARTTLS certificate like a direct TLS connection' {
        $s = Connect-TcpSocket 127.0.0.1 $script:SmtpPort -NewLine "`r`n"
        $null = Receive-SocketData $s -Line -Timeout 10
        Send-SocketData $s 'STARTTLS' -Line
        $null = Receive-SocketData $s -Line -Timeout 10
        $err = $null
        Start-SocketTls $s -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'untrusted root'
        $s.IsTls | Should -BeFalse
        $s.State | Should -Be 'Closed'
    }

    It 'refuses a session that is not a TCP stream' {
        $listener = New-TcpListener -Port 0
        $err = $null
        Start-SocketTls $listener -SkipCertificateCheck -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind,*'
    }

    It 'refuses to upgrade while unencrypted bytes are still buffered' {
        $listener = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $listener.Port
        $srv = Wait-TcpConnection $listener -Timeout 5
        Send-SocketData $srv "220 go ahead`ninjected"
        Receive-SocketData $c -Line -Timeout 5 | Should -Be '220 go ahead'
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ($c.Available -lt 8 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $err = $null
        Start-SocketTls $c -SkipCertificateCheck -Timeout 2 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $err[0].Exception.Message | Should -Match 'unencrypted'
        $c.IsTls | Should -BeFalse
        Receive-SocketData $c -Timeout 5 | Should -Be 'injected'
    }

    It 'takes the server side with -AsServer while the client side runs in a thread job' {
        $listener = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $listener.Port -Name 'starttls-client'
        $srv = Wait-TcpConnection $listener -Timeout 5
        $module = (Get-Module PSSocket).Path
        $job = Start-ThreadJob -ScriptBlock {
            Import-Module $using:module
            Start-SocketTls 'starttls-client' -TrustedCertificate $using:CaPem -TlsServerName localhost -Timeout 20
            Send-SocketData 'starttls-client' 'secret over tls' -Line
        }
        try {
            Start-SocketTls $srv -AsServer -Certificate $script:ServerPfx -CertificatePassword $script:PfxPassword -Timeout 20 -PassThru |
                Select-Object -ExpandProperty IsTls | Should -BeTrue
            Receive-SocketData $srv -Line -Timeout 20 | Should -Be 'secret over tls'
            $job | Wait-Job -Timeout 20 | Receive-Job
            $c.IsTls | Should -BeTrue
            $c.RemoteCertificate.Subject | Should -Be 'CN=localhost'
        }
        finally { $job | Remove-Job -Force }
    }
}

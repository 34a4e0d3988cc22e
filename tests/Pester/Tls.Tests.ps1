BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:CertDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-tls-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:CertDir | Out-Null

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

    # Connects openssl s_client with the given client certificate and returns the error the
    # listener's Wait-TcpConnection wrote (it must hand out no session).
    function Get-ClientCertificateRefusal {
        param($Listener, [string] $CertPem, [string] $Name)
        $client = Start-OpenSslClient -Port $Listener.Port -Output (Join-Path $script:CertDir "$Name.out") -Extra @('-cert', $CertPem, '-key', (Join-Path $script:CertDir "$Name.key"))
        try {
            $err = $null
            Wait-TcpConnection $Listener -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0]
        }
        finally { Stop-TestPeer $client }
    }

    # The records of a server's finished clients, waiting (bounded) until there is one.
    function Receive-ServerRecord {
        param($Server, [double] $TimeoutSec = 30)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ($Server.Available -lt 1 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        @(Receive-SocketServerOutput $Server)
    }

    # Connects openssl s_client (with the given client certificate, or none) to a
    # Start-SocketServer -RequireClientCertificate and returns the record of the refused client:
    # the refusal shows where every per-client failure of a server shows, in its records.
    function Get-ServedClientRefusal {
        param($Server, [string] $CertPem, [string] $Name)
        $extra = if ($CertPem) { @('-cert', $CertPem, '-key', (Join-Path $script:CertDir "$Name.key")) } else { @() }
        $failedBefore = $Server.ClientsFailed
        $client = Start-OpenSslClient -Port $Server.Port -Output (Join-Path $script:CertDir "served-$Name.out") -Extra $extra
        try {
            $records = Receive-ServerRecord $Server
            $records.Count | Should -Be 1
            $Server.ClientsFailed | Should -Be ($failedBefore + 1)
            $records[0].Succeeded | Should -BeFalse
            $records[0].Output | Should -BeNullOrEmpty -Because 'the script block must not run for a refused client'
            $records[0].Errors.Count | Should -Be 1
            $records[0]
        }
        finally { Stop-TestPeer $client }
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

    It 'serves a client whose certificate validates with -RequireClientCertificate, showing it on the client session, and refuses one without' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:CaPem {
            Send-SocketData $_ "subject=$($_.RemoteCertificate.Subject)" -Line
            ($_ | Format-List | Out-String) -match 'RemoteCertificate\s*:\s*CN=pssocket-client'
        }
        $srv.RequireClientCertificate | Should -BeTrue
        $out = Join-Path $script:CertDir 'served-mtls.out'
        $client = Start-OpenSslClient -Port $srv.Port -Output $out -Extra @('-cert', $script:ClientPem, '-key', (Join-Path $script:CertDir 'client.key'))
        try {
            Wait-FileContent -Path $out -Pattern 'subject=CN=pssocket-client' -TimeoutSec 20 | Should -BeTrue
            $r = Receive-ServerRecord $srv
            $r.Count | Should -Be 1
            $r[0].Succeeded | Should -BeTrue
            $r[0].Output | Should -Be $true
        }
        finally { Stop-TestPeer $client }

        $r = Get-ServedClientRefusal -Server $srv -Name nocert
        $r.Errors[0].Exception.Kind | Should -Be 'AuthenticationFailed'
        $r.Errors[0].Exception.Message | Should -Match 'client certificate was rejected: the peer sent no certificate'
        $srv.State | Should -Be 'Listening'
        Stop-SocketServer $srv -Wait -Timeout 10
    }

    It 'counts a client gone before its first byte as ClientsReset, not as a failed handshake' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem { 'ran' }
        Test-TcpPort 127.0.0.1 $srv.Port -Quiet | Should -BeTrue
        $py = Start-Peer python3 '-c', @"
import socket, struct
b = socket.create_connection(('127.0.0.1', $($srv.Port)))
b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); b.close()
"@
        try {
            $py.WaitForExit(20000) | Should -BeTrue
            Wait-Until { $srv.ClientsReset -ge 2 } -TimeoutSec 20 | Should -BeTrue
            $srv.ClientsFailed | Should -Be 0
            $probes = @(Receive-SocketServerOutput $srv)
            $probes.CloseReason | Should -Contain 'Closed by the client before any data'
            "$($probes[0].Errors[0])" | Should -Match 'closed the connection before sending a TLS handshake'
        }
        finally { Stop-Peer $py }
        Stop-SocketServer $srv -Wait -Timeout 10
    }

    It 'takes -TrustedCertificate and -CheckRevocation only with -RequireClientCertificate, and those only with -Certificate, registering nothing' {
        { Start-SocketServer -Port 0 -Certificate $script:ServerPem -TrustedCertificate $script:CaPem { } } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StartSocketServerCommand'
        { Start-SocketServer -Port 0 -Certificate $script:ServerPem -CheckRevocation { } } | Should -Throw '*-CheckRevocation checks client certificates: add -RequireClientCertificate*'
        { Start-SocketServer -Port 0 -RequireClientCertificate { } } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StartSocketServerCommand'
        @(Get-SocketSession -Kind TcpServer).Count | Should -Be 0
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

Describe 'Certificate purpose (extended key usage) on every trust path' {
    BeforeAll {
        $script:ClientOnlyServerPem = New-TestCertificate -Name clientonly-server -Subject '/CN=localhost' -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=clientAuth"
        $script:ServerOnlyClientPem = New-TestCertificate -Name serveronly-client -Subject '/CN=pssocket-serveronly' -Extensions "basicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=serverAuth"
        $script:NoEkuServerPem = New-TestCertificate -Name noeku-server -Subject '/CN=localhost' -Extensions "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature"
        $script:ClientOnlyPort = Start-OpenSslServer -Name clientonly-server
        $script:NoEkuPort = Start-OpenSslServer -Name noeku-server
    }
    AfterEach { Remove-AllSocketSessions }

    It 'refuses a server certificate made for client authentication only, trusted through its CA' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:ClientOnlyPort -UseTls -TrustedCertificate $script:CaPem -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'unsuitable certificate purpose'
        $err[0].Exception.Message | Should -Match 'TLS client \(clientAuth\), not for a TLS server \(serverAuth\)'
        @(Get-SocketSession | Where-Object Kind -EQ 'Tcp').Count | Should -Be 0
    }

    It 'refuses it too when the certificate itself is the trusted one' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:ClientOnlyPort -UseTls -TrustedCertificate $script:ClientOnlyServerPem -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'unsuitable certificate purpose'
    }

    It 'accepts a server certificate without any extended key usage (any purpose)' {
        $s = Connect-TcpSocket 127.0.0.1 $script:NoEkuPort -UseTls -TrustedCertificate $script:CaPem -Timeout 10
        $s.IsTls | Should -BeTrue
    }

    It 'refuses a client certificate made for server authentication only at New-TcpListener -RequireClientCertificate' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:CaPem
        $err = Get-ClientCertificateRefusal -Listener $listener -CertPem $script:ServerOnlyClientPem -Name serveronly-client
        $err.FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err.Exception.Message | Should -Match 'client certificate was rejected: unsuitable certificate purpose'
        $err.Exception.Message | Should -Match 'TLS server \(serverAuth\), not for a TLS client \(clientAuth\)'
    }

    It 'refuses a client certificate made for server authentication only at Start-SocketServer -RequireClientCertificate' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:CaPem { 'ran' }
        $r = Get-ServedClientRefusal -Server $srv -CertPem $script:ServerOnlyClientPem -Name serveronly-client
        $r.Errors[0].Exception.Kind | Should -Be 'AuthenticationFailed'
        $r.Errors[0].Exception.Message | Should -Match 'client certificate was rejected: unsuitable certificate purpose'
        $r.Errors[0].Exception.Message | Should -Match 'TLS server \(serverAuth\), not for a TLS client \(clientAuth\)'
    }
}

Describe 'Server names (SNI) and TLS failures in words' {
    AfterEach { Remove-AllSocketSessions }

    It 'refuses a -TlsServerName that is not a host name (<Case>) with InvalidArgument before connecting' -ForEach @(
        @{ Case = 'CRLF'; Name = "good.example`r`nInjected: yes" }
        @{ Case = 'NUL'; Name = "good.example`0evil" }
        @{ Case = '300 characters'; Name = 'a' * 300 }
    ) {
        $listener = New-TcpListener -Port 0
        { Connect-TcpSocket 127.0.0.1 $listener.Port -UseTls -TlsServerName $Name } |
            Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.ConnectTcpSocketCommand'
        Wait-TcpConnection $listener -Timeout 0.3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-SocketSession | Where-Object Kind -EQ 'Tcp').Count | Should -Be 0
    }

    It 'refuses a bad -TlsServerName on Start-SocketTls with InvalidArgument, not a .NET exception' {
        $listener = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $listener.Port
        $null = Wait-TcpConnection $listener -Timeout 5
        $err = { Start-SocketTls $c -TlsServerName "x`r`ny" } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.StartSocketTlsCommand' -PassThru
        $err.Exception.Message | Should -Match 'carriage return'
        $err.Exception.Message | Should -Not -Match "`r"
        $c.State | Should -Be 'Open'
        # The engine refuses it too, for callers that skip the cmdlet.
        $ex = { $c.StartTlsAsClientAsync([PSSocket.Net.TlsClientOptions]@{ ServerName = "a`0b" }, [PSSocket.Net.Deadline]::After([TimeSpan]::FromSeconds(5)), [Threading.CancellationToken]::None).GetAwaiter().GetResult() } | Should -Throw -PassThru
        $ex.Exception.InnerException.Kind | Should -Be 'InvalidArgument'
    }

    It 'stores a client SNI with escape sequences escaped, so nothing reaches the terminal through TlsServerName' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem
        $out = Join-Path $script:CertDir 'evil-sni.out'
        # bash $'...' puts a real ESC and BEL into the name openssl sends.
        $cmd = "exec openssl s_client -connect 127.0.0.1:$($listener.Port) -servername `$'\e]0;pwned\a\e[31mred' -quiet > '$out' 2> '$out.err'"
        $client = Start-Peer -FilePath bash -ArgumentList @('-c', $cmd) -RedirectInput
        $script:Peers.Add($client)
        try {
            $server = Wait-TcpConnection $listener -Timeout 10
            $server.TlsServerName | Should -Not -BeNullOrEmpty
            $server.TlsServerName | Should -Not -Match '[\x00-\x1f\x7f-\x9f]'
            $server.TlsServerName | Should -BeLike '*\x1b]0;pwned\x07\x1b`[31mred*'
            ($server | Format-List | Out-String) | Should -Not -Match "`e"
        }
        finally { Stop-TestPeer $client }
    }

    It 'names a TLS version mismatch without suggesting a client certificate, on both sides' {
        $port12 = Start-OpenSslServer -Name server -Extra @('-www', '-tls1_2')
        $err = $null
        Connect-TcpSocket 127.0.0.1 $port12 -UseTls -TrustedCertificate $script:CaPem -TlsProtocol Tls13 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match '-TlsProtocol'
        $err[0].Exception.Message | Should -Not -Match 'ClientCertificate'

        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem -TlsProtocol Tls13
        $client = Start-OpenSslClient -Port $listener.Port -Output (Join-Path $script:CertDir 'v12.out') -Extra @('-tls1_2')
        try {
            $err = $null
            Wait-TcpConnection $listener -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
            $err[0].Exception.Message | Should -Match 'TLS version|-TlsProtocol'
            $err[0].Exception.Message | Should -Not -Match 'ClientCertificate'
        }
        finally { Stop-TestPeer $client }
    }

    It 'says in plain words that a port does not speak TLS, the same in Connect-TcpSocket and Test-TcpPort -Tls' {
        $port = Get-FreeTcpPort
        $banner = Start-Peer -FilePath ncat -ArgumentList @('-lk', '127.0.0.1', "$port", '--sh-exec', 'printf "SSH-2.0-OpenSSH_9.2\r\n"; sleep 5')
        $script:Peers.Add($banner)
        try {
            Wait-TcpPort -Port $port
            $err = $null
            Connect-TcpSocket 127.0.0.1 $port -UseTls -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
            $err[0].Exception.Message | Should -Match 'does not speak TLS'
            $err[0].Exception.Message | Should -Not -Match 'frame'
            $r = Test-TcpPort 127.0.0.1 -Port $port -Tls -Timeout 10
            $r.Status | Should -Be 'Open'
            $r.TlsError | Should -Match 'does not speak TLS'
            $r.TlsError | Should -Not -Match 'frame'
        }
        finally { Stop-TestPeer $banner }
    }
}

Describe '-CheckRevocation against a CRL served on loopback' {
    BeforeAll {
        # A CA of its own (unique subject: .NET caches CRLs per issuer), a CRL that lists one
        # revoked certificate, served by python3 http.server on a port chosen now and named in
        # every leaf's CRL distribution point.
        $script:RevDir = Join-Path $script:CertDir 'revocation'
        New-Item -ItemType Directory -Path $script:RevDir | Out-Null
        $tag = [Guid]::NewGuid().ToString('n').Substring(0, 12)
        $script:CrlPort = Get-FreeTcpPort
        $caCfg = Join-Path $script:RevDir 'ca.cnf'
        Set-Content -Path (Join-Path $script:RevDir 'index.txt') -Value $null
        Set-Content -Path (Join-Path $script:RevDir 'crlnumber') -Value '01'
        Set-Content -Path $caCfg -Value @"
[ca]
default_ca = rev
[rev]
database = $script:RevDir/index.txt
crlnumber = $script:RevDir/crlnumber
certificate = $script:RevDir/revca.pem
private_key = $script:RevDir/revca.key
default_md = sha256
default_crl_days = 2
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
"@
        function New-RevCa {
            param([string] $Name, [string] $Subject)
            Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout (Join-Path $script:RevDir "$Name.key") -out (Join-Path $script:RevDir "$Name.pem") -days 2 -subj $Subject -extensions v3_ca -config $caCfg
            Join-Path $script:RevDir "$Name.pem"
        }
        function New-RevLeaf {
            param([string] $Name, [string] $Ca, [string] $Subject, [string] $Eku, [int] $CdpPort)
            $key = Join-Path $script:RevDir "$Name.key"
            $csr = Join-Path $script:RevDir "$Name.csr"
            $ext = Join-Path $script:RevDir "$Name.ext"
            Set-Content -Path $ext -Value "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=$Eku`ncrlDistributionPoints=URI:http://127.0.0.1:$CdpPort/$Ca.crl"
            Invoke-OpenSsl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $csr -subj $Subject
            Invoke-OpenSsl x509 -req -in $csr -CA (Join-Path $script:RevDir "$Ca.pem") -CAkey (Join-Path $script:RevDir "$Ca.key") -CAcreateserial -out (Join-Path $script:CertDir "$Name.pem") -days 2 -extfile $ext
            Copy-Item $key (Join-Path $script:CertDir "$Name.key")
            Join-Path $script:CertDir "$Name.pem"
        }
        $script:RevCaPem = New-RevCa -Name revca -Subject "/CN=PSSocket Revocation CA $tag"
        $script:GoodPem = New-RevLeaf -Name rev-good -Ca revca -Subject '/CN=localhost' -Eku serverAuth -CdpPort $script:CrlPort
        $script:RevokedPem = New-RevLeaf -Name rev-revoked -Ca revca -Subject '/CN=localhost' -Eku serverAuth -CdpPort $script:CrlPort
        $script:RevokedClientPem = New-RevLeaf -Name rev-client -Ca revca -Subject '/CN=revoked-client' -Eku clientAuth -CdpPort $script:CrlPort
        Invoke-OpenSsl ca -config $caCfg -revoke $script:RevokedPem
        Invoke-OpenSsl ca -config $caCfg -revoke $script:RevokedClientPem
        Invoke-OpenSsl ca -config $caCfg -gencrl -out (Join-Path $script:RevDir 'revca.crl.pem')
        Invoke-OpenSsl crl -in (Join-Path $script:RevDir 'revca.crl.pem') -outform DER -out (Join-Path $script:RevDir 'revca.crl')

        # A second CA whose CRL lives on a port where nothing listens.
        $script:DeadCrlPort = Get-FreeTcpPort
        $script:OfflineCaPem = New-RevCa -Name offlineca -Subject "/CN=PSSocket Offline CA $tag"
        $script:OfflinePem = New-RevLeaf -Name rev-offline -Ca offlineca -Subject '/CN=localhost' -Eku serverAuth -CdpPort $script:DeadCrlPort

        $script:CrlServer = Start-Peer -FilePath python3 -ArgumentList @('-m', 'http.server', "$script:CrlPort", '--bind', '127.0.0.1', '--directory', $script:RevDir)
        $script:Peers.Add($script:CrlServer)
        Wait-TcpPort -Port $script:CrlPort
        $script:GoodPort = Start-OpenSslServer -Name rev-good
        $script:RevokedPort = Start-OpenSslServer -Name rev-revoked
        $script:OfflinePort = Start-OpenSslServer -Name rev-offline
    }
    AfterEach { Remove-AllSocketSessions }

    It 'connects to a certificate its CRL does not list' {
        $s = Connect-TcpSocket 127.0.0.1 $script:GoodPort -UseTls -TrustedCertificate $script:RevCaPem -CheckRevocation -Timeout 20
        $s.IsTls | Should -BeTrue
    }

    It 'refuses a revoked server certificate with AuthenticationFailed naming revocation, and only when asked' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:RevokedPort -UseTls -TrustedCertificate $script:RevCaPem -CheckRevocation -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'revoked'
        # Revocation is opt-in: without the switch the same certificate is accepted.
        (Connect-TcpSocket 127.0.0.1 $script:RevokedPort -UseTls -TrustedCertificate $script:RevCaPem -Timeout 20).IsTls | Should -BeTrue
    }

    It 'Start-SocketRelay -UseTls -CheckRevocation closes each client whose target is revoked (AuthenticationFailed) and relays to one its CRL does not list' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:RevokedPort -UseTls -TlsServerName localhost -TrustedCertificate $script:RevCaPem -CheckRevocation
        try {
            $relay.ConnectTimeout = [TimeSpan]::FromSeconds(20)
            $c = Connect-TcpSocket 127.0.0.1 $relay.Port
            Receive-SocketData $c -ToEnd -Timeout 30 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not ($r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            "$($r[0].Errors[0].Exception.Kind)" | Should -Be 'AuthenticationFailed'
            "$($r[0].Errors[0])" | Should -Match 'revoked'
        }
        finally { Remove-SocketSession $relay }

        $relay = Start-SocketRelay 0 127.0.0.1 $script:GoodPort -UseTls -TlsServerName localhost -TrustedCertificate $script:RevCaPem -CheckRevocation
        try {
            $relay.ConnectTimeout = [TimeSpan]::FromSeconds(20)
            $c = Connect-TcpSocket 127.0.0.1 $relay.Port
            Send-SocketData $c "GET / HTTP/1.0`r`n`r`n"
            Receive-SocketData $c -Line -Timeout 30 | Should -Match '^HTTP/1\.[01] 200'
        }
        finally { Remove-SocketSession $relay }
    }

    It 'fails with RevocationUnknown, naming the CRL address, when the CRL cannot be fetched' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:OfflinePort -UseTls -TrustedCertificate $script:OfflineCaPem -CheckRevocation -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RevocationUnknown,*'
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match "could not be fetched from http://127\.0\.0\.1:$($script:DeadCrlPort)/offlineca\.crl"
    }

    It 'refuses a revoked client certificate at New-TcpListener -RequireClientCertificate -CheckRevocation' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RevCaPem -CheckRevocation
        $err = Get-ClientCertificateRefusal -Listener $listener -CertPem $script:RevokedClientPem -Name rev-client
        $err.FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err.Exception.Message | Should -Match 'client certificate was rejected: revoked'
    }

    It 'checks revocation in Start-SocketTls and Test-TcpPort -Tls too' {
        $s = Connect-TcpSocket 127.0.0.1 $script:RevokedPort
        $err = $null
        Start-SocketTls $s -TlsServerName localhost -TrustedCertificate $script:RevCaPem -CheckRevocation -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $err[0].Exception.Message | Should -Match 'revoked'

        # The probe trusts nothing extra; a server that sends its CA along lets the CRL be checked.
        $chainPort = Start-OpenSslServer -Name rev-revoked -Extra @('-www', '-cert_chain', $script:RevCaPem)
        $r = Test-TcpPort 127.0.0.1 -Port $chainPort -Tls -CheckRevocation -SkipCertificateCheck -Timeout 20
        $r.CertificateValid | Should -BeFalse
        $r.CertificateErrors | Should -Match 'revoked'
        (Test-TcpPort 127.0.0.1 -Port $chainPort -Tls -SkipCertificateCheck -Timeout 20).CertificateErrors | Should -Not -Match 'revoked'
    }

    It 'refuses a revoked client certificate at Start-SocketServer -RequireClientCertificate -CheckRevocation, and serves one its CRL does not list' {
        $goodClient = New-RevLeaf -Name rev-goodclient -Ca revca -Subject '/CN=good-client' -Eku clientAuth -CdpPort $script:CrlPort
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RevCaPem -CheckRevocation {
            Send-SocketData $_ "subject=$($_.RemoteCertificate.Subject)" -Line
        }
        $r = Get-ServedClientRefusal -Server $srv -CertPem $script:RevokedClientPem -Name rev-client
        $r.Errors[0].Exception.Kind | Should -Be 'AuthenticationFailed'
        $r.Errors[0].Exception.Message | Should -Match 'client certificate was rejected: revoked'

        $out = Join-Path $script:CertDir 'served-rev-good.out'
        $client = Start-OpenSslClient -Port $srv.Port -Output $out -Extra @('-cert', $goodClient, '-key', (Join-Path $script:CertDir 'rev-goodclient.key'))
        try {
            Wait-FileContent -Path $out -Pattern 'subject=CN=good-client' -TimeoutSec 20 | Should -BeTrue
        }
        finally { Stop-TestPeer $client }

        # Revocation is opt-in: without the switch the revoked certificate is served.
        $plain = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:RevCaPem {
            Send-SocketData $_ "subject=$($_.RemoteCertificate.Subject)" -Line
        }
        $out = Join-Path $script:CertDir 'served-rev-unchecked.out'
        $client = Start-OpenSslClient -Port $plain.Port -Output $out -Extra @('-cert', $script:RevokedClientPem, '-key', (Join-Path $script:CertDir 'rev-client.key'))
        try {
            Wait-FileContent -Path $out -Pattern 'subject=CN=revoked-client' -TimeoutSec 20 | Should -BeTrue
        }
        finally { Stop-TestPeer $client }
    }

    It 'refuses a served client with RevocationUnknown, naming the CRL address, when its CRL cannot be fetched' {
        $offlineClient = New-RevLeaf -Name rev-offlineclient -Ca offlineca -Subject '/CN=offline-client' -Eku clientAuth -CdpPort $script:DeadCrlPort
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem -RequireClientCertificate -TrustedCertificate $script:OfflineCaPem -CheckRevocation { 'ran' }
        $r = Get-ServedClientRefusal -Server $srv -CertPem $offlineClient -Name rev-offlineclient
        $r.Errors[0].Exception.Kind | Should -Be 'RevocationUnknown'
        $r.Errors[0].Exception.Message | Should -Match "could not be fetched from http://127\.0\.0\.1:$($script:DeadCrlPort)/offlineca\.crl"
    }

    It 'refuses -CheckRevocation on a listener that does not ask for client certificates' {
        { New-TcpListener -Port 0 -Certificate $script:ServerPem -CheckRevocation } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.NewTcpListenerCommand'
    }
}

Describe 'Certificates loaded from files live as long as their session' {
    AfterEach { Remove-AllSocketSessions }

    It 'disposes a listener certificate loaded from a PFX when the listener is removed, and never one the caller passed' {
        $listener = New-TcpListener -Port 0 -Certificate $script:ServerPfx -CertificatePassword $script:PfxPassword
        $cert = $listener.Certificate
        $cert.Handle | Should -Not -Be ([IntPtr]::Zero)
        Remove-SocketSession $listener
        $cert.Handle | Should -Be ([IntPtr]::Zero)

        $mine = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile($script:ServerPem, (Join-Path $script:CertDir 'server.key'))
        $listener = New-TcpListener -Port 0 -Certificate $mine
        Remove-SocketSession $listener
        $mine.Handle | Should -Not -Be ([IntPtr]::Zero)
        $mine.HasPrivateKey | Should -BeTrue
        $mine.Dispose()
    }

    It 'disposes a server certificate loaded from a file when Start-SocketServer stops or is removed, and never one the caller passed' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPfx -CertificatePassword $script:PfxPassword { }
        $cert = $srv.Certificate
        $cert.Handle | Should -Not -Be ([IntPtr]::Zero)
        Remove-SocketSession $srv
        $srv.Completion.Wait(20000) | Should -BeTrue
        $cert.Handle | Should -Be ([IntPtr]::Zero)

        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem { }
        $cert = $srv.Certificate
        Stop-SocketServer $srv
        $srv.Completion.Wait(20000) | Should -BeTrue
        $cert.Handle | Should -Be ([IntPtr]::Zero)

        $mine = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile($script:ServerPem, (Join-Path $script:CertDir 'server.key'))
        $srv = Start-SocketServer -Port 0 -Certificate $mine { }
        Stop-SocketServer $srv
        $srv.Completion.Wait(20000) | Should -BeTrue
        $mine.Handle | Should -Not -Be ([IntPtr]::Zero)
        $mine.HasPrivateKey | Should -BeTrue
        $mine.Dispose()
    }
}

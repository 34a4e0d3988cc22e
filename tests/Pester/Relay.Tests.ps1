BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # socat echoing every connection (a process per connection), on a port of its own.
    function Start-SocatEcho {
        $port = Get-FreeTcpPort
        $p = Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=512", 'PIPE'
        Wait-TcpPort -Port $port
        [pscustomobject]@{ Process = $p; Port = $port }
    }

    # Reads a relay's Hex transcript back: one entry per chunk (client, direction, declared size,
    # its dump lines and the bytes those lines show).
    function Read-HexTranscript {
        param([string] $Path)
        $chunks = [System.Collections.Generic.List[object]]::new()
        foreach ($line in (Get-Content -Raw $Path) -split "`n" | Where-Object { $_ }) {
            if ($line -match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (?<client>\S+) (?<dir>>>|<<) (?<n>\d+) bytes$') {
                $chunks.Add([pscustomobject]@{ Client = $Matches.client; Direction = $Matches.dir; Size = [int] $Matches.n; Lines = [System.Collections.Generic.List[string]]::new(); Bytes = [System.Collections.Generic.List[byte]]::new() })
            }
            elseif ($line -match '^[0-9a-f]{4}   ') {
                $chunks[-1].Lines.Add($line)
                foreach ($h in $line.Substring(7, 49) -split ' +' | Where-Object { $_ }) { $chunks[-1].Bytes.Add([Convert]::ToByte($h, 16)) }
            }
        }
        $chunks
    }

    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-relay-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null

    # A test CA and certificates it signs, made with openssl here and trusted nowhere else.
    function New-RelayCertificate {
        param([string] $Name, [string] $AltNames, [string] $Purpose = 'serverAuth')
        $key = Join-Path $script:Dir "$Name.key"; $pem = Join-Path $script:Dir "$Name.pem"; $ext = Join-Path $script:Dir "$Name.ext"
        Set-Content -Path $ext -Value "subjectAltName=$AltNames`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature`nextendedKeyUsage=$Purpose"
        Invoke-OpenSsl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out "$pem.csr" -subj "/CN=$Name"
        Invoke-OpenSsl x509 -req -in "$pem.csr" -CA $script:CaPem -CAkey $script:CaKey -CAcreateserial -out $pem -days 2 -extfile $ext
        $pem
    }
    $script:CaKey = Join-Path $script:Dir 'ca.key'
    $script:CaPem = Join-Path $script:Dir 'ca.pem'
    $caCfg = Join-Path $script:Dir 'ca.cnf'
    Set-Content -Path $caCfg -Value "[req]`ndistinguished_name = dn`n[dn]`n[v3_ca]`nbasicConstraints=critical,CA:TRUE`nkeyUsage=critical,keyCertSign,cRLSign"
    Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $script:CaKey -out $script:CaPem -days 2 -subj '/CN=PSSocket Relay Test CA' -extensions v3_ca -config $caCfg
    # The target's certificate names only relay-target.test: reaching it as 127.0.0.1 needs -TlsServerName.
    $script:TargetPem = New-RelayCertificate target 'DNS:relay-target.test'
    $script:RelayPem = New-RelayCertificate localhost 'DNS:localhost,IP:127.0.0.1'
    $script:RelayClientPem = New-RelayCertificate relay-client 'DNS:relay-client' -Purpose clientAuth
    $script:RelayPfx = Join-Path $script:Dir 'relay.pfx'
    Invoke-OpenSsl pkcs12 -export -in $script:RelayPem -inkey (Join-Path $script:Dir 'localhost.key') -out $script:RelayPfx -passout pass:relay-secret
    $script:PfxPassword = ConvertTo-SecureString 'relay-secret' -AsPlainText -Force

    # socat echoing over TLS (a process per connection) with the target certificate.
    function Start-TlsEcho {
        $port = Get-FreeTcpPort
        $p = Start-Peer socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,cert=$script:TargetPem,key=$(Join-Path $script:Dir 'target.key'),verify=0", 'PIPE'
        Wait-TcpPort -Port $port
        [pscustomobject]@{ Process = $p; Port = $port }
    }

    # A target that reads to end of stream, then answers with how many bytes it got (Wait-TcpPort's probe too).
    function Start-CountingTarget {
        $port = Get-FreeTcpPort
        $p = Start-Peer python3 '-c', @"
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $port)); l.listen(4)
while True:
    c, _ = l.accept(); n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            n += len(b)
        c.sendall(b'got %d\n' % n); c.close()
    except OSError:
        pass
"@
        Wait-TcpPort -Port $port
        $port, $p
    }

    # python3 as a TLS client that trusts the test CA: sends random bytes while it reads the echo
    # back, and prints the TLS version, how many bytes came back and whether they are the same.
    # One thread, non-blocking: an SSL socket must not be read and written from two threads at
    # once (OpenSSL's state races; about one run in twenty read nothing or crashed the client).
    function Invoke-PythonTlsClient {
        param([int] $Port, [int] $Size = 1MB, [string] $CertPem)
        $load = if ($CertPem) { "ctx.load_cert_chain('$CertPem', '$([IO.Path]::ChangeExtension($CertPem, '.key'))')" } else { '' }
        $py = @"
import socket, ssl, hashlib, os, select, time
ctx = ssl.create_default_context(cafile='$script:CaPem')
$load
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $Port), timeout=60), server_hostname='localhost')
s.setblocking(False)
data = os.urandom($Size)
sent = 0
got = bytearray()
deadline = time.monotonic() + 60
while len(got) < len(data) and time.monotonic() < deadline:
    if not s.pending():
        select.select([s], [s] if sent < len(data) else [], [], 1)
    if sent < len(data):
        try:
            sent += s.send(data[sent:sent + 16384])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
    try:
        b = s.recv(65536)
        if not b: break
        got += b
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass
version = s.version(); s.close()
print('%s %d %s' % (version, len(got), 'same' if hashlib.sha256(got).digest() == hashlib.sha256(data).digest() else 'different'))
"@
        & timeout 120 python3 -c $py 2>&1
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Start-SocketRelay (TCP)' {
    BeforeAll { $script:Echo = Start-SocatEcho }
    AfterAll { Stop-Peer $script:Echo.Process }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'returns a registered Relay session at once, bound to loopback, and relays both ways' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Name fwd
        $relay.Kind | Should -Be 'Relay'
        $relay.State | Should -Be 'Listening'
        $relay.LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (Get-SocketSession -Name fwd).Id | Should -Be $relay.Id
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'through the relay' -Line
        Receive-SocketData $c -Line -Timeout 10 | Should -Be 'through the relay'
        Remove-SocketSession $c
        Wait-Until { $relay.ClientsActive -eq 0 } | Should -BeTrue
        $relay.BytesToTarget | Should -BeGreaterOrEqual 18
        $relay.BytesFromTarget | Should -BeGreaterOrEqual 18
        $relay.ClientsAccepted | Should -BeGreaterOrEqual 1
        (Get-SocketSession -Kind Relay | Format-Table | Out-String -Width 200) | Should -Match 'Listen\s+Target\s+Clients\s+Failed\s+Bytes'
    }

    It 'gives 200 concurrent python3 clients exactly their own bytes back (SHA-256), each ending with a half-close' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port
        $py = @"
import socket, threading, hashlib, os
port = $($relay.Port); bad = []
def client(i):
    try:
        data = os.urandom(65536 + i * 97)
        s = socket.create_connection(('127.0.0.1', port), timeout=120)
        def send():
            s.sendall(data); s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send); t.start()
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b: break
            got += b
        t.join(); s.close()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest(): bad.append('%d: %d of %d bytes' % (i, len(got), len(data)))
    except Exception as e:
        bad.append('%d: %r' % (i, e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(200)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad=%d' % len(bad)); [print(b) for b in bad[:5]]
"@
        $out = & timeout 300 python3 -c $py 2>&1
        $LASTEXITCODE | Should -Be 0
        $out | Should -Contain 'bad=0'
        Wait-Until { $relay.ClientsActive -eq 0 } -TimeoutSec 30 | Should -BeTrue
        $relay.ClientsAccepted | Should -BeGreaterOrEqual 200
        $expected = 0; foreach ($i in 0..199) { $expected += 65536 + $i * 97 }
        $relay.BytesToTarget | Should -BeGreaterOrEqual $expected
        $relay.BytesFromTarget | Should -BeGreaterOrEqual $expected
    }

    It 'passes a half-close on: the target answers after the client has finished sending' {
        $port, $target = Start-CountingTarget
        try {
            $relay = Start-SocketRelay 0 127.0.0.1 $port
            $out = & timeout 60 python3 -c @"
import socket
s = socket.create_connection(('127.0.0.1', $($relay.Port)), timeout=30)
s.sendall(b'x' * 100000); s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip())
"@
            $out | Should -Be 'got 100000'
        }
        finally { Stop-Peer $target }
    }

    It 'records a client whose target refuses as failed and keeps relaying; Stop-SocketServer stops it (listed as Stopped until removed)' {
        $closedPort = Get-FreeTcpPort
        $relay = Start-SocketRelay 0 127.0.0.1 $closedPort
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Receive-SocketData $c -ToEnd -Timeout 15 | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        $r.Count | Should -Be 1
        $r[0].Succeeded | Should -BeFalse
        "$($r[0].Errors[0])" | Should -Match 'refused'
        $relay.State | Should -Be 'Listening'
        Stop-SocketServer $relay
        $relay.State | Should -Be 'Stopped'
        (Get-SocketSession -Kind Relay).State | Should -Be 'Stopped'
        Remove-SocketSession $relay
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        { Connect-TcpSocket 127.0.0.1 $relay.Port -Timeout 2 } | Should -Throw -ErrorId 'ConnectionRefused*'
    }

    It 'closes a connection silent either way for -IdleTimeout on both sides and records why, while one that talks stays open' {
        (Start-SocketRelay 0 127.0.0.1 $script:Echo.Port).IdleTimeout | Should -Be ([TimeSpan]::FromSeconds(60))
        (Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -IdleTimeout 0).IdleTimeout | Should -Be ([TimeSpan]::Zero)
        { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Udp -IdleTimeout 0 } | Should -Throw -ErrorId 'InvalidArgument,*'
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -IdleTimeout 2
        $relay.IdleTimeout | Should -Be ([TimeSpan]::FromSeconds(2))
        $silent = Connect-TcpSocket 127.0.0.1 $relay.Port
        $talker = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $silent 'once' -Line
        Receive-SocketData $silent -Line -Timeout 10 | Should -Be 'once'
        # The talker speaks every quarter second until the silent one is gone and more than the
        # idle timeout has passed since it connected.
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $gone = $false
        for ($i = 0; $clock.Elapsed.TotalSeconds -lt 40 -and -not ($gone -and $clock.Elapsed.TotalSeconds -gt 4); $i++) {
            Send-SocketData $talker "ping $i" -Line
            Receive-SocketData $talker -Line -Timeout 10 | Should -Be "ping $i"
            $gone = $gone -or (Wait-Until { $relay.ClientsFailed -ge 1 } -TimeoutSec 0.25)
        }
        $gone | Should -BeTrue
        Receive-SocketData $silent -ToEnd -Timeout 10 | Should -BeNullOrEmpty
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $silent.LocalEndPoint.Port })
        $r.Count | Should -Be 1
        $r[0].Succeeded | Should -BeFalse
        $r[0].CloseReason | Should -BeLike 'Idle: no byte either way for the idle timeout (2 s)'
        $r[0].Errors[0].Exception.Kind | Should -Be 'ReceiveTimeout'
        Send-SocketData $talker 'still here' -Line
        Receive-SocketData $talker -Line -Timeout 10 | Should -Be 'still here'
        $relay.ClientsActive | Should -Be 1
    }

    It 'writes AddressInUse for a local port that is taken and registers nothing' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port
        Start-SocketRelay $relay.Port 127.0.0.1 $script:Echo.Port -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AddressInUse*'
        @(Get-SocketSession -Kind Relay).Count | Should -Be 1
    }
}

Describe 'Start-SocketRelay -UseTls (TLS to the target)' {
    BeforeAll { $script:TlsEcho = Start-TlsEcho }
    AfterAll { Stop-Peer $script:TlsEcho.Process }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'relays a plain client to a TLS target validated against -TlsServerName and the -TrustedCertificate CA' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem
        $relay.UseTls | Should -BeTrue
        $relay.IsTls | Should -BeFalse
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'plain in, TLS out' -Line
        Receive-SocketData $c -Line -Timeout 15 | Should -Be 'plain in, TLS out'
        Remove-SocketSession $c
        Wait-Until { $relay.ClientsActive -eq 0 } | Should -BeTrue
        @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port }).Succeeded | Should -Be $true
    }

    It 'closes a client whose target certificate is untrusted, records AuthenticationFailed as Connect-TcpSocket -UseTls reports it, and keeps relaying' {
        $err = $null
        Connect-TcpSocket 127.0.0.1 $script:TlsEcho.Port -UseTls -TlsServerName relay-target.test -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $direct = $err[0].FullyQualifiedErrorId.Split(',')[0]
        $direct | Should -Be 'AuthenticationFailed'

        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -UseTls -TlsServerName relay-target.test
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'never relayed' -Line
        # closed unread: the kernel may answer with a reset instead of an end of stream
        Receive-SocketData $c -ToEnd -Timeout 15 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        $r.Count | Should -Be 1
        $r[0].Succeeded | Should -BeFalse
        "$($r[0].Errors[0].Exception.Kind)" | Should -Be $direct
        "$($r[0].Errors[0])" | Should -Match 'certificate'
        $relay.State | Should -Be 'Listening'
        $relay.BytesToTarget | Should -Be 0
    }

    It 'checks the target name: without -TlsServerName the certificate (for relay-target.test) does not match 127.0.0.1' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -UseTls -TrustedCertificate $script:CaPem
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Receive-SocketData $c -ToEnd -Timeout 15 | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        "$($r[0].Errors[0].Exception.Kind)" | Should -Be 'AuthenticationFailed'
        "$($r[0].Errors[0])" | Should -Match 'name'
    }

    It 'relays to the untrusted target with -SkipCertificateCheck' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -UseTls -SkipCertificateCheck
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'unchecked' -Line
        Receive-SocketData $c -Line -Timeout 15 | Should -Be 'unchecked'
    }

    It 'presents -ClientCertificate to a target that requires one (socat verify=1), and a client without it is refused' {
        $port = Get-FreeTcpPort
        $mtls = Start-Peer socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,cert=$script:TargetPem,key=$(Join-Path $script:Dir 'target.key'),cafile=$script:CaPem,verify=1", 'PIPE'
        try {
            Wait-TcpPort -Port $port
            $relay = Start-SocketRelay 0 127.0.0.1 $port -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem -ClientCertificate $script:RelayClientPem
            $relay.ClientCertificate.Subject | Should -Be 'CN=relay-client'
            $c = Connect-TcpSocket 127.0.0.1 $relay.Port
            Send-SocketData $c 'with my certificate' -Line
            Receive-SocketData $c -Line -Timeout 15 | Should -Be 'with my certificate'
            $cert = $relay.ClientCertificate
            Remove-SocketSession $relay
            $relay.Completion.Wait(20000) | Should -BeTrue
            $cert.Handle | Should -Be ([IntPtr]::Zero)

            $bare = Start-SocketRelay 0 127.0.0.1 $port -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem
            $c = Connect-TcpSocket 127.0.0.1 $bare.Port
            Send-SocketData $c 'without' -Line
            $got = Receive-SocketData $c -ToEnd -Timeout 15 -ErrorAction SilentlyContinue
            $got | Should -Not -Be "without`n"
            Wait-Until { $bare.ClientsFailed -ge 1 } -TimeoutSec 20 | Should -BeTrue
            $r = @(Receive-SocketServerOutput $bare | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
            $r[0].Succeeded | Should -BeFalse
        }
        finally { Stop-Peer $mtls }
    }

    It 'keeps to -TlsProtocol toward the target: Tls12 against a TLS 1.3-only target fails the client with the version named' {
        $port = Get-FreeTcpPort
        $v13 = Start-Peer openssl 's_server', '-accept', "127.0.0.1:$port", '-cert', $script:TargetPem, '-key', (Join-Path $script:Dir 'target.key'), '-tls1_3', '-quiet'
        try {
            Wait-TcpPort -Port $port
            $relay = Start-SocketRelay 0 127.0.0.1 $port -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem -TlsProtocol Tls12
            $c = Connect-TcpSocket 127.0.0.1 $relay.Port
            Receive-SocketData $c -ToEnd -Timeout 15 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Wait-Until { $relay.ClientsFailed -ge 1 } -TimeoutSec 20 | Should -BeTrue
            $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
            "$($r[0].Errors[0].Exception.Kind)" | Should -Be 'AuthenticationFailed'
            "$($r[0].Errors[0])" | Should -Match 'TLS version|-TlsProtocol'
        }
        finally { Stop-Peer $v13 }
    }

    It 'refuses TLS details without -UseTls as InvalidArgument' {
        { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -SkipCertificateCheck } | Should -Throw -ErrorId 'InvalidArgument*'
        { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -CheckRevocation } | Should -Throw -ErrorId 'InvalidArgument*'
        { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -ClientCertificate $script:RelayClientPem } | Should -Throw -ErrorId 'InvalidArgument*'
        { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -TlsProtocol Tls12 } | Should -Throw -ErrorId 'InvalidArgument*'
        { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -UseTls -ClientCertificatePassword $script:PfxPassword } | Should -Throw -ErrorId 'InvalidArgument*'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }

    It 'names in the error the parameters given that need another, and what to add (<Given>)' -ForEach @(
        @{ Given = '-TlsProtocol'; Splat = @{ TlsProtocol = 'Tls12' }; Message = '-TlsProtocol applies to a TLS side of the relay: add -Certificate or -UseTls.' }
        @{ Given = '-ClientCertificatePassword'; Splat = @{ UseTls = $true; ClientCertificatePassword = (ConvertTo-SecureString 'x' -AsPlainText -Force) }; Message = '-ClientCertificatePassword applies to -ClientCertificate: add -ClientCertificate.' }
        @{ Given = '-SkipCertificateCheck -TlsServerName'; Splat = @{ SkipCertificateCheck = $true; TlsServerName = 'db.example' }; Message = '-TlsServerName and -SkipCertificateCheck apply to TLS toward the target: add -UseTls.' }
        @{ Given = '-NoClobber'; Splat = @{ NoClobber = $true }; Message = '-NoClobber applies to the traffic log: add -TranscriptPath.' }
    ) {
        $e = $null
        try { Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port @Splat } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $e.Exception.Message | Should -BeExactly $Message
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }
}

Describe 'Start-SocketRelay -Certificate (TLS from the clients)' {
    BeforeAll {
        $script:Echo = Start-SocatEcho
        $script:TlsEcho = Start-TlsEcho
    }
    AfterAll { Stop-Peer $script:Echo.Process; Stop-Peer $script:TlsEcho.Process }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'terminates TLS for python3 clients (PEM certificate) and relays 1 MiB to a plain echo unchanged' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:RelayPem
        $relay.IsTls | Should -BeTrue
        $relay.Certificate.Subject | Should -Be 'CN=localhost'
        Invoke-PythonTlsClient -Port $relay.Port | Should -Match '^TLSv1\.[23] 1048576 same$'
        Wait-Until { $relay.ClientsActive -eq 0 } | Should -BeTrue
        $relay.BytesToTarget | Should -BeGreaterOrEqual 1MB
    }

    It 'relays a client whose certificate validates with -RequireClientCertificate and refuses one without, recording why' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:RelayPem -RequireClientCertificate -TrustedCertificate $script:CaPem
        $relay.RequireClientCertificate | Should -BeTrue
        Invoke-PythonTlsClient -Port $relay.Port -Size 64KB -CertPem $script:RelayClientPem | Should -Match '^TLSv1\.[23] 65536 same$'
        Invoke-PythonTlsClient -Port $relay.Port -Size 64KB | Should -Not -Match 'same$'
        Wait-Until { $relay.ClientsFailed -ge 1 } -TimeoutSec 20 | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { -not $_.Succeeded })
        $r.Count | Should -Be 1
        "$($r[0].Errors[0])" | Should -Match 'client certificate was rejected: the peer sent no certificate'
        { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -RequireClientCertificate } | Should -Throw -ErrorId 'InvalidArgument*'
        { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TrustedCertificate $script:CaPem } | Should -Throw -ErrorId 'InvalidArgument*'
    }

    It 'counts a port probe (connect, close before a byte) in ClientsReset, not ClientsFailed, and connects no target for it' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:RelayPem
        Test-TcpPort 127.0.0.1 $relay.Port -Quiet | Should -BeTrue
        Wait-Until { $relay.ClientsReset -ge 1 } -TimeoutSec 20 | Should -BeTrue
        $relay.ClientsFailed | Should -Be 0
        $relay.BytesToTarget | Should -Be 0
        "$(@(Receive-SocketServerOutput $relay)[0].Errors[0])" | Should -Match 'closed the connection before sending a TLS handshake'
    }

    It 'keeps to -TlsProtocol toward the clients: with Tls12 a python3 client gets TLS 1.2' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:RelayPem -TlsProtocol Tls12
        Invoke-PythonTlsClient -Port $relay.Port -Size 64KB | Should -Be 'TLSv1.2 65536 same'
    }

    It 'serves openssl s_client from a PFX with -CertificatePassword' {
        # the target answers one line in capitals and closes; the relay passes that close on as close_notify
        $port = Get-FreeTcpPort
        $target = Start-Peer python3 '-c', @"
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $port)); l.listen(4)
while True:
    c, _ = l.accept(); f = c.makefile('rb')
    try:
        c.sendall(f.readline().upper()); f.close(); c.close()
    except OSError:
        pass
"@
        try {
            Wait-TcpPort -Port $port
            $relay = Start-SocketRelay 0 127.0.0.1 $port -Certificate $script:RelayPfx -CertificatePassword $script:PfxPassword
            $out = "hello from openssl`n" | & timeout 60 openssl s_client -connect "127.0.0.1:$($relay.Port)" -servername localhost -CAfile $script:CaPem -verify_return_error -quiet 2>$null
            $LASTEXITCODE | Should -Be 0
            $out | Should -Be 'HELLO FROM OPENSSL'
        }
        finally { Stop-Peer $target }
    }

    It 'records a client that does not speak TLS as failed (AuthenticationFailed) and serves the next one' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:RelayPem
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c "plain text, not a ClientHello`r`n"
        $null = Receive-SocketData $c -ToEnd -Timeout 15 -ErrorAction SilentlyContinue
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        "$($r[0].Errors[0].Exception.Kind)" | Should -Be 'AuthenticationFailed'
        $relay.BytesToTarget | Should -Be 0
        $t = Connect-TcpSocket localhost $relay.Port -UseTls -TrustedCertificate $script:CaPem
        Send-SocketData $t 'after the failure' -Line
        Receive-SocketData $t -Line -Timeout 15 | Should -Be 'after the failure'
    }

    It 'speaks TLS on both sides: python3 in, the socat TLS echo out' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -Certificate $script:RelayPem -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem
        Invoke-PythonTlsClient -Port $relay.Port -Size 300KB | Should -Match '^TLSv1\.[23] 307200 same$'
    }

    It 'passes a TLS client''s half-close (close_notify, then FIN) on to the target, which still answers' {
        $port, $target = Start-CountingTarget
        try {
            $relay = Start-SocketRelay 0 127.0.0.1 $port -Certificate $script:RelayPem
            # .NET's SslStream as the client: it can send close_notify and still read afterwards.
            $tcp = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $relay.Port)
            $ca = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($script:CaPem)
            $ssl = [System.Net.Security.SslStream]::new($tcp.GetStream(), $false, { param($s, $cert, $chain, $errors)
                    $chain.ChainPolicy.TrustMode = 'CustomRootTrust'; $null = $chain.ChainPolicy.CustomTrustStore.Add($ca)
                    $chain.Build($cert) -and ($errors -band -bnot [System.Net.Security.SslPolicyErrors]::RemoteCertificateChainErrors) -eq 0 })
            try {
                $ssl.AuthenticateAsClient('localhost')
                $ssl.Write([byte[]]::new(100000), 0, 100000)
                $ssl.ShutdownAsync().Wait(10000) | Should -BeTrue
                $tcp.Client.Shutdown('Send')
                $reader = [IO.StreamReader]::new($ssl)
                $reader.ReadLine() | Should -Be 'got 100000'
            }
            finally { $ssl.Dispose(); $tcp.Dispose() }
        }
        finally { Stop-Peer $target }
    }
}

Describe 'Start-SocketRelay -Proxy (the target through a proxy)' -Skip:([bool] (Get-PeerSkipReason microsocks) -or [bool] (Get-PeerSkipReason tinyproxy)) {
    BeforeAll {
        $script:Echo = Start-SocatEcho
        $script:TlsEcho = Start-TlsEcho
        $script:Secret = 'Relay-Pr0xy-secret'
        $script:Cred = [pscredential]::new('alice', (ConvertTo-SecureString $script:Secret -AsPlainText -Force))
        $script:ProxyPeers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
        $script:Socks = Get-FreeTcpPort
        $script:ProxyPeers.Add((Start-Peer (Get-Command microsocks).Source '-i', '127.0.0.1', '-p', $script:Socks, '-u', 'alice', '-P', $script:Secret))
        Wait-TcpPort -Port $script:Socks
        $script:Tiny = Get-FreeTcpPort
        $conf = Join-Path $script:Dir 'tinyproxy.conf'
        $users = if ($IsLinux -and (id -u) -eq '0') { "User nobody`nGroup nogroup" } else { '' }
        Set-Content -Path $conf -Value "Port $script:Tiny`nListen 127.0.0.1`nTimeout 30`nMaxClients 20`nBasicAuth alice $script:Secret`n$users"
        $script:ProxyPeers.Add((Start-Peer (Get-Command tinyproxy).Source '-d', '-c', $conf))
        Wait-TcpPort -Port $script:Tiny
    }
    AfterAll {
        $script:ProxyPeers | Stop-Peer
        Stop-Peer $script:Echo.Process; Stop-Peer $script:TlsEcho.Process
    }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'relays through microsocks (socks5:// with -ProxyCredential) and shows the proxy without the password' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Proxy "socks5://127.0.0.1:$Socks" -ProxyCredential $Cred
        "$($relay.Proxy)" | Should -Be "socks5://alice@127.0.0.1:$Socks"
        ($relay | Format-List * | Out-String) | Should -Not -Match ([regex]::Escape($Secret))
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'through socks5' -Line
        Receive-SocketData $c -Line -Timeout 15 | Should -Be 'through socks5'
    }

    It 'relays through tinyproxy (http:// CONNECT, Basic auth) to the TLS target with -UseTls' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:TlsEcho.Port -Proxy "http://127.0.0.1:$Tiny" -ProxyCredential $Cred -UseTls -TlsServerName relay-target.test -TrustedCertificate $script:CaPem
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $c 'through CONNECT, then TLS' -Line
        Receive-SocketData $c -Line -Timeout 15 | Should -Be 'through CONNECT, then TLS'
    }

    It 'records ProxyAuthenticationFailed for each client when the proxy refuses the credential, never showing the password' {
        $wrong = [pscredential]::new('alice', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Proxy "socks5://127.0.0.1:$Socks" -ProxyCredential $wrong
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port
        Receive-SocketData $c -ToEnd -Timeout 15 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsFailed -ge 1 } | Should -BeTrue
        $r = @(Receive-SocketServerOutput $relay | Where-Object { $_.ClientEndPoint.Port -eq $c.LocalEndPoint.Port })
        "$($r[0].Errors[0].Exception.Kind)" | Should -Be 'ProxyAuthenticationFailed'
        "$($r[0].Errors[0])" | Should -Not -Match 'not-the-password'
        $relay.State | Should -Be 'Listening'
    }

    It 'refuses -ProxyCredential without -Proxy as InvalidArgument' {
        { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -ProxyCredential $Cred } | Should -Throw -ErrorId 'InvalidArgument*'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }
}

Describe 'Start-SocketRelay -TranscriptPath (traffic log of every client)' {
    BeforeAll {
        $script:Echo = Start-SocatEcho
    }
    AfterAll { Stop-Peer $script:Echo.Process }
    AfterEach { Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false }

    It 'dumps all 256 byte values each way as ncat -x does, every chunk under its client, direction and size' {
        $log = Join-Path $script:Dir 'relay-hex.log'
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TranscriptPath $log -TranscriptFormat Hex
        $relay.TranscriptPath | Should -Be $log
        $c = Connect-TcpSocket 127.0.0.1 $relay.Port -NoDelay
        $all = [byte[]] (0..255)
        foreach ($chunk in @(, $all[0..99]) + @(, $all[100..199]) + @(, $all[200..255])) {
            Send-SocketData $c ([byte[]] $chunk)
            (Receive-SocketData $c -Count $chunk.Count -AsBytes -Timeout 10).Count | Should -Be $chunk.Count
        }
        $client = '127.0.0.1:{0}' -f $c.LocalEndPoint.Port
        Remove-SocketSession $c
        Wait-Until { (Get-Content -Raw $log) -match "## $([regex]::Escape($client)) ended" } | Should -BeTrue
        Stop-SocketServer $relay -Wait -Timeout 10

        $mine = @(Read-HexTranscript $log | Where-Object Client -eq $client)
        foreach ($dir in '>>', '<<') {
            $chunks = @($mine | Where-Object Direction -eq $dir)
            $chunks.Count | Should -BeGreaterOrEqual 1
            [byte[]] ($chunks | ForEach-Object { $_.Bytes }) | Should -Be $all
            foreach ($chunk in $chunks) {
                $chunk.Bytes.Count | Should -Be $chunk.Size
                ($chunk.Lines -join "`n") | Should -BeExactly ((Format-NcatHex ([byte[]] $chunk.Bytes)) -join "`n")
            }
        }
        $text = Get-Content -Raw $log
        $text | Should -Match '## Transcript of relay'
        $text | Should -Match "## $([regex]::Escape($client)) connected"
        $text | Should -Match '## Relay stopped'
        $text | Should -Not -Match "`r"
    }

    It 'writes text records that tell two clients apart, in a file only its owner can read' {
        $log = Join-Path $script:Dir 'relay-text.log'
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TranscriptPath $log
        $a = Connect-TcpSocket 127.0.0.1 $relay.Port
        $b = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $a 'from client A' -Line
        Send-SocketData $b 'from client B' -Line
        Receive-SocketData $a -Line -Timeout 10 | Should -Be 'from client A'
        Receive-SocketData $b -Line -Timeout 10 | Should -Be 'from client B'
        $aName = [regex]::Escape('127.0.0.1:{0}' -f $a.LocalEndPoint.Port)
        $bName = [regex]::Escape('127.0.0.1:{0}' -f $b.LocalEndPoint.Port)
        Remove-SocketSession $a, $b
        Stop-SocketServer $relay -Wait -Timeout 10
        $text = Get-Content -Raw $log
        $text | Should -Match "(?m) $aName >> from client A$"
        $text | Should -Match "(?m) $aName << from client A$"
        $text | Should -Match "(?m) $bName >> from client B$"
        $text | Should -Match "(?m) $bName << from client B$"
        $text | Should -Not -Match "$aName .. from client B"
        if (-not $IsWindows) { (Get-Item $log).UnixFileMode | Should -Be ([IO.UnixFileMode] 'UserRead, UserWrite') }
    }

    It 'with -NoClobber refuses an existing file (NoClobber), leaves it as it was and starts nothing' {
        $log = Join-Path $script:Dir 'relay-keep.log'
        Set-Content -Path $log -Value 'keep me'
        Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TranscriptPath $log -NoClobber -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NoClobber,PSSocket.Commands.StartSocketRelayCommand'
        (Get-Content -Raw $log).Trim() | Should -Be 'keep me'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TranscriptFormat Hex } | Should -Throw -ErrorId 'InvalidArgument*'
    }
}

Describe 'Start-SocketRelay -Udp' {
    BeforeAll {
        $script:UdpDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-udprelay-$PID"
        New-Item -ItemType Directory -Force $UdpDir | Out-Null
        $script:UdpPeers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

        # A python3 UDP echo (each datagram back to its sender, as is) that binds the port it is
        # given (0: one the OS picks) and writes the port it got to a file once it is bound.
        $script:EchoPy = @'
import socket, sys
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((host, port))
open(out + '.tmp', 'w').write(str(s.getsockname()[1])); __import__('os').rename(out + '.tmp', out)
while True:
    data, addr = s.recvfrom(65536)
    s.sendto(data, addr)
'@
        function script:Start-PyUdpEcho([string] $Address = '127.0.0.1', [int] $Port = 0) {
            $file = Join-Path $UdpDir ([guid]::NewGuid().ToString('n'))
            $p = Start-Peer python3 @('-c', $EchoPy, $Address, $Port, $file)
            $UdpPeers.Add($p)
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Test-Path $file) -and -not $p.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            if (-not (Test-Path $file)) { throw "the python3 UDP echo on $Address did not start (exited: $($p.HasExited))" }
            [pscustomobject]@{ Process = $p; Port = [int] (Get-Content $file) }
        }

        # Runs a python3 client script (bounded), returns its output lines; the script prints ok=... or bad=...
        function script:Invoke-PyClient([string] $Script, [int] $TimeoutSec = 120) {
            $out = & timeout $TimeoutSec python3 -c $Script 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($out | ForEach-Object { "$_" }) }
        }

        $script:Echo4 = Start-PyUdpEcho '127.0.0.1'
        $script:Echo6 = Start-PyUdpEcho '::1'
    }
    AfterAll {
        $UdpPeers | Stop-Peer
        Remove-Item -Recurse -Force $UdpDir -ErrorAction SilentlyContinue
    }
    AfterEach {
        Get-SocketSession -Kind Relay | Remove-SocketSession -Confirm:$false
        Get-SocketSession -Kind Udp | Remove-SocketSession -Confirm:$false
    }

    It 'returns a registered Relay session at once and relays a datagram each way, the reply coming from the relay''s port (socat echo)' {
        if ($why = Get-PeerSkipReason socat) { Set-ItResult -Skipped -Because $why; return }
        $echo = $null
        for ($attempt = 0; $attempt -lt 5 -and -not $echo; $attempt++) {
            $port = Get-FreeUdpPort
            $p = Start-Peer socat @("UDP4-RECVFROM:$port,bind=127.0.0.1,fork", 'PIPE')
            try { Wait-UdpBound $port -TimeoutSec 10; Start-Sleep -Milliseconds 100; if (-not $p.HasExited) { $echo = $p } }
            catch { Stop-Peer $p }
        }
        $echo | Should -Not -BeNullOrEmpty -Because 'socat must bind a free UDP port in 5 attempts'
        try {
            $relay = Start-SocketRelay 0 127.0.0.1 $port -Udp -Name udpfwd
            $relay.Kind | Should -Be 'Relay'
            $relay | Should -BeOfType PSSocket.UdpRelaySession
            $relay.State | Should -Be 'Listening'
            $relay.LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
            $relay.IdleTimeout | Should -Be ([TimeSpan]::FromSeconds(60))
            (Get-SocketSession -Name udpfwd).Id | Should -Be $relay.Id
            $u = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
            Send-SocketData $u 'through the UDP relay'
            $d = Receive-SocketData $u -Timeout 10
            $d.Text | Should -Be 'through the UDP relay'
            $d.RemoteEndPoint.Port | Should -Be $relay.Port
            $relay.DatagramsToTarget | Should -Be 1
            # a reply is counted once sent: the sender can hold it a moment before the counter moves
            Wait-Until { $relay.DatagramsFromTarget -eq 1 -and $relay.BytesFromTarget -eq 21 } | Should -BeTrue
            $relay.DatagramsFromTarget | Should -Be 1
            $relay.BytesToTarget | Should -Be 21
            $relay.BytesFromTarget | Should -Be 21
            $relay.MappingsActive | Should -Be 1
            $relay.ClientsActive | Should -Be 1
            (Invoke-UdpSend 127.0.0.1 $relay.Port 'one-shot' -WaitForReply -Timeout 10).Text | Should -Be 'one-shot'
            $relay.MappingsActive | Should -Be 2
            (Get-SocketSession -Kind Relay | Format-Table | Out-String -Width 200) | Should -Match 'udpfwd\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+2\s+0\s'
            ($relay | Format-List | Out-String -Width 200) | Should -Match 'MappingsActive\s+: 2'
        }
        finally { Stop-Peer $echo }
    }

    It 'gives each of 8 concurrent python3 senders exactly its own datagrams back, boundaries kept from 0 to 60000 bytes' {
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp
        $r = Invoke-PyClient @"
import socket, threading, os
port = $($relay.Port); bad = []; sizes = [0, 1, 7, 512, 1472, 1473, 8192, 32768, 50000, 60000]
def client(i):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:
        # one at a time, every size: the reply is the very datagram, never merged or split
        for n in sizes:
            data = (b'%02d' % i + os.urandom(max(0, n - 2)))[:n]
            s.sendto(data, ('127.0.0.1', port))
            got, frm = s.recvfrom(65536)
            if got != data or frm[1] != port: bad.append('%d: sent %d bytes, got %d from %r' % (i, n, len(got), frm))
        # a burst of 40 small datagrams of different sizes: 40 replies, each one of ours
        sent = [b'%02d-%03d-' % (i, k) + b'x' * (k * 13) for k in range(40)]
        for d in sent: s.sendto(d, ('127.0.0.1', port))
        got = []
        while len(got) < len(sent):
            got.append(s.recvfrom(65536)[0])
        if sorted(got) != sorted(sent): bad.append('%d: burst replies differ' % i)
    except Exception as e:
        bad.append('%d: %r' % (i, e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('bad=%d' % len(bad)); [print(b) for b in bad[:5]]
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain 'bad=0'
        $relay.ClientsAccepted | Should -Be 8
        $relay.MappingsActive | Should -Be 8
        $expected = 0; foreach ($n in 0, 1, 7, 512, 1472, 1473, 8192, 32768, 50000, 60000) { $expected += $n }
        foreach ($k in 0..39) { $expected += 7 + $k * 13 }
        $relay.DatagramsToTarget | Should -Be (8 * 50)
        # a reply is counted once sent: the sender can hold the last one before the counter moves
        Wait-Until { $relay.DatagramsFromTarget -eq (8 * 50) -and $relay.BytesFromTarget -eq (8 * $expected) } | Should -BeTrue
        $relay.DatagramsFromTarget | Should -Be (8 * 50)
        $relay.BytesToTarget | Should -Be (8 * $expected)
        $relay.BytesFromTarget | Should -Be (8 * $expected)
    }

    It 'relays over IPv6 (::1 to ::1) and from an IPv4 port to an IPv6 target' {
        $relay6 = Start-SocketRelay 0 ::1 $Echo6.Port -Udp -Address IPv6Loopback
        $relay6.LocalEndPoint.Address.ToString() | Should -Be '::1'
        $u6 = New-UdpListener -Address IPv6Loopback -ComputerName ::1 -RemotePort $relay6.Port
        Send-SocketData $u6 'six to six'
        $d = Receive-SocketData $u6 -Timeout 10
        $d.Text | Should -Be 'six to six'
        $d.RemoteEndPoint.Address.ToString() | Should -Be '::1'
        $d.RemoteEndPoint.Port | Should -Be $relay6.Port

        $relay46 = Start-SocketRelay 0 ::1 $Echo6.Port -Udp
        $relay46.TargetEndPoint.Address.ToString() | Should -Be '::1'
        (Invoke-UdpSend 127.0.0.1 $relay46.Port 'four to six' -WaitForReply -Timeout 10).Text | Should -Be 'four to six'
    }

    It 'expires an idle mapping (its socket closed, recorded) and opens a new one for the sender''s next datagram' {
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp -IdleTimeout 3
        $u = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        Send-SocketData $u 'first'
        (Receive-SocketData $u -Timeout 10).Text | Should -Be 'first'
        $relay.MappingsActive | Should -Be 1
        Wait-Until { $relay.MappingsActive -eq 0 -and $relay.ClientsActive -eq 0 } | Should -BeTrue
        $rec = @(Receive-SocketServerOutput $relay)
        $rec.Count | Should -Be 1
        $rec[0].ClientEndPoint.Port | Should -Be $u.LocalEndPoint.Port
        $rec[0].CloseReason | Should -Match 'idle timeout \(3 s\)'
        $rec[0].Output | Should -Match '1 datagrams \(5 bytes\) to the target, 1 datagrams \(5 bytes\) back'
        Send-SocketData $u 'second'
        (Receive-SocketData $u -Timeout 10).Text | Should -Be 'second'
        $relay.ClientsAccepted | Should -Be 2
        $relay.MappingsActive | Should -Be 1
    }

    It 'keeps at most -ThrottleLimit mappings: a further sender is refused and counted until one expires' {
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp -ThrottleLimit 2 -IdleTimeout 4
        $a = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        $b = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        $c = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        Send-SocketData $a 'a'; (Receive-SocketData $a -Timeout 10).Text | Should -Be 'a'
        Send-SocketData $b 'b'; (Receive-SocketData $b -Timeout 10).Text | Should -Be 'b'
        Send-SocketData $c 'c'
        { Receive-SocketData $c -Timeout 1 } | Should -Throw -ErrorId 'ReceiveTimeout*'
        $relay.DatagramsRefused | Should -Be 1
        $relay.MappingsActive | Should -Be 2
        $relay.State | Should -Be 'Listening'
        Wait-Until { $relay.MappingsActive -eq 0 } | Should -BeTrue
        Send-SocketData $c 'c again'
        (Receive-SocketData $c -Timeout 10).Text | Should -Be 'c again'
        $relay.ClientsAccepted | Should -Be 3
    }

    It 'survives the target''s ICMP port unreachable and relays once the target listens' {
        $gone = Start-PyUdpEcho '127.0.0.1'
        $port = $gone.Port
        $null = $UdpPeers.Remove($gone.Process)
        Stop-Peer $gone.Process
        $relay = Start-SocketRelay 0 127.0.0.1 $port -Udp
        $u = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        Send-SocketData $u 'anyone?'
        Wait-Until { "$($relay.LastTargetError)" -match 'refused' } -TimeoutSec 10 | Should -BeTrue
        Send-SocketData $u 'still nobody?'
        { Receive-SocketData $u -Timeout 1 } | Should -Throw -ErrorId 'ReceiveTimeout*'
        $relay.State | Should -Be 'Listening'
        $relay.MappingsActive | Should -Be 1
        $null = Start-PyUdpEcho '127.0.0.1' $port
        Send-SocketData $u 'back again'
        (Receive-SocketData $u -Timeout 10).Text | Should -Be 'back again'
        $relay.ClientsAccepted | Should -Be 1
    }

    It 'answers a real DNS query through the relay (dnsmasq)' {
        if ($why = Get-PeerSkipReason dnsmasq -Path /usr/sbin/dnsmasq) { Set-ItResult -Skipped -Because $why; return }
        $dns = $null
        for ($attempt = 0; $attempt -lt 5 -and -not $dns; $attempt++) {
            $port = Get-FreeUdpPort
            $p = Start-Peer /usr/sbin/dnsmasq @('--keep-in-foreground', '--no-daemon', "--port=$port", '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--user=root', '--address=/relayed.test/192.0.2.53')
            try { Wait-UdpBound $port -TimeoutSec 10; Start-Sleep -Milliseconds 100; if (-not $p.HasExited) { $dns = $p } else { Stop-Peer $p } }
            catch { Stop-Peer $p }
        }
        $dns | Should -Not -BeNullOrEmpty -Because 'dnsmasq must bind a free UDP port in 5 attempts'
        $UdpPeers.Add($dns)
        $relay = Start-SocketRelay 0 127.0.0.1 $port -Udp
        $r = Invoke-PyClient @"
import socket, struct
q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\x07relayed\x04test\x00' + struct.pack('>HH', 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.sendto(q, ('127.0.0.1', $($relay.Port)))
a, frm = s.recvfrom(65536)
ident, flags, qd, an = struct.unpack('>HHHH', a[:8])
print('id=%x rcode=%d answers=%d from=%d addr=%s' % (ident, flags & 15, an, frm[1], socket.inet_ntoa(a[-4:])))
"@ -TimeoutSec 30
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain "id=1234 rcode=0 answers=1 from=$($relay.Port) addr=192.0.2.53"
    }

    It 'logs each datagram as one Hex chunk of exactly its size under its sender, and each mapping opened and expired (-TranscriptPath)' {
        $log = Join-Path $UdpDir 'udp-relay-hex.log'
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp -IdleTimeout 1 -TranscriptPath $log -TranscriptFormat Hex
        $relay.TranscriptPath | Should -Be $log
        $u = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $relay.Port
        $all = [byte[]] (0..255)
        $chunks = @(, $all[0..99]) + @(, $all[100..199]) + @(, $all[200..255])
        foreach ($chunk in $chunks) {
            Send-SocketData $u ([byte[]] $chunk)
            (Receive-SocketData $u -Timeout 10).Length | Should -Be $chunk.Count
        }
        $client = '127.0.0.1:{0}' -f $u.LocalEndPoint.Port
        Wait-Until { (Get-Content -Raw $log) -match "## $([regex]::Escape($client)) ended \(Expired" } | Should -BeTrue
        Stop-SocketServer $relay
        Wait-Until { (Get-Content -Raw $log) -match '## Relay stopped' } | Should -BeTrue

        $mine = @(Read-HexTranscript $log | Where-Object Client -eq $client)
        foreach ($dir in '>>', '<<') {
            $logged = @($mine | Where-Object Direction -eq $dir)
            $logged.Size | Should -Be 100, 100, 56
            [byte[]] ($logged | ForEach-Object { $_.Bytes }) | Should -Be $all
            foreach ($chunk in $logged) {
                ($chunk.Lines -join "`n") | Should -BeExactly ((Format-NcatHex ([byte[]] $chunk.Bytes)) -join "`n")
            }
        }
        $text = Get-Content -Raw $log
        $text | Should -Match '## Transcript of UDP relay'
        $text | Should -Match "## $([regex]::Escape($client)) mapped; relayed from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:$($Echo4.Port)"
        $text | Should -Match '3 datagrams \(256 bytes\) to the target, 3 datagrams \(256 bytes\) back'
    }

    It 'stops with Stop-SocketServer: mappings closed, the port free again, listed until removed' {
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp
        (Invoke-UdpSend 127.0.0.1 $relay.Port 'x' -WaitForReply -Timeout 10).Text | Should -Be 'x'
        Stop-SocketServer $relay
        $relay.State | Should -Be 'Stopped'
        Remove-SocketSession $relay
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        Wait-Until { $relay.ClientsActive -eq 0 } | Should -BeTrue
        $relay.MappingsActive | Should -Be 0
        (Receive-SocketServerOutput $relay).CloseReason | Should -Be 'The relay was stopped'
        $again = New-UdpListener $relay.Port
        $again.LocalEndPoint.Port | Should -Be $relay.Port
    }

    It 'stops with Remove-SocketSession too' {
        $relay = Start-SocketRelay 0 127.0.0.1 $Echo4.Port -Udp -Name udp-rm
        Remove-SocketSession udp-rm
        $relay.State | Should -Be 'Closed'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
        (New-UdpListener $relay.Port).LocalEndPoint.Port | Should -Be $relay.Port
    }

    It 'writes HostNotFound for a target that does not resolve, registering nothing' {
        Start-SocketRelay 0 'no-such-host.invalid' 53 -Udp -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound*'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }
}

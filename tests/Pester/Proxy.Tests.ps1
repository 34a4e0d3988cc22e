# Connect-TcpSocket -Proxy against real proxies, each run in the foreground on a loopback port this
# file owns and stopped by PID: microsocks (SOCKS5, with and without a password), dante (SOCKS4/4a
# and SOCKS5), tinyproxy (HTTP CONNECT with Basic auth), ncat --proxy-type http and squid (its rules
# give the 403 the others do not). The targets are a redis-server and an openssl s_server on loopback.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-proxy-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    $script:Secret = 's3cret-Pr0xy'
    $script:Cred = [pscredential]::new('alice', (ConvertTo-SecureString $script:Secret -AsPlainText -Force))
    $script:WrongCred = [pscredential]::new('alice', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
    $script:IsRoot = $IsLinux -and (id -u) -eq '0'

    function Start-TestPeer {
        param([string] $FilePath, [string[]] $ArgumentList, [int] $Port)
        $p = Start-Peer -FilePath $FilePath -ArgumentList $ArgumentList
        $script:Peers.Add($p)
        Wait-TcpPort -Port $Port -TimeoutSec 20
        $p
    }

    # A port that refuses: bound (so no other test takes it) but not listening.
    $script:RefusingSocket = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
    $script:RefusingSocket.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
    $script:RefusedPort = $script:RefusingSocket.LocalEndPoint.Port

    $script:RedisPort = 0
    if (-not (Get-PeerSkipReason redis-server)) {
        $script:RedisPort = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command redis-server).Source @('--port', $script:RedisPort, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no') $script:RedisPort
    }

    # Through the session: PING must come back as PONG from the redis behind the proxy.
    function Assert-RedisPing {
        param($Session)
        Send-SocketData $Session "PING`r`n"
        Receive-SocketData $Session -Line -Timeout 10 | Should -Be '+PONG'
    }

    function Get-ConnectError {
        param([string] $ComputerName, [int] $Port, [hashtable] $With)
        $err = $null
        $s = Connect-TcpSocket $ComputerName $Port @With -ErrorVariable err -ErrorAction SilentlyContinue
        $s | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0]
    }
}

AfterAll {
    Remove-AllSocketSessions
    $script:Peers | Stop-Peer
    if ($script:RefusingSocket) { $script:RefusingSocket.Dispose() }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Connect-TcpSocket -Proxy through microsocks (SOCKS5)' -Skip:([bool] (Get-PeerSkipReason microsocks) -or [bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $script:Socks = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', $script:Socks) $script:Socks
        $script:SocksAuth = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', $script:SocksAuth, '-u', 'alice', '-P', $script:Secret) $script:SocksAuth
    }
    AfterEach { Remove-AllSocketSessions }

    It 'talks to redis through socks5:// and the session shows the proxy (list view), the table staying within 80 columns' {
        $s = Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "socks5://127.0.0.1:$Socks" -Name proxied-redis
        Assert-RedisPing $s
        "$($s.Proxy)" | Should -Be "socks5://127.0.0.1:$Socks"
        $s.Proxy.Kind | Should -Be 'Socks5'
        $list = $s | Format-List | Out-String -Width 200
        $list | Should -Match "Proxy\s+: socks5://127\.0\.0\.1:$Socks"
        $table = ($s | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ }
        ($table | Measure-Object -Maximum -Property Length).Maximum | Should -BeLessOrEqual 80
        # At 80 columns the table cuts long names with one ellipsis.
        $table[-1] | Should -Match 'proxied-r(edis|\S*…)'
    }

    It 'lets the proxy resolve the name with socks5h:// and resolves it here with socks5://' {
        Assert-RedisPing (Connect-TcpSocket localhost $RedisPort -Proxy "socks5h://127.0.0.1:$Socks")
        Assert-RedisPing (Connect-TcpSocket localhost $RedisPort -Proxy "socks5://127.0.0.1:$Socks")
    }

    It 'reports a name that does not resolve here (socks5://) as HostNotFound and there (socks5h://) as the proxy''s failure' {
        $e = Get-ConnectError 'no-such-host.invalid' 80 @{ Proxy = "socks5://127.0.0.1:$Socks" }
        $e.FullyQualifiedErrorId | Should -BeLike 'HostNotFound,*'
        # microsocks answers a failed lookup with reply 1 (general failure)
        $e = Get-ConnectError 'no-such-host.invalid' 80 @{ Proxy = "socks5h://127.0.0.1:$Socks" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyError,*'
        $e.Exception.Message | Should -Match 'SOCKS5 reply 1'
    }

    It 'reports a refused target as ProxyTargetRefused (SOCKS5 reply 5)' {
        $e = Get-ConnectError 127.0.0.1 $RefusedPort @{ Proxy = "socks5://127.0.0.1:$Socks" }
        $e.FullyQualifiedErrorId | Should -Be 'ProxyTargetRefused,PSSocket.Commands.ConnectTcpSocketCommand'
        $e.CategoryInfo.Category | Should -Be 'ConnectionError'
        $e.TargetObject | Should -Be "127.0.0.1:$RefusedPort"
        $e.Exception.Message | Should -Match 'refused.*SOCKS5 reply 5'
    }

    It 'reports a proxy nobody listens on as ProxyUnreachable' {
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "socks5://127.0.0.1:$RefusedPort" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyUnreachable,*'
        $e.TargetObject | Should -Be "socks5://127.0.0.1:$RefusedPort"
    }

    It 'fails within -Timeout when the proxy accepts but never answers' {
        $silent = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $silent.Start()
        try {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "socks5://127.0.0.1:$($silent.LocalEndpoint.Port)"; Timeout = 1 }
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 8
            $e.FullyQualifiedErrorId | Should -BeLike 'ConnectionTimedOut,*'
            $e.Exception.Message | Should -Match 'proxy did not answer'
        }
        finally { $silent.Stop() }
    }

    It 'authenticates with -ProxyCredential and with user:password in the URI, the password shown nowhere (nor in remoting)' {
        Assert-RedisPing (Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "socks5://127.0.0.1:$SocksAuth" -ProxyCredential $Cred)
        $out = Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "socks5h://alice:$([Uri]::EscapeDataString($Secret))@127.0.0.1:$SocksAuth" -Verbose 4>&1
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $verbose.Message -join "`n" | Should -Match 'through proxy socks5h://alice@127\.0\.0\.1'
        $verbose.Message -join "`n" | Should -Not -Match ([regex]::Escape($Secret))
        $s = $out | Where-Object { $_ -is [PSSocket.TcpSession] }
        Assert-RedisPing $s
        "$($s.Proxy)" | Should -Be "socks5h://alice@127.0.0.1:$SocksAuth"
        $xml = [System.Management.Automation.PSSerializer]::Serialize($s)
        ([System.Management.Automation.PSSerializer]::Deserialize($xml)).Proxy | Should -Be "socks5h://alice@127.0.0.1:$SocksAuth"
        ($s | Format-List | Out-String) + ($s | Select-Object * | Out-String) + ($s.Proxy | Select-Object * | Out-String) + $xml | Should -Not -Match ([regex]::Escape($Secret))
    }

    It 'reports a wrong password as ProxyAuthenticationFailed without echoing it' {
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "socks5://127.0.0.1:$SocksAuth"; ProxyCredential = $WrongCred }
        $e.FullyQualifiedErrorId | Should -Be 'ProxyAuthenticationFailed,PSSocket.Commands.ConnectTcpSocketCommand'
        $e.CategoryInfo.Category | Should -Be 'AuthenticationError'
        "$e $($e.TargetObject)" | Should -Not -Match 'not-the-password'
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "socks5://alice:not-the-password@127.0.0.1:$SocksAuth" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        "$e $($e.TargetObject)" | Should -Not -Match 'not-the-password'
    }

    It 'reports a missing password as ProxyAuthenticationFailed that says what to give' {
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "socks5://127.0.0.1:$SocksAuth" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        "$e" | Should -Match 'ProxyCredential'
    }

    It 'holds a conversation and a transcript through the tunnel' {
        $log = Join-Path $Dir 'proxied.log'
        $s = Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "socks5://127.0.0.1:$Socks" -NewLine "`r`n" -TranscriptPath $log
        $t = Invoke-SocketConversation $s @(
            @{ Send = 'PING'; Expect = '+PONG'; Timeout = 5 }
            @{ Send = 'ECHO through-the-proxy'; Expect = 'through-the-proxy'; Timeout = 5 }
        )
        $t.Success | Should -BeTrue
        Stop-SocketTranscript $s
        $text = Get-Content -Raw $log
        $text | Should -Match 'PING'
        $text | Should -Match '\+PONG'
    }

    It 'speaks telnet through the tunnel: the server''s first negotiation bytes arrive and are answered' -Skip:([bool] (Get-PeerSkipReason python3)) {
        $port = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command python3).Source @((Join-Path $PSScriptRoot 'peers/telnet-server.py'), $port) $port
        $s = Connect-TcpSocket 127.0.0.1 $port -Proxy "socks5://127.0.0.1:$Socks" -Telnet -NewLine "`r`n"
        $t = Invoke-SocketConversation $s @(
            @{ Expect = 'login: ' }
            @{ Send = 'tester' }
            @{ Expect = 'Password: ' }
            @{ Send = 's3cret' }
            @{ Expect = '$ ' }
            @{ Send = 'report'; Expect = '(?<Negotiation>NEGOTIATION \w+)(?<Detail>.*)\r\n\$ '; Regex = $true }
        ) -Timeout 10
        $t.Success | Should -BeTrue
        $t.Captures.Negotiation | Should -Be 'NEGOTIATION OK' -Because $t.Captures.Detail
    }

    It 'refuses misuse before connecting: -ProxyCredential without -Proxy, a scheme it does not speak' {
        { Connect-TcpSocket 127.0.0.1 $RedisPort -ProxyCredential $Cred } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.ConnectTcpSocketCommand'
        { Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy 'https://127.0.0.1:3128' } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.ConnectTcpSocketCommand'
        { Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy 'ftp://alice:hidden@127.0.0.1:21' } | Should -Throw -ExpectedMessage '*ftp://alice:***@127.0.0.1:21*'
    }
}

Describe 'TLS through a proxy tunnel (openssl s_server behind microsocks)' -Skip:([bool] (Get-PeerSkipReason microsocks) -or [bool] (Get-PeerSkipReason openssl)) {
    BeforeAll {
        $script:Socks = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', $script:Socks) $script:Socks
        # A certificate for the name localhost only (no IP): validation must use the target's name,
        # since the proxy is reached at 127.0.0.1.
        $key = Join-Path $Dir 'tls.key'
        $script:TlsPem = Join-Path $Dir 'tls.pem'
        $cfg = Join-Path $Dir 'tls.cnf'
        Set-Content -Path $cfg -Value "[req]`ndistinguished_name = dn`n[dn]`n[v3_req]`nsubjectAltName=DNS:localhost`nbasicConstraints=CA:FALSE"
        $out = & openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $script:TlsPem -days 2 -subj '/CN=localhost' -extensions v3_req -config $cfg 2>&1
        if ($LASTEXITCODE -ne 0) { throw "openssl req failed: $out" }
        $script:TlsPort = Get-FreeTcpPort
        # -rev: the server answers each line reversed, so a round trip proves the tunnel carries TLS data.
        $null = Start-TestPeer (Get-Command openssl).Source @('s_server', '-accept', "127.0.0.1:$script:TlsPort", '-cert', $script:TlsPem, '-key', $key, '-quiet', '-rev') $script:TlsPort
    }
    AfterEach { Remove-AllSocketSessions }

    It 'validates the certificate against the target name (-UseTls, SNI localhost) through socks5h' {
        $s = Connect-TcpSocket localhost $TlsPort -Proxy "socks5h://127.0.0.1:$Socks" -UseTls -TrustedCertificate $TlsPem
        $s.IsTls | Should -BeTrue
        $s.TlsServerName | Should -Be 'localhost'
        Send-SocketData $s 'tunnel' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'lennut'
    }

    It 'fails validation when the target name does not match, as it would without a proxy' {
        $e = Get-ConnectError 127.0.0.1 $TlsPort @{ Proxy = "socks5://127.0.0.1:$Socks"; UseTls = $true; TrustedCertificate = $TlsPem; TlsServerName = 'other.example' }
        $e.FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
    }

    It 'starts TLS later with Start-SocketTls on a proxied session' {
        $s = Connect-TcpSocket localhost $TlsPort -Proxy "socks5h://127.0.0.1:$Socks"
        Start-SocketTls $s -TrustedCertificate $TlsPem
        $s.IsTls | Should -BeTrue
        Send-SocketData $s 'later' -Line
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'retal'
    }
}

Describe 'Connect-TcpSocket -Proxy through dante (SOCKS4/4a and SOCKS5)' -Skip:([bool] (Get-PeerSkipReason dante-server -Command danted) -or [bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $script:Dante = Get-FreeTcpPort
        $conf = Join-Path $Dir 'danted.conf'
        # As root dante needs the users to switch to; as another user it runs as that user.
        $users = if ($IsRoot) { "user.privileged: root`nuser.unprivileged: nobody" } else { '' }
        Set-Content -Path $conf -Value @"
logoutput: stderr
internal: 127.0.0.1 port = $script:Dante
external: 127.0.0.1
clientmethod: none
socksmethod: none
$users
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  command: connect
}
"@
        $null = Start-TestPeer (Get-Command danted).Source @('-f', $conf, '-N', '1', '-p', (Join-Path $Dir 'danted.pid')) $script:Dante
    }
    AfterEach { Remove-AllSocketSessions }

    # Dante 1.4 does not take SOCKS4a names (it answers 91 to the 0.0.0.1 form), so names go
    # through socks4:// (resolved here); the 4a name encoding is checked byte by byte in xunit.
    It 'talks to redis through socks4a:// by address and socks4:// by a name resolved here' {
        $s = Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "socks4a://127.0.0.1:$Dante"
        Assert-RedisPing $s
        $s.Proxy.Kind | Should -Be 'Socks4a'
        Assert-RedisPing (Connect-TcpSocket localhost $RedisPort -Proxy "socks4://127.0.0.1:$Dante")
    }

    It 'talks to redis through socks5:// and socks5h://' {
        Assert-RedisPing (Connect-TcpSocket localhost $RedisPort -Proxy "socks5://127.0.0.1:$Dante")
        Assert-RedisPing (Connect-TcpSocket localhost $RedisPort -Proxy "socks5h://127.0.0.1:$Dante")
    }

    It 'reports a refused target under SOCKS4a (reply 91) and SOCKS5 (reply 5) as ProxyTargetRefused' {
        $e = Get-ConnectError 127.0.0.1 $RefusedPort @{ Proxy = "socks4a://127.0.0.1:$Dante" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetRefused,*'
        $e.Exception.Message | Should -Match 'SOCKS4 reply 91'
        $e = Get-ConnectError 127.0.0.1 $RefusedPort @{ Proxy = "socks5://127.0.0.1:$Dante" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetRefused,*'
    }

    It 'reports a name the proxy cannot resolve (socks5h) as ProxyTargetUnreachable' {
        $e = Get-ConnectError 'no-such-host.invalid' 80 @{ Proxy = "socks5h://127.0.0.1:$Dante" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetUnreachable,*'
        $e.Exception.Message | Should -Match 'SOCKS5 reply 4'
    }
}

Describe 'Connect-TcpSocket -Proxy through tinyproxy (HTTP CONNECT, Basic auth)' -Skip:([bool] (Get-PeerSkipReason tinyproxy) -or [bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $script:Tiny = Get-FreeTcpPort
        $conf = Join-Path $Dir 'tinyproxy.conf'
        $users = if ($IsRoot) { "User nobody`nGroup nogroup" } else { '' }
        Set-Content -Path $conf -Value @"
Port $script:Tiny
Listen 127.0.0.1
Timeout 30
MaxClients 20
BasicAuth alice $Secret
$users
"@
        $null = Start-TestPeer (Get-Command tinyproxy).Source @('-d', '-c', $conf) $script:Tiny
    }
    AfterEach { Remove-AllSocketSessions }

    It 'talks to redis with -ProxyCredential' {
        $s = Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "http://127.0.0.1:$Tiny" -ProxyCredential $Cred
        Assert-RedisPing $s
        "$($s.Proxy)" | Should -Be "http://alice@127.0.0.1:$Tiny"
    }

    It 'reports 407 (and 401) as ProxyAuthenticationFailed, with no or a wrong password, never echoing it' {
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "http://127.0.0.1:$Tiny" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        "$e" | Should -Match 'HTTP 407'
        # tinyproxy answers a wrong password with 401 rather than 407
        $e = Get-ConnectError 127.0.0.1 $RedisPort @{ Proxy = "http://127.0.0.1:$Tiny"; ProxyCredential = $WrongCred }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyAuthenticationFailed,*'
        "$e" | Should -Match 'HTTP 40[17]'
        "$e" | Should -Not -Match 'not-the-password'
    }

    It 'reports a refused target as ProxyTargetUnreachable with the proxy''s status' {
        $e = Get-ConnectError 127.0.0.1 $RefusedPort @{ Proxy = "http://127.0.0.1:$Tiny"; ProxyCredential = $Cred }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetUnreachable,*'
        "$e" | Should -Match 'HTTP 500'
    }
}

Describe 'Connect-TcpSocket -Proxy through ncat --proxy-type http' -Skip:([bool] (Get-PeerSkipReason ncat) -or [bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $script:Ncat = Get-FreeTcpPort
        $null = Start-TestPeer (Get-Command ncat).Source @('-l', '127.0.0.1', $script:Ncat, '--proxy-type', 'http', '-k') $script:Ncat
    }
    AfterEach { Remove-AllSocketSessions }

    It 'talks to redis by name, the proxy resolving it' {
        $s = Connect-TcpSocket localhost $RedisPort -Proxy "http://127.0.0.1:$Ncat"
        Assert-RedisPing $s
        $s.Proxy.Kind | Should -Be 'Http'
    }

    It 'reports a name the proxy cannot resolve and a refused target as ProxyTargetUnreachable' {
        foreach ($target in @(@('no-such-host.invalid', 80), @('127.0.0.1', $RefusedPort))) {
            $e = Get-ConnectError $target[0] $target[1] @{ Proxy = "http://127.0.0.1:$Ncat" }
            $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetUnreachable,*'
            "$e" | Should -Match 'HTTP 504'
        }
    }
}

Describe 'Connect-TcpSocket -Proxy through squid (HTTP CONNECT, access rules)' -Skip:([bool] (Get-PeerSkipReason squid) -or [bool] (Get-PeerSkipReason redis-server)) {
    BeforeAll {
        $script:Squid = Get-FreeTcpPort
        # A port squid's rules forbid: bound here so nothing else takes it.
        $script:Forbidden = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        $script:Forbidden.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        $squidDir = Join-Path $Dir 'squid'
        New-Item -ItemType Directory -Path $squidDir | Out-Null
        $conf = Join-Path $squidDir 'squid.conf'
        $user = if ($IsRoot) { 'cache_effective_user proxy' } else { '' }
        Set-Content -Path $conf -Value @"
http_port 127.0.0.1:$script:Squid
pid_filename none
cache deny all
cache_mem 8 MB
access_log none
cache_log stdio:/dev/stderr
coredump_dir $squidDir
shutdown_lifetime 0 seconds
$user
acl forbidden_port port $($script:Forbidden.LocalEndPoint.Port)
http_access deny forbidden_port
acl local src 127.0.0.1
http_access allow local
http_access deny all
"@
        $null = Start-TestPeer (Get-Command squid).Source @('-N', '-f', $conf) $script:Squid
    }
    AfterAll { $script:Forbidden.Dispose() }
    AfterEach { Remove-AllSocketSessions }

    It 'talks to redis through the tunnel' {
        Assert-RedisPing (Connect-TcpSocket 127.0.0.1 $RedisPort -Proxy "http://127.0.0.1:$Squid")
    }

    It 'reports a target its rules forbid as ProxyNotAllowed (HTTP 403)' {
        $e = Get-ConnectError 127.0.0.1 $Forbidden.LocalEndPoint.Port @{ Proxy = "http://127.0.0.1:$Squid" }
        $e.FullyQualifiedErrorId | Should -Be 'ProxyNotAllowed,PSSocket.Commands.ConnectTcpSocketCommand'
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        "$e" | Should -Match 'HTTP 403'
    }

    It 'reports a refused target as ProxyTargetUnreachable (HTTP 503)' {
        $e = Get-ConnectError 127.0.0.1 $RefusedPort @{ Proxy = "http://127.0.0.1:$Squid" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ProxyTargetUnreachable,*'
        "$e" | Should -Match 'HTTP 503'
    }
}

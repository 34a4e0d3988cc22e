# The local daemons runbooks talk to over Unix sockets, each started here in the foreground with
# its own configuration in a temp folder, and stopped by its PID.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssd-$PID-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
    New-Item -ItemType Directory -Path $script:Dir | Out-Null
    $script:Peers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    # One admin command on haproxy's stats socket: haproxy answers and closes the connection.
    function Invoke-HaproxyCommand {
        param([string] $Command)
        $s = Connect-UnixSocket $script:HaproxySocket
        try {
            Send-SocketData $s $Command -Line
            Receive-SocketData $s -ToEnd -Timeout 30
        }
        finally { Remove-SocketSession $s }
    }
}

AfterAll {
    Remove-AllSocketSessions
    foreach ($p in $script:Peers) { Stop-Peer $p }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'redis-server on a Unix socket only (--port 0 --unixsocket)' {
    BeforeAll {
        $script:NoRedis = Get-PeerSkipReason redis-server
        if ($NoRedis) { return }
        $script:RedisSocket = Join-Path $Dir 'redis.sock'
        $null = Start-UnixSocketPeer (Get-Command redis-server).Source @('--port', '0', '--unixsocket', $RedisSocket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', $Dir) $RedisSocket $script:Peers
    }
    BeforeEach { if ($NoRedis) { Set-ItResult -Skipped -Because $NoRedis } }
    AfterEach { Remove-AllSocketSessions }

    It 'answers PING with +PONG' {
        $r = Connect-UnixSocket $RedisSocket -NewLine "`r`n"
        Send-SocketData $r 'PING' -Line
        Receive-SocketData $r -Line -Timeout 30 | Should -Be '+PONG'
    }

    It 'stores and returns a 1 MiB value byte-exact (SET, then GET read with -Count)' {
        $r = Connect-UnixSocket $RedisSocket -NewLine "`r`n"
        $value = [byte[]]::new(1MB); [Random]::new(27).NextBytes($value)
        $ascii = [Text.Encoding]::ASCII
        $set = [IO.MemoryStream]::new()
        $head = $ascii.GetBytes("*3`r`n`$3`r`nSET`r`n`$8`r`nunix:big`r`n`$$($value.Length)`r`n")
        $set.Write($head, 0, $head.Length); $set.Write($value, 0, $value.Length); $set.Write($ascii.GetBytes("`r`n"), 0, 2)
        Send-SocketData $r $set.ToArray() -Timeout 60
        Receive-SocketData $r -Line -Timeout 30 | Should -Be '+OK'
        Send-SocketData $r "*2`r`n`$3`r`nGET`r`n`$8`r`nunix:big`r`n"
        Receive-SocketData $r -Line -Timeout 30 | Should -Be "`$$($value.Length)"
        $back = Receive-SocketData $r -Count $value.Length -AsBytes -Timeout 60
        Get-BytesSha256 $back | Should -Be (Get-BytesSha256 $value)
        Receive-SocketData $r -Line -Timeout 30 | Should -Be ''
    }

    It 'runs a conversation over the socket' {
        $r = Connect-UnixSocket $RedisSocket -NewLine "`r`n"
        $t = Invoke-SocketConversation $r @(
            @{ Send = 'INFO server'; Expect = 'redis_version:(?<Version>[\d.]+)'; Regex = $true; Timeout = 30 }
        )
        $t.Success | Should -BeTrue
        $t.Captures.Version | Should -Match '^\d+\.\d+'
    }
}

Describe 'haproxy''s admin socket (stats socket ... level admin)' {
    BeforeAll {
        $script:NoHaproxy = Get-PeerSkipReason haproxy -Path /usr/sbin/haproxy
        if ($NoHaproxy) { return }
        $script:HaproxySocket = Join-Path $Dir 'haproxy.sock'
        $front = Get-FreeTcpPort
        $back = Get-FreeTcpPort
        $cfg = Join-Path $Dir 'haproxy.cfg'
        Set-Content -Path $cfg -Value @"
global
    stats socket $HaproxySocket mode 600 level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$front
    default_backend be
backend be
    server web01 127.0.0.1:$back
    server web02 127.0.0.1:$back
"@
        $script:Haproxy = Start-UnixSocketPeer /usr/sbin/haproxy @('-db', '-f', $cfg) $HaproxySocket $script:Peers
    }
    BeforeEach { if ($NoHaproxy) { Set-ItResult -Skipped -Because $NoHaproxy } }
    AfterEach { Remove-AllSocketSessions }

    It 'answers show info' {
        $info = Invoke-HaproxyCommand 'show info'
        $info | Should -Match '(?m)^Name: HAProxy'
        $info | Should -Match "(?m)^Pid: $($Haproxy.Id)\r?$"
    }

    It 'drains a server: disable server, then show servers state shows it in maintenance' {
        $state = Invoke-HaproxyCommand 'show servers state be'
        $web01 = $state -split "`n" | Where-Object { $_ -match '^\d+ be \d+ web01 ' }
        ($web01 -split ' ')[6] | Should -Be '0' -Because 'srv_admin_state is 0 before the drain'

        (Invoke-HaproxyCommand 'disable server be/web01').Trim() | Should -BeNullOrEmpty -Because 'haproxy answers an empty line when the command worked'
        $state = Invoke-HaproxyCommand 'show servers state be'
        $lines = $state -split "`n"
        $web01 = $lines | Where-Object { $_ -match '^\d+ be \d+ web01 ' }
        $web02 = $lines | Where-Object { $_ -match '^\d+ be \d+ web02 ' }
        ([int] ($web01 -split ' ')[6]) -band 1 | Should -Be 1 -Because 'bit 1 of srv_admin_state is forced maintenance'
        ($web02 -split ' ')[6] | Should -Be '0'
        (Invoke-HaproxyCommand 'show stat') -split "`n" | Where-Object { $_ -match '^be,web01,' } | Should -Match ',MAINT,'

        Invoke-HaproxyCommand 'enable server be/web01' | Out-Null
        $web01 = (Invoke-HaproxyCommand 'show servers state be') -split "`n" | Where-Object { $_ -match '^\d+ be \d+ web01 ' }
        ($web01 -split ' ')[6] | Should -Be '0'
    }
}

Describe 'nginx serving HTTP on a Unix socket (listen unix:...)' {
    BeforeAll {
        $script:NoNginx = Get-PeerSkipReason nginx -Path /usr/sbin/nginx
        if ($NoNginx) { return }
        $script:NginxSocket = Join-Path $Dir 'nginx.sock'
        $prefix = Join-Path $Dir 'nginx'
        New-Item -ItemType Directory -Path $prefix | Out-Null
        $conf = Join-Path $prefix 'nginx.conf'
        Set-Content -Path $conf -Value @"
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    server {
        listen unix:$NginxSocket;
        location /health { default_type text/plain; return 200 "ok from nginx\n"; }
    }
}
"@
        $null = Start-UnixSocketPeer /usr/sbin/nginx @('-g', 'daemon off;', '-p', $prefix, '-e', "$prefix/error.log", '-c', $conf) $NginxSocket $script:Peers
    }
    BeforeEach { if ($NoNginx) { Set-ItResult -Skipped -Because $NoNginx } }
    AfterEach { Remove-AllSocketSessions }

    It 'answers a GET sent with Send-SocketData and read with Receive-SocketData' {
        $h = Connect-UnixSocket $NginxSocket -NewLine "`r`n"
        Send-SocketData $h "GET /health HTTP/1.0`r`nHost: localhost`r`n`r`n"
        $status = Receive-SocketData $h -Line -Timeout 30
        $status | Should -Match '^HTTP/1\.1 200 OK$'
        $rest = Receive-SocketData $h -ToEnd -Timeout 30
        $rest | Should -Match '(?m)^Server: nginx'
        $rest | Should -Match 'ok from nginx\n$'
    }

    It 'is reachable through a loopback TCP port in front of the socket (Start-SocketRelay -TargetUnixSocket)' {
        $relay = Start-SocketRelay -Port 0 -TargetUnixSocket $NginxSocket
        $h = Connect-TcpSocket 127.0.0.1 $relay.Port
        Send-SocketData $h "GET /health HTTP/1.0`r`nHost: localhost`r`n`r`n"
        Receive-SocketData $h -ToEnd -Timeout 30 | Should -Match '(?s)^HTTP/1\.1 200 OK.*ok from nginx'
    }
}

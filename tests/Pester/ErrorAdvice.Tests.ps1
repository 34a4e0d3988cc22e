# Errors and records that point the right way: each message names the operation that failed and
# a fix the reader can apply (the relay's operator is not told to change a client's switches, a
# command without -Append never suggests it, a record of a broken connection does not say Succeeded).
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-advice-$PID"
    New-Item -ItemType Directory -Force $script:Dir | Out-Null
    $key = Join-Path $script:Dir 'server.key'; $crt = Join-Path $script:Dir 'server.crt'
    Invoke-OpenSsl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $key -out $crt -days 2 -subj '/CN=localhost'
    $script:ServerPem = Join-Path $script:Dir 'server.pem'
    Set-Content $script:ServerPem ((Get-Content $crt -Raw) + (Get-Content $key -Raw))

    $port = Get-FreeTcpPort
    $script:Echo = [pscustomobject]@{ Process = (Start-Peer socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr", 'PIPE'); Port = $port }
    Wait-TcpPort -Port $port
}

AfterAll {
    Remove-AllSocketSessions
    Stop-Peer $script:Echo.Process
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe '-NoClobber names only the parameters the command has' {
    BeforeEach {
        $script:Existing = Join-Path $script:Dir "existing-$([guid]::NewGuid().ToString('n')).log"
        Set-Content $script:Existing 'keep me'
    }
    AfterEach { Remove-AllSocketSessions }

    It 'Start-SocketRelay -TranscriptPath -NoClobber refuses the file without suggesting -Append, which the relay has not' {
        $err = $null
        try { Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -TranscriptPath $script:Existing -NoClobber -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be 'NoClobber,PSSocket.Commands.StartSocketRelayCommand'
        "$err" | Should -Match 'already exists and -NoClobber keeps it'
        "$err" | Should -Not -Match 'Append'
        Get-Content $script:Existing | Should -Be 'keep me'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }

    It 'Connect-TcpSocket -TranscriptPath -NoClobber does not suggest -Append either (socat echo)' {
        $c = Connect-TcpSocket 127.0.0.1 $script:Echo.Port -TranscriptPath $script:Existing -NoClobber -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -Not -BeNullOrEmpty
        "$($ev[0])" | Should -Match '-NoClobber keeps it'
        "$($ev[0])" | Should -Not -Match 'Append'
        if ($c) { Remove-SocketSession $c }
    }

    It 'Start-SocketTranscript -NoClobber, which has -Append, names it as the other way out (socat echo)' {
        $c = Connect-TcpSocket 127.0.0.1 $script:Echo.Port
        Start-SocketTranscript $c -Path $script:Existing -NoClobber -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'NoClobber,PSSocket.Commands.StartSocketTranscriptCommand'
        "$($ev[0])" | Should -Match '-Append adds to it instead'
        $c.TranscriptPath | Should -BeNullOrEmpty
    }
}

Describe 'A plain-text client on a TLS relay is recorded with advice for the relay''s operator' {
    It 'says the client does not speak TLS and names -Certificate, not "connect without -UseTls" (socat client)' {
        $relay = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:ServerPem
        try {
            $out = "EHLO plain.test`r`n" | & timeout 30 socat -t 5 - "TCP:127.0.0.1:$($relay.Port)" 2>&1
            Wait-Until { $relay.ClientsFailed -ge 1 } -Timeout 30 | Should -BeTrue
            $r = @(Receive-SocketServerOutput $relay)
            $r | Should -HaveCount 1
            $r[0].Succeeded | Should -BeFalse
            $message = "$($r[0].Errors[0])"
            $message | Should -Match 'the client does not speak TLS'
            $message | Should -Match '-Certificate'
            $message | Should -Not -Match 'without -UseTls'
            $r[0].CloseReason | Should -Not -Match 'without -UseTls'
            $relay.BytesToTarget | Should -Be 0
            $out | Should -Not -Match 'EHLO'
        }
        finally { Remove-SocketSession $relay }
    }
}

Describe 'A server record of a connection that broke under the script block' {
    It 'is not Succeeded when the TLS client reset while the script block was still sending (python3 ssl client)' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem {
            Send-SocketData $_ 'hello' -Line -ErrorAction SilentlyContinue
            Start-Sleep -Milliseconds 700
            Send-SocketData $_ 'again' -Line -ErrorAction SilentlyContinue
            Start-Sleep -Milliseconds 300
            Send-SocketData $_ 'and again' -Line -ErrorAction SilentlyContinue
        }
        try {
            $py = @"
import socket, ssl, struct
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(('127.0.0.1', $($srv.Port)), timeout=30)
s = ctx.wrap_socket(raw, server_hostname='localhost')
print(s.recv(100).decode().strip())
print(s.getsockname()[1])
raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
raw.close()
"@
            $out = @(& timeout 60 python3 -c $py)
            $out[0] | Should -Be 'hello'
            Wait-Until { $srv.ClientsAccepted -ge 1 -and $srv.ClientsActive -eq 0 } -Timeout 30 | Should -BeTrue
            # This client's record, by its port: a parallel test's port sweep may reach the server too.
            $r = @(Receive-SocketServerOutput $srv | Where-Object { $_.ClientEndPoint.Port -eq [int] $out[1] })
            $r | Should -HaveCount 1
            $r[0].CloseReason | Should -Match 'reset|broken pipe'
            $r[0].Succeeded | Should -BeFalse
            $r[0].Errors | Should -Not -BeNullOrEmpty
            $srv.ClientsFailed | Should -Be 1
        }
        finally { Remove-SocketSession $srv }
    }

    It 'is Succeeded when the TLS client read its answer and closed cleanly (python3 ssl client)' {
        $srv = Start-SocketServer -Port 0 -Certificate $script:ServerPem { Send-SocketData $_ 'hello' -Line; 'greeted' }
        try {
            $py = @"
import socket, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', $($srv.Port)), timeout=30), server_hostname='localhost')
print(s.recv(100).decode().strip())
s.close()
"@
            & timeout 60 python3 -c $py | Should -Be 'hello'
            Wait-Until { $srv.ClientsAccepted -ge 1 -and $srv.ClientsActive -eq 0 } -Timeout 30 | Should -BeTrue
            $r = @(Receive-SocketServerOutput $srv)
            $r[0].Succeeded | Should -BeTrue
            $r[0].Output | Should -Be 'greeted'
            $srv.ClientsFailed | Should -Be 0
        }
        finally { Remove-SocketSession $srv }
    }
}

Describe 'Receive-SocketData after a send found the connection reset' {
    It 'says that receiving failed and why (an earlier send failed), not "Sending on session ... failed" (python3 peer that resets)' {
        $port = Get-FreeTcpPort
        $peer = Start-Peer python3 '-c', @"
import socket, struct, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(('127.0.0.1', $port)); l.listen(4)
while True:
    c, _ = l.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    time.sleep(0.2)
    c.close()
"@
        try {
            Wait-TcpPort -Port $port
            $c = Connect-TcpSocket 127.0.0.1 $port
            Start-Sleep -Milliseconds 600
            $sendError = $null
            for ($i = 0; $i -lt 40 -and -not $sendError; $i++) {
                Send-SocketData $c "probe $i" -Line -ErrorVariable sendError -ErrorAction SilentlyContinue
                Start-Sleep -Milliseconds 50
            }
            $sendError | Should -Not -BeNullOrEmpty
            "$($sendError[0])" | Should -Match '^Sending on session'
            $err = $null
            try { Receive-SocketData $c -Line -Timeout 5 -ErrorAction Stop } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty
            "$err" | Should -Match '^Receiving on session .+ failed: the connection was already broken \(an earlier send failed: '
            "$err" | Should -Not -Match '^Sending'
            $err.FullyQualifiedErrorId | Should -Match '^(ConnectionReset|ConnectionAborted|SocketError),PSSocket.Commands.ReceiveSocketDataCommand$'
            $c.State | Should -Be 'Faulted'
        }
        finally {
            Remove-AllSocketSessions
            Stop-Peer $peer
        }
    }
}

Describe 'Start-SocketRelay -Udp with TLS or proxy parameters' {
    It 'names the parameters that do not go with -Udp as a terminating InvalidArgument (<Given>)' -ForEach @(
        @{ Given = '-Certificate'; Extra = @{ Certificate = 'relay.pem' }; Names = '-Certificate' }
        @{ Given = '-Proxy'; Extra = @{ Proxy = 'socks5://127.0.0.1:1080' }; Names = '-Proxy' }
        @{ Given = '-UseTls -Proxy'; Extra = @{ UseTls = $true; Proxy = 'http://127.0.0.1:3128' }; Names = '-UseTls and -Proxy' }
    ) {
        $err = $null
        try { Start-SocketRelay -Port 0 -ComputerName 127.0.0.1 -TargetPort 53 -Udp @Extra -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be 'InvalidArgument,PSSocket.Commands.StartSocketRelayCommand'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$err" | Should -Match ([regex]::Escape("$Names do"))
        "$err" | Should -Match 'not go with -Udp'
        "$err" | Should -Not -Match 'Parameter set cannot be resolved'
        Get-SocketSession -Kind Relay | Should -BeNullOrEmpty
    }

    It 'still starts a TCP relay with -Certificate, and a -Udp relay without it (socat echo)' {
        $tcp = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Certificate $script:ServerPem
        $udp = Start-SocketRelay 0 127.0.0.1 $script:Echo.Port -Udp
        try {
            $tcp.IsTls | Should -BeTrue
            $udp | Should -BeOfType [PSSocket.UdpRelaySession]
        }
        finally { Remove-SocketSession $tcp, $udp }
    }
}

# Reliability: secure defaults (loopback listeners, validated TLS, quiet Verbose, bounded buffers).
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
    $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("sec-" + [guid]::NewGuid())
    $null = New-Item -ItemType Directory $script:dir
    $key = [Security.Cryptography.ECDsa]::Create([Security.Cryptography.ECCurve+NamedCurves]::nistP256)
    $req = [Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=localhost', $key, 'SHA256')
    $cert = $req.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(2))
    $script:pfxPassword = 'Pfx-Secret-7731'
    $script:pfx = Join-Path $script:dir 'server.pfx'
    [IO.File]::WriteAllBytes($script:pfx, $cert.Export('Pfx', $script:pfxPassword))
    $script:keyB64 = [Convert]::ToBase64String($key.ExportPkcs8PrivateKey()).Substring(0, 40)
    $script:securePassword = ConvertTo-SecureString $script:pfxPassword -AsPlainText -Force
}
AfterAll {
    Remove-AllSocketSessions
    Remove-Item -Recurse -Force $script:dir -ErrorAction SilentlyContinue
}

Describe 'Secure defaults' {
    AfterEach {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        $script:peer = $null
    }

    It 'binds New-TcpListener, New-UdpListener and Start-SocketServer to loopback by default' {
        (New-TcpListener -Port 0).LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (New-UdpListener -Port 0).LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (Start-SocketServer -Port 0 -ScriptBlock { }).LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
    }

    It 'validates a TLS server certificate by default and connects only with -SkipCertificateCheck' {
        $l = New-TcpListener -Port 0 -Certificate $pfx -CertificatePassword $securePassword
        $job = Start-ThreadJob { param($id, $m) Import-Module $m; Wait-TcpConnection $id -Timeout 30 -ErrorAction SilentlyContinue; Wait-TcpConnection $id -Timeout 30 } -ArgumentList $l.Id, (Join-Path $env:PSSOCKET_MODULE "PSSocket.psd1")
        $err = $null
        try { Connect-TcpSocket localhost $l.Port -UseTls -Timeout 30 } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed*'
        @(Get-SocketSession -Kind Tcp | Where-Object { $_.RemoteEndPoint.Port -eq $l.Port }).Count | Should -Be 0
        $c = Connect-TcpSocket localhost $l.Port -UseTls -SkipCertificateCheck -Timeout 30
        $c.IsTls | Should -BeTrue
        $null = $job | Wait-Job -Timeout 60
        $job | Remove-Job -Force
    }

    It 'writes no payload, password or key to Verbose output' {
        $l = New-TcpListener -Port 0 -Certificate $pfx -CertificatePassword $securePassword -Verbose 4>&1 | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] }
        $verbose = [Collections.Generic.List[string]]::new()
        $job = Start-ThreadJob { param($id, $m) Import-Module $m; Wait-TcpConnection $id -Timeout 30 } -ArgumentList $l.Id, (Join-Path $env:PSSOCKET_MODULE "PSSocket.psd1")
        $c = Connect-TcpSocket localhost $l.Port -UseTls -SkipCertificateCheck -Timeout 30 -Verbose 4>&1 | ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $verbose.Add($_.Message) } else { $_ } }
        $a = $job | Wait-Job -Timeout 60 | Receive-Job
        $job | Remove-Job -Force
        $secret = 'TOP-SECRET-PAYLOAD-91f3'
        Send-SocketData $c "$secret" -Line -Verbose 4>&1 | ForEach-Object { $verbose.Add("$_") }
        Receive-SocketData $a -Line -Timeout 5 -Verbose 4>&1 | ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $verbose.Add($_.Message) } else { $_ | Should -Be $secret } }
        Send-SocketData $a ([Text.Encoding]::UTF8.GetBytes("$secret`n")) -Verbose 4>&1 | ForEach-Object { $verbose.Add("$_") }
        Receive-SocketData $c -Until "`n" -AsBytes -Timeout 5 -Verbose 4>&1 | ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $verbose.Add($_.Message) } }
        Remove-SocketSession $c, $a, $l -Verbose 4>&1 | ForEach-Object { $verbose.Add("$_") }
        $text = $verbose -join "`n"
        $text | Should -Not -BeLike "*$secret*"
        $text | Should -Not -BeLike "*$pfxPassword*"
        $text | Should -Not -BeLike "*$keyB64*"
        $text | Should -Not -BeLike '*PRIVATE KEY*'
    }

    It 'enforces the default -MaxBytes (16 MiB) on -<Mode>' -ForEach @(
        @{ Mode = 'Line'; Opts = @{ Line = $true } }
        @{ Mode = 'Until'; Opts = @{ Until = 'never' } }
        @{ Mode = 'Pattern'; Opts = @{ Pattern = 'nev(er)' } }
        @{ Mode = 'ToEnd'; Opts = @{ ToEnd = $true } }
    ) {
        $script:peer = Start-FaultPeer flood 24
        $s = Connect-TcpSocket 127.0.0.1 $peer.Port
        { Receive-SocketData $s @Opts -Timeout 30 } | Should -Throw -ErrorId 'ReceiveLimitExceeded*'
        $s.Available | Should -BeGreaterOrEqual 16MB
        $s.Available | Should -BeLessThan 17MB
        $head = Receive-SocketData $s -Count 16 -Timeout 1
        $head | Should -Be ('a' * 16)
    }
}

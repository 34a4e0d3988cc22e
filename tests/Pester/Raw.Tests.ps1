BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:IsRoot = $IsLinux -and (id -u) -eq '0'

    # The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words.
    function Get-InternetChecksum([byte[]] $Bytes) {
        [uint32] $sum = 0
        for ($i = 0; $i -lt $Bytes.Length; $i += 2) {
            $word = [uint32] $Bytes[$i] -shl 8
            if ($i + 1 -lt $Bytes.Length) { $word = $word -bor $Bytes[$i + 1] }
            $sum += $word
        }
        while ($sum -shr 16) { $sum = ($sum -band 0xFFFF) + ($sum -shr 16) }
        [uint16] ((-bnot $sum) -band 0xFFFF)
    }

    function New-IcmpEcho([int] $Type, [int] $Id, [int] $Sequence, [byte[]] $Payload) {
        $packet = [byte[]]::new(8 + $Payload.Length)
        $packet[0] = $Type
        $packet[4] = $Id -shr 8; $packet[5] = $Id -band 0xFF
        $packet[6] = $Sequence -shr 8; $packet[7] = $Sequence -band 0xFF
        [Array]::Copy($Payload, 0, $packet, 8, $Payload.Length)
        $sum = Get-InternetChecksum $packet
        $packet[2] = $sum -shr 8; $packet[3] = $sum -band 0xFF
        , $packet
    }
}

Describe 'New-RawSocket' {
    AfterEach { Remove-AllSocketSessions }

    It 'sends an ICMP echo request to 127.0.0.1 and receives the echo reply (root)' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'raw sockets need root; this run is not root'; return }
        $raw = New-RawSocket -Protocol Icmp -Name 'ping'
        $raw.Kind | Should -Be 'Raw'
        $raw.Protocol | Should -Be 'Icmp'
        $id = Get-Random -Minimum 1 -Maximum 65535
        $payload = [Text.Encoding]::ASCII.GetBytes("PSSocket echo $id")
        $request = New-IcmpEcho -Type 8 -Id $id -Sequence 1 -Payload $payload
        Get-InternetChecksum $request | Should -Be 0
        Send-SocketData $raw -Data $request -RemoteAddress 127.0.0.1

        # The socket sees every ICMP packet to 127.0.0.1 (our own request too): pick our reply.
        $reply = $null
        for ($i = 0; $i -lt 20 -and -not $reply; $i++) {
            foreach ($p in Receive-SocketData $raw -Timeout 5) {
                $icmp = $p.Payload
                if ($icmp[0] -eq 0 -and (([int]$icmp[4] -shl 8) -bor $icmp[5]) -eq $id) { $reply = $p }
            }
        }
        $reply | Should -Not -BeNullOrEmpty
        $reply | Should -BeOfType ([PSSocket.RawPacket])
        $reply.RemoteAddress.ToString() | Should -Be '127.0.0.1'
        $reply.IncludesIPHeader | Should -BeTrue
        $reply.HeaderLength | Should -Be 20
        $reply.Bytes[9] | Should -Be 1  # IP protocol field: ICMP
        $icmp = $reply.Payload
        $icmp[1] | Should -Be 0
        (([int]$icmp[6] -shl 8) -bor $icmp[7]) | Should -Be 1
        Get-InternetChecksum $icmp | Should -Be 0
        [Text.Encoding]::ASCII.GetString($icmp, 8, $icmp.Length - 8) | Should -Be "PSSocket echo $id"
    }

    It 'sends an ICMPv6 echo request to ::1 and receives the reply (root; the kernel fills the checksum)' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'raw sockets need root; this run is not root'; return }
        $raw = New-RawSocket -Protocol IcmpV6
        $raw.LocalEndPoint.Address.ToString() | Should -Be '::1'
        $id = Get-Random -Minimum 1 -Maximum 65535
        $request = New-IcmpEcho -Type 128 -Id $id -Sequence 7 -Payload ([byte[]] (1..16))
        Send-SocketData $raw -Data $request -RemoteAddress '::1'
        $reply = $null
        for ($i = 0; $i -lt 20 -and -not $reply; $i++) {
            foreach ($p in Receive-SocketData $raw -Timeout 5) {
                $b = $p.Bytes
                if ($b[0] -eq 129 -and (([int]$b[4] -shl 8) -bor $b[5]) -eq $id) { $reply = $p }
            }
        }
        $reply | Should -Not -BeNullOrEmpty
        $reply.IncludesIPHeader | Should -BeFalse
        $reply.Length | Should -Be 24
    }

    It 'rejects an unknown protocol with InvalidArgument' {
        { New-RawSocket -Protocol 'Bogus' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
        { New-RawSocket -Protocol 300 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'rejects IcmpV6 on an IPv4 address with InvalidArgument' {
        { New-RawSocket -Protocol IcmpV6 -Address 127.0.0.1 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'refuses a datagram stop parameter on a raw session' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'raw sockets need root; this run is not root'; return }
        $raw = New-RawSocket
        { Receive-SocketData $raw -Until 'x' -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }
}

Describe 'New-RawSocket without privilege' {
    BeforeAll {
        $script:tmp = $null
        $script:skipReason = $null
        if (-not $IsLinux) { $script:skipReason = 'the unprivileged case is tested on Linux (setpriv)' }
        elseif (-not $IsRoot) { $script:skipReason = $null }  # already unprivileged: run in-process
        elseif ($why = Get-PeerSkipReason setpriv) { $script:skipReason = $why }
        else {
            # The user nobody must be able to read pwsh and the module: copy both to a world-readable temp dir.
            $script:tmp = Join-Path ([IO.Path]::GetTempPath()) "pssraw-$PID"
            New-Item -ItemType Directory -Force "$tmp/module", "$tmp/home" | Out-Null
            Copy-Item "$env:PSSOCKET_MODULE/*" "$tmp/module" -Recurse
            $pwsh = Get-PwshCommand
            $script:childPwsh = $pwsh
            if ($pwsh.Count -gt 1) {
                Copy-Item $PSHOME "$tmp/pwsh" -Recurse
                $script:childPwsh = @($pwsh[0], "$tmp/pwsh/pwsh.dll")
            }
            chmod -R 'a+rX' $tmp
            chmod 'a+rwx' "$tmp/home"
        }
        if ($skipReason) { Write-Host "PermissionDenied test skipped: $skipReason" }
    }
    AfterAll {
        if ($tmp) { Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue }
    }

    It 'fails with PermissionDenied and names the privilege needed when not root' {
        if ($skipReason) { Set-ItResult -Skipped -Because $skipReason; return }
        if (-not $IsRoot) {
            $err = $null
            New-RawSocket -ErrorVariable err -ErrorAction SilentlyContinue
            $r = [pscustomobject]@{ Id = $err[0].FullyQualifiedErrorId; Category = "$($err[0].CategoryInfo.Category)"; Message = "$($err[0])"; User = (id -un) }
        }
        else {
            $result = "$tmp/home/result.json"
            $script = @"
Import-Module '$tmp/module/PSSocket.psd1'
`$err = `$null
New-RawSocket -Protocol Icmp -ErrorVariable err -ErrorAction SilentlyContinue
[pscustomobject]@{ Id = `$err[0].FullyQualifiedErrorId; Category = "`$(`$err[0].CategoryInfo.Category)"; Message = "`$(`$err[0])"; User = (id -un) } | ConvertTo-Json -Compress | Set-Content '$result'
"@
            $out = & setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/env "HOME=$tmp/home" "DOTNET_CLI_HOME=$tmp/home" DOTNET_NOLOGO=1 @childPwsh -NoProfile -NonInteractive -Command $script 2>&1
            if (-not (Test-Path $result)) {
                Set-ItResult -Skipped -Because (Get-PeerSkipReason setpriv -Probe { "a pwsh as user nobody did not run: $($out | Select-Object -First 3)" })
                return
            }
            $r = Get-Content -Raw $result | ConvertFrom-Json
        }
        $r.User | Should -Not -Be 'root'
        $r.Id | Should -BeLike 'PermissionDenied,*'
        $r.Category | Should -Be 'PermissionDenied'
        $r.Message | Should -Match 'root'
        $r.Message | Should -Match 'CAP_NET_RAW'
        $r.Message | Should -Match 'Administrator'
    }
}

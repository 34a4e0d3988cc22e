BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    # A socat UDP echo (each datagram comes back as one datagram, up to 64 KiB).
    function Start-UdpEcho {
        param([switch] $IPv6)
        $port = Get-FreeUdpPort
        $spec = if ($IPv6) { "UDP6-RECVFROM:$port,bind=[::1],fork" } else { "UDP4-RECVFROM:$port,bind=127.0.0.1,fork" }
        $p = Start-Peer socat -ArgumentList @('-b', '65536', $spec, 'PIPE')
        Wait-UdpBound -Port $port -Address $(if ($IPv6) { '::1' } else { '127.0.0.1' })
        [pscustomobject]@{ Process = $p; Port = $port }
    }

    # Runs a python3 UDP sender; returns its output lines (the first is its local port).
    function Invoke-PythonSender {
        param([string] $Code, [string[]] $ArgumentList)
        $out = @(& python3 -c $Code @ArgumentList 2>&1)
        if ($LASTEXITCODE -ne 0) { throw "python3 sender failed: $out" }
        $out
    }

    $script:Sender = @'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
for i in range(n):
    s.sendto(str(i).encode(), ('127.0.0.1', port))
    if i % 50 == 49:
        time.sleep(0.002)
'@

    $script:HasIPv6 = $false
    try {
        $s6 = [System.Net.Sockets.Socket]::new('InterNetworkV6', 'Dgram', 'Udp')
        $s6.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::IPv6Loopback, 0)); $s6.Dispose(); $script:HasIPv6 = $true
    }
    catch { Write-Host "IPv6 loopback unavailable: $_" }
}

Describe 'Invoke-UdpSend' {
    BeforeAll { $script:echo = Start-UdpEcho }
    AfterAll { $script:echo.Process | Stop-Peer; Remove-AllSocketSessions }

    It 'returns the reply of a UDP echo as a datagram object with its sender' {
        $r = Invoke-UdpSend 127.0.0.1 $echo.Port -Data 'hello udp' -WaitForReply -Timeout 5
        $r | Should -HaveCount 1
        $r | Should -BeOfType ([PSSocket.SocketDatagram])
        $r.Text | Should -BeExactly 'hello udp'
        $r.Length | Should -Be 9
        $r.RemoteEndPoint.Port | Should -Be $echo.Port
        $r.RemoteEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        $r.ReceivedAt | Should -BeOfType ([datetime])
    }

    It 'round-trips datagrams of <Size> bytes intact' -ForEach @(@{ Size = 1 }, @{ Size = 1400 }, @{ Size = 65507 }) {
        $data = [byte[]]::new($Size)
        [System.Random]::new($Size).NextBytes($data)
        $r = Invoke-UdpSend 127.0.0.1 $echo.Port -Data $data -WaitForReply -Timeout 5
        $r.Length | Should -Be $Size
        Get-BytesSha256 $r.Bytes | Should -Be (Get-BytesSha256 $data)
    }

    It 'round-trips a 65,527-byte datagram over IPv6' {
        if (-not $HasIPv6) { Set-ItResult -Skipped -Because 'IPv6 loopback is not available' ; return }
        $echo6 = Start-UdpEcho -IPv6
        try {
            $data = [byte[]]::new(65527)
            [System.Random]::new(6).NextBytes($data)
            $r = Invoke-UdpSend ::1 $echo6.Port -Data $data -WaitForReply -Timeout 5
            $r.Length | Should -Be 65527
            Get-BytesSha256 $r.Bytes | Should -Be (Get-BytesSha256 $data)
            $r.RemoteEndPoint.AddressFamily | Should -Be 'InterNetworkV6'
        }
        finally { $echo6.Process | Stop-Peer }
    }

    It 'sends each pipeline item as one datagram and collects one reply per datagram' {
        $r = 'one', 'two', 'three' | Invoke-UdpSend 127.0.0.1 $echo.Port -WaitForReply -Timeout 5
        $r | Should -HaveCount 3
        ($r.Text | Sort-Object) -join ',' | Should -Be 'one,three,two'
    }

    It 'sends a piped byte[] as one datagram, not one per byte' {
        $l = New-UdpListener
        [byte[]] (1..10) | Invoke-UdpSend 127.0.0.1 $l.Port
        $d = Receive-SocketData $l -Timeout 5
        $d | Should -HaveCount 1
        $d.Length | Should -Be 10
    }

    It 'refuses a datagram over 65,507 bytes (IPv4) with DatagramTooLarge before sending anything' {
        $l = New-UdpListener
        $err = $null
        Invoke-UdpSend 127.0.0.1 $l.Port -Data ([byte[]]::new(65508)) -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DatagramTooLarge,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match '65508.*65507'
        Start-Sleep -Milliseconds 300
        $l.DatagramsReceived | Should -Be 0
    }

    It 'goes on with the next pipeline item after a too-large one' {
        $l = New-UdpListener
        $items = @('first', [byte[]]::new(70000), 'last')
        $items | ForEach-Object { , $_ } | Invoke-UdpSend 127.0.0.1 $l.Port -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -HaveCount 1
        (Receive-SocketData $l -Count 2 -Timeout 5).Text | Should -Be @('first', 'last')
    }

    It 'reports no reply as ReceiveTimeout (OperationTimeout)' {
        $silent = New-UdpListener
        $err = $null
        $r = Invoke-UdpSend 127.0.0.1 $silent.Port -Data 'anyone?' -WaitForReply -Timeout 0.5 -ErrorVariable err -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
        $err[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        (Receive-SocketData $silent -Timeout 5).Text | Should -Be 'anyone?'
    }

    It 'names port unreachable in the timeout message when nothing listens' {
        $port = Get-FreeUdpPort
        $err = $null
        Invoke-UdpSend 127.0.0.1 $port -Data 'x' -WaitForReply -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout,*'
        $err[0].Exception.Message | Should -Match 'port unreachable'
    }

    It 'sends from -SourcePort' {
        $l = New-UdpListener
        $src = Get-FreeUdpPort
        Invoke-UdpSend 127.0.0.1 $l.Port -Data 'from a fixed port' -SourcePort $src
        (Receive-SocketData $l -Timeout 5).RemoteEndPoint.Port | Should -Be $src
    }

    It 'fails cleanly for a host that does not resolve' {
        { Invoke-UdpSend 'no-such-host.invalid' 9 -Data 'x' -Timeout 5 -ErrorAction Stop } | Should -Throw -ErrorId 'HostNotFound,*'
    }
}

Describe 'New-UdpListener and datagram sessions' {
    AfterEach { Remove-AllSocketSessions }

    It 'binds loopback on a port the system picks and registers a Udp session' {
        $l = New-UdpListener -Name 'udp-test'
        $l.Kind | Should -Be 'Udp'
        $l.State | Should -Be 'Open'
        $l.Port | Should -BeGreaterThan 0
        $l.LocalEndPoint.Address.ToString() | Should -Be '127.0.0.1'
        (Get-SocketSession -Name 'udp-test').Id | Should -Be $l.Id
        $l.QueueLimit | Should -Be 10000
        $l.DroppedDatagrams | Should -Be 0
    }

    It 'receives 1,000 datagrams from python3 as 1,000 separate objects with the right sender' {
        $l = New-UdpListener
        $out = @(Invoke-PythonSender -Code $Sender -ArgumentList $l.Port, 1000)
        $senderPort = [int] $out[0]
        $d = Receive-SocketData $l -Count 1000 -Timeout 20
        $d | Should -HaveCount 1000
        $d | Where-Object { $_.RemoteEndPoint.Port -ne $senderPort } | Should -BeNullOrEmpty
        $texts = [int[]] $d.Text | Sort-Object
        ($texts -join ',') | Should -Be ((0..999) -join ',')
        $l.DroppedDatagrams | Should -Be 0
        $l.Available | Should -Be 0
    }

    It 'counts drops instead of growing the queue past -QueueLimit' {
        $l = New-UdpListener -QueueLimit 10
        $null = Invoke-PythonSender -Code $Sender -ArgumentList $l.Port, 50
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ($l.DatagramsReceived -lt 50 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $l.DatagramsReceived | Should -Be 50
        $l.Available | Should -Be 10
        $l.DroppedDatagrams | Should -Be 40
        (Receive-SocketData $l -Timeout 5).Text | Should -Be (0..9 | ForEach-Object { "$_" })
    }

    It 'keeps datagram boundaries: two datagrams never merge' {
        $a = New-UdpListener
        $b = New-UdpListener
        Send-SocketData $a -Data 'first', 'second' -RemoteEndPoint "127.0.0.1:$($b.Port)"
        $d = Receive-SocketData $b -Count 2 -Timeout 5
        $d.Text | Should -Be @('first', 'second')
        $d[0].RemoteEndPoint.Port | Should -Be $a.Port
    }

    It 'replies to the sender of the datagram received last when no destination is given' {
        $a = New-UdpListener
        $b = New-UdpListener
        Send-SocketData $a -Data 'ping' -RemoteEndPoint "127.0.0.1:$($b.Port)"
        (Receive-SocketData $b -Timeout 5).Text | Should -Be 'ping'
        Send-SocketData $b -Data 'pong'
        $reply = Receive-SocketData $a -Timeout 5
        $reply.Text | Should -Be 'pong'
        $reply.RemoteEndPoint.Port | Should -Be $b.Port
    }

    It 'takes an IPEndPoint for -RemoteEndPoint and returns byte[] per datagram with -AsBytes' {
        $a = New-UdpListener
        $b = New-UdpListener
        Send-SocketData $a -Data ([byte[]] (1, 2, 3)) -RemoteEndPoint $b.LocalEndPoint
        Send-SocketData $a -Data ([byte[]] (4, 5)) -RemoteEndPoint $b.LocalEndPoint
        $bytes = @(Receive-SocketData $b -Count 2 -AsBytes -Timeout 5)
        $bytes | Should -HaveCount 2
        $bytes[0] | Should -Be @(1, 2, 3)
        , $bytes[1] | Should -BeOfType ([byte[]])
    }

    It 'sends to the default remote and only receives from it (connect semantics)' {
        $peer = New-UdpListener
        $other = New-UdpListener
        $c = New-UdpListener -ComputerName 127.0.0.1 -RemotePort $peer.Port
        $c.RemoteEndPoint.Port | Should -Be $peer.Port
        Send-SocketData $c -Data 'hi peer'
        (Receive-SocketData $peer -Timeout 5).Text | Should -Be 'hi peer'
        Send-SocketData $other -Data 'stranger' -RemoteEndPoint $c.LocalEndPoint
        Send-SocketData $peer -Data 'from peer' -RemoteEndPoint $c.LocalEndPoint
        $got = Receive-SocketData $c -Timeout 5
        $got.Text | Should -Be 'from peer'
        Start-Sleep -Milliseconds 200
        $c.Available | Should -Be 0
    }

    It 'takes a default remote as -RemoteEndPoint "[::1]:port" over IPv6' {
        if (-not $HasIPv6) { Set-ItResult -Skipped -Because 'IPv6 loopback is not available'; return }
        $peer = New-UdpListener -Address IPv6Loopback
        $c = New-UdpListener -RemoteEndPoint "[::1]:$($peer.Port)"
        Send-SocketData $c -Data 'over v6'
        $d = Receive-SocketData $peer -Timeout 5
        $d.Text | Should -Be 'over v6'
        $d.RemoteEndPoint.AddressFamily | Should -Be 'InterNetworkV6'
    }

    It 'says there is no destination when nothing was received and no remote is set' {
        $l = New-UdpListener
        { Send-SocketData $l -Data 'lost?' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'refuses -Line and -Until on a datagram session with a clear error' {
        $l = New-UdpListener
        { Receive-SocketData $l -Line -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }

    It 'times out with ReceiveTimeout and keeps later datagrams for the next call' {
        $l = New-UdpListener
        { Receive-SocketData $l -Timeout 0.3 -ErrorAction Stop } | Should -Throw -ErrorId 'ReceiveTimeout,*'
        Invoke-UdpSend 127.0.0.1 $l.Port -Data 'late'
        (Receive-SocketData $l -Timeout 5).Text | Should -Be 'late'
    }

    It 'receives multicast sent to a group it joined on lo' {
        $group = '239.255.77.{0}' -f (Get-Random -Minimum 1 -Maximum 250)
        $l = New-UdpListener -JoinMulticastGroup $group
        $l.MulticastGroups.IPAddressToString | Should -Be $group
        $code = @'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
s.sendto(b'to the group', (sys.argv[1], int(sys.argv[2])))
'@
        $null = Invoke-PythonSender -Code $code -ArgumentList $group, $l.Port
        (Receive-SocketData $l -Timeout 5).Text | Should -Be 'to the group'
        $sender = New-UdpListener -Address 127.0.0.1
        Send-SocketData $sender -Data 'from PSSocket' -RemoteEndPoint "${group}:$($l.Port)"
        (Receive-SocketData $l -Timeout 5).Text | Should -Be 'from PSSocket'
    }

    It 'sets the broadcast flag with -Broadcast' {
        (New-UdpListener -Broadcast).Broadcast | Should -BeTrue
        (New-UdpListener).Broadcast | Should -BeFalse
    }

    It 'reports AddressInUse for a taken port' {
        $l = New-UdpListener
        { New-UdpListener -Port $l.Port -ErrorAction Stop } | Should -Throw -ErrorId 'AddressInUse,*'
    }

    It 'shows datagrams in a table with ReceivedAt, RemoteEndPoint, Length and Text' {
        $a = New-UdpListener
        Invoke-UdpSend 127.0.0.1 $a.Port -Data "tab`tand text"
        $table = Receive-SocketData $a -Timeout 5 | Format-Table | Out-String
        $table | Should -Match 'ReceivedAt\s+RemoteEndPoint\s+Length\s+Text'
        $table | Should -Match '127\.0\.0\.1:\d+\s+12 tab\.and text'
    }
}

Describe 'Broadcast in a private network namespace' {
    BeforeAll {
        $script:ns = $null
        $script:nsReason = Get-PeerSkipReason 'network namespaces'
        if (-not $nsReason) {
            $script:ns = "pssudp$PID"
            ip netns add $ns 2>&1 | Out-Null
            ip netns exec $ns ip link set lo up 2>&1 | Out-Null
            $veth = (ip netns exec $ns ip link add v0 type veth peer name v1 2>&1)
            if ($LASTEXITCODE -ne 0) { $script:nsReason = Get-PeerSkipReason 'network namespaces' -Probe { "cannot create a veth pair in the namespace: $veth" } }
            else {
                ip netns exec $ns ip addr add 10.231.0.1/24 dev v0
                ip netns exec $ns ip link set v0 up
                ip netns exec $ns ip link set v1 up
                ip netns exec $ns ip route add default dev v0
            }
        }
        if ($nsReason) { Write-Host "Broadcast tests skipped: $nsReason" }

        # Runs a script in a fresh pwsh inside the namespace and returns its JSON output.
        function Invoke-InNamespace([string] $Script) {
            $file = Join-Path ([IO.Path]::GetTempPath()) "pssudp-$PID-$(Get-Random).ps1"
            Set-Content $file -Value ("Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'`n" + $Script)
            try {
                $pwsh = Get-PwshCommand
                $json = ip netns exec $ns @pwsh -NoProfile -NonInteractive -File $file
                $json | Out-String | ConvertFrom-Json
            }
            finally { Remove-Item $file -ErrorAction SilentlyContinue }
        }
    }
    AfterAll {
        if ($ns) { ip netns del $ns 2>&1 | Out-Null }
    }

    It 'delivers a Wake-on-LAN magic packet sent to 255.255.255.255 with -Broadcast' {
        if ($nsReason) { Set-ItResult -Skipped -Because $nsReason; return }
        $r = Invoke-InNamespace @'
$l = New-UdpListener -Address IPv4Any
$mac = [byte[]] (0x00, 0x11, 0x22, 0x33, 0x44, 0x55)
$magic = [byte[]] (@(0xFF) * 6 + (@($mac) * 16))
Invoke-UdpSend 255.255.255.255 $l.Port -Data $magic -Broadcast
$d = Receive-SocketData $l -Timeout 5
$err = $null
Invoke-UdpSend 255.255.255.255 $l.Port -Data $magic -ErrorVariable err -ErrorAction SilentlyContinue
[pscustomobject]@{ Length = $d.Length; Head = ($d.Bytes[0..11] -join ','); NoFlagId = $err[0].FullyQualifiedErrorId; NoFlagCategory = "$($err[0].CategoryInfo.Category)"; NoFlagMessage = "$($err[0])" } | ConvertTo-Json -Compress
'@
        $r.Length | Should -Be 102
        $r.Head | Should -Be '255,255,255,255,255,255,0,17,34,51,68,85'
        $r.NoFlagId | Should -BeLike 'PermissionDenied,*'
        $r.NoFlagCategory | Should -Be 'PermissionDenied'
        $r.NoFlagMessage | Should -Match '-Broadcast'
    }
}

Describe 'Help for the datagram cmdlets' {
    BeforeAll {
        $script:docs = Join-Path $RepoRoot 'docs/en-US'
        $script:common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    }

    It '<Name> has a synopsis, examples and exactly its parameters documented' -ForEach @(
        @{ Name = 'Invoke-UdpSend' }, @{ Name = 'New-UdpListener' }, @{ Name = 'New-RawSocket' }
    ) {
        $md = Get-Content -Raw (Join-Path $docs "$Name.md")
        $md | Should -Match "(?m)^## SYNOPSIS\r?\n\S"
        ([regex]::Matches($md, '(?m)^### Example \d+:')).Count | Should -BeGreaterOrEqual 3
        $documented = [regex]::Matches($md, '(?m)^### -(\w+)') | ForEach-Object { $_.Groups[1].Value } | Sort-Object
        $actual = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object
        $documented | Should -Be $actual
        $help = Get-Help $Name -Full
        if ($help.examples) { @($help.examples.example).Count | Should -BeGreaterOrEqual 1 }
    }

    It 'shows a Wake-on-LAN and a syslog example for Invoke-UdpSend, and the ICMP echo for New-RawSocket' {
        $udp = Get-Content -Raw (Join-Path $docs 'Invoke-UdpSend.md')
        $udp | Should -Match 'Wake-on-LAN'
        $udp | Should -Match '(?i)syslog'
        $udp | Should -Match '-Broadcast'
        Get-Content -Raw (Join-Path $docs 'New-RawSocket.md') | Should -Match 'ICMP echo request'
    }
}

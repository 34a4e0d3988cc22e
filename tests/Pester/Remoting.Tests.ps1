# PSSocket in PowerShell remoting: results that travel well, and a real fan-out over SSH.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'remoting.ps1')

    # What PowerShell remoting does to an object: serialize it in one process, rebuild it in another.
    function script:ConvertTo-Remoted($InputObject) {
        $xml = [System.Management.Automation.PSSerializer]::Serialize($InputObject)
        [pscustomobject]@{ Xml = $xml; Object = [System.Management.Automation.PSSerializer]::Deserialize($xml) }
    }
}

Describe 'PSSocket objects through serialization (what Invoke-Command returns)' {
    BeforeAll {
        $script:Listener = New-TcpListener 0
        $script:Client = Connect-TcpSocket 127.0.0.1 $Listener.LocalEndPoint.Port -Name remoted-client
        $script:Accepted = Wait-TcpConnection $Listener -Timeout 10
        $script:Udp = New-UdpListener 0
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=localhost', $rsa, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $script:Cert = $req.CreateSelfSigned([DateTimeOffset]::Now.AddDays(-1), [DateTimeOffset]::Now.AddDays(30))
        $script:TlsListener = New-TcpListener 0 -Certificate $Cert
    }
    AfterAll { Get-SocketSession | Remove-SocketSession }

    It 'sends a TCP session as facts: endpoints as text, enums by name, the encoding by its name' {
        $r = ConvertTo-Remoted $Client
        $r.Object.PSObject.TypeNames[0] | Should -Be 'Deserialized.PSSocket.TcpSession'
        $r.Object.LocalEndPoint | Should -Be $Client.LocalEndPoint.ToString()
        $r.Object.RemoteEndPoint | Should -Be "127.0.0.1:$($Listener.LocalEndPoint.Port)"
        $r.Object.Kind | Should -BeExactly 'Tcp'
        $r.Object.State | Should -BeExactly 'Open'
        $r.Object.EncodingName | Should -Be 'utf-8'
        $r.Object.Name | Should -Be 'remoted-client'
    }

    It 'never serializes the socket, a stream, a certificate or a secret' {
        foreach ($s in $Client, $Accepted, $Listener, $Udp, $TlsListener) {
            $xml = (ConvertTo-Remoted $s).Xml
            $xml | Should -Not -Match 'System\.Net\.Sockets\.Socket\b'
            $xml | Should -Not -Match 'Stream<|NetworkStream|SslStream'
            $xml | Should -Not -Match 'X509Certificate|PRIVATE KEY|SecureString'
            $xml | Should -Not -Match 'N="Socket"|N="Encoding"'
        }
    }

    It 'keeps the session table view, with the endpoints filled in' {
        $d = (ConvertTo-Remoted $Client).Object
        $table = $d | Format-Table | Out-String -Width 120
        $table | Should -Match '\bSent\b'
        $table | Should -Match ([regex]::Escape($Client.LocalEndPoint.ToString()))
        $table | Should -Match ([regex]::Escape("127.0.0.1:$($Listener.LocalEndPoint.Port)"))
        $list = $d | Format-List | Out-String -Width 120
        $list | Should -Match 'Encoding\s+:\s+utf-8'
    }

    It 'shows a datagram session and its counters from a deserialized copy' {
        $d = (ConvertTo-Remoted $Udp).Object
        $d.Kind | Should -BeExactly 'Udp'
        $d.LocalEndPoint | Should -Be $Udp.LocalEndPoint.ToString()
        ($d | Format-List | Out-String) | Should -Match 'QueueLimit\s+:\s+\d+'
    }

    It 'sends port check results with the status by name and keeps their table view' {
        $closed = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        try {
            $closed.Bind([System.Net.IPEndPoint]::new([ipaddress]::Loopback, 0))
            $results = Test-TcpPort 127.0.0.1 -Port $Listener.LocalEndPoint.Port, $closed.LocalEndPoint.Port -Timeout 5
        }
        finally { $closed.Dispose() }
        $d = (ConvertTo-Remoted $results).Object
        @($d).Count | Should -Be 2
        ($d | Where-Object Port -EQ $Listener.LocalEndPoint.Port).Status | Should -BeExactly 'Open'
        ($d | Where-Object Port -NE $Listener.LocalEndPoint.Port).Status | Should -BeExactly 'Closed'
        $d[0].Address | Should -Be '127.0.0.1'
        ($d | Format-Table | Out-String) | Should -Match 'Latency\(ms\)'
    }

    It 'sends a conversation transcript with its steps intact' {
        $echo = Get-FreeTcpPort
        $peer = Start-Peer ncat @('-lk', '127.0.0.1', "$echo", '-e', '/bin/cat')
        try {
            Wait-TcpPort $echo
            $s = Connect-TcpSocket 127.0.0.1 $echo -Timeout 5
            $t = Invoke-SocketConversation $s @(
                @{ Send = 'hello'; Expect = 'hello' }
                @{ Send = 'again'; Expect = 'again' }
            ) -Timeout 10
            Remove-SocketSession $s
        }
        finally { Stop-Peer $peer }
        $d = (ConvertTo-Remoted $t).Object
        $d.Success | Should -BeTrue
        @($d.Steps).Count | Should -Be $t.Steps.Count
        $d.Steps[0].Received | Should -Match 'hello'
        $d.Steps[0].Success | Should -BeTrue
        ($d | Format-List | Out-String) | Should -Match 'Steps\s+:\s+\d'
    }
}

Describe 'Fan-out over PowerShell remoting (SSH on loopback)' {
    BeforeAll {
        $script:Missing = Get-PeerSkipReason 'openssh-server' -Command ssh, ssh-keygen -Path /usr/sbin/sshd
        if ($Missing) { return }
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-ssh-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $script:Peer = Start-SshRemotingPeer -Directory $Dir
        $script:Ssh = $Peer.Ssh
        New-ModuleFeed -FeedPath (Join-Path $Dir 'feed')
        $script:RemoteVersion = Install-RemotePSSocket -Peer $Peer -FeedPath (Join-Path $Dir 'feed')

        $script:Listener = New-TcpListener 0
        $script:ClosedSocket = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        $ClosedSocket.Bind([System.Net.IPEndPoint]::new([ipaddress]::Loopback, 0))
    }
    AfterAll {
        if ($script:ClosedSocket) { $ClosedSocket.Dispose() }
        Get-SocketSession | Remove-SocketSession
        if ($script:Peer) { Stop-SshRemotingPeer $Peer }
        if ($script:Dir -and (Test-Path $Dir)) { Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue }
    }

    It 'installs the module package on the remote side with Install-PSResource' {
        if ($Missing) { Set-ItResult -Skipped -Because $Missing; return }
        $RemoteVersion | Should -Be (Import-PowerShellDataFile (Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')).ModuleVersion
        Test-Path (Join-Path $Peer.Home '.local/share/powershell/Modules/PSSocket') | Should -BeTrue
    }

    It 'returns one result set per vantage point, told apart by PSComputerName' {
        if ($Missing) { Set-ItResult -Skipped -Because $Missing; return }
        $open = $Listener.LocalEndPoint.Port
        $closed = $ClosedSocket.LocalEndPoint.Port
        # Over SSH, -ThrottleLimit belongs to the sessions form of Invoke-Command.
        $vantage = New-PSSession -HostName 127.0.0.1, localhost @Ssh -ErrorAction Stop
        try {
            $results = Invoke-Command -Session $vantage -ThrottleLimit 2 -ErrorAction Stop -ScriptBlock {
                Test-TcpPort -ComputerName 127.0.0.1 -Port $using:open, $using:closed -Timeout 5
            }
        }
        finally { Remove-PSSession $vantage }
        $byVantage = $results | Group-Object PSComputerName
        @($byVantage.Name | Sort-Object) | Should -Be @('127.0.0.1', 'localhost')
        foreach ($g in $byVantage) {
            $g.Count | Should -Be 2
            ($g.Group | Where-Object Port -EQ $open).Status | Should -BeExactly 'Open'
            ($g.Group | Where-Object Port -EQ $closed).Status | Should -BeExactly 'Closed'
        }
        $results[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.PSSocket.PortCheckResult'
        $table = $results | Format-Table | Out-String -Width 160
        $table | Should -Match 'PSComputerName'
        $table | Should -Match 'Latency\(ms\)'
    }

    It 'holds a conversation with a loopback device from the remote side' {
        if ($Missing) { Set-ItResult -Skipped -Because $Missing; return }
        $echo = Get-FreeTcpPort
        $peer = Start-Peer ncat @('-lk', '127.0.0.1', "$echo", '-e', '/bin/cat')
        try {
            Wait-TcpPort $echo
            $t = Invoke-Command -HostName 127.0.0.1 @Ssh -ErrorAction Stop -ScriptBlock {
                $s = Connect-TcpSocket 127.0.0.1 $using:echo -Timeout 5
                try { Invoke-SocketConversation $s @(@{ Send = 'show version'; Expect = 'version' }) -Timeout 10 }
                finally { Remove-SocketSession $s }
            }
        }
        finally { Stop-Peer $peer }
        $t.PSComputerName | Should -Be '127.0.0.1'
        $t.Success | Should -BeTrue
        $t.Steps[0].Received | Should -Match 'show version'
    }

    It 'keeps a remote server and a remote session alive across calls in a persistent PSSession' {
        if ($Missing) { Set-ItResult -Skipped -Because $Missing; return }
        $ps = New-PSSession -HostName 127.0.0.1 @Ssh -ErrorAction Stop
        try {
            $port = Invoke-Command -Session $ps -ScriptBlock {
                $srv = Start-SocketServer -Port 0 -Name upper {
                    while ($null -ne ($line = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore)) { Send-SocketData $_ $line.ToUpperInvariant() -Line }
                }
                $srv.LocalEndPoint.Port
            }
            $c = Connect-TcpSocket 127.0.0.1 $port -Timeout 5
            Send-SocketData $c 'hello from the caller' -Line
            Receive-SocketData $c -Line -Timeout 10 | Should -Be 'HELLO FROM THE CALLER'
            Remove-SocketSession $c

            # A second call finds the server by name: the registry lives as long as the PSSession.
            $srv = Invoke-Command -Session $ps -ScriptBlock { Get-SocketSession -Name upper }
            $srv.PSObject.TypeNames[0] | Should -Match '^Deserialized\.PSSocket\.'
            $srv.LocalEndPoint | Should -Be "127.0.0.1:$port"
            $srv.ClientsAccepted | Should -BeGreaterOrEqual 1
            Invoke-Command -Session $ps -ScriptBlock { Stop-SocketServer upper; @(Get-SocketSession | Where-Object State -NotIn 'Closed', 'Stopped').Count } | Should -Be 0
        }
        finally { Remove-PSSession $ps }
    }
}

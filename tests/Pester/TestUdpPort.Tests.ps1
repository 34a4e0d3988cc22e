# Test-UdpPort against real UDP services on loopback: dnsmasq (DNS), chronyd (NTP), snmpd (SNMP),
# socat (a generic echo), a python3 listener that never answers, and ports nothing listens on.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Procs = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-udp-$PID"
    New-Item -ItemType Directory -Force $Dir | Out-Null

    # A UDP port nobody has bound: bind port 0 and free it (no other test binds UDP ports it did not get from the OS).
    function script:Get-ClosedUdpPort { Get-FreeUdpPort }

    # Starts a UDP peer on a free port, again on a new port when it could not bind the one picked
    # (another test's socket took it meanwhile): $Start gets the port and returns the process.
    function script:Start-UdpPeer([scriptblock] $Start) {
        $why = $null
        for ($attempt = 0; $attempt -lt 5; $attempt++) {
            $port = Get-FreeUdpPort
            $proc = & $Start $port
            try {
                Wait-UdpBound $port -TimeoutSec 10
                Start-Sleep -Milliseconds 100
                if ($proc.HasExited) { throw "exited with $($proc.ExitCode)" }
                $Procs.Add($proc)
                return $port
            }
            catch { $why = $_; Stop-Peer $proc }
        }
        throw "the UDP peer did not start: $why"
    }

    $script:NoDns = Get-PeerSkipReason dnsmasq -Path /usr/sbin/dnsmasq
    if (-not $NoDns) {
        $script:DnsPort = Start-UdpPeer { param($p) Start-Peer /usr/sbin/dnsmasq @('--keep-in-foreground', '--no-daemon', "--port=$p", '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--user=root', '--address=/probe.test/192.0.2.7') }
    }

    $script:NoNtp = Get-PeerSkipReason chrony -Path /usr/sbin/chronyd
    if (-not $NoNtp) {
        # A local reference clock at stratum 8, serving loopback clients, touching nothing of the system's clock.
        $script:NtpPort = Start-UdpPeer {
            param($p)
            $conf = Join-Path $Dir 'chrony.conf'
            @("port $p", 'bindaddress 127.0.0.1', 'allow 127.0.0.1', 'local stratum 8', 'cmdport 0', "pidfile $(Join-Path $Dir 'chronyd.pid')", "driftfile $(Join-Path $Dir 'chrony.drift')") | Set-Content $conf
            Start-Peer /usr/sbin/chronyd @('-d', '-x', '-f', $conf)
        }
    }

    $script:NoSnmp = Get-PeerSkipReason snmpd -Path /usr/sbin/snmpd
    if (-not $NoSnmp) {
        $conf = Join-Path $Dir 'snmpd.conf'
        @('rocommunity s3cret-ro 127.0.0.1', 'sysDescr PSSocket test agent') | Set-Content $conf
        $script:SnmpPort = Start-UdpPeer { param($p) Start-Peer /usr/sbin/snmpd @('-f', '-Lo', '-C', '-c', $conf, '-p', (Join-Path $Dir 'snmpd.pid'), "udp:127.0.0.1:$p") }
    }

    $script:NoSocat = Get-PeerSkipReason socat
    if (-not $NoSocat) {
        $script:EchoPort = Start-UdpPeer { param($p) Start-Peer socat @("UDP4-RECVFROM:$p,bind=127.0.0.1,fork", 'PIPE') }
    }

    # Takes every datagram, never answers, and counts them in a file (one line per datagram).
    $script:NoPython = Get-PeerSkipReason python3
    if (-not $NoPython) {
        $script:SilentLog = Join-Path $Dir 'silent.log'
        $py = Join-Path $Dir 'silent.py'
        Set-Content $py -Value @'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data, peer = s.recvfrom(65535)
        log.write("%d\n" % len(data))
'@
        $script:SilentPort = Start-UdpPeer { param($p) Start-Peer python3 @($py, "$p", $SilentLog) }
    }
}

AfterAll {
    $Procs | Stop-Peer
    Remove-Item -Recurse -Force $Dir -ErrorAction SilentlyContinue
}

Describe 'Test-UdpPort' {
    It 'reports a DNS server Open with the RCODE of its answer (dnsmasq)' {
        if ($NoDns) { Set-ItResult -Skipped -Because $NoDns; return }
        $r = Test-UdpPort 127.0.0.1 $DnsPort -Probe Dns -Timeout 5
        $r.Status | Should -Be 'Open'
        $r.Probe | Should -Be 'Dns'
        $r.Detail | Should -Match '^DNS answer: (NOERROR|REFUSED|SERVFAIL)'
        $r.Latency | Should -BeGreaterThan 0
    }

    It 'reports an NTP server Open with its stratum (chronyd)' {
        if ($NoNtp) { Set-ItResult -Skipped -Because $NoNtp; return }
        $r = Test-UdpPort 127.0.0.1 $NtpPort -Probe Ntp -Timeout 5 -Retries 3
        $r.Status | Should -Be 'Open'
        $r.Detail | Should -Match 'NTP v4 server, stratum 8\b'
    }

    It 'reads an SNMP agent''s sysDescr with the -Community given (snmpd)' {
        if ($NoSnmp) { Set-ItResult -Skipped -Because $NoSnmp; return }
        $r = Test-UdpPort 127.0.0.1 $SnmpPort -Probe Snmp -Community s3cret-ro -Timeout 5
        $r.Status | Should -Be 'Open'
        $r.Detail | Should -Be 'SNMP v2c agent, sysDescr: PSSocket test agent'
    }

    It 'hears nothing from an SNMP agent asked with the wrong community: OpenOrFiltered after every retry' {
        if ($NoSnmp) { Set-ItResult -Skipped -Because $NoSnmp; return }
        $r = Test-UdpPort 127.0.0.1 $SnmpPort -Probe Snmp -Community wrong -Timeout 0.5 -Retries 1
        $r.Status | Should -Be 'OpenOrFiltered'
        $r.Latency | Should -BeNullOrEmpty
        $r.Attempts | Should -Be 2
    }

    It 'reports a port nothing listens on Closed, from the real ICMP port unreachable' {
        $r = Test-UdpPort 127.0.0.1 (Get-ClosedUdpPort) -Timeout 5 -Retries 2
        $r.Status | Should -Be 'Closed'
        $r.Detail | Should -Match 'port unreachable'
        $r.Latency | Should -Not -BeNullOrEmpty
    }

    It 'reports Closed on ::1 as well' {
        $u = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([ipaddress]::IPv6Loopback, 0))
        $port = $u.Client.LocalEndPoint.Port
        $u.Dispose()
        $r = Test-UdpPort '::1' $port -Timeout 5
        $r.Status | Should -Be 'Closed'
        $r.Address | Should -Be ([ipaddress]::IPv6Loopback)
    }

    It 'sends -Payload and shows the answer (socat echo)' {
        if ($NoSocat) { Set-ItResult -Skipped -Because $NoSocat; return }
        $r = Test-UdpPort 127.0.0.1 $EchoPort -Payload "hello`n" -Timeout 5
        $r.Status | Should -Be 'Open'
        $r.Probe | Should -Be 'None'
        $r.Detail | Should -Be '6 byte(s) answered: hello\n'
    }

    It 'sends -Retries more datagrams to a silent service, then says OpenOrFiltered' {
        if ($NoPython) { Set-ItResult -Skipped -Because $NoPython; return }
        $before = if (Test-Path $SilentLog) { @(Get-Content $SilentLog).Count } else { 0 }
        $r = Test-UdpPort 127.0.0.1 $SilentPort -Payload 'x' -Timeout 0.3 -Retries 3
        $r.Status | Should -Be 'OpenOrFiltered'
        $r.Attempts | Should -Be 4
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ([DateTime]::UtcNow -lt $deadline -and @(Get-Content $SilentLog -ErrorAction SilentlyContinue).Count -lt $before + 4) { Start-Sleep -Milliseconds 50 }
        @(Get-Content $SilentLog).Count - $before | Should -Be 4
    }

    It 'uses the DNS probe by itself on a service named for port 53 only when asked: an empty datagram gets no answer from dnsmasq' {
        if ($NoDns) { Set-ItResult -Skipped -Because $NoDns; return }
        (Test-UdpPort 127.0.0.1 $DnsPort -Timeout 0.5 -Retries 0).Status | Should -Be 'OpenOrFiltered'
        (Test-UdpPort 127.0.0.1 $DnsPort -Probe Dns -Timeout 5).Status | Should -Be 'Open'
    }

    It 'answers -Quiet with one boolean per requested target and port, in the order given' {
        if ($NoSocat) { Set-ItResult -Skipped -Because $NoSocat; return }
        $closed = Get-ClosedUdpPort
        for ($i = 0; $i -lt 20 -and ($other = Get-ClosedUdpPort) -eq $closed; $i++) { }
        $answers = @(Test-UdpPort 127.0.0.1 -Port $closed, $EchoPort, $other -Payload 'q' -Timeout 5 -Quiet)
        $answers.Count | Should -Be 3
        $answers[0] | Should -BeOfType [bool]
        $answers | Should -Be @($false, $true, $false)
        @(Test-UdpPort localhost $EchoPort -Payload 'q' -Timeout 5 -Quiet).Count | Should -Be 1
    }

    It 'takes host:port strings and Import-Csv rows, and reports a blank entry without stopping' {
        if ($NoSocat) { Set-ItResult -Skipped -Because $NoSocat; return }
        $csv = Join-Path $Dir 'targets.csv'
        "Server,Port`n127.0.0.1,$EchoPort" | Set-Content $csv
        $rows = Import-Csv $csv
        $results = @($rows; "127.0.0.1:$EchoPort"; '  ') | Test-UdpPort -Payload 'ping' -Timeout 5 -ErrorVariable bad -ErrorAction SilentlyContinue
        @($results).Count | Should -Be 2
        $results.Status | Should -Be @('Open', 'Open')
        $bad.Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -Match '^InvalidArgument'
        $bad[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'reports a name that does not resolve as a non-terminating HostNotFound and goes on' {
        $closed = Get-ClosedUdpPort
        $results = Test-UdpPort 'nosuchhost.invalid', '127.0.0.1' -Port $closed -Timeout 5 -ErrorVariable bad -ErrorAction SilentlyContinue
        ($results | Where-Object ComputerName -EQ '127.0.0.1').Status | Should -Be 'Closed'
        ($results | Where-Object ComputerName -EQ 'nosuchhost.invalid').Status | Should -Be 'Error'
        $bad[0].FullyQualifiedErrorId | Should -Match '^HostNotFound'
    }

    It 'refuses -Payload that is neither text nor bytes, and -Payload with a built-in probe, as misuse' {
        { Test-UdpPort 127.0.0.1 53 -Payload @{ a = 1 } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.TestUdpPortCommand'
        { Test-UdpPort 127.0.0.1 53 -Payload 'x' -Probe Dns -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.TestUdpPortCommand'
    }

    It 'shows its results in a table with the status and what was seen' {
        $r = Test-UdpPort 127.0.0.1 (Get-ClosedUdpPort) -Timeout 5
        $table = $r | Format-Table | Out-String -Width 120
        $table | Should -Match 'Service\s+Status\s+Detail'
        $table | Should -Match 'Closed'
    }

    It 'stops at once on Ctrl+C (StopProcessing) while probes wait' {
        if ($NoPython) { Set-ItResult -Skipped -Because $NoPython; return }
        $ps = New-ModulePowerShell
        try {
            [void] $ps.AddScript("Test-UdpPort 127.0.0.1 $SilentPort -Payload 'x' -Timeout 600")
            $async = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 500
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 30
            $async.IsCompleted | Should -BeTrue
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Test-UdpPort as a runbook author writes it: UDP service names, a probe per port or row, a whole Detail' {
    It 'takes UDP service names for -Port (ntp, snmp, syslog, tftp, radius) and names the service of each row' {
        # Nothing listens on these loopback ports: the kernel's ICMP port unreachable answers each one.
        $rows = @(Test-UdpPort 127.0.0.1 -Port 53, ntp, snmp, syslog, tftp, radius, snmptrap -Timeout 2 -Retries 0)
        ($rows.Port | Sort-Object) | Should -Be @(53, 69, 123, 161, 162, 514, 1812)
        ($rows | Where-Object Port -EQ 123).Service | Should -Be 'ntp'
        ($rows | Where-Object Port -EQ 161).Service | Should -Be 'snmp'
        ($rows | Where-Object Port -EQ 514).Service | Should -Be 'syslog'
        ($rows | Where-Object Port -EQ 162).Service | Should -Be 'snmptrap'
        ($rows | Where-Object Port -EQ 123).Probe | Should -Be 'Ntp'
    }

    It 'completes -Port of the UDP cmdlets from the UDP service table, not the TCP one' {
        $names = (TabExpansion2 -inputScript ($s = 'Test-UdpPort 127.0.0.1 -Port sys') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'syslog'
        $names = (TabExpansion2 -inputScript ($s = 'Test-UdpPort 127.0.0.1 -Port s') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Not -Contain 'ssh'
        $names | Should -Contain 'snmp'
        $names = (TabExpansion2 -inputScript ($s = 'Invoke-UdpSend 127.0.0.1 -Port tf') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'tftp'
        $names = (TabExpansion2 -inputScript ($s = 'Start-SocketRelay -Udp -Port 0 -ComputerName 127.0.0.1 -TargetPort rad') -cursorColumn $s.Length).CompletionMatches.CompletionText
        $names | Should -Contain 'radius'
    }

    It 'sends to a UDP service name with Invoke-UdpSend and listens on one with New-UdpListener -RemotePort' {
        $l = New-UdpListener 0 -ComputerName 127.0.0.1 -RemotePort syslog
        try { $l.RemoteEndPoint.Port | Should -Be 514 }
        finally { $l | Remove-SocketSession }
        # Port 69 on loopback: no listener, so the reply wait ends in the kernel's port unreachable, which names the port.
        Invoke-UdpSend 127.0.0.1 -Port tftp -Data 'x' -WaitForReply -Timeout 2 -ErrorVariable bad -ErrorAction SilentlyContinue | Out-Null
        "$($bad[0].TargetObject) $($bad[0])" | Should -Match '\b69\b'
    }

    It 'sends each port the probe written after it (5353:dns style) to dnsmasq and chronyd' {
        if ($NoDns) { Set-ItResult -Skipped -Because $NoDns; return }
        if ($NoNtp) { Set-ItResult -Skipped -Because $NoNtp; return }
        $rows = @(Test-UdpPort 127.0.0.1 -Port "$($DnsPort):dns", "$($NtpPort):ntp" -Timeout 5 -Retries 2)
        ($rows | Where-Object Port -EQ $DnsPort).Probe | Should -Be 'Dns'
        ($rows | Where-Object Port -EQ $DnsPort).Detail | Should -Match '^DNS answer: '
        ($rows | Where-Object Port -EQ $NtpPort).Probe | Should -Be 'Ntp'
        ($rows | Where-Object Port -EQ $NtpPort).Detail | Should -Match 'stratum 8'
    }

    It 'refuses a port:probe pair whose probe is unknown, naming the pair' {
        { Test-UdpPort 127.0.0.1 -Port '5353:dnx' -ErrorAction Stop } | Should -Throw '*5353:dnx*'
    }

    It 'sends the Probe and Payload of each Import-Csv row (dnsmasq, snmpd, socat)' {
        if ($NoDns) { Set-ItResult -Skipped -Because $NoDns; return }
        if ($NoSnmp) { Set-ItResult -Skipped -Because $NoSnmp; return }
        if ($NoSocat) { Set-ItResult -Skipped -Because $NoSocat; return }
        $csv = Join-Path $Dir 'probes.csv'
        @('ComputerName,Port,Probe,Payload', "127.0.0.1,$DnsPort,dns,", "127.0.0.1,$SnmpPort,Snmp,", "127.0.0.1,$EchoPort,,hello") | Set-Content $csv
        $rows = @(Import-Csv $csv | Test-UdpPort -Community s3cret-ro -Timeout 5 -Retries 2)
        $rows.Count | Should -Be 3
        ($rows | Where-Object Port -EQ $DnsPort).Detail | Should -Match '^DNS answer: '
        ($rows | Where-Object Port -EQ $SnmpPort).Detail | Should -Be 'SNMP v2c agent, sysDescr: PSSocket test agent'
        ($rows | Where-Object Port -EQ $EchoPort).Detail | Should -Be '5 byte(s) answered: hello'
        ($rows | Where-Object Port -EQ $EchoPort).Probe | Should -Be 'None'
    }

    It 'shows the whole Detail and the service at 80 columns' {
        if ($NoDns) { Set-ItResult -Skipped -Because $NoDns; return }
        $r = Test-UdpPort 127.0.0.1 -Port "$($DnsPort):dns" -Timeout 5 -Retries 2
        $r.Detail | Should -Match '^DNS answer: '
        $text = $r | Out-String -Width 80
        $text | Should -Match ([regex]::Escape($r.Detail))
        $closed = Test-UdpPort 127.0.0.1 -Port ntp -Timeout 2 -Retries 0 | Out-String -Width 80
        $closed | Should -Match '\b123 ntp\s+Closed'
        # The long detail of a silent port wraps instead of being cut: every character is there.
        $quiet = Test-UdpPort 127.0.0.1 -Port "$($DnsPort):none" -Timeout 0.3 -Retries 0
        $silent = $quiet | Out-String -Width 80
        ($silent -replace '\s', '') | Should -Match ([regex]::Escape(($quiet.Detail -replace '\s', '')))
        foreach ($line in ($text + $closed + $silent) -split "`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 80 }
    }
}

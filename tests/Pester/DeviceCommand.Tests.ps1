BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'DeviceLab.ps1')
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'DeviceLab.ps1')
    $script:Peers = Join-Path $PSScriptRoot 'peers'
    $script:Python = (Get-Command python3).Source
}

Describe 'Get-DeviceProfile' {
    It 'lists the profiles shipped with the module' {
        $names = (Get-DeviceProfile).Name
        foreach ($n in 'generic', 'linux', 'cisco_ios', 'cisco_nxos', 'cisco_asa', 'arista_eos', 'juniper_junos', 'huawei_vrp', 'mikrotik_routeros', 'frr') {
            $names | Should -Contain $n
        }
        (Get-DeviceProfile cisco_ios).PagingCommand | Should -Contain 'terminal length 0'
        (Get-DeviceProfile 'cisco_*').Name | Should -Be @('cisco_asa', 'cisco_ios', 'cisco_nxos')
    }

    It 'names the known types when a type is unknown' {
        Get-DeviceProfile nosuch -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument*'
        $err[0].Exception.Message | Should -Match 'cisco_ios'
    }
}

Describe 'Invoke-DeviceCommand on a scripted IOS CLI over raw TCP' {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'fake-ios.py'), $port) }
        $script:Server = $peerOnPort.Process
        $script:Port = $peerOnPort.Port
        $script:Secret = ConvertTo-SecureString 'cisco123' -AsPlainText -Force
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Server
    }

    It 'finds the prompt after a coloured banner and returns clean answers with the type stored on the session' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        $s.DeviceType | Should -Be 'cisco_ios'
        $r = Invoke-DeviceCommand $s 'show clock', 'show privilege'
        $r[0].Output | Should -BeExactly '*12:00:00.000 UTC Mon Dec 7 2026'
        $r[0].Prompt | Should -Be 'sw1>'
        $r[0].DeviceType | Should -Be 'cisco_ios'
        $r[1].Output | Should -BeExactly 'Current privilege level is 1'
        $r[0].PSObject.TypeNames[0] | Should -Be 'PSSocket.DeviceCommandResult'
    }

    It 'takes the prompt that ends the paging command''s answer when a banner line only looked like one' {
        $lookalike = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'fake-ios.py'), $port, 'lookalike') }
        try {
            $s = Connect-TcpSocket 127.0.0.1 $lookalike.Port -NewLine "`r`n" -DeviceType cisco_ios
            $r = Invoke-DeviceCommand $s 'show clock'
            $r.Prompt | Should -Be 'sw1>'
            $r.Output | Should -BeExactly '*12:00:00.000 UTC Mon Dec 7 2026'
        }
        finally { Stop-Peer $lookalike.Process }
    }

    It 'turns paging off with the profile command, so a long answer comes whole' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n"
        $r = Invoke-DeviceCommand $s 'show long' -DeviceType cisco_ios
        $r.Pages | Should -Be 0
        ($r.Output -split "`n").Count | Should -Be 60
    }

    It 'answers pager prompts and removes them when paging stays on' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n"
        $r = Invoke-DeviceCommand $s 'show long' -DeviceProfile @{ Name = 'ios_paging'; Base = 'cisco_ios'; PagingCommand = @() }
        $r.Pages | Should -Be 2
        $lines = $r.Output -split "`n"
        $lines.Count | Should -Be 60
        $lines[20] | Should -BeExactly 'line 21 of the long answer'
        $r.Output | Should -Not -Match 'More|\x08'
        (Get-DeviceProfile ios_paging).Source | Should -Be 'Hashtable'
    }

    It 'enters privileged mode with -EnableSecret and says PrivilegeDenied for a wrong one' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        Invoke-DeviceCommand $s 'show privilege' -EnableSecret (ConvertTo-SecureString 'wrong' -AsPlainText -Force) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PrivilegeDenied*'
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err[0].Exception.Message | Should -Not -Match 'wrong'
        $r = Invoke-DeviceCommand $s 'show privilege' -EnableSecret $Secret
        $r.Output | Should -BeExactly 'Current privilege level is 15'
        $r.Prompt | Should -Be 'sw1#'
    }

    It 'answers a question only from -Answer, and cancels one nobody answers with an error quoting it' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        Invoke-DeviceCommand $s 'reload' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnansweredQuestion*'
        $err[0].Exception.Message | Should -Match ([regex]::Escape('Proceed with reload? [confirm]'))
        $err[0].Exception.Message | Should -Match 'cancelled'
        # The next command is a command again, not the answer to the question.
        (Invoke-DeviceCommand $s 'show privilege').Output | Should -BeExactly 'Current privilege level is 1'
        $r = Invoke-DeviceCommand $s 'copy running-config startup-config' -Answer @{ 'Destination filename' = '' }
        $r.Output | Should -Match '\[OK\]'
        $r.Output | Should -Match 'Destination filename \[startup-config\]\?'
    }

    It 'stops a configuration at the first line the device rejects, names it, and leaves configuration mode' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        $r = Invoke-DeviceCommand $s 'interface Gi0/1', 'descripton typo', 'shutdown' -Configuration -EnableSecret $Secret -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Command | Should -Be @('configure terminal', 'interface Gi0/1', 'descripton typo')
        $r[1].Prompt | Should -Be 'sw1(config-if)#'
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DeviceError*'
        $err[0].Exception.Message | Should -Match "'descripton typo'.*% Invalid input detected"
        $err[0].TargetObject | Should -Be 'descripton typo'
        (Invoke-DeviceCommand $s 'show privilege').Prompt | Should -Be 'sw1#'
        $all = Invoke-DeviceCommand $s 'bogus one', 'hostname sw9', 'bogus two' -Configuration -ContinueOnError -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2.Count | Should -Be 2
        $all[-1].Prompt | Should -Be 'sw9(config)#'
        (Invoke-DeviceCommand $s 'show privilege').Prompt | Should -Be 'sw9#'
    }

    It 'says what it waited for when the prompt does not come, and loses nothing' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        $null = Invoke-DeviceCommand $s 'show privilege'
        Invoke-DeviceCommand $s 'slow' -Timeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ReceiveTimeout*'
        $err[0].Exception.Message | Should -Match "waited for the prompt 'sw1>'"
        $err[0].Exception.Message | Should -Match '1 s'
        $err[0].Exception.Message | Should -Match 'slow\\r\\n'
        # What comes late is still there for the caller.
        $late = Receive-SocketData $s -Pattern 'sw1>' -Timeout 10
        $late | Should -Match 'slow\r?\nfinally'
        (Invoke-DeviceCommand $s 'show privilege').Output | Should -BeExactly 'Current privilege level is 1'
    }

    It 'ends a command that leaves no prompt after -IdleTimeout, and at -Expect' {
        $s = Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n" -DeviceType cisco_ios
        $r = Invoke-DeviceCommand $s 'silent' -IdleTimeout 0.5 -Timeout 10
        $r.Output | Should -BeExactly 'this command leaves no prompt'
        $r.Prompt | Should -BeNullOrEmpty
        $e = Invoke-DeviceCommand $s 'show long' -Expect 'line 05.*'
        $e.Output | Should -Match '^line 01 of the long answer\n(.*\n){3}line 05 of the long answer$'
    }

    It 'adds profiles from a .psd1 file' {
        $file = Join-Path ([IO.Path]::GetTempPath()) "profiles-$PID.psd1"
        Set-Content $file "@{ my_switch = @{ Base = 'cisco_ios'; Description = 'My switch'; PagingCommand = 'terminal length 0' } }"
        try {
            $r = Invoke-DeviceCommand -Session (Connect-TcpSocket 127.0.0.1 $Port -NewLine "`r`n") -Command 'show clock' -DeviceProfile $file -DeviceType my_switch
            $r.DeviceType | Should -Be 'my_switch'
            (Get-DeviceProfile my_switch).Source | Should -Be $file
        }
        finally { Remove-Item $file }
    }
}

Describe "Invoke-DeviceCommand on FRRouting's vtysh over telnet" -Skip:([bool] (Get-FrrLabSkipReason)) {
    BeforeAll {
        $script:Lab = Start-FrrLab
        $peer = Start-FrrTelnet $Lab
        $script:Telnetd = $peer.Process
        $script:Port = $peer.Port
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Telnetd
        Stop-FrrLab $Lab
    }

    It 'runs show commands and returns their clean output' {
        $s = Connect-FrrTelnet $Port
        $r = Invoke-DeviceCommand $s 'show version', 'show interface brief', 'show ip route'
        $r[0].Output | Should -Match '^FRRouting \d'
        $r[0].Prompt | Should -Match '^[\w.-]+#$'
        $r[1].Output | Should -Match '(?m)^eth0\s+up\s+default\s+10\.0\.0\.1/24'
        $r[2].Output | Should -Match '(?m)^S>\* 192\.0\.2\.0/24'
        $r.Output | Should -Not -Match '\r|show version|#\s*$'
    }

    It 'follows the prompt through configuration mode and a hostname change' {
        $s = Connect-FrrTelnet $Port
        try {
            $r = Invoke-DeviceCommand $s 'configure terminal', 'hostname lab-r1', 'do show running-config', 'end'
            $r.Prompt | Should -Be @("$($r[0].Prompt -replace '\(config\)#')(config)#", 'lab-r1(config)#', 'lab-r1(config)#', 'lab-r1#')
            $r[2].Output | Should -Match '(?m)^hostname lab-r1$'
            $r[2].Output | Should -Not -Match 'lab-r1\(config\)#'
            $r[2].Output | Should -Match '^Building configuration\.\.\.'
        }
        finally { $null = Invoke-DeviceCommand $s 'hostname r1' -Configuration }
    }

    It "stops a configuration at a bad line with vtysh's message" {
        $s = Connect-FrrTelnet $Port
        $r = Invoke-DeviceCommand $s 'interface eth0', 'descriptoin typo', 'description never sent' -Configuration -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Command | Should -Be @('configure terminal', 'interface eth0', 'descriptoin typo')
        $err.Count | Should -Be 1
        $err[0].Exception.Message | Should -Match "'descriptoin typo'.*% (Unknown command|Invalid input)"
        (Invoke-DeviceCommand $s 'show running-config').Output | Should -Not -Match 'never sent'
        (Invoke-DeviceCommand $s 'show version').Prompt | Should -Match '^[\w.-]+#$'
    }
}

Describe 'Invoke-DeviceCommand -ComputerName: a fleet over telnet' -Skip:([bool] (Get-FrrLabSkipReason)) {
    BeforeAll {
        $script:Lab = Start-FrrLab
        $peer = Start-FrrTelnet $Lab
        $script:Telnetd = $peer.Process
        $script:Port = $peer.Port
        $shell = Start-PeerOnFreePort { param($port) Start-Peer $Python @((Join-Path $Peers 'telnetd-launcher.py'), $port, (Join-Path $Peers 'test-login.sh')) }
        $script:ShellDaemon = $shell.Process
        $script:ShellPort = $shell.Port
        $script:Credential = [pscredential]::new('tester', (ConvertTo-SecureString 's3cret' -AsPlainText -Force))
        $script:Folder = Join-Path ([IO.Path]::GetTempPath()) "pssocket-fleet-$PID"
    }
    AfterAll {
        Stop-Peer $Telnetd
        Stop-Peer $ShellDaemon
        Stop-FrrLab $Lab
        Remove-Item -Recurse -Force $Folder -ErrorAction Ignore
    }

    It 'runs the commands on every device of a CSV inventory, and one error for the device that is down' {
        $down = Get-FreeTcpPort
        $inventory = @"
HostName,Port,DeviceType
127.0.0.1,$Port,frr
localhost,$Port,frr
127.0.0.1,$down,frr
127.0.0.1,$ShellPort,linux
"@ | ConvertFrom-Csv
        $r = $inventory | Invoke-DeviceCommand -Command 'show version', 'echo sum=$((6*7))' -Credential $Credential -Transport Telnet -Timeout 20 -TranscriptPath $Folder -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionRefused*'
        $err[0].TargetObject | Should -Be '127.0.0.1'
        $frr = @($r | Where-Object DeviceType -EQ frr)
        $frr.Count | Should -Be 4
        ($frr | Where-Object Command -EQ 'show version').Output | ForEach-Object { $_ | Should -Match '^FRRouting' }
        @($frr.ComputerName | Sort-Object -Unique) | Should -Be @('127.0.0.1', 'localhost')
        $linux = @($r | Where-Object DeviceType -EQ linux)
        ($linux | Where-Object Command -Like 'echo*').Output | Should -BeExactly 'sum=42'
        $linux[0].Session.State | Should -Be 'Closed'
        # One transcript per device reached (the one that is down has none), and the password in none of them.
        $logs = Get-ChildItem $Folder -Filter '*.log'
        $logs.Count | Should -Be 3
        ($logs | Get-Content -Raw) -join '' | Should -Not -Match 's3cret'
        ($logs | Get-Content -Raw) -join '' | Should -Match 'show version'
    }

    It 'says AuthenticationFailed for a device that refuses the login, never showing the password' {
        $bad = [pscredential]::new('tester', (ConvertTo-SecureString 'wrong-pw' -AsPlainText -Force))
        Invoke-DeviceCommand -ComputerName "127.0.0.1:$Port" -DeviceType frr -Command 'show version' -Credential $bad -Transport Telnet -Timeout 20 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed*'
        $err[0].Exception.Message | Should -Not -Match 'wrong-pw'
    }

    It 'configures many devices, stopping each at its first rejected line' {
        $r = Invoke-DeviceCommand -ComputerName "127.0.0.1:$Port", "localhost:$Port" -DeviceType frr -Configuration -Command 'interface eth1', 'bogus line' -Credential $Credential -Transport Telnet -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 2
        $err | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'DeviceError*' }
        @($r | Where-Object Command -EQ 'bogus line').Count | Should -Be 2
    }
}

Describe "Invoke-DeviceCommand on FRRouting's vtysh over SSH, side by side with Netmiko" -Skip:([bool] (Get-FrrLabSkipReason)) {
    BeforeAll {
        $script:Lab = Start-FrrLab
        $script:Ssh = Start-FrrSsh $Lab
        $script:NoNetmiko = Get-PeerSkipReason netmiko -Path '/usr/bin/python3' -Probe {
            & /usr/bin/python3 -c 'import netmiko' 2>$null
            if ($LASTEXITCODE) { "Debian's python3 has no netmiko (python3-netmiko)" }
        }
        # Ten show commands with stable answers; route ages (hh:mm:ss) tick between the two runs.
        $script:ShowCommands = 'show version', 'show running-config', 'show interface brief', 'show ip route', 'show ip route summary',
        'show interface', 'show ipv6 route', 'show ip forwarding', 'show debugging', 'show zebra client summary'
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $Ssh.Sshd.Process
        Stop-FrrLab $Lab
    }

    It 'gives the same answers as Netmiko send_command (device_type cisco_ios) for ten show commands' {
        if ($NoNetmiko) { Set-ItResult -Skipped -Because $NoNetmiko; return }
        $s = Connect-FrrSsh $Ssh
        $s.DeviceType | Should -Be 'frr'
        $ours = Invoke-DeviceCommand $s $ShowCommands
        $spec = @{ device_type = 'cisco_ios'; host = '127.0.0.1'; port = $Ssh.Sshd.Port; username = $Ssh.User.Name; password = $Ssh.User.Password; commands = $ShowCommands } | ConvertTo-Json -Compress
        $theirs = (& /usr/bin/python3 (Join-Path $Peers 'netmiko-run.py') $spec | ConvertFrom-Json).results[0].answers
        $theirs.Count | Should -Be 10
        for ($i = 0; $i -lt 10; $i++) {
            $a = $ours[$i].Output -replace "`r`n", "`n" -replace '\d\d:\d\d:\d\d', 'hh:mm:ss'
            $b = $theirs[$i].output -replace "`r`n", "`n" -replace '\d\d:\d\d:\d\d', 'hh:mm:ss'
            $a | Should -BeExactly $b -Because $ShowCommands[$i]
        }
        ($ours.Output -join '').Length | Should -BeGreaterThan 3000
    }

    It 'keeps the answer clean across a hostname change, with the new prompt' {
        $s = Connect-FrrSsh $Ssh
        try {
            $r = Invoke-DeviceCommand $s 'configure terminal', 'hostname lab-r2', 'do show running-config', 'end'
            $r[1].Prompt | Should -Be 'lab-r2(config)#'
            $r[2].Output | Should -Match '(?m)^hostname lab-r2$'
            $r[2].Output | Should -Not -Match '\(config\)#'
            $r[3].Prompt | Should -Be 'lab-r2#'
        }
        finally { $null = Invoke-DeviceCommand $s 'hostname r1' -Configuration }
    }

    It 'runs a fleet over SSH, with one HostKeyUnknown error for the host whose key is not trusted' {
        $known = Join-Path $Lab.Folder 'known_hosts'
        Set-Content $known ''
        $targets = "127.0.0.1:$($Ssh.Sshd.Port)", "localhost:$($Ssh.Sshd.Port)"
        $r = Invoke-DeviceCommand -ComputerName $targets -DeviceType frr -Command 'show version' -Credential $Ssh.User.Credential -HostKeyFingerprint $Ssh.Sshd.Fingerprints -Timeout 30
        $r.Count | Should -Be 2
        $r.Output | ForEach-Object { $_ | Should -Match '^FRRouting' }
        Invoke-DeviceCommand -ComputerName "127.0.0.1:$($Ssh.Sshd.Port)" -DeviceType frr -Command 'show version' -Credential $Ssh.User.Credential -KnownHostsPath $known -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostKeyUnknown*'
    }
}

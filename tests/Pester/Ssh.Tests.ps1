# Connect-SshShell and Invoke-SshCommand against a real OpenSSH sshd started by the test: logins,
# the session cmdlets over a shell channel, state that follows the channel, and lazy loading.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'ssh.ps1')
    $script:NoPeer = Get-PeerSkipReason sshd -Path @('/usr/sbin/sshd') -Command @('ssh-keygen', 'useradd')
    if (-not $NoPeer) {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-ssh-$PID"
        $script:User = Initialize-TestSshUser
        $script:Keys = New-TestSshClientKeys -Directory (Join-Path $Dir 'keys')
        $script:Sshd = Start-TestSshd -Directory (Join-Path $Dir 'sshd') -AuthorizedKeys $Keys.PublicKeys -ExtraConfig 'PrintMotd no'
        $script:Trust = @{ Port = $Sshd.Port; HostKeyFingerprint = $Sshd.Fingerprints }
    }

    # Reads until the shell's prompt ends with "$ " after the marker text, so each step waits for its answer.
    function script:Invoke-Shell($Session, [string] $Command, [string] $Marker) {
        Send-SocketData $Session $Command -Line
        Receive-SocketData $Session -Until $Marker -Timeout 20
    }
}

AfterAll {
    Get-SocketSession | Remove-SocketSession
    if ($script:Sshd) { Stop-Peer $Sshd.Process }
    if ($script:Dir) { Remove-Item -Recurse -Force $Dir -ErrorAction Ignore }
}

Describe 'Connect-SshShell' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'logs in with a password and returns a registered Ssh session showing user, server version and host key' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential -Name ssh-pw
        $s | Should -BeOfType PSSocket.SshSession
        $s.Kind | Should -Be 'Ssh'
        $s.State | Should -Be 'Open'
        $s.User | Should -Be $User.Name
        $s.ServerVersion | Should -Match '^SSH-2\.0-OpenSSH'
        $s.HostKeyFingerprint | Should -BeIn $Sshd.Fingerprints
        $s.Width | Should -Be 511
        $s.Height | Should -Be 1000
        (Get-SocketSession -Name ssh-pw).Id | Should -Be $s.Id
    }

    It 'runs a conversation in the shell with -Until, -Line and -Pattern, keeping bytes past the stop point' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        $null = Invoke-Shell $s 'stty -echo; echo rea""dy' 'ready'
        Send-SocketData $s 'printf "one\ntwo\nthree\n"' -Line
        (Receive-SocketData $s -Pattern 'one\r?\n' -Timeout 20) | Should -Match 'one'
        Receive-SocketData $s -Line -Timeout 20 | Should -Be 'two'
        Receive-SocketData $s -Line -Timeout 20 | Should -Be 'three'
    }

    It 'gives the shell the terminal asked for (type and size)' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential -TerminalType vt100 -Width 132 -Height 50
        $out = Invoke-Shell $s 'echo "T=$TERM S=$(stty size)"' 'S=50 132'
        $out | Should -Match 'T=vt100'
    }

    It 'becomes RemoteClosed with the exit status when the shell exits, and what it sent stays readable' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        Send-SocketData $s 'echo bye-now; exit 7' -Line
        $text = Receive-SocketData $s -ToEnd -Timeout 20
        $text | Should -Match 'bye-now'
        Wait-Until { $s.RefreshState(); $s.State -eq 'RemoteClosed' } -TimeoutSec 10 | Should -BeTrue
        $s.ExitStatus | Should -Be 7
        $s.CloseReason | Should -Match 'status 7'
    }

    It 'logs in with an ed25519 key and with a passphrase-protected RSA key, several keys tried in order' {
        $a = Connect-SshShell "$($User.Name)@127.0.0.1" @Trust -KeyFilePath $Keys.Ed25519
        $a.User | Should -Be $User.Name
        $b = Connect-SshShell 127.0.0.1 @Trust -Credential ([pscredential]::new($User.Name, [securestring]::new())) -KeyFilePath $Keys.Rsa, $Keys.Ed25519 -KeyPassphrase $Keys.Passphrase
        $b.State | Should -Be 'Open'
    }

    It 'fails with AuthenticationFailed within the timeout and never shows the password' {
        $bad = [pscredential]::new($User.Name, (ConvertTo-SecureString 'Wr0ng-secret-pw' -AsPlainText -Force))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $e = $null
        $null = Connect-SshShell 127.0.0.1 @Trust -Credential $bad -Timeout 15 -ErrorVariable e -ErrorAction SilentlyContinue
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 20
        $e.FullyQualifiedErrorId | Should -Match '^AuthenticationFailed'
        "$e" | Should -Match $User.Name
        "$e" | Should -Not -Match 'Wr0ng-secret-pw'
        @(Get-SocketSession).Count | Should -Be 0
    }

    It 'says which key file needs a passphrase' {
        $e = $null
        $null = Connect-SshShell "$($User.Name)@127.0.0.1" @Trust -KeyFilePath $Keys.Rsa -ErrorVariable e -ErrorAction SilentlyContinue
        "$e" | Should -Match 'client_rsa'
        "$e" | Should -Match 'KeyPassphrase'
    }

    It 'connects each target of a pipeline; a failed one is an error and the others connect' {
        $e = $null
        $s = "127.0.0.1:$($Sshd.Port)", "127.0.0.1:$(Get-FreeTcpPort)", "127.0.0.1:$($Sshd.Port)" |
            Connect-SshShell -Credential $User.Credential -HostKeyFingerprint $Sshd.Fingerprints -ErrorVariable e -ErrorAction SilentlyContinue
        @($s).Count | Should -Be 2
        @($e).Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Match '^ConnectionRefused'
    }
}

Describe 'An SSH session carries what a TCP session carries' {
    BeforeAll {
        if (-not $NoPeer) {
            $script:Random = Join-Path $Dir 'random.bin'
            New-RandomFile -Path $Random -Size 1MB
            & chmod 644 $Random
            $script:RandomHash = (Get-FileHash $Random -Algorithm SHA256).Hash
        }
    }
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'travels through remoting (Start-Job) as facts: who, which server and host key, the terminal; never a secret or the connection' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential -Name remoted-ssh -DeviceType linux
        $xml = [System.Management.Automation.PSSerializer]::Serialize($s)
        $xml | Should -Not -Match ([regex]::Escape($User.Password))
        $xml | Should -Not -Match 'SecureString|Renci|SshClient|ShellChannel|Stream<|N="Connection"|N="Encoding"'
        # A real second process, as Invoke-Command and Start-Job hand it back.
        $d = Start-Job { $using:s } | Receive-Job -Wait -AutoRemoveJob
        $d.PSObject.TypeNames[0] | Should -Be 'Deserialized.PSSocket.SshSession'
        $d.Kind | Should -BeExactly 'Ssh'
        $d.State | Should -BeExactly 'Open'
        $d.Name | Should -Be 'remoted-ssh'
        $d.User | Should -Be $User.Name
        $d.ComputerName | Should -Be '127.0.0.1'
        $d.Port | Should -Be $Sshd.Port
        $d.ServerVersion | Should -Match '^SSH-2\.0-OpenSSH'
        $d.HostKeyFingerprint | Should -Be $s.HostKeyFingerprint
        $d.HostKeyType | Should -Be $s.HostKeyType
        $d.TerminalType | Should -Be $s.TerminalType
        $d.Width | Should -Be 511
        $d.DeviceType | Should -Be 'linux'
        $d.RemoteEndPoint | Should -Be "127.0.0.1:$($Sshd.Port)"
        $list = $d | Format-List | Out-String -Width 200
        $list | Should -Match "User\s+:\s+$([regex]::Escape($User.Name))"
        $list | Should -Match ([regex]::Escape($s.HostKeyFingerprint))
    }

    It 'receives 1 MiB from cat byte for byte (terminal in raw mode), with -Count' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        Send-SocketData $s "stty raw -echo; printf 'BE''GIN'; cat '$Random'" -Line
        $null = Receive-SocketData $s -Until 'BEGIN' -Timeout 20
        $bytes = Receive-SocketData $s -Count 1MB -AsBytes -Timeout 60
        Get-BytesSha256 $bytes | Should -Be $RandomHash
    }

    It 'streams 1 MiB to a file with -Path -ToEnd, ending when the shell exits' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        Send-SocketData $s "stty raw -echo; printf 'BE''GIN'; exec cat '$Random'" -Line
        $null = Receive-SocketData $s -Until 'BEGIN' -Timeout 20
        $out = Join-Path $Dir "received-$([guid]::NewGuid().ToString('n')).bin"
        Receive-SocketData $s -Path $out -ToEnd -Timeout 60
        (Get-FileHash $out -Algorithm SHA256).Hash | Should -Be $RandomHash
        $s.State | Should -Be 'RemoteClosed'
        $s.ExitStatus | Should -Be 0
    }

    It 'records a transcript and runs a conversation with its password step redacted' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        $log = Join-Path $Dir "transcript-$([guid]::NewGuid().ToString('n')).log"
        Start-SocketTranscript $s -Path $log
        $secret = ConvertTo-SecureString 'not-a-real-secret' -AsPlainText -Force
        $r = Invoke-SocketConversation $s @(
            @{ Send = 'stty -echo; echo rea""dy; read -r SECRET; echo "len=${#SECRET}"'; Expect = 'ready' }
            @{ Send = $secret; Expect = 'len=17' }
        ) -Timeout 20
        $r | Should -Not -BeNullOrEmpty
        Stop-SocketTranscript $s
        $text = Get-Content -Raw $log
        $text | Should -Match 'len=17'
        $text | Should -Not -Match 'not-a-real-secret'
    }

    It 'becomes Faulted with the reason when the connection drops, keeping what arrived' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        Send-SocketData $s 'echo last-wo""rds' -Line
        $null = Receive-SocketData $s -Until 'last-words' -Timeout 20
        Start-Sleep -Milliseconds 300
        Stop-TestSshConnections $Sshd | Should -BeGreaterThan 0
        Wait-Until { $s.RefreshState(); $s.State -eq 'Faulted' } -TimeoutSec 20 | Should -BeTrue
        $s.CloseReason | Should -Match 'lost'
        # What arrived before the drop (the prompt after last-words) is still handed out, then the fault.
        Receive-SocketData $s -Timeout 5 | Should -Not -BeNullOrEmpty
        { Receive-SocketData $s -Timeout 5 } | Should -Throw -ErrorId 'ConnectionReset*'
    }

    It 'Remove-SocketSession closes the channel and the connection' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        $before = @(& pgrep -P $Sshd.Process.Id).Count
        $s | Remove-SocketSession
        $s.State | Should -Be 'Closed'
        Wait-Until { @(& pgrep -P $Sshd.Process.Id).Count -lt $before } -TimeoutSec 20 | Should -BeTrue
    }
}

Describe 'Other SSH servers and shells' {
    BeforeAll {
        $script:NoOther = $NoPeer ?? (Get-PeerSkipReason dropbear -Path @('/usr/sbin/dropbear') -Command @('dropbearkey', 'busybox'))
        if (-not $NoOther) {
            $script:Dropbear = Start-TestDropbear -Directory (Join-Path $Dir 'dropbear')
            $script:BusyboxUser = Initialize-TestSshUser -Name 'pssocket-bbsh' -Shell (Get-TestBusyboxShell)
            # keyboard-interactive only: the password is asked by PAM as a prompt, not sent as a password login.
            $script:KbdSshd = Start-TestSshd -Directory (Join-Path $Dir 'sshd-kbd') -ExtraConfig 'PrintMotd no', 'PasswordAuthentication no', 'AuthenticationMethods keyboard-interactive'
        }
    }
    AfterAll {
        if ($script:Dropbear) { Stop-Peer $Dropbear.Process }
        if ($script:KbdSshd) { Stop-Peer $KbdSshd.Process }
    }
    BeforeEach { if ($NoOther) { Set-ItResult -Skipped -Because $NoOther } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'talks to dropbear, a second SSH implementation: shell, exit status and exec' {
        $s = Connect-SshShell 127.0.0.1 $Dropbear.Port -Credential $User.Credential -HostKeyFingerprint $Dropbear.Fingerprints
        $s.ServerVersion | Should -Match 'dropbear'
        Invoke-Shell $s 'echo drop-be""ar' 'drop-bear' | Should -Match 'drop-bear'
        Send-SocketData $s 'exit 5' -Line
        $null = Receive-SocketData $s -ToEnd -Timeout 20
        Wait-Until { $s.RefreshState(); $s.State -eq 'RemoteClosed' } -TimeoutSec 10 | Should -BeTrue
        $s.ExitStatus | Should -Be 5
        $r = Invoke-SshCommand 127.0.0.1 'echo x; exit 3' -Port $Dropbear.Port -Credential $User.Credential -HostKeyFingerprint $Dropbear.Fingerprints
        $r.ExitStatus | Should -Be 3
    }

    It 'works with busybox sh as the login shell' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $BusyboxUser.Credential
        Invoke-Shell $s 'echo "shell=$0 sum=$((20+22))"' 'sum=42' | Should -Match 'shell=-?sh'
        (Invoke-SshCommand 127.0.0.1 'readlink /proc/$$/exe; true' @Trust -Credential $BusyboxUser.Credential).Output | Should -Match 'busybox'
    }

    It 'answers the password prompt of a keyboard-interactive login' {
        $s = Connect-SshShell 127.0.0.1 $KbdSshd.Port -Credential $User.Credential -HostKeyFingerprint $KbdSshd.Fingerprints
        $s.State | Should -Be 'Open'
        $e = $null
        $bad = [pscredential]::new($User.Name, (ConvertTo-SecureString 'Wr0ng-secret-pw' -AsPlainText -Force))
        $null = Connect-SshShell 127.0.0.1 $KbdSshd.Port -Credential $bad -HostKeyFingerprint $KbdSshd.Fingerprints -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Match '^AuthenticationFailed'
        "$($e[0])" | Should -Match 'keyboard-interactive'
        "$($e[0])" | Should -Not -Match 'Wr0ng-secret-pw'
    }
}

Describe 'A keyboard-interactive prompt that -Credential cannot answer (a paramiko server asking for a verification code)' {
    BeforeAll {
        $script:NoKbd = $NoPeer ?? (Get-PeerSkipReason 'python3-paramiko' -Path '/usr/lib/python3/dist-packages/paramiko')
        if (-not $NoKbd) {
            $key = Join-Path $Dir 'kbd-host-ed25519'
            if (-not (Test-Path $key)) { & ssh-keygen -q -t ed25519 -N '' -C pssocket-test-kbd -f $key }
            $script:KbdFingerprint = Get-SshKeyFingerprint "$key.pub"
            $script:KbdPeers = @{}
            foreach ($mode in 'reject', 'stall') {
                $KbdPeers[$mode] = Start-PeerOnFreePort -TimeoutSec 60 { param($port) Start-Peer /usr/bin/python3 @((Join-Path $PSScriptRoot 'peers/kbd-sshd.py'), $port, $key, $mode) }
            }
        }
    }
    AfterAll { if ($script:KbdPeers) { $KbdPeers.Values | ForEach-Object { Stop-Peer $_.Process } } }
    BeforeEach { if ($NoKbd) { Set-ItResult -Skipped -Because $NoKbd } }

    It 'fails with AuthenticationFailed naming the prompt, never showing the password' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $null = Connect-SshShell 127.0.0.1 $KbdPeers['reject'].Port -Credential $User.Credential -HostKeyFingerprint $KbdFingerprint -Timeout 20 -ErrorVariable e -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 20
        $e[0].FullyQualifiedErrorId | Should -Match '^AuthenticationFailed'
        "$($e[0])" | Should -Match "asked 'Verification code:'"
        "$($e[0])" | Should -Not -Match ([regex]::Escape($User.Password))
        Get-SocketSession | Should -BeNullOrEmpty
    }

    It 'gives up within -Timeout when the server never answers the reply, with ConnectionTimedOut' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $null = Connect-SshShell 127.0.0.1 $KbdPeers['stall'].Port -Credential $User.Credential -HostKeyFingerprint $KbdFingerprint -Timeout 3 -ErrorVariable e -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $e[0].FullyQualifiedErrorId | Should -Match '^ConnectionTimedOut'
        "$($e[0])" | Should -Match 'within 3 s'
        $r = Invoke-SshCommand 127.0.0.1 'true' -Port $KbdPeers['stall'].Port -Credential $User.Credential -HostKeyFingerprint $KbdFingerprint -Timeout 3 -ErrorVariable e2 -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $e2[0].FullyQualifiedErrorId | Should -Match '^ConnectionTimedOut'
    }
}

Describe 'Invoke-SshCommand' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'returns output, error and exit status; a non-zero exit is a result, not an error' {
        $r = Invoke-SshCommand 127.0.0.1 'echo out; echo err >&2; exit 4' @Trust -Credential $User.Credential
        $r | Should -BeOfType PSSocket.SshCommandResult
        $r.ExitStatus | Should -Be 4
        $r.Output | Should -Be "out`n"
        $r.Error | Should -Be "err`n"
        $r.ComputerName | Should -Be '127.0.0.1'
        $r.Elapsed | Should -BeGreaterThan ([timespan]::Zero)
    }

    It 'runs on many hosts in parallel; an unreachable host is an error for that host only' {
        $dead = "127.0.0.1:$(Get-FreeTcpPort)"
        $e = $null
        $live = "127.0.0.1:$($Sshd.Port)"
        $r = Invoke-SshCommand $live, $dead, $live 'echo $((6*7))' -Credential $User.Credential -HostKeyFingerprint $Sshd.Fingerprints -ThrottleLimit 2 -ErrorVariable e -ErrorAction SilentlyContinue
        @($r).Count | Should -Be 2
        $r.Output | ForEach-Object { $_.Trim() } | Should -Be @('42', '42')
        @($e).Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Match '^ConnectionRefused'
    }

    It 'runs on an open session''s connection without touching its shell' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        $r = Invoke-SshCommand -Session $s -Command 'echo exec-channel'
        $r.Output.Trim() | Should -Be 'exec-channel'
        $s.State | Should -Be 'Open'
        $s.Id | Invoke-SshCommand -Command 'true' | ForEach-Object ExitStatus | Should -Be 0
    }

    It 'stops a command that outlives -Timeout with CommandTimeout; the session, its shell and the next command go on' {
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-SshCommand -Session $s -Command 'sleep 120' -Timeout 2 -ErrorVariable e -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 15
        $r | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Match '^CommandTimeout'
        $e[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        "$($e[0])" | Should -Match "'sleep 120'.*within 2 s"
        $s.State | Should -Be 'Open'
        (Invoke-SshCommand -Session $s -Command 'echo still-here' -Timeout 20).Output.Trim() | Should -Be 'still-here'
        Invoke-Shell $s 'echo shell-""goes-on' 'shell-goes-on' | Should -Match 'shell-goes-on'
        $sw.Restart()
        $null = Invoke-SshCommand 127.0.0.1 'sleep 120' @Trust -Credential $User.Credential -Timeout 3 -ErrorVariable e2 -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 15
        $e2[0].FullyQualifiedErrorId | Should -Match '^CommandTimeout'
    }
}

Describe 'SSH through a proxy (microsocks SOCKS5, tinyproxy HTTP CONNECT)' {
    BeforeAll {
        $script:NoProxy = $NoPeer ?? (Get-PeerSkipReason microsocks) ?? (Get-PeerSkipReason tinyproxy)
        if (-not $NoProxy) {
            $script:ProxyCred = [pscredential]::new('alice', (ConvertTo-SecureString 's3cret-Pr0xy' -AsPlainText -Force))
            $script:Socks = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', $port, '-u', 'alice', '-P', 's3cret-Pr0xy') }
            $conf = Join-Path $Dir 'tinyproxy.conf'
            $script:Tiny = Start-PeerOnFreePort {
                param($port)
                $users = if ((id -u) -eq '0') { "User nobody`nGroup nogroup" } else { '' }
                Set-Content -Path $conf -Value "Port $port`nListen 127.0.0.1`nTimeout 30`nMaxClients 20`nBasicAuth alice s3cret-Pr0xy`n$users"
                Start-Peer (Get-Command tinyproxy).Source @('-d', '-c', $conf)
            }
        }
    }
    AfterAll {
        if ($script:Socks) { Stop-Peer $Socks.Process }
        if ($script:Tiny) { Stop-Peer $Tiny.Process }
    }
    BeforeEach { if ($NoProxy) { Set-ItResult -Skipped -Because $NoProxy } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'opens a shell through <Scheme>, the host key checked against the server' -ForEach @(
        @{ Scheme = 'socks5' }, @{ Scheme = 'socks5h' }, @{ Scheme = 'http' }
    ) {
        $port = if ($Scheme -eq 'http') { $Tiny.Port } else { $Socks.Port }
        $s = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential -Proxy "${Scheme}://127.0.0.1:$port" -ProxyCredential $ProxyCred
        $s.HostKeyFingerprint | Should -BeIn $Sshd.Fingerprints
        "$($s.Proxy)" | Should -Match "^${Scheme}://alice@"
        Invoke-Shell $s 'echo through-the-pro""xy' 'through-the-proxy' | Should -Match 'through-the-proxy'
    }

    It 'runs Invoke-SshCommand through a proxy, and a wrong proxy password is ProxyAuthenticationFailed' {
        (Invoke-SshCommand 127.0.0.1 'echo via-proxy' @Trust -Credential $User.Credential -Proxy "socks5://127.0.0.1:$($Socks.Port)" -ProxyCredential $ProxyCred).Output.Trim() | Should -Be 'via-proxy'
        $wrong = [pscredential]::new('alice', (ConvertTo-SecureString 'nope' -AsPlainText -Force))
        $e = $null
        $null = Connect-SshShell 127.0.0.1 @Trust -Credential $User.Credential -Proxy "socks5://127.0.0.1:$($Socks.Port)" -ProxyCredential $wrong -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Match '^ProxyAuthenticationFailed'
    }
}

Describe 'SSH assemblies load on first use, in their own load context' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }

    It 'Import-Module loads no SSH.NET assembly; the first SSH call loads them outside the default context' {
        $script = @"
Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'
`$ssh = { [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -in 'Renci.SshNet', 'PSSocket.Ssh', 'BouncyCastle.Cryptography' } }
'after-import=' + @(& `$ssh).Count
`$cred = [pscredential]::new('$($User.Name)', (ConvertTo-SecureString '$($User.Password)' -AsPlainText -Force))
`$s = Connect-SshShell 127.0.0.1 $($Sshd.Port) -Credential `$cred -HostKeyFingerprint '$($Sshd.Fingerprints[0])','$($Sshd.Fingerprints[1])','$($Sshd.Fingerprints[2])'
'after-connect=' + @(& `$ssh).Count
'default-context=' + @(& `$ssh | Where-Object { [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_) -eq [Runtime.Loader.AssemblyLoadContext]::Default }).Count
"@
        $pwsh = @(Get-PwshCommand)
        $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script
        $out | Should -Contain 'after-import=0'
        $out | Should -Contain 'after-connect=3'
        $out | Should -Contain 'default-context=0'
    }
}

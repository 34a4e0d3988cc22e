BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:Tmux = (Get-Command tmux).Source
    # A private tmux server (-L) so nothing here touches anyone else's tmux sessions.
    $script:TmuxSocket = "pssocket-test-$PID"

    function Invoke-Tmux { & $Tmux -L $TmuxSocket @args }

    function Get-Pane { (Invoke-Tmux capture-pane -p -t interactive -S -200) -join "`n" }

    # Waits (bounded) until the pane shows text matching the pattern; returns the pane.
    function Wait-Pane {
        param([string] $Pattern, [double] $TimeoutSec = 30)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        do {
            $pane = Get-Pane
            if ($pane -match $Pattern) { return $pane }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        throw "the pane never showed /$Pattern/ within $TimeoutSec s; it shows:`n$pane"
    }

    # Starts an interactive pwsh in tmux that connects to the port and enters the session.
    function Start-InteractivePwsh {
        param([int] $Port, [string] $EnterArguments = '', [string] $Connect = "Connect-TcpSocket 127.0.0.1 $Port -Name tmux-echo", [string] $Before = '')
        $script:Startup = Join-Path ([IO.Path]::GetTempPath()) "pssocket-interactive-$PID.ps1"
        @"
Import-Module '$(Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')'
`$global:s = $Connect
$Before
Enter-SocketSession `$global:s $EnterArguments
"@ | Set-Content -Path $Startup
        $pwsh = (Get-PwshCommand) + @('-NoProfile', '-NoLogo', '-NoExit', '-File', $Startup)
        Invoke-Tmux new-session -d -s interactive -x 150 -y 45 @pwsh
        if ($LASTEXITCODE -ne 0) { throw 'tmux did not start' }
    }

    function Stop-InteractivePwsh {
        Invoke-Tmux kill-server 2>$null
        Remove-Item $Startup -ErrorAction SilentlyContinue
    }
}

Describe 'Enter-SocketSession in a terminal (tmux) against an echo peer' {
    BeforeEach {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command ncat).Source @('-l', '127.0.0.1', $port, '--keep-open', '--exec', '/bin/cat') }
        $script:Echo = $peerOnPort.Process
        $script:Port = $peerOnPort.Port
    }
    AfterEach {
        Stop-InteractivePwsh
        Stop-Peer $Echo
    }

    It 'sends typed lines, prints the echo, and Ctrl+] returns to the prompt with the session still open' {
        Start-InteractivePwsh -Port $Port
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'hello from tmux'
        Invoke-Tmux send-keys -t interactive Enter
        # Once as typed (local echo), once as the peer echoed it back.
        $null = Wait-Pane '(?s)hello from tmux.*\n.*hello from tmux'
        Invoke-Tmux send-keys -t interactive 'C-]'
        $null = Wait-Pane 'Returned to PowerShell; session .* stays Open'
        Invoke-Tmux send-keys -t interactive -l '"STATE=" + $s.State + " SENT=" + $s.BytesSent'
        Invoke-Tmux send-keys -t interactive Enter
        $pane = Wait-Pane 'STATE=\w+ SENT=\d+'
        $pane | Should -Match 'STATE=Open SENT=16'
    }

    It 'ends with a message when the peer closes the connection' {
        Start-InteractivePwsh -Port $Port
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'ping'
        Invoke-Tmux send-keys -t interactive Enter
        $null = Wait-Pane '(?s)ping.*\n.*ping'
        Stop-Peer $Echo
        $script:Echo = $null
        $null = Wait-Pane 'the peer closed the connection\. Back to PowerShell'
        Invoke-Tmux send-keys -t interactive -l '"STATE=" + $s.State'
        Invoke-Tmux send-keys -t interactive Enter
        (Wait-Pane 'STATE=\w+') | Should -Match 'STATE=RemoteClosed'
    }

    It 'prints what arrives as a hex dump with -Hex' {
        Start-InteractivePwsh -Port $Port -EnterArguments '-Hex'
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'AB'
        Invoke-Tmux send-keys -t interactive Enter
        $pane = Wait-Pane '00000000  41 42 0a'
        $pane | Should -Match '00000000  41 42 0a\s+\|AB\.\|'
        # Ctrl+C stops the command too, and leaves the session open.
        Invoke-Tmux send-keys -t interactive 'C-c'
        Start-Sleep -Milliseconds 500
        Invoke-Tmux send-keys -t interactive -l '"STATE=" + $s.State'
        Invoke-Tmux send-keys -t interactive Enter
        (Wait-Pane 'STATE=\w+') | Should -Match 'STATE=Open'
    }
}

Describe 'Enter-SocketSession on a telnet session to the system telnetd' -Skip:([bool] (Get-PeerSkipReason telnetd)) {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command python3).Source @((Join-Path $PSScriptRoot 'peers/telnetd-launcher.py'), $port, (Join-Path $PSScriptRoot 'peers/test-login.sh')) }
        $script:Daemon = $peerOnPort.Process
        $script:Port = $peerOnPort.Port
    }
    AfterAll {
        Stop-InteractivePwsh
        Stop-Peer $Daemon
    }

    It 'sends keys as typed once the server echoes, so each command shows once and runs' {
        $login = '$null = Invoke-SocketConversation $global:s @(@{ Expect = ''login:'' }, @{ Send = ''tester'' }, @{ Expect = ''Password:'' }, @{ Send = (ConvertTo-SecureString s3cret -AsPlainText -Force) }, @{ Expect = ''\$ $''; Regex = $true })'
        Start-InteractivePwsh -Connect "Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine `"``r``n`"" -Before $login
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'echo product=$((7*6))'
        Invoke-Tmux send-keys -t interactive Enter
        $pane = Wait-Pane '(?m)^product=42'
        # Echoed by the server only (no local echo in character mode): the command appears once.
        ([regex]::Matches($pane, [regex]::Escape('echo product=$((7*6))'))).Count | Should -Be 1
        Invoke-Tmux send-keys -t interactive 'C-]'
        $null = Wait-Pane 'Returned to PowerShell; session .* stays Open'
    }
}

Describe 'Enter-SocketSession on an SSH shell (OpenSSH sshd, bash)' -Skip:([bool] (Get-PeerSkipReason sshd -Path @('/usr/sbin/sshd') -Command @('ssh-keygen', 'useradd', 'bash'))) {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'ssh.ps1')
        $script:SshDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-interactive-ssh-$PID"
        $script:SshUser = Initialize-TestSshUser -Shell /bin/bash
        $script:Sshd = Start-TestSshd -Directory (Join-Path $SshDir 'sshd') -ExtraConfig 'PrintMotd no'
    }
    AfterAll {
        Stop-InteractivePwsh
        if ($script:Sshd) { Stop-Peer $Sshd.Process }
        Remove-Item -Recurse -Force $SshDir -ErrorAction Ignore
    }

    It 'sends the arrow keys, Home and Delete as terminal sequences, so the remote shell''s history and line editing work' {
        $cred = "[pscredential]::new('$($SshUser.Name)', (ConvertTo-SecureString '$($SshUser.Password)' -AsPlainText -Force))"
        $connect = "Connect-SshShell 127.0.0.1 $($Sshd.Port) -Credential ($cred) -HostKeyFingerprint '$($Sshd.Fingerprints -join "','")'"
        Start-InteractivePwsh -Connect $connect -Before '$null = Receive-SocketData $global:s -Pattern ''\$ $'' -Timeout 30'
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'echo ran-$((6*7))'
        Invoke-Tmux send-keys -t interactive Enter
        $null = Wait-Pane '(?m)^ran-42'
        # Up recalls the last command from bash's history; Enter runs it again.
        Invoke-Tmux send-keys -t interactive Up
        Invoke-Tmux send-keys -t interactive Enter
        $null = Wait-Pane '(?s)^(?=(.*?(?m:^ran-42\s*$)){2})'
        # Left moves the cursor back into the line; Home to its start; Delete removes the character under the cursor.
        Invoke-Tmux send-keys -t interactive -l 'cho moved-ac'
        Invoke-Tmux send-keys -t interactive Left
        Invoke-Tmux send-keys -t interactive -l 'b'
        Invoke-Tmux send-keys -t interactive Home
        Invoke-Tmux send-keys -t interactive -l 'eX'
        Invoke-Tmux send-keys -t interactive Left
        Invoke-Tmux send-keys -t interactive DC
        Invoke-Tmux send-keys -t interactive Enter
        $null = Wait-Pane '(?m)^moved-abc\s*$'
        Invoke-Tmux send-keys -t interactive 'C-]'
        $null = Wait-Pane 'Returned to PowerShell; session .* stays Open'
    }
}

Describe 'Enter-SocketSession on a Unix socket session (socat UNIX-LISTEN echo)' -Skip:([bool] (Get-PeerSkipReason socat)) {
    BeforeAll {
        $script:UnixDir = Join-Path ([IO.Path]::GetTempPath()) "pssi-$PID"
        New-Item -ItemType Directory -Path $UnixDir -Force | Out-Null
        $script:UnixPath = Join-Path $UnixDir 'echo.sock'
        $script:UnixPeers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
        $null = Start-UnixSocketPeer (Get-Command socat).Source @("UNIX-LISTEN:$UnixPath,fork", 'PIPE') $UnixPath $UnixPeers
    }
    AfterAll {
        Stop-InteractivePwsh
        foreach ($p in $UnixPeers) { Stop-Peer $p }
        Remove-Item -Recurse -Force $UnixDir -ErrorAction SilentlyContinue
    }

    It 'sends typed lines over the socket file and prints the echo, as over TCP' {
        Start-InteractivePwsh -Connect "Connect-UnixSocket '$UnixPath' -Name tmux-unix"
        $null = Wait-Pane 'Press Ctrl\+\] to return'
        Invoke-Tmux send-keys -t interactive -l 'hello over unix'
        Invoke-Tmux send-keys -t interactive Enter
        $null = Wait-Pane '(?s)hello over unix.*\n.*hello over unix'
        Invoke-Tmux send-keys -t interactive 'C-]'
        $null = Wait-Pane 'Returned to PowerShell; session .* stays Open'
        Invoke-Tmux send-keys -t interactive -l '"KIND=" + $s.Kind + " SENT=" + $s.BytesSent'
        Invoke-Tmux send-keys -t interactive Enter
        (Wait-Pane 'KIND=\w+ SENT=\d+') | Should -Match 'KIND=Unix SENT=16'
    }
}

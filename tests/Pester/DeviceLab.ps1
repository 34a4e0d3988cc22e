# Dot-sourced by the device tests and the device benchmark (after common.ps1): a real router CLI
# to talk to. FRRouting's zebra and staticd run in a network namespace of their own (named after
# this process, so parallel runs never meet), with their vty sockets, pid files and configuration
# in a temp folder; vtysh, the router shell, reaches them through that folder. The system telnetd
# logs users in and runs vtysh as their shell, and so does a loopback sshd (Start-FrrSsh) for a
# test user whose login shell is vtysh.

# Whether the FRR lab can run here, or why not (needs root for the namespace, and frr installed).
function Get-FrrLabSkipReason {
    if ($why = Get-PeerSkipReason 'network namespaces') { return $why }
    if ($why = Get-PeerSkipReason frr -Path '/usr/lib/frr/zebra', '/usr/lib/frr/staticd', '/usr/bin/vtysh') { return $why }
    Get-PeerSkipReason telnetd
}

<#
    Starts zebra and staticd in a new namespace with an interface eth0 (10.0.0.1/24, one end of a veth pair) and a static
    route (192.0.2.0/24), and writes the shell script that runs vtysh against them. Returns the lab
    (Namespace, Folder, Shell, Pids); stop it with Stop-FrrLab.
#>
function Start-FrrLab {
    param([string] $HostName = 'r1')
    $id = "$PID-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
    $ns = "pssocket-frr-$id"
    $dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-frr-$id"
    $null = New-Item -ItemType Directory -Force $dir
    $lab = [pscustomobject]@{ Namespace = $ns; Folder = $dir; Shell = (Join-Path $dir 'vtysh-shell.sh'); Login = (Join-Path $dir 'vtysh-login.sh'); Pids = @() }
    try {
        ip netns add $ns
        if ($LASTEXITCODE) { throw "ip netns add $ns failed" }
        ip -n $ns link set lo up
        # No IPv6 link-local addresses: they appear a moment after the link comes up, so `show
        # interface` would change between the two tools' runs of the same command.
        ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
        # A veth pair inside the namespace (the dummy link type needs a module this kernel may lack).
        ip -n $ns link add eth0 type veth peer name eth1
        ip -n $ns addr add 10.0.0.1/24 dev eth0
        ip -n $ns link set eth0 up
        ip -n $ns link set eth1 up
        Set-Content (Join-Path $dir 'zebra.conf') "hostname $HostName`n"
        Set-Content (Join-Path $dir 'staticd.conf') "hostname $HostName`nip route 192.0.2.0/24 blackhole`n"
        Set-Content (Join-Path $dir 'vtysh.conf') ''
        chown -R frr:frr $dir
        chmod 755 $dir
        foreach ($daemon in 'zebra', 'staticd') {
            $daemonArgs = @('netns', 'exec', $ns, "/usr/lib/frr/$daemon", '-d', '-f', (Join-Path $dir "$daemon.conf"), '-i', (Join-Path $dir "$daemon.pid"),
                '--vty_socket', $dir, '-z', (Join-Path $dir 'zserv.api'), '-u', 'frr', '-g', 'frr', '--log', "file:$(Join-Path $dir "$daemon.log")")
            $out = & ip @daemonArgs 2>&1
            if ($LASTEXITCODE) { throw "$daemon did not start: $out" }
            if (-not (Wait-Until { Test-Path (Join-Path $dir "$daemon.vty") } -TimeoutSec 60)) { throw "$daemon made no vty socket in 60 s" }
            $lab.Pids += [int] (Get-Content (Join-Path $dir "$daemon.pid"))
        }
        # vtysh needs no namespace: it reaches the daemons through their sockets in the folder
        # (group frrvty may use them), so it also runs as an unprivileged SSH user's shell.
        $vtysh = "exec /usr/bin/vtysh --vty_socket $dir --config_dir $dir"
        Set-Content $lab.Shell "#!/bin/sh`n$vtysh`n"
        # The telnetd login program: user tester, password s3cret, then vtysh (as test-login.sh does for sh).
        Set-Content $lab.Login @"
#!/bin/bash
user=
# An empty line asks again, as devices do (Netmiko sends one before it sees the question).
while [ -z "`$user" ]; do printf 'login: '; read -r user; user=`${user%`$'\r'}; done
printf 'Password: '
read -rs pass
echo
# The terminal echoes whatever the client negotiated, as a router's CLI always does (a client that
# refuses telnet's server echo, as Netmiko's telnetlib does, would otherwise get no echo from vtysh).
if [ "`$user" = tester ] && [ "`$pass" = s3cret ]; then stty echo; $vtysh; else echo "Login incorrect"; sleep 1; fi
"@
        chmod 755 $lab.Shell $lab.Login
        # The static route reaches zebra a moment after staticd starts.
        $null = Wait-Until { (& ip netns exec $ns vtysh --vty_socket $dir --config_dir $dir -c 'show ip route' 2>&1) -match '192\.0\.2\.0/24' } -TimeoutSec 60
        $lab
    }
    catch {
        Stop-FrrLab $lab
        throw
    }
}

function Stop-FrrLab {
    param($Lab)
    if (-not $Lab) { return }
    foreach ($daemonPid in $Lab.Pids) {
        try { Stop-Process -Id $daemonPid -ErrorAction Stop } catch { Write-Verbose "daemon $daemonPid already gone" }
    }
    foreach ($daemonPid in $Lab.Pids) { $null = Wait-Until { -not (Get-Process -Id $daemonPid -ErrorAction Ignore) } -TimeoutSec 10 }
    if ((ip netns list) -match [regex]::Escape($Lab.Namespace)) { ip netns del $Lab.Namespace }
    Remove-Item -Recurse -Force $Lab.Folder -ErrorAction Ignore
}

# Starts the system telnetd (one daemon per connection) on a free loopback port with the lab's login.
function Start-FrrTelnet {
    param($Lab)
    Start-PeerOnFreePort { param($port) Start-Peer (Get-Command python3).Source @((Join-Path $PSScriptRoot 'peers/telnetd-launcher.py'), $port, $Lab.Login) }
}

# A telnet session to the lab's vtysh, logged in as tester (the prompt not yet read).
function Connect-FrrTelnet {
    param([int] $Port, [string] $DeviceType = 'frr')
    $s = Connect-TcpSocket 127.0.0.1 $Port -Telnet -NewLine "`r`n" -DeviceType $DeviceType
    $secret = ConvertTo-SecureString 's3cret' -AsPlainText -Force
    $null = Invoke-SocketConversation $s @(@{ Expect = 'login: ' }, @{ Send = 'tester' }, @{ Expect = 'Password: ' }, @{ Send = $secret }) -Timeout 30
    $s
}

<#
    A loopback sshd (ssh.ps1's Start-TestSshd) and a test user whose login shell runs the lab's
    vtysh. Returns Sshd (Process, Port, Fingerprints) and User (Name, Password, Credential).
#>
function Start-FrrSsh {
    param($Lab, [string[]] $ExtraConfig = @())
    . (Join-Path $PSScriptRoot 'ssh.ps1')
    $user = Initialize-TestSshUser -Name 'pssocket-vtysh' -Password 'Vtysh-test-pw1' -Shell $Lab.Shell
    & usermod -a -G frrvty $user.Name
    $sshd = Start-TestSshd -Directory (Join-Path $Lab.Folder 'sshd') -ExtraConfig $ExtraConfig
    [pscustomobject]@{ Sshd = $sshd; User = $user }
}

# An SSH shell to the lab's vtysh, device type frr.
function Connect-FrrSsh {
    param($Ssh)
    Connect-SshShell 127.0.0.1 $Ssh.Sshd.Port -Credential $Ssh.User.Credential -HostKeyFingerprint $Ssh.Sshd.Fingerprints -DeviceType frr -Timeout 30
}

# Dot-sourced by the SSH tests (and any test that needs an SSH server): real servers on loopback,
# started in the foreground on free ports with their own host keys, stopped by PID.
#
#   $user = Initialize-TestSshUser                  # a local user with a password (created if missing)
#   $keys = New-TestSshClientKeys -Directory $dir   # ed25519 (no passphrase) and RSA (passphrase)
#   $sshd = Start-TestSshd -Directory $dir -User $user -AuthorizedKeys $keys.PublicKeys
#   Connect-SshShell 127.0.0.1 $sshd.Port -Credential $user.Credential -HostKeyFingerprint $sshd.Fingerprints
#   Stop-Peer $sshd.Process
#
# Start-TestDropbear starts dropbear, a second SSH implementation, the same way.

$script:TestSshUserName = 'pssocket-ssh'
$script:TestSshPassword = 'Pss0cket-test-pw'

# A local user for SSH logins with a known password and bash as its shell; created (useradd +
# chpasswd) when missing. Needs root, which the test machines give.
function Initialize-TestSshUser {
    param([string] $Name = $script:TestSshUserName, [string] $Password = $script:TestSshPassword, [string] $Shell = '/bin/bash')
    $exists = $null -ne (& getent passwd $Name)
    if (-not $exists) {
        & useradd --create-home --shell $Shell $Name 2>&1 | Out-Null
        if ($LASTEXITCODE) { throw "useradd $Name failed ($LASTEXITCODE)" }
    }
    else {
        & usermod --shell $Shell $Name 2>&1 | Out-Null
    }
    "${Name}:$Password" | & chpasswd
    if ($LASTEXITCODE) { throw "chpasswd for $Name failed ($LASTEXITCODE)" }
    [pscustomobject]@{
        Name       = $Name
        Password   = $Password
        Credential = [pscredential]::new($Name, (ConvertTo-SecureString $Password -AsPlainText -Force))
        Home       = (& getent passwd $Name).Split(':')[5]
    }
}

# Client keys: an unencrypted ed25519 key and an RSA key protected by a passphrase.
function New-TestSshClientKeys {
    param([Parameter(Mandatory)] [string] $Directory, [string] $Passphrase = 'key-passphrase')
    New-Item -ItemType Directory -Force $Directory | Out-Null
    $ed = Join-Path $Directory 'client_ed25519'
    $rsa = Join-Path $Directory 'client_rsa'
    & ssh-keygen -q -t ed25519 -N '' -C pssocket-test -f $ed
    & ssh-keygen -q -t rsa -b 2048 -N $Passphrase -C pssocket-test -f $rsa
    if ($LASTEXITCODE) { throw 'ssh-keygen could not make the client keys' }
    [pscustomobject]@{
        Ed25519    = $ed
        Rsa        = $rsa
        Passphrase = ConvertTo-SecureString $Passphrase -AsPlainText -Force
        PublicKeys = @("$ed.pub", "$rsa.pub")
    }
}

# The SHA256 fingerprint of a public key file, as ssh-keygen -l prints it.
function Get-SshKeyFingerprint {
    param([Parameter(Mandatory)] [string] $PublicKeyPath)
    ((& ssh-keygen -l -E sha256 -f $PublicKeyPath) -split ' ')[1]
}

# OpenSSH sshd in the foreground (-D -e) on a free loopback port, with its own ed25519, ECDSA and
# RSA host keys; password and keyboard-interactive logins through PAM, public keys from the
# given files. Returns Process, Port, Directory, HostKeys (public key paths) and Fingerprints.
function Start-TestSshd {
    param(
        [Parameter(Mandatory)] [string] $Directory,
        [string[]] $AuthorizedKeys = @(),
        [string[]] $ExtraConfig = @(),
        [string[]] $HostKeyTypes = @('ed25519', 'ecdsa', 'rsa')
    )
    New-Item -ItemType Directory -Force $Directory | Out-Null
    & chmod 755 $Directory
    $hostKeys = @(foreach ($t in $HostKeyTypes) {
        $k = Join-Path $Directory "host_$t"
        if (-not (Test-Path $k)) {
            & ssh-keygen -q -t $t -N '' -C pssocket-test-host -f $k
            if ($LASTEXITCODE) { throw "ssh-keygen could not make $k" }
        }
        $k
    })
    $authorized = Join-Path $Directory 'authorized_keys'
    ($AuthorizedKeys | ForEach-Object { Get-Content $_ }) -join "`n" | Set-Content -Path $authorized -Encoding ascii
    & chmod 644 $authorized
    if (-not (Test-Path /run/sshd)) { New-Item -ItemType Directory -Force /run/sshd | Out-Null }
    $sshdPath = (Get-Command sshd -ErrorAction SilentlyContinue).Source
    if (-not $sshdPath) { $sshdPath = '/usr/sbin/sshd' }
    $config = Join-Path $Directory 'sshd_config'
    $peer = Start-PeerOnFreePort -TimeoutSec 60 {
        param($port)
        @(
            "Port $port"
            'ListenAddress 127.0.0.1'
            $hostKeys | ForEach-Object { "HostKey $_" }
            "AuthorizedKeysFile $authorized"
            "PidFile $(Join-Path $Directory 'sshd.pid')"
            'PubkeyAuthentication yes'
            'PasswordAuthentication yes'
            'KbdInteractiveAuthentication yes'
            'UsePAM yes'
            'StrictModes no'
            'PermitRootLogin no'
            'LogLevel VERBOSE'
            $ExtraConfig
        ) | Set-Content -Path $config -Encoding ascii
        Start-Peer $sshdPath @('-D', '-e', '-f', $config)
    }
    [pscustomobject]@{
        Process      = $peer.Process
        Port         = $peer.Port
        Directory    = $Directory
        HostKeys     = @($hostKeys | ForEach-Object { "$_.pub" })
        Fingerprints = @($hostKeys | ForEach-Object { Get-SshKeyFingerprint "$_.pub" })
    }
}

# dropbear, a second SSH implementation, in the foreground (-F -E) on a free loopback port with
# its own ed25519 host key (made by dropbearkey). Password logins use the system's users.
function Start-TestDropbear {
    param([Parameter(Mandatory)] [string] $Directory)
    New-Item -ItemType Directory -Force $Directory | Out-Null
    $key = Join-Path $Directory 'dropbear_ed25519'
    if (-not (Test-Path $key)) {
        & dropbearkey -t ed25519 -f $key 2>&1 | Out-Null
        if ($LASTEXITCODE) { throw "dropbearkey could not make $key" }
    }
    $public = (& dropbearkey -y -f $key) | Where-Object { $_ -match '^ssh-' }
    $pub = Join-Path $Directory 'dropbear_ed25519.pub'
    Set-Content -Path $pub -Value $public -Encoding ascii
    $peer = Start-PeerOnFreePort -TimeoutSec 60 { param($port) Start-Peer dropbear @('-F', '-E', '-p', "127.0.0.1:$port", '-r', $key) }
    [pscustomobject]@{
        Process      = $peer.Process
        Port         = $peer.Port
        Directory    = $Directory
        Fingerprints = @(Get-SshKeyFingerprint $pub)
    }
}

# Ends every connection of a test sshd at once, the way a crash or a pulled cable does: the
# per-connection processes (and the shells under them) are killed by PID, so the TCP connections
# end without an SSH goodbye; the listening sshd stays.
function Stop-TestSshConnections {
    param([Parameter(Mandatory)] $Server)
    $tree = @()
    $todo = @($Server.Process.Id)
    for ($depth = 0; $depth -lt 8 -and $todo; $depth++) {
        $next = @(foreach ($p in $todo) { & pgrep -P $p })
        $tree += $next
        $todo = $next
    }
    # Stopped first, so no process of a connection can send anything while the others die.
    foreach ($p in $tree) { & kill -STOP $p 2>$null }
    foreach ($p in $tree) { & kill -KILL $p 2>$null }
    $tree.Count
}

# A login shell that is not bash: busybox's sh, reached through a link named sh (busybox picks its
# applet by the name it is started as, and sshd starts a login shell as "-sh").
function Get-TestBusyboxShell {
    $dir = '/opt/pssocket-test/busybox-sh'
    $link = Join-Path $dir 'sh'
    if (-not (Test-Path $link)) {
        New-Item -ItemType Directory -Force $dir | Out-Null
        & ln -sf (Get-Command busybox).Source $link
    }
    $link
}

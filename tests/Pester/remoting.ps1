# Dot-sourced by the remoting tests and the doc tests: a real PowerShell-over-SSH endpoint on
# loopback, with PSSocket installed on the "remote" side from the module package as an admin would.
#
# sshd runs in the foreground (-D) on a free port bound to 127.0.0.1, with its own host key, a
# client key for key authentication and a `powershell` subsystem that runs the pinned pwsh with
# -sshs. The subsystem gives the remote side its own HOME, so Install-PSResource there (CurrentUser
# scope) writes into the test's folder, never into the machine's real module folders.

function Start-SshRemotingPeer {
    param([Parameter(Mandatory)] [string] $Directory)

    New-Item -ItemType Directory -Force $Directory | Out-Null
    $home_ = Join-Path $Directory 'home'
    New-Item -ItemType Directory -Force $home_ | Out-Null
    $hostKey = Join-Path $Directory 'host_ed25519'
    $clientKey = Join-Path $Directory 'client_ed25519'
    foreach ($k in $hostKey, $clientKey) {
        & ssh-keygen -q -t ed25519 -N '' -C pssocket-test -f $k
        if ($LASTEXITCODE) { throw "ssh-keygen could not make $k" }
    }
    Copy-Item "$clientKey.pub" (Join-Path $Directory 'authorized_keys')

    # The subsystem command: this very pwsh (dotnet + pwsh.dll for the local tool), as a server.
    $pwsh = @(Get-PwshCommand)
    $subsystem = Join-Path $Directory 'pwsh-subsystem.sh'
    $quoted = ($pwsh | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
    $lines = @(
        '#!/bin/sh'
        "export HOME='$home_'"
        "export PATH='$([Environment]::GetEnvironmentVariable('PATH'))'"
        $(if ($env:DOTNET_ROOT) { "export DOTNET_ROOT='$env:DOTNET_ROOT'" })
        "exec $quoted -sshs -NoLogo -NoProfile"
    ) | Where-Object { $_ }
    [IO.File]::WriteAllText($subsystem, ($lines -join "`n") + "`n")
    & chmod 700 $subsystem

    # sshd refuses to start without its privilege-separation directory.
    if (-not (Test-Path /run/sshd)) { New-Item -ItemType Directory -Force /run/sshd | Out-Null }

    $user = [Environment]::UserName
    $sshdPath = (Get-Command sshd -ErrorAction SilentlyContinue).Source
    if (-not $sshdPath) { $sshdPath = '/usr/sbin/sshd' }
    $last = $null
    # A free port can be taken between the probe and sshd's bind by a parallel test: try a few.
    for ($attempt = 0; $attempt -lt 5; $attempt++) {
        $port = Get-FreeTcpPort
        $config = Join-Path $Directory 'sshd_config'
        @(
            "Port $port"
            'ListenAddress 127.0.0.1'
            "HostKey $hostKey"
            "AuthorizedKeysFile $(Join-Path $Directory 'authorized_keys')"
            "PidFile $(Join-Path $Directory 'sshd.pid')"
            'PubkeyAuthentication yes'
            'PasswordAuthentication no'
            'KbdInteractiveAuthentication no'
            'PermitRootLogin prohibit-password'
            'StrictModes no'
            'UsePAM no'
            "AllowUsers $user"
            "Subsystem powershell $subsystem"
        ) | Set-Content -Path $config -Encoding ascii
        $proc = Start-Peer $sshdPath @('-D', '-e', '-f', $config)
        try {
            Wait-TcpPort -Port $port -TimeoutSec 10
            break
        }
        catch {
            $last = $_
            Stop-Peer $proc
            $proc = $null
        }
    }
    if (-not $proc) { throw "sshd did not start: $last" }

    [pscustomobject]@{
        Process   = $proc
        Port      = $port
        Directory = $Directory
        Home      = $home_
        # Splat into Invoke-Command / New-PSSession: -HostName comes from the caller.
        Ssh       = @{
            Port        = $port
            UserName    = $user
            KeyFilePath = $clientKey
            Options     = @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
        }
    }
}

# Installs PSSocket on the remote side from a folder feed holding the module package, the way an
# admin installs it on many machines: Register-PSResourceRepository + Install-PSResource.
function Install-RemotePSSocket {
    param(
        [Parameter(Mandatory)] $Peer,
        [Parameter(Mandatory)] [string] $FeedPath
    )
    $ssh = $Peer.Ssh
    Invoke-Command -HostName 127.0.0.1 @ssh -ErrorAction Stop -ScriptBlock {
        param($Feed)
        $ErrorActionPreference = 'Stop'
        if (-not (Get-PSResourceRepository -Name PSSocketTestFeed -ErrorAction SilentlyContinue)) {
            Register-PSResourceRepository -Name PSSocketTestFeed -Uri $Feed -Trusted
        }
        Install-PSResource -Name PSSocket -Repository PSSocketTestFeed -TrustRepository -Scope CurrentUser -Reinstall -Quiet
        (Get-Module -ListAvailable PSSocket | Select-Object -First 1).Version.ToString()
    } -ArgumentList $FeedPath
}

# The module package (build.ps1 -Task Package makes the same file) in a folder feed of its own.
function New-ModuleFeed {
    param([Parameter(Mandatory)] [string] $FeedPath)
    New-Item -ItemType Directory -Force $FeedPath | Out-Null
    $tool = Join-Path $RepoRoot 'tools/New-ModulePackage.ps1'
    $null = & $tool -ModulePath $env:PSSOCKET_MODULE -OutputPath $FeedPath 6>$null
    if (-not (Get-ChildItem $FeedPath -Filter '*.nupkg')) { throw "no module package was made in $FeedPath" }
}

function Stop-SshRemotingPeer {
    param($Peer)
    if ($Peer) { Stop-Peer $Peer.Process }
}

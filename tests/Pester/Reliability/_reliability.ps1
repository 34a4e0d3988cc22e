# Dot-sourced by the reliability tests: misbehaving python3 peers, fd counts.
. (Join-Path $PSScriptRoot '../common.ps1')
$script:PeerPy = Join-Path $PSScriptRoot 'peer.py'

# Starts peer.py in a mode; returns @{ Process; Port; Dir }.
function Start-FaultPeer {
    param([Parameter(Mandatory)] [string] $Mode, [string[]] $PeerArgs = @())
    $dir = Join-Path ([IO.Path]::GetTempPath()) ("psrel-" + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $dir
    $portFile = Join-Path $dir 'port'
    $p = Start-Peer python3 (@($script:PeerPy, $Mode, $portFile) + $PeerArgs)
    # generous: python3 can take many seconds to start on a loaded machine; a peer that died ends the wait
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while (-not (Test-Path $portFile) -and -not $p.HasExited -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
    if (-not (Test-Path $portFile)) { Stop-Peer $p; throw "peer $Mode did not start (exited: $($p.HasExited))" }
    [pscustomobject]@{ Process = $p; Port = [int] (Get-Content -Raw $portFile); Dir = $dir }
}

function Stop-FaultPeer {
    param($Peer)
    if ($Peer) {
        Stop-Peer $Peer.Process
        Remove-Item -Recurse -Force $Peer.Dir -ErrorAction SilentlyContinue
    }
}

function Wait-File {
    param([string] $Path, [double] $TimeoutSec = 15)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while (-not (Test-Path $Path) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
    Get-Content -Raw $Path
}

function Get-FdCount { @([IO.Directory]::GetFileSystemEntries('/proc/self/fd')).Count }

function Get-SocketFdCount {
    @([IO.Directory]::GetFileSystemEntries('/proc/self/fd') | ForEach-Object {
            try { [IO.File]::ResolveLinkTarget($_, $false).Name } catch { $null }
        } | Where-Object { $_ -like 'socket:*' }).Count
}

# Waits (bounded) until the socket fd count comes back to at most $Max.
function Wait-SocketFdCount {
    param([int] $Max, [double] $TimeoutSec = 5)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    do {
        $n = Get-SocketFdCount
        if ($n -le $Max) { return $n }
        [GC]::Collect(); [GC]::WaitForPendingFinalizers()
        Start-Sleep -Milliseconds 50
    } while ([DateTime]::UtcNow -lt $deadline)
    $n
}

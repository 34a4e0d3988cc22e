# Dot-sourced by every test file: imports the built module and gives peers, ports and hashes.
$ErrorActionPreference = 'Stop'
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
if (-not $env:PSSOCKET_MODULE) {
    [xml] $props = Get-Content -Raw (Join-Path $script:RepoRoot 'src/Directory.Build.props')
    $v = $props.Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
    $env:PSSOCKET_MODULE = Join-Path $script:RepoRoot "out/PSSocket/$v"
}
if (-not (Get-Module PSSocket)) {
    Import-Module (Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1') -Force
}

# A port nothing listens on right now: bind port 0 and let the OS choose.
function Get-FreeTcpPort {
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $l.Start()
    try { $l.LocalEndpoint.Port } finally { $l.Stop() }
}

function Get-FreeUdpPort {
    $u = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
    try { $u.Client.LocalEndPoint.Port } finally { $u.Dispose() }
}

# The command line that starts a fresh pwsh like this one (dotnet local tool or installed pwsh).
function Get-PwshCommand {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    @($exe)
}

# Starts a peer process with its output in temp files; stop it with Stop-Peer (by PID).
function Start-Peer {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [switch] $RedirectInput
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $ArgumentList) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = [bool] $RedirectInput
    $p = [System.Diagnostics.Process]::Start($psi)
    # Drain output so the peer never blocks on a full pipe.
    $p.BeginOutputReadLine()
    $p.BeginErrorReadLine()
    $p
}

function Stop-Peer {
    param([Parameter(ValueFromPipeline)] [System.Diagnostics.Process] $Process)
    process {
        if ($Process -and -not $Process.HasExited) {
            try { $Process.Kill($true) } catch { Write-Verbose "peer $($Process.Id) already gone: $_" }
            $null = $Process.WaitForExit(5000)
        }
        if ($Process) { $Process.Dispose() }
    }
}

# Waits (bounded) until something accepts TCP connections on the port.
function Wait-TcpPort {
    param([int] $Port, [string] $Address = '127.0.0.1', [double] $TimeoutSec = 10)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        $c = [System.Net.Sockets.TcpClient]::new()
        try {
            $c.Connect($Address, $Port)
            return
        }
        catch { Start-Sleep -Milliseconds 50 }
        finally { $c.Dispose() }
    }
    throw "nothing listens on ${Address}:$Port after $TimeoutSec s"
}

function Get-BytesSha256 {
    param([byte[]] $Bytes)
    [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($Bytes))
}

function New-RandomFile {
    param([string] $Path, [long] $Size)
    $rng = [System.Random]::new(42)
    $buf = [byte[]]::new(1MB)
    $fs = [IO.File]::Create($Path)
    try {
        $left = $Size
        while ($left -gt 0) {
            $rng.NextBytes($buf)
            $n = [Math]::Min($left, $buf.Length)
            $fs.Write($buf, 0, $n)
            $left -= $n
        }
    }
    finally { $fs.Dispose() }
}

function Remove-AllSocketSessions {
    Get-SocketSession | Remove-SocketSession -Confirm:$false
}

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

# Whether a missing peer must fail the run instead of skipping: CI installs every peer (.ci/run),
# so there a skip would hide a broken setup. Set PSSOCKET_REQUIRE_PEERS=1 to get the same locally.
function Test-PeersRequired {
    [bool] $env:CI -and $env:CI -ne 'false' -or $env:PSSOCKET_REQUIRE_PEERS -eq '1'
}

# Peers that are not simply a command of their own name.
$script:KnownPeers = @{
    'telnetd'            = @{ Path = @('/usr/sbin/telnetd') }
    'network namespaces' = @{
        Command = @('ip'); Probe = {
            if (-not $IsLinux) { 'network namespaces are Linux only' }
            elseif ((id -u) -ne '0') { 'creating a network namespace needs root (CI runs as root)' }
        }
    }
}

<#
    Why a test cannot run for lack of peer $Name, or $null when the peer is there. A peer is there
    when every -Command is on PATH, every -Path exists and -Probe (a script block returning a reason
    string when the peer is unusable) returns nothing; with none of these, $Name is the command.
    When peers are required (Test-PeersRequired) a missing peer throws instead, so the test fails.
    Inside It:                if ($why = Get-PeerSkipReason ncat) { Set-ItResult -Skipped -Because $why; return }
    For a block (needs common.ps1 in BeforeDiscovery too):
                              Describe 'x' -Skip:([bool] (Get-PeerSkipReason redis-server)) { ... }
    In BeforeAll, to skip its Its later:  $script:NoPeer = Get-PeerSkipReason 'network namespaces' -Command ip -Probe { ... }
#>
function Get-PeerSkipReason {
    param(
        [Parameter(Mandatory, Position = 0)] [string] $Name,
        [string[]] $Command,
        [string[]] $Path,
        [scriptblock] $Probe
    )
    if (-not $PSBoundParameters.ContainsKey('Command') -and -not $Path -and -not $Probe) {
        $known = $script:KnownPeers[$Name]
        if ($known) { $Command = $known.Command; $Path = $known.Path; $Probe = $known.Probe }
        else { $Command = @($Name) }
    }
    $why = @(
        foreach ($c in $Command) { if ($c -and -not (Get-Command $c -ErrorAction SilentlyContinue)) { "'$c' is not on PATH" } }
        foreach ($p in $Path) { if ($p -and -not (Test-Path $p)) { "$p does not exist" } }
        if ($Probe) { & $Probe | Where-Object { $_ } | ForEach-Object { "$_" } }
    ) | Select-Object -First 1
    if (-not $why) { return $null }
    $reason = "peer $Name is missing: $why"
    if (Test-PeersRequired) { throw "$reason (peers are required here: CI or PSSOCKET_REQUIRE_PEERS=1; .ci/run installs them)" }
    $reason
}

# Runs openssl and throws with its output when it fails (test CAs, certificates, CRLs). A plain
# function (not advanced): its arguments are openssl's, like -out, not common parameters.
function Invoke-OpenSsl {
    $out = & openssl @args 2>&1
    if ($LASTEXITCODE -ne 0) { throw "openssl $($args -join ' ') failed: $out" }
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

# The text of one function of build.ps1, for tests that check what a task runs.
function Get-BuildFunctionText {
    param([Parameter(Mandatory)] [string] $Name)
    $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $RepoRoot 'build.ps1'), [ref] $null, [ref] $null)
    $ast.Find({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq $Name }, $true).Body.Extent.Text
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

# Waits (bounded) until some process has bound the UDP port. The kernel's socket table says so on
# Linux (a peer that sets SO_REUSEADDR, as dnsmasq does, would let our own test bind succeed);
# elsewhere our own bind failing says so.
function Wait-UdpBound {
    param([int] $Port, [string] $Address = '127.0.0.1', [double] $TimeoutSec = 10)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    $hexPort = ':{0:X4} ' -f $Port
    while ([DateTime]::UtcNow -lt $deadline) {
        if (Test-Path /proc/net/udp) {
            $table = @(Get-Content /proc/net/udp, /proc/net/udp6 -ErrorAction SilentlyContinue | Select-Object -Skip 1)
            if ($table | Where-Object { ($_.Trim() -split '\s+')[1] -like "*$($hexPort.Trim())" }) { return }
        }
        else {
            $probe = [System.Net.Sockets.Socket]::new([System.Net.IPAddress]::Parse($Address).AddressFamily, 'Dgram', 'Udp')
            try { $probe.Bind([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Parse($Address), $Port)) }
            catch { return }
            finally { $probe.Dispose() }
        }
        Start-Sleep -Milliseconds 50
    }
    throw "nothing bound UDP ${Address}:$Port after $TimeoutSec s"
}

# Whether the process or one of its descendants holds the listening TCP socket on the port
# (Linux: /proc; elsewhere it can only say the process is alive).
function Test-PeerListens {
    param([System.Diagnostics.Process] $Process, [int] $Port)
    if (-not $IsLinux) { return -not $Process.HasExited }
    $hex = '{0:X4}' -f $Port
    $inodes = @(foreach ($table in '/proc/net/tcp', '/proc/net/tcp6') {
            if (Test-Path $table) {
                Get-Content $table | Select-Object -Skip 1 | ForEach-Object {
                    $f = $_.Trim() -split '\s+'
                    if ($f[1].EndsWith(":$hex") -and $f[3] -eq '0A') { "socket:[$($f[9])]" }
                }
            }
        })
    if (-not $inodes) { return $false }
    $tree = [System.Collections.Generic.HashSet[int]]::new()
    $null = $tree.Add($Process.Id)
    $parents = @{}
    foreach ($d in [IO.Directory]::GetDirectories('/proc') | Where-Object { (Split-Path $_ -Leaf) -match '^\d+$' }) {
        try { $parents[[int] (Split-Path $d -Leaf)] = [int] (((Get-Content -Raw "$d/stat") -replace '^.*\)\s+') -split ' ')[1] } catch { Write-Verbose "process $d is gone" }
    }
    do {
        $grew = $false
        foreach ($k in $parents.Keys) { if ($tree.Contains($parents[$k]) -and $tree.Add($k)) { $grew = $true } }
    } while ($grew)
    foreach ($id in $tree) {
        try {
            foreach ($fd in [IO.Directory]::GetFiles("/proc/$id/fd")) {
                if ([IO.File]::ResolveLinkTarget($fd, $false).Name -in $inodes) { return $true }
            }
        }
        catch { Write-Verbose "fds of $id are not readable: $_" }
    }
    $false
}

<#
    Starts a peer that listens on a TCP port picked for it, and retries on a new port when the peer
    could not have it: a port freed by Get-FreeTcpPort can be taken by another process (a parallel
    test, any outgoing connection's ephemeral port) before the peer binds it. $Start gets the port and
    returns the started process (Start-Peer ...). Returns @{ Process; Port } once the peer accepts.
        $peer = Start-PeerOnFreePort { param($port) Start-Peer ncat @('-l', '127.0.0.1', $port, '--keep-open') }
#>
function Start-PeerOnFreePort {
    param([Parameter(Mandatory)] [scriptblock] $Start, [int] $Attempts = 5, [double] $TimeoutSec = 30)
    $why = @()
    for ($i = 1; $i -le $Attempts; $i++) {
        $port = Get-FreeTcpPort
        $p = & $Start $port
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        $up = $false
        while (-not $up -and -not $p.HasExited -and [DateTime]::UtcNow -lt $deadline) {
            $c = [System.Net.Sockets.TcpClient]::new()
            try { $c.Connect([System.Net.IPAddress]::Loopback, $port); $up = $true }
            catch { Start-Sleep -Milliseconds 50 }
            finally { $c.Dispose() }
        }
        # What answered must be the peer (or its child), not a process that took the port meanwhile.
        if ($up -and -not $p.HasExited -and (Test-PeerListens $p $port)) { return [pscustomobject]@{ Process = $p; Port = $port } }
        $why += "port ${port}: $(if ($p.HasExited) { "the peer exited with code $($p.ExitCode)" } else { "nothing listened after $TimeoutSec s" })"
        Stop-Peer $p
    }
    throw "the peer did not start on a free port in $Attempts attempts: $($why -join '; ')"
}

# A PowerShell on a runspace of its own with the module already imported: a call started on it
# with BeginInvoke reaches its wait within moments (importing, with its format data, is the slow part
# on a loaded machine, and a test that stops or closes "a waiting call" must not race it).
function New-ModulePowerShell {
    $ps = [powershell]::Create()
    $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')).Invoke()
    $ps.Commands.Clear()
    $ps
}

# Waits (bounded) until something accepts TCP connections on the port.
# Waits (bounded) until the condition holds; returns whether it did.
function Wait-Until {
    param([scriptblock] $Condition, [double] $TimeoutSec = 15)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 50
    }
    [bool] (& $Condition)
}

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

# Waits (bounded) until a file holds at least the given number of bytes.
function Wait-FileLength {
    param([string] $Path, [long] $Length, [double] $TimeoutSec = 30)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ((Test-Path $Path) -and (Get-Item $Path).Length -ge $Length) { return $true }
        Start-Sleep -Milliseconds 50
    }
    $false
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

# Starts a peer that listens on a Unix socket file and waits (bounded: 60 s on a loaded machine)
# until the file exists; the process is added to -Peers (for AfterAll to stop) and returned.
function Start-UnixSocketPeer {
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [Parameter(Mandatory)] [string] $SocketPath,
        [Parameter(Mandatory)] [AllowEmptyCollection()] [System.Collections.Generic.List[System.Diagnostics.Process]] $Peers
    )
    $p = Start-Peer $FilePath $ArgumentList
    $Peers.Add($p)
    if (-not (Wait-Until { (Test-Path $SocketPath) -or $p.HasExited } -TimeoutSec 60) -or $p.HasExited) {
        throw "$FilePath did not create $SocketPath$(if ($p.HasExited) { " (it exited with code $($p.ExitCode))" })"
    }
    # The file appears at bind(), a moment before listen(): until then a connect is refused.
    $listening = {
        $probe = [System.Net.Sockets.Socket]::new('Unix', 'Stream', 'Unspecified')
        try { $probe.Connect([System.Net.Sockets.UnixDomainSocketEndPoint]::new($SocketPath)); $true }
        catch [System.Net.Sockets.SocketException] { $_.Exception.SocketErrorCode -ne 'ConnectionRefused' }
        finally { $probe.Dispose() }
    }
    if (-not (Wait-Until $listening -TimeoutSec 60)) { throw "$FilePath created $SocketPath but refused connections for 60 s" }
    $p
}

function Remove-AllSocketSessions {
    Get-SocketSession | Remove-SocketSession -Confirm:$false
}

# The ncat -x rule, written out independently of the module: per chunk, offset from 0.
function Format-NcatHex {
    param([byte[]] $Bytes)
    for ($row = 0; $row -lt $Bytes.Length; $row += 16) {
        $n = [Math]::Min(16, $Bytes.Length - $row)
        $hex = (0..15 | ForEach-Object { if ($_ -lt $n) { '{0:x2} ' -f $Bytes[$row + $_] } else { '   ' } })
        $text = -join (0..15 | ForEach-Object { if ($_ -ge $n) { ' ' } elseif ($Bytes[$row + $_] -gt 0x20 -and $Bytes[$row + $_] -lt 0x7f) { [char] $Bytes[$row + $_] } else { '.' } })
        '{0:x4}   {1} {2} {3}' -f $row, (-join $hex[0..7]), (-join $hex[8..15]), $text
    }
}

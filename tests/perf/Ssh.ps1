<#
.SYNOPSIS
    Time to open 20 SSH sessions against a local OpenSSH sshd (key login, a pseudo-terminal, one
    command answered in each): Connect-SshShell with a round trip in the shell, all 20 left open and
    then removed, against `ssh -tt` doing the same 20 times (one process each, the command on its
    terminal). The first SSH call of the process (loading SSH.NET) is measured apart.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Count = 20, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')
. (Join-Path $PSScriptRoot '../Pester/ssh.ps1')

$dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-perf-ssh-$PID"
$user = Initialize-TestSshUser
$keys = New-TestSshClientKeys -Directory (Join-Path $dir 'keys')
$sshd = Start-TestSshd -Directory (Join-Path $dir 'sshd') -AuthorizedKeys $keys.PublicKeys -HostKeyTypes ed25519 -ExtraConfig 'PrintMotd no', 'MaxStartups 100', 'MaxSessions 100'
$knownHosts = Join-Path $dir 'known_hosts'
Set-Content $knownHosts "[127.0.0.1]:$($sshd.Port) $(Get-Content $sshd.HostKeys[0])"
$target = "$($user.Name)@127.0.0.1"
try {
    $first = [Diagnostics.Stopwatch]::StartNew()
    $s = Connect-SshShell $target $sshd.Port -KeyFilePath $keys.Ed25519 -KnownHostsPath $knownHosts
    $firstMs = $first.Elapsed.TotalMilliseconds
    Remove-SocketSession $s

    $cases = [ordered]@{
        'PSSocket Connect-SshShell' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $Count; $i++) {
                $s = Connect-SshShell $target $sshd.Port -KeyFilePath $keys.Ed25519 -KnownHostsPath $knownHosts
                Send-SocketData $s 'echo o""k' -Line
                $null = Receive-SocketData $s -Until 'ok' -Timeout 30
            }
            $open = $sw.Elapsed.TotalSeconds
            Get-SocketSession -Kind Ssh | Remove-SocketSession
            $open
        }
        'ssh -tt' = {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $Count; $i++) {
                $out = & ssh -tt -q -i $keys.Ed25519 -p $sshd.Port -o BatchMode=yes -o "UserKnownHostsFile=$knownHosts" -o StrictHostKeyChecking=yes $target 'echo ok' 2>&1
                if (-not ("$out" -match 'ok')) { throw "ssh -tt failed: $out" }
            }
            $sw.Elapsed.TotalSeconds
        }
    }
    Write-Host "ssh: $Count sessions, $Repeat rounds (first SSH call of the process, SSH.NET loading included: $([int] $firstMs) ms)"
    $samples = Invoke-Alternating $cases -Repeat $Repeat -Warmup
    Write-BenchResult -Name 'Ssh' -Samples $samples -Ours 'PSSocket Connect-SshShell' -References 'ssh -tt' `
        -Extra @{ 'first SSH call of the process (ms)' = [int] $firstMs; 'sessions per round' = $Count }
}
finally {
    Get-SocketSession | Remove-SocketSession
    Stop-Peer $sshd.Process
    Remove-Item -Recurse -Force $dir -ErrorAction Ignore
}

<#
.SYNOPSIS
    Invoke-DeviceCommand against Netmiko's send_command, both against the same FRRouting vtysh
    behind a loopback sshd: the time per 'show interface brief' on an open session, and a fleet of
    -Devices SSH sessions (connect, log in, one command, disconnect) with 16 at a time against
    Netmiko with a 16-thread pool. Prints both ratios (goal: at most 0.5).
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Commands = 30, [int] $Devices = 50)
. (Join-Path $PSScriptRoot '_common.ps1')
. (Join-Path $PSScriptRoot '../Pester/DeviceLab.ps1')
$netmiko = Join-Path $PSScriptRoot '../Pester/peers/netmiko-run.py'

$lab = Start-FrrLab
try {
    $ssh = Start-FrrSsh $lab -ExtraConfig 'MaxStartups 200', 'MaxSessions 200'
    $port = $ssh.Sshd.Port
    $command = 'show interface brief'

    # Per command on an open session (the session's first command, which finds the prompt, is not counted).
    $s = Connect-FrrSsh $ssh
    $null = Invoke-DeviceCommand $s $command
    $ours = @(1..$Commands | ForEach-Object { (Invoke-DeviceCommand $s $command).Elapsed.TotalSeconds })
    Remove-SocketSession $s
    $spec = @{ device_type = 'cisco_ios'; host = '127.0.0.1'; port = $port; username = $ssh.User.Name; password = $ssh.User.Password; commands = @($command); repeat = $Commands } | ConvertTo-Json -Compress
    $theirs = @((& /usr/bin/python3 $netmiko $spec | ConvertFrom-Json).results[0].answers.seconds)
    $oursPer = Get-Median $ours
    $theirsPer = Get-Median $theirs
    Write-Host ("per command : Invoke-DeviceCommand {0,8:0.0} ms   Netmiko send_command {1,8:0.0} ms   ratio {2:0.000}" -f ($oursPer * 1000), ($theirsPer * 1000), ($oursPer / $theirsPer))

    # A fleet: $Devices SSH sessions to the same sshd, 16 at a time.
    $targets = @(1..$Devices | ForEach-Object { "127.0.0.1:$port" })
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $r = Invoke-DeviceCommand -ComputerName $targets -DeviceType frr -Command $command -Credential $ssh.User.Credential -HostKeyFingerprint $ssh.Sshd.Fingerprints -ThrottleLimit 16 -Timeout 60
    $oursFleet = $sw.Elapsed.TotalSeconds
    if (@($r).Count -ne $Devices) { throw "Invoke-DeviceCommand answered for $(@($r).Count) of $Devices devices" }
    $fleetSpec = @{ device_type = 'cisco_ios'; username = $ssh.User.Name; password = $ssh.User.Password; commands = @($command); threads = 16; devices = @(1..$Devices | ForEach-Object { @{ host = '127.0.0.1'; port = $port } }) } | ConvertTo-Json -Compress -Depth 4
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $fleet = & /usr/bin/python3 $netmiko $fleetSpec | ConvertFrom-Json
    $theirsFleet = $sw.Elapsed.TotalSeconds
    if (@($fleet.results).Count -ne $Devices) { throw "Netmiko answered for $(@($fleet.results).Count) of $Devices devices" }
    Write-Host ("fleet of {0}: Invoke-DeviceCommand {1,8:0.00} s    Netmiko (16 threads)  {2,8:0.00} s    ratio {3:0.000}" -f $Devices, $oursFleet, $theirsFleet, ($oursFleet / $theirsFleet))
    [pscustomobject]@{
        PerCommandMs        = [math]::Round($oursPer * 1000, 2)
        NetmikoPerCommandMs = [math]::Round($theirsPer * 1000, 2)
        PerCommandRatio     = [math]::Round($oursPer / $theirsPer, 4)
        FleetSeconds        = [math]::Round($oursFleet, 2)
        NetmikoFleetSeconds = [math]::Round($theirsFleet, 2)
        FleetRatio          = [math]::Round($oursFleet / $theirsFleet, 4)
    } | ConvertTo-Json | Set-Content (Join-Path $ResultsDir 'Device.json')
    $row = { param($case, $seconds) [pscustomobject]@{ Case = $case; Median = $seconds; Seconds = $seconds; CpuSeconds = $null } }
    Add-BenchRecord -Name 'DeviceCommand' -Ours 'Invoke-DeviceCommand' -Rows @((& $row 'Invoke-DeviceCommand' $oursPer), (& $row 'Netmiko send_command' $theirsPer))
    Add-BenchRecord -Name 'DeviceFleet' -Ours 'Invoke-DeviceCommand' -Rows @((& $row 'Invoke-DeviceCommand' $oursFleet), (& $row 'Netmiko (16 threads)' $theirsFleet))
    Stop-Peer $ssh.Sshd.Process
}
finally { Stop-FrrLab $lab }

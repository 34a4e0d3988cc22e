# PSSocket-Tests: serial (the full loopback sweep would probe the listeners of tests running beside it)
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:Psd1 = Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'
    $script:IsRoot = $IsLinux -and ((& id -u) -eq '0')

    # A python3 peer listening on $Count loopback ports (port 0 each); it also finds $Free ports
    # that nothing listens on. Writes {"open":[...],"free":[...]} to a file and sleeps until stopped.
    $script:ListenerPy = @'
import json, os, socket, sys, time
out, count, free = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = []
for _ in range(count):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(128)
    ls.append(s)
# Held until all are picked, so no port is picked twice.
held = []
for _ in range(free):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    held.append(s)
fr = [s.getsockname()[1] for s in held]
for s in held:
    s.close()
with open(out + '.tmp', 'w') as f:
    json.dump({'open': [s.getsockname()[1] for s in ls], 'free': fr}, f)
os.rename(out + '.tmp', out)
while True:
    time.sleep(3600)
'@

    function Start-PortPeer {
        param([int] $Count, [int] $Free = 0, [string[]] $Prefix = @())
        $file = Join-Path ([IO.Path]::GetTempPath()) "psst-ports-$([guid]::NewGuid().ToString('n')).json"
        $cmd = @($Prefix) + @('python3', '-c', $script:ListenerPy, $file, "$Count", "$Free")
        $p = Start-Peer -FilePath $cmd[0] -ArgumentList @($cmd | Select-Object -Skip 1)
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while (-not (Test-Path $file) -and [DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) { Start-Sleep -Milliseconds 50 }
        if (-not (Test-Path $file)) { Stop-Peer $p; throw 'the python3 listener did not start' }
        $ports = Get-Content -Raw $file | ConvertFrom-Json
        Remove-Item $file
        [pscustomobject]@{ Process = $p; Open = [int[]] $ports.open; Free = [int[]] $ports.free }
    }

    # Linux drops SYNs to a listener whose accept queue is full: a port that never answers,
    # without a firewall. Returns the sockets to dispose.
    function New-UnansweredPort {
        $l = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
        $l.Bind([System.Net.IPEndPoint]::new([ipaddress]::Loopback, 0))
        $l.Listen(0)
        $fillers = [System.Collections.Generic.List[System.Net.Sockets.Socket]]::new()
        for ($i = 0; $i -lt 8; $i++) {
            $s = [System.Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp')
            $fillers.Add($s)
            if (-not $s.ConnectAsync($l.LocalEndPoint).Wait(500)) { break }
        }
        [pscustomobject]@{ Port = $l.LocalEndPoint.Port; Sockets = @($l) + $fillers }
    }

    function Get-NmapOpenPorts {
        param([string] $Address, [string] $Ports)
        $out = & nmap -sT -n -Pn -p $Ports $Address -oG - 2>&1
        if ($LASTEXITCODE -ne 0) { throw "nmap failed: $out" }
        $line = $out | Where-Object { $_ -match '\bPorts:' }
        @([regex]::Matches("$line", '(\d+)/open/') | ForEach-Object { [int] $_.Groups[1].Value } | Sort-Object)
    }
}

Describe 'Test-TcpPort' {
    Context 'a full loopback sweep' {
        BeforeAll { $script:peer = Start-PortPeer -Count 4 }
        AfterAll { Stop-Peer $script:peer.Process }

        It 'finds the listeners the test opened, and the open set nmap -sT finds (listeners that come and go between sweeps aside)' {
            $mine = $script:peer.Open
            $results = Test-TcpPort 127.0.0.1 -Port 1-65535
            $results.Count | Should -Be 65535
            ($results.Port | Sort-Object -Unique).Count | Should -Be 65535
            $results.Where({ $_.Status -in 'Filtered', 'Error' }).Count | Should -Be 0
            $ours = @($results.Where({ $_.Status -eq 'Open' }).Port | Sort-Object)
            # Other programs (and tests running in parallel) may listen on this machine too, and come
            # and go between sweeps: compare the full sets, sweeping again (bounded, -Open) while they
            # differ. If they never agree, a port must be explained by that churn: whatever every
            # nmap sweep saw open, some sweep of ours saw open, and the other way round.
            $oursRuns = @(, $ours); $theirsRuns = @()
            $agreed = $false
            for ($attempt = 1; $attempt -le 3 -and -not $agreed; $attempt++) {
                $theirs = Get-NmapOpenPorts -Address 127.0.0.1 -Ports '1-65535'
                $theirsRuns += , $theirs
                if (-not (Compare-Object $ours $theirs)) { $agreed = $true; break }
                Write-Host "sweep $attempt differs: Test-TcpPort $($ours -join ',') nmap $($theirs -join ',')"
                $ours = @((Test-TcpPort 127.0.0.1 -Port 1-65535 -Open).Port | Sort-Object)
                $oursRuns += , $ours
            }
            foreach ($p in $mine) { $ours | Should -Contain $p }
            if (-not $agreed) {
                $always = { param($runs) @($runs[0] | Where-Object { $p = $_; -not ($runs | Where-Object { $_ -notcontains $p }) }) }
                $ever = { param($runs) @($runs | ForEach-Object { $_ } | Sort-Object -Unique) }
                $missedByUs = @(& $always $theirsRuns | Where-Object { (& $ever $oursRuns) -notcontains $_ })
                $missedByNmap = @(& $always $oursRuns | Where-Object { (& $ever $theirsRuns) -notcontains $_ })
                $missedByUs | Should -BeNullOrEmpty -Because 'every port nmap always saw open was seen open by Test-TcpPort'
                $missedByNmap | Should -BeNullOrEmpty -Because 'every port Test-TcpPort always saw open was seen open by nmap'
            }
        }

        It 'writes only open ports with -Open' {
            $lo = ($script:peer.Open | Measure-Object -Minimum).Minimum
            $hi = ($script:peer.Open | Measure-Object -Maximum).Maximum
            $r = @(Test-TcpPort 127.0.0.1 -Port "$lo-$hi" -Open)
            foreach ($p in $script:peer.Open) { $r.Port | Should -Contain $p }
            $r.Status | Sort-Object -Unique | Should -Be 'Open'
        }
    }

    Context 'targets, ports and output' {
        BeforeAll {
            $script:peer = Start-PortPeer -Count 2 -Free 2
            $script:open = $script:peer.Open[0]
            $script:closed = $script:peer.Free[0]
        }
        AfterAll { Stop-Peer $script:peer.Process }

        It 'returns one PSSocket.PortCheckResult per target and port with latency' {
            $r = @(Test-TcpPort 127.0.0.1 -Port "$open,$closed")
            $r.Count | Should -Be 2
            $r[0].PSObject.TypeNames[0] | Should -Be 'PSSocket.PortCheckResult'
            ($r | Where-Object Port -EQ $open).Status | Should -Be 'Open'
            ($r | Where-Object Port -EQ $closed).Status | Should -Be 'Closed'
            ($r | Where-Object Port -EQ $open).Address | Should -Be ([ipaddress] '127.0.0.1')
            ($r | Where-Object Port -EQ $open).Latency | Should -BeGreaterThan 0
            ($r | Out-String) | Should -Match 'Latency\(ms\)'
        }

        It 'expands 127.0.0.0/28 to sixteen addresses and finds the listener only on 127.0.0.1' {
            $r = @(Test-TcpPort 127.0.0.0/28 -Port $open, $closed)
            $r.Count | Should -Be 32
            ($r.ComputerName | Sort-Object -Unique).Count | Should -Be 16
            $hit = @($r | Where-Object Status -EQ 'Open')
            $hit.Count | Should -Be 1
            $hit[0].ComputerName | Should -Be '127.0.0.1'
            $hit[0].Port | Should -Be $open
        }

        It 'refuses a range above 4096 addresses without -Force, before probing anything' {
            $r = @(Test-TcpPort 10.0.0.0/16 -Port 22 -ErrorVariable e -ErrorAction SilentlyContinue)
            $r.Count | Should -Be 0
            $e[0].FullyQualifiedErrorId | Should -BeLike 'RangeTooLarge*'
            $e[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
            $e[0].Exception.Message | Should -Match '-Force'
        }

        It 'understands service names, numbers, ranges and lists in any mix' {
            $r = @(Test-TcpPort 127.0.0.1 -Port 'ssh, https', "$open-$open", 3389 -Timeout 2)
            ($r.Port | Sort-Object) | Should -Be (@(22, 443, 3389, $open) | Sort-Object)
            ($r | Where-Object Port -EQ 443).Service | Should -Be 'https'
            ($r | Where-Object Port -EQ 3389).Service | Should -Be 'rdp'
            (Test-TcpPort "127.0.0.1:https" -Timeout 2).Port | Should -Be 443
        }

        It 'completes service names for -Port' {
            $line = 'Test-TcpPort 127.0.0.1 -Port http'
            $c = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $c.CompletionMatches.CompletionText | Should -Contain 'https'
            $c.CompletionMatches.CompletionText | Should -Contain 'http-alt'
        }

        It 'takes host:port strings and ComputerName/Port objects from Import-Csv' {
            $csv = Join-Path ([IO.Path]::GetTempPath()) "psst-targets-$([guid]::NewGuid().ToString('n')).csv"
            try {
                @(
                    [pscustomobject]@{ ComputerName = '127.0.0.1'; Port = "$open" }
                    [pscustomobject]@{ ComputerName = 'localhost'; Port = "$closed,$open" }
                ) | Export-Csv -Path $csv -NoTypeInformation
                $r = @(Import-Csv $csv | Test-TcpPort -AddressFamily IPv4)
                $r.Count | Should -Be 3
                @($r | Where-Object ComputerName -EQ 'localhost').Count | Should -Be 2
                ($r | Where-Object { $_.ComputerName -eq 'localhost' -and $_.Port -eq $closed }).Status | Should -Be 'Closed'
                @($r | Where-Object Status -EQ 'Open').Count | Should -Be 2
                $s = @("127.0.0.1:$open", "127.0.0.1:$closed" | Test-TcpPort)
                ($s | Where-Object Port -EQ $open).Status | Should -Be 'Open'
                ($s | Where-Object Port -EQ $closed).Status | Should -Be 'Closed'
            }
            finally { Remove-Item $csv -ErrorAction SilentlyContinue }
        }

        It 'writes HostNotFound for an unresolvable name and still checks the other targets' {
            $r = @(Test-TcpPort 'no-such-host.invalid', '127.0.0.1' -Port $open -ErrorVariable e -ErrorAction SilentlyContinue)
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound*'
            $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $e[0].TargetObject | Should -Be 'no-such-host.invalid'
            ($r | Where-Object ComputerName -EQ '127.0.0.1').Status | Should -Be 'Open'
            ($r | Where-Object ComputerName -EQ 'no-such-host.invalid').Status | Should -Be 'Error'
            # No answer came: no latency (not 0, not the timeout).
            ($r | Where-Object ComputerName -EQ 'no-such-host.invalid').Latency | Should -BeNullOrEmpty
        }

        It 'answers with one boolean per requested target and port with -Quiet, in the order given' {
            $q = @(Test-TcpPort 127.0.0.1 -Port $open, $closed -Quiet)
            $q.Count | Should -Be 2
            $q | ForEach-Object { $_ | Should -BeOfType [bool] }
            $q | Should -Be @($true, $false)
            # Reversed ports come back reversed: the order given, not the order answers arrive.
            @(Test-TcpPort 127.0.0.1 -Port $closed, $open -Quiet) | Should -Be @($false, $true)
            @(Test-TcpPort 127.0.0.1, 'no-such-host.invalid', "127.0.0.1:$open" -Port $closed -Quiet -ErrorAction SilentlyContinue) | Should -Be @($false, $false, $true)
            $reached = if (Test-TcpPort 127.0.0.1 $open -Quiet) { 'up' } else { 'down' }
            $reached | Should -Be 'up'
            $reached = if (Test-TcpPort 127.0.0.1 $closed -Quiet) { 'up' } else { 'down' }
            $reached | Should -Be 'down'
        }

        It 'gives exactly one [bool] for a target with several addresses: true when any address is Open' {
            # A range is one target with four addresses; the listener is on 127.0.0.1 only.
            $q = Test-TcpPort 127.0.0.0/30 -Port $closed -Quiet
            $q | Should -BeOfType [bool]
            $q | Should -BeFalse
            $reached = if (Test-TcpPort 127.0.0.0/30 $closed -Quiet) { 'up' } else { 'down' }
            $reached | Should -Be 'down'
            $q = Test-TcpPort 127.0.0.0/30 -Port $open -Quiet
            $q | Should -BeOfType [bool]
            $q | Should -BeTrue
            @(Test-TcpPort 127.0.0.0/30 -Port $closed, $open -Quiet) | Should -Be @($false, $true)
        }

        It 'gives exactly one [bool] for a name with an IPv4 and an IPv6 address' {
            $v6 = [System.Net.Sockets.TcpListener]::new([ipaddress]::IPv6Loopback, 0)
            try { $v6.Start() } catch { Set-ItResult -Skipped -Because "no IPv6 loopback here: $_"; return }
            try {
                $only6 = $v6.LocalEndpoint.Port
                $names = @([System.Net.Dns]::GetHostAddresses('localhost'))
                if ($names.Count -lt 2) { Set-ItResult -Skipped -Because "localhost has one address here ($names); the range case covers several addresses"; return }
                $q = Test-TcpPort localhost -Port $closed -Quiet
                $q | Should -BeOfType [bool]
                $q | Should -BeFalse
                # Open on ::1 only (refused on 127.0.0.1): one $true.
                $q = Test-TcpPort localhost -Port $only6 -Quiet
                $q | Should -BeOfType [bool]
                $q | Should -BeTrue
            }
            finally { $v6.Stop() }
        }

        It 'writes a non-terminating InvalidArgument error naming each blank entry, and checks every other target' {
            $r = @(Test-TcpPort '127.0.0.1', '', '   ', "`r`n", "127.0.0.1:$closed" -Port $open -ErrorVariable e -ErrorAction SilentlyContinue)
            $r.Count | Should -Be 2
            ($r | Where-Object Port -EQ $open).Status | Should -Be 'Open'
            ($r | Where-Object Port -EQ $closed).Status | Should -Be 'Closed'
            $e.Count | Should -Be 3
            $e | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'; $_.CategoryInfo.Category | Should -Be 'InvalidArgument' }
            $e[0].Exception.Message | Should -Match 'Entry 2 of -ComputerName is blank'
            $e[1].Exception.Message | Should -Match 'Entry 3 of -ComputerName'
            $e[2].Exception.Message | Should -Match 'Entry 4 of -ComputerName.*\\r\\n'
            # A list file with a trailing blank line (Windows line endings), piped.
            $list = Join-Path ([IO.Path]::GetTempPath()) "psst-list-$([guid]::NewGuid().ToString('n')).txt"
            try {
                [IO.File]::WriteAllText($list, "127.0.0.1`r`n`r`nlocalhost`r`n `r`n")
                $p = @(Get-Content $list | Test-TcpPort -Port $open -AddressFamily IPv4 -ErrorVariable pe -ErrorAction SilentlyContinue)
                $p.Count | Should -Be 2
                @($p | Where-Object Status -EQ 'Open').Count | Should -Be 2
                $pe.Count | Should -Be 2
                $pe[0].Exception.Message | Should -Match 'Entry 2 '
                $pe[1].Exception.Message | Should -Match 'Entry 4 '
            }
            finally { Remove-Item $list -ErrorAction SilentlyContinue }
        }

        It 'treats an IPv4-mapped IPv6 target as the IPv4 address it maps' {
            $r = Test-TcpPort '::ffff:127.0.0.1' -Port $open
            $r.Status | Should -Be 'Open'
            $r.Address | Should -Be ([ipaddress] '127.0.0.1')
            (Test-TcpPort "[::ffff:127.0.0.1]:$closed").Status | Should -Be 'Closed'
            (Test-TcpPort '::ffff:127.0.0.1' -Port $open -AddressFamily IPv4).Status | Should -Be 'Open'
        }

        It 'binds objects by ComputerName, DNSHostName, HostName, Host, Server, IPAddress, Address or Name, with their Port' {
            foreach ($name in 'ComputerName', 'DNSHostName', 'HostName', 'Host', 'Server', 'IPAddress', 'Address', 'Name') {
                $r = @([pscustomobject]@{ $name = '127.0.0.1'; Port = $open } | Test-TcpPort)
                $r.Count | Should -Be 1 -Because $name
                $r[0].Status | Should -Be 'Open' -Because $name
            }
            $r = @(@{ Server = '127.0.0.1'; Port = "$closed" }, [ipaddress]::Loopback | Test-TcpPort -Port $open)
            ($r | Where-Object Port -EQ $closed).Status | Should -Be 'Closed'
            ($r | Where-Object Port -EQ $open).Status | Should -Be 'Open'
        }

        It 'takes a URL: its host and port, or the scheme''s port when none is written' {
            $r = Test-TcpPort "http://127.0.0.1:$open/some/path?q=1"
            $r.Status | Should -Be 'Open'
            $r.Port | Should -Be $open
            $r.ComputerName | Should -Be '127.0.0.1'
            $u = Test-TcpPort 'https://127.0.0.1/' -Timeout 2
            $u.Port | Should -Be 443
            ([uri] "http://127.0.0.1:$closed" | Test-TcpPort).Status | Should -Be 'Closed'
        }

        It 'writes a clear InvalidArgument error for input that names no target, never its text sent to DNS' {
            $r = @([pscustomobject]@{ Owner = 'ops'; Rack = 7 }, 42, '127.0.0.1' | Test-TcpPort -Port $open -ErrorVariable e -ErrorAction SilentlyContinue)
            $r.Count | Should -Be 1
            $r[0].Status | Should -Be 'Open'
            $e.Count | Should -Be 2
            $e | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*' }
            $e[0].Exception.Message | Should -Match "PSCustomObject \('@\{Owner=ops; Rack=7\}'\) names no target.*ComputerName"
            $e[1].Exception.Message | Should -Match "Int32 \('42'\)"
        }

        It 'exports plain results without TLS columns, and -Tls results with them' {
            $plain = Test-TcpPort 127.0.0.1 -Port $open | ConvertTo-Csv -NoTypeInformation | Select-Object -First 1
            $plain | Should -Not -Match 'Tls|Certificate'
            $plain | Should -Match '"Latency"'
            $r = Test-TcpPort 127.0.0.1 -Port $open -Tls -SkipCertificateCheck -Timeout 1
            $r.PSObject.TypeNames | Should -Contain 'PSSocket.PortCheckResult'
            ($r | ConvertTo-Csv -NoTypeInformation | Select-Object -First 1) | Should -Match '"TlsProtocol".*"CertificateValid"'
        }

        It 'probes IPv6 loopback and filters names by -AddressFamily' {
            $v6 = [System.Net.Sockets.TcpListener]::new([ipaddress]::IPv6Loopback, 0)
            try { $v6.Start() } catch { Set-ItResult -Skipped -Because "no IPv6 loopback here: $_"; return }
            try {
                $p = $v6.LocalEndpoint.Port
                (Test-TcpPort '::1' -Port $p).Status | Should -Be 'Open'
                (Test-TcpPort "[::1]:$p").Status | Should -Be 'Open'
                $r = @(Test-TcpPort '::1/128' -Port $p -AddressFamily IPv6)
                $r.Count | Should -Be 1
                @($r | Where-Object Status -EQ 'Open').ComputerName | Should -Be '::1'
                (Test-TcpPort localhost -Port $open -AddressFamily IPv4).Address | Should -Be ([ipaddress] '127.0.0.1')
                @(Test-TcpPort localhost -Port $open -FirstAddress).Count | Should -Be 1
            }
            finally { $v6.Stop() }
        }

        It 'rejects misuse with terminating errors: a bad port, no port, -SkipCertificateCheck without -Tls' {
            { Test-TcpPort 127.0.0.1 -Port 'nosuchservice' } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.TestTcpPortCommand'
            { Test-TcpPort 127.0.0.1 -Port 70000 } | Should -Throw '*outside 1-65535*'
            { Test-TcpPort 127.0.0.1 -Port $open -SkipCertificateCheck } | Should -Throw '*only with -Tls*'
            Test-TcpPort 127.0.0.1 -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument*'
        }
    }

    Context 'a small file descriptor limit (ulimit -n 256, the macOS default)' -Skip:(-not $IsLinux) {
        BeforeAll { $script:peer = Start-PortPeer -Count 3 }
        AfterAll { Stop-Peer $script:peer.Process }

        It 'finishes a full sweep with the default -ThrottleLimit with correct results instead of crashing pwsh' {
            $pwsh = Get-PwshCommand
            $child = @'
param([string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$r = @(Test-TcpPort 127.0.0.1 -Port 1-65535 -Verbose 4>&1)
$verbose = @($r | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
$results = @($r | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
[pscustomobject]@{
    Count = $results.Count
    Distinct = @($results.Port | Sort-Object -Unique).Count
    Bad = @($results | Where-Object Status -In 'Error', 'Filtered').Count
    Open = @($results | Where-Object Status -EQ 'Open' | ForEach-Object Port)
    Verbose = $verbose
} | ConvertTo-Json -Compress
'@
            $file = Join-Path ([IO.Path]::GetTempPath()) "psst-ulimit-$([guid]::NewGuid().ToString('n')).ps1"
            Set-Content -Path $file -Value $child
            try {
                $out = & bash -c 'ulimit -n 256 && exec "$@"' bash @pwsh -NoProfile -NonInteractive -File $file -ModulePath $script:Psd1 2>&1
                $LASTEXITCODE | Should -Be 0 -Because "$out"
            }
            finally { Remove-Item $file -ErrorAction SilentlyContinue }
            $run = $out | Select-Object -Last 1 | ConvertFrom-Json
            $run.Count | Should -Be 65535
            $run.Distinct | Should -Be 65535
            $run.Bad | Should -Be 0
            foreach ($p in $script:peer.Open) { $run.Open | Should -Contain $p }
            ($run.Verbose -join "`n") | Should -Match 'At most \d+ probes in flight \(not 1000\).*ulimit -n'
        }
    }

    Context 'a port that never answers' -Skip:(-not $IsLinux) {
        BeforeAll {
            $script:peer = Start-PortPeer -Count 1
            $script:silent = New-UnansweredPort
        }
        AfterAll {
            $script:silent.Sockets | ForEach-Object { $_.Dispose() }
            Stop-Peer $script:peer.Process
        }

        It 'stops promptly on Ctrl+C, keeping what was already written' {
            # The module comes with the runspace, not as a first statement: a stopped batch
            # (AddStatement) can run on after Dispose closed its runspace and crash the process.
            $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
            $iss.ImportPSModule($script:Psd1)
            $ps = [powershell]::Create($iss)
            try {
                $null = $ps.AddCommand('Test-TcpPort').AddParameter('ComputerName', '127.0.0.1').AddParameter('Port', "$($script:peer.Open[0]),$($script:silent.Port)").AddParameter('Timeout', 60)
                $in = [System.Management.Automation.PSDataCollection[psobject]]::new()
                $in.Complete()
                $out = [System.Management.Automation.PSDataCollection[psobject]]::new()
                $null = $ps.BeginInvoke($in, $out)
                $deadline = [DateTime]::UtcNow.AddSeconds(20)
                while ($out.Count -lt 1 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
                $out.Count | Should -Be 1
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $ps.Stop()
                $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
                $out.Count | Should -Be 1
                $out[0].Status | Should -Be 'Open'
            }
            finally { $ps.Dispose() }
        }
    }

    Context 'Filtered ports in a private network namespace' {
        BeforeAll {
            $script:ns = $null
            $script:nsPeer = $null
            $script:skip = (Get-PeerSkipReason 'network namespaces'), (Get-PeerSkipReason nft) | Where-Object { $_ } | Select-Object -First 1
            if ($script:skip) { return }

            $script:ns = 'psst-' + [guid]::NewGuid().ToString('n').Substring(0, 10)
            & ip netns add $script:ns
            if ($LASTEXITCODE -ne 0) { $script:skip = Get-PeerSkipReason 'network namespaces' -Probe { "ip netns add failed ($LASTEXITCODE)" }; $script:ns = $null; return }
            & ip netns exec $script:ns ip link set lo up
            $script:nsPeer = Start-PortPeer -Count 2 -Free 3 -Prefix 'ip', 'netns', 'exec', $script:ns
            # Dropped: two free ports, and one that listens (a firewall hides a listener too).
            $script:dropped = @($script:nsPeer.Free[0], $script:nsPeer.Free[1], $script:nsPeer.Open[1])
            $script:nsOpen = $script:nsPeer.Open[0]
            $script:nsClosed = $script:nsPeer.Free[2]
            & ip netns exec $script:ns nft add table inet f
            & ip netns exec $script:ns nft add chain inet f input '{ type filter hook input priority 0; }'
            & ip netns exec $script:ns nft add rule inet f input tcp dport "{ $($script:dropped -join ', ') }" drop
            if ($LASTEXITCODE -ne 0) { throw 'nft rule failed' }

            $script:childScript = Join-Path ([IO.Path]::GetTempPath()) "psst-child-$([guid]::NewGuid().ToString('n')).ps1"
            Set-Content -Path $script:childScript -Value @'
param([string] $ModulePath, [string] $Ports, [double] $Timeout, [int] $Retries = 1)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$sw = [Diagnostics.Stopwatch]::StartNew()
$results = @(Test-TcpPort 127.0.0.1 -Port $Ports -Timeout $Timeout -Retries $Retries | ForEach-Object {
    [pscustomobject]@{ Port = $_.Port; Status = "$($_.Status)"; Latency = $_.Latency; At = $sw.Elapsed.TotalSeconds; Detail = $_.Detail }
})
[pscustomobject]@{ Results = $results; Total = $sw.Elapsed.TotalSeconds } | ConvertTo-Json -Depth 4 -Compress
'@
        }
        AfterAll {
            if ($script:nsPeer) { Stop-Peer $script:nsPeer.Process }
            if ($script:ns) { & ip netns del $script:ns }
            if ($script:childScript) { Remove-Item $script:childScript -ErrorAction SilentlyContinue }
        }

        It 'reports dropped ports Filtered after about -Timeout, others Open or Closed, open ones first' {
            if ($script:skip) { Set-ItResult -Skipped -Because $script:skip; return }
            $pwsh = Get-PwshCommand
            $ports = @($script:nsOpen, $script:nsClosed) + $script:dropped
            $json = & ip netns exec $script:ns @pwsh -NoProfile -NonInteractive -File $script:childScript -ModulePath $script:Psd1 -Ports ($ports -join ',') -Timeout 1 -Retries 0
            $LASTEXITCODE | Should -Be 0
            $run = $json | Select-Object -Last 1 | ConvertFrom-Json
            $byPort = @{}
            $run.Results | ForEach-Object { $byPort[[int] $_.Port] = $_ }
            $byPort.Count | Should -Be 5
            $byPort[$script:nsOpen].Status | Should -Be 'Open'
            $byPort[$script:nsClosed].Status | Should -Be 'Closed'
            foreach ($p in $script:dropped) {
                $byPort[$p].Status | Should -Be 'Filtered'
                # No answer came: no latency; the result came after about -Timeout.
                $byPort[$p].Latency | Should -BeNullOrEmpty
                $byPort[$p].At | Should -BeGreaterOrEqual 0.95
            }
            # Streamed: the open port was written long before the filtered ones timed out.
            $byPort[$script:nsOpen].At | Should -BeLessThan ($byPort[$script:dropped[0]].At - 0.5)
            $run.Total | Should -BeLessThan 10
        }

        It 'agrees with nmap -sT inside the namespace' {
            if ($script:skip) { Set-ItResult -Skipped -Because $script:skip; return }
            $ports = (@($script:nsOpen, $script:nsClosed) + $script:dropped) -join ','
            $out = & ip netns exec $script:ns nmap -sT -n -Pn -p $ports 127.0.0.1 -oG -
            $line = "$($out | Where-Object { $_ -match '\bPorts:' })"
            foreach ($p in $script:dropped) { $line | Should -Match "\b$p/filtered/" }
            $line | Should -Match "\b$($script:nsOpen)/open/"
        }
    }

    Context 'a lossy link: 10 % of SYNs dropped at random in a private network namespace' {
        BeforeAll {
            $script:lossyNs = $null
            $script:lossyPeer = $null
            $script:lossySkip = (Get-PeerSkipReason 'network namespaces'), (Get-PeerSkipReason nft) | Where-Object { $_ } | Select-Object -First 1
            if ($script:lossySkip) { return }

            $script:lossyNs = 'psst-' + [guid]::NewGuid().ToString('n').Substring(0, 10)
            & ip netns add $script:lossyNs
            if ($LASTEXITCODE -ne 0) { $script:lossySkip = Get-PeerSkipReason 'network namespaces' -Probe { "ip netns add failed ($LASTEXITCODE)" }; $script:lossyNs = $null; return }
            & ip netns exec $script:lossyNs ip link set lo up
            # 200 listening ports, and 200 free ports that a rule drops completely.
            $script:lossyPeer = Start-PortPeer -Count 200 -Free 200 -Prefix 'ip', 'netns', 'exec', $script:lossyNs
            & ip netns exec $script:lossyNs nft add table inet f
            & ip netns exec $script:lossyNs nft add chain inet f input '{ type filter hook input priority 0; }'
            & ip netns exec $script:lossyNs nft add rule inet f input tcp dport "{ $($script:lossyPeer.Free -join ', ') }" drop
            & ip netns exec $script:lossyNs nft add rule inet f input 'tcp flags & (syn | ack) == syn numgen random mod 100 < 10 drop'
            if ($LASTEXITCODE -ne 0) { throw 'nft rule failed' }
            $script:lossyChild = Join-Path ([IO.Path]::GetTempPath()) "psst-lossy-$([guid]::NewGuid().ToString('n')).ps1"
            Set-Content -Path $script:lossyChild -Value @'
param([string] $ModulePath, [string] $Ports)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
@(Test-TcpPort 127.0.0.1 -Port $Ports -Timeout 1 -Retries 4 | ForEach-Object { [pscustomobject]@{ Port = $_.Port; Status = "$($_.Status)" } }) | ConvertTo-Json -Compress
'@
        }
        AfterAll {
            if ($script:lossyPeer) { Stop-Peer $script:lossyPeer.Process }
            if ($script:lossyNs) { & ip netns del $script:lossyNs }
            if ($script:lossyChild) { Remove-Item $script:lossyChild -ErrorAction SilentlyContinue }
        }

        It 'reports all 200 listening ports Open and all 200 dropped ports Filtered with -Timeout 1 -Retries 4, as nmap -sT does' {
            if ($script:lossySkip) { Set-ItResult -Skipped -Because $script:lossySkip; return }
            $pwsh = Get-PwshCommand
            $all = @($script:lossyPeer.Open) + @($script:lossyPeer.Free)
            $json = & ip netns exec $script:lossyNs @pwsh -NoProfile -NonInteractive -File $script:lossyChild -ModulePath $script:Psd1 -Ports ($all -join ',')
            $LASTEXITCODE | Should -Be 0
            $results = @($json | Select-Object -Last 1 | ConvertFrom-Json)
            $results.Count | Should -Be 400
            $open = @($results | Where-Object Status -EQ 'Open' | ForEach-Object Port | Sort-Object)
            $filtered = @($results | Where-Object Status -EQ 'Filtered' | ForEach-Object Port | Sort-Object)
            $open | Should -Be @($script:lossyPeer.Open | Sort-Object)
            $filtered | Should -Be @($script:lossyPeer.Free | Sort-Object)

            $out = & ip netns exec $script:lossyNs nmap -sT -n -Pn -T4 -p ($all -join ',') 127.0.0.1 -oG -
            $line = "$($out | Where-Object { $_ -match '\bPorts:' })"
            $nmapOpen = @([regex]::Matches($line, '(\d+)/open/') | ForEach-Object { [int] $_.Groups[1].Value } | Sort-Object)
            $nmapFiltered = @([regex]::Matches($line, '(\d+)/filtered/') | ForEach-Object { [int] $_.Groups[1].Value } | Sort-Object)
            # nmap folds a long run of same-state ports into "Ignored State"; count those in.
            $ignored = if ($line -match 'Ignored State: filtered \((\d+)\)') { [int] $Matches[1] } else { $null }
            # nmap, too, can lose every try for a port on this link (seen once in about ten runs):
            # a few ports it calls filtered and we call open are asked about once more.
            $missed = @($open | Where-Object { $_ -notin $nmapOpen })
            $recovered = @()
            if ($missed.Count -gt 0 -and $missed.Count -le 5) {
                $again = & ip netns exec $script:lossyNs nmap -sT -n -Pn -T4 -p ($missed -join ',') 127.0.0.1 -oG -
                $againLine = "$($again | Where-Object { $_ -match '\bPorts:' })"
                $recovered = @([regex]::Matches($againLine, '(\d+)/open/') | ForEach-Object { [int] $_.Groups[1].Value })
                $nmapOpen = @(($nmapOpen + $recovered) | Sort-Object -Unique)
                $nmapFiltered = @($nmapFiltered | Where-Object { $_ -notin $recovered })
            }
            if ($null -ne $ignored) { $nmapFiltered.Count + $ignored - $recovered.Count | Should -Be 200 }
            else { $nmapFiltered | Should -Be $filtered }
            $nmapOpen | Should -Be $open
        }

        It 'reports an open port Filtered more often without retries (the loss is real)' {
            if ($script:lossySkip) { Set-ItResult -Skipped -Because $script:lossySkip; return }
            # With one try and 10 % of SYNs lost, about 20 of 200 open ports miss the timeout; it is
            # kept below the kernel's own SYN retransmission (1 s), which would otherwise rescue some.
            $pwsh = Get-PwshCommand
            $child = Join-Path ([IO.Path]::GetTempPath()) "psst-lossy0-$([guid]::NewGuid().ToString('n')).ps1"
            (Get-Content -Raw $script:lossyChild) -replace '-Timeout 1 -Retries 4', '-Timeout 0.5 -Retries 0' | Set-Content -Path $child
            try {
                $json = & ip netns exec $script:lossyNs @pwsh -NoProfile -NonInteractive -File $child -ModulePath $script:Psd1 -Ports ($script:lossyPeer.Open -join ',')
            }
            finally { Remove-Item $child -ErrorAction SilentlyContinue }
            $results = @($json | Select-Object -Last 1 | ConvertFrom-Json)
            $results.Count | Should -Be 200
            @($results | Where-Object Status -EQ 'Filtered').Count | Should -BeGreaterThan 0
        }
    }

    Context 'service banners (-Banner)' {
        BeforeAll {
            $script:bannerDir = Join-Path ([IO.Path]::GetTempPath()) "psst-banner-$([guid]::NewGuid().ToString('n'))"
            New-Item -ItemType Directory $script:bannerDir | Out-Null
            $script:peers = [System.Collections.Generic.List[object]]::new()
            $script:silent = Start-PortPeer -Count 1

            # sshd in the foreground on a free loopback port with a host key of its own.
            $script:sshSkip = Get-PeerSkipReason 'openssh-server' -Command ssh-keygen -Path /usr/sbin/sshd
            if (-not $script:sshSkip) {
                if (-not (Test-Path /run/sshd)) { New-Item -ItemType Directory -Force /run/sshd | Out-Null }
                $key = Join-Path $script:bannerDir 'host_ed25519'
                & ssh-keygen -q -t ed25519 -N '' -f $key
                $script:sshPort = Get-FreeTcpPort
                $config = Join-Path $script:bannerDir 'sshd_config'
                @("Port $($script:sshPort)", 'ListenAddress 127.0.0.1', "HostKey $key", "PidFile $(Join-Path $script:bannerDir 'sshd.pid')", 'UsePAM no') | Set-Content -Path $config -Encoding ascii
                $script:peers.Add((Start-Peer /usr/sbin/sshd @('-D', '-e', '-f', $config)))
                Wait-TcpPort -Port $script:sshPort -TimeoutSec 15
            }

            $script:smtpPort = Get-FreeTcpPort
            $script:peers.Add((Start-Peer python3 @((Join-Path $PSScriptRoot 'peers/smtp-server.py'), "$($script:smtpPort)", $script:bannerDir)))
            Wait-TcpPort -Port $script:smtpPort -TimeoutSec 15

            $script:redisSkip = Get-PeerSkipReason redis-server
            if (-not $script:redisSkip) {
                $script:redisPort = Get-FreeTcpPort
                $script:peers.Add((Start-Peer (Get-Command redis-server).Source @('--port', "$($script:redisPort)", '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no')))
                Wait-TcpPort -Port $script:redisPort -TimeoutSec 15
            }

            # A service whose greeting carries a terminal escape sequence and a NUL. It outlives a
            # client that resets at once (a port sweep elsewhere on the machine), as a server would.
            $script:evilPort = Get-FreeTcpPort
            $evil = "import socket`ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $($script:evilPort))); s.listen(16)`nwhile True:`n    c, _ = s.accept()`n    try: c.sendall(b'\x1b[2J\x1b]0;pwned\x07hi\x00there\r\n')`n    except OSError: pass`n    c.close()"
            $script:peers.Add((Start-Peer python3 @('-c', $evil)))
            Wait-TcpPort -Port $script:evilPort -TimeoutSec 15
        }
        AfterAll {
            foreach ($p in $script:peers) { Stop-Peer $p }
            Stop-Peer $script:silent.Process
            Remove-Item -Recurse -Force $script:bannerDir -ErrorAction SilentlyContinue
        }

        It 'reads the SSH and SMTP greetings of open ports, and says when a port said nothing' {
            if ($script:sshSkip) { Set-ItResult -Skipped -Because $script:sshSkip; return }
            $quiet = $script:silent.Open[0]
            $r = @(Test-TcpPort 127.0.0.1 -Port $script:sshPort, $script:smtpPort, $quiet -Banner -BannerTimeout 3)
            $r.Count | Should -Be 3
            $by = @{}; $r | ForEach-Object { $by[$_.Port] = $_ }
            $r | ForEach-Object { $_.Status | Should -Be 'Open'; $_.PSObject.TypeNames[0] | Should -Be 'PSSocket.BannerPortCheckResult' }
            $by[$script:sshPort].Banner | Should -Match '^SSH-2\.0-OpenSSH'
            $by[$script:smtpPort].Banner | Should -Be '220 mail.example.test ESMTP test server ready'
            $by[$quiet].Banner | Should -BeNullOrEmpty
            $by[$quiet].Detail | Should -Match 'No banner within 3 s'
            ($r | Out-String -Width 200) | Should -Match 'Banner'
        }

        It 'shows escape sequences and control bytes escaped, never raw' {
            $r = Test-TcpPort 127.0.0.1 -Port $script:evilPort -Banner
            $r.Banner | Should -Be '\x1B[2J\x1B]0;pwned\x07hi\x00there'
            $r.Banner | Should -Not -Match '[\x00-\x1f\x7f]'
        }

        It 'sends -BannerProbe text to services that wait for the client (redis), and nothing with an empty probe' {
            if ($script:redisSkip) { Set-ItResult -Skipped -Because $script:redisSkip; return }
            # redis speaks only when spoken to (on 6379 it gets a PING by default; this one runs on a free port).
            (Test-TcpPort 127.0.0.1 -Port $script:redisPort -Banner -BannerTimeout 0.5).Banner | Should -BeNullOrEmpty
            (Test-TcpPort 127.0.0.1 -Port $script:redisPort -Banner -BannerProbe "PING`r`n").Banner | Should -Be '+PONG'
            (Test-TcpPort 127.0.0.1 -Port $script:redisPort -Banner -BannerProbe "ECHO hello`r`n").Banner | Should -Be '$5\r\nhello'
            (Test-TcpPort 127.0.0.1 -Port $script:redisPort -Banner -BannerProbe '' -BannerTimeout 0.5).Banner | Should -BeNullOrEmpty
        }

        It 'reads nothing and adds no Banner property without -Banner; -BannerTimeout alone is misuse' {
            $r = Test-TcpPort 127.0.0.1 -Port $script:smtpPort
            $r.Status | Should -Be 'Open'
            $r.PSObject.Properties['Banner'] | Should -BeNullOrEmpty
            { Test-TcpPort 127.0.0.1 -Port $script:smtpPort -BannerTimeout 1 } | Should -Throw '*only with -Banner*'
        }
    }

    Context 'through a SOCKS5 proxy (microsocks)' {
        BeforeAll {
            $script:proxySkip = Get-PeerSkipReason microsocks
            if ($script:proxySkip) { return }
            $script:proxyPort = Get-FreeTcpPort
            $script:proxyProc = Start-Peer (Get-Command microsocks).Source @('-i', '127.0.0.1', '-p', "$($script:proxyPort)")
            Wait-TcpPort -Port $script:proxyPort -TimeoutSec 15
            $script:behind = Start-PortPeer -Count 1 -Free 1
        }
        AfterAll {
            if ($script:proxyProc) { Stop-Peer $script:proxyProc }
            if ($script:behind) { Stop-Peer $script:behind.Process }
        }

        It 'reports Open and Closed as the proxy answers, with its reply in Detail, and a dead proxy as Error' {
            if ($script:proxySkip) { Set-ItResult -Skipped -Because $script:proxySkip; return }
            $open = $script:behind.Open[0]; $closed = $script:behind.Free[0]
            $r = @(Test-TcpPort 127.0.0.1 -Port $open, $closed -Proxy "socks5://127.0.0.1:$($script:proxyPort)" -Timeout 5)
            $r.Count | Should -Be 2
            ($r | Where-Object Port -EQ $open).Status | Should -Be 'Open'
            $c = $r | Where-Object Port -EQ $closed
            $c.Status | Should -Be 'Closed'
            $c.Detail | Should -Match 'refused'
            # socks5h: the proxy resolves the name.
            $h = Test-TcpPort localhost -Port $open -Proxy "socks5h://127.0.0.1:$($script:proxyPort)" -Timeout 5
            $h.Status | Should -Be 'Open'
            $h.Address | Should -BeNullOrEmpty
            @(Test-TcpPort 127.0.0.1 -Port $open -Proxy "socks5://127.0.0.1:$($script:proxyPort)" -Quiet) | Should -Be @($true)
            $dead = Test-TcpPort 127.0.0.1 -Port $open -Proxy "socks5://127.0.0.1:$closed" -Timeout 5 -ErrorVariable deadErr -ErrorAction SilentlyContinue
            $dead.Status | Should -Be 'Error'
            $deadErr[0].FullyQualifiedErrorId | Should -BeLike 'ProxyUnreachable,*'
            { Test-TcpPort 127.0.0.1 -Port $open -Proxy "socks5://127.0.0.1:$($script:proxyPort)" -Tls } | Should -Throw '*not work with -Proxy*'
        }
    }

    Context 'TLS certificate facts' {
        BeforeAll {
            $script:tlsDir = Join-Path ([IO.Path]::GetTempPath()) "psst-tls-$([guid]::NewGuid().ToString('n'))"
            New-Item -ItemType Directory $script:tlsDir | Out-Null
            $script:days = 42
            $key = Join-Path $script:tlsDir 'key.pem'
            $cert = Join-Path $script:tlsDir 'cert.pem'
            & openssl req -x509 -newkey rsa:2048 -nodes -keyout $key -out $cert -days $script:days -subj '/CN=pssocket.test' 2>&1 | Out-Null
            if ($LASTEXITCODE -ne 0) { throw 'openssl req failed' }
            $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer -FilePath openssl -ArgumentList 's_server', '-accept', "127.0.0.1:$($port)", '-cert', $cert, '-key', $key, '-quiet' }
            $script:server = $peerOnPort.Process
            $script:tlsPort = $peerOnPort.Port
            $script:plain = Start-PortPeer -Count 1
        }
        AfterAll {
            Stop-Peer $script:server
            Stop-Peer $script:plain.Process
            Remove-Item -Recurse -Force $script:tlsDir -ErrorAction SilentlyContinue
        }

        It 'reports protocol, subject, issuer, expiry and an invalid self-signed certificate' {
            $r = Test-TcpPort 127.0.0.1 -Port $script:tlsPort -Tls -SkipCertificateCheck -Timeout 5 -ErrorVariable e
            $e.Count | Should -Be 0
            $r.Status | Should -Be 'Open'
            $r.TlsProtocol | Should -Match '^Tls1[23]$'
            $r.CertificateSubject | Should -Be 'CN=pssocket.test'
            $r.CertificateIssuer | Should -Be 'CN=pssocket.test'
            $r.DaysUntilExpiry | Should -Be $script:days
            ($r.CertificateNotAfter - [DateTime]::Now).TotalDays | Should -BeGreaterThan ($script:days - 1)
            $r.CertificateValid | Should -BeFalse
            $r.CertificateErrors | Should -Match 'untrusted root: the certificate .CN=pssocket.test. is self-signed'
            $r.CertificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $r.PSObject.TypeNames[0] | Should -Be 'PSSocket.TlsPortCheckResult'
            ($r | Out-String -Width 200) | Should -Match 'Tls1[23]\s+False\s+42 CN=pssocket.test'
        }

        It 'writes AuthenticationFailed for the invalid certificate unless -SkipCertificateCheck, still with its facts' {
            $r = Test-TcpPort 127.0.0.1 -Port $script:tlsPort -Tls -Timeout 5 -ErrorVariable e -ErrorAction SilentlyContinue
            $e.Count | Should -Be 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed*'
            $e[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
            $r.DaysUntilExpiry | Should -Be $script:days
            $r.CertificateValid | Should -BeFalse
        }

        It 'shows CertificateValid = True for a private-CA endpoint with -TrustedCertificate and -TlsServerName' {
            $dir = Join-Path $script:tlsDir 'ca'
            New-Item -ItemType Directory $dir | Out-Null
            $caKey = Join-Path $dir 'ca.key'; $ca = Join-Path $dir 'ca.pem'
            $key = Join-Path $dir 'srv.key'; $csr = Join-Path $dir 'srv.csr'; $crt = Join-Path $dir 'srv.pem'; $ext = Join-Path $dir 'ext.cnf'
            & openssl req -x509 -newkey rsa:2048 -nodes -keyout $caKey -out $ca -days 30 -subj '/CN=PSSocket Test Root' -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>&1 | Out-Null
            & openssl req -newkey rsa:2048 -nodes -keyout $key -out $csr -subj '/CN=api.pssocket.test' 2>&1 | Out-Null
            Set-Content $ext "subjectAltName=DNS:api.pssocket.test`nextendedKeyUsage=serverAuth"
            & openssl x509 -req -in $csr -CA $ca -CAkey $caKey -CAcreateserial -out $crt -days 20 -extfile $ext 2>&1 | Out-Null
            if ($LASTEXITCODE -ne 0) { throw 'openssl could not sign the server certificate' }
            $port = Get-FreeTcpPort
            $server = Start-Peer -FilePath openssl -ArgumentList 's_server', '-accept', "127.0.0.1:$port", '-cert', $crt, '-key', $key, '-quiet'
            try {
                Wait-TcpPort -Port $port
                $r = Test-TcpPort 127.0.0.1 -Port $port -Tls -TrustedCertificate $ca -TlsServerName api.pssocket.test -Timeout 5 -ErrorVariable e
                $e.Count | Should -Be 0
                $r.CertificateValid | Should -BeTrue
                $r.CertificateErrors | Should -BeNullOrEmpty
                $r.CertificateIssuer | Should -Be 'CN=PSSocket Test Root'
                # Without the CA it is not trusted; with the CA but the wrong name it is not valid either.
                $u = Test-TcpPort 127.0.0.1 -Port $port -Tls -Timeout 5 -TlsServerName api.pssocket.test -ErrorAction SilentlyContinue
                $u.CertificateValid | Should -BeFalse
                $n = Test-TcpPort 127.0.0.1 -Port $port -Tls -Timeout 5 -TrustedCertificate $ca -ErrorAction SilentlyContinue
                $n.CertificateValid | Should -BeFalse
                { Test-TcpPort 127.0.0.1 -Port $port -TrustedCertificate $ca } | Should -Throw '*only with -Tls*'
                { Test-TcpPort 127.0.0.1 -Port $port -Tls -TlsServerName "bad`r`nname" } | Should -Throw -ErrorId 'InvalidArgument,PSSocket.Commands.TestTcpPortCommand'
            }
            finally { Stop-Peer $server }
        }

        It 'reports a TlsError, not a certificate, for an open port that does not speak TLS' {
            $r = Test-TcpPort 127.0.0.1 -Port $script:plain.Open[0] -Tls -Timeout 0.5
            $r.Status | Should -Be 'Open'
            $r.TlsError | Should -Not -BeNullOrEmpty
            $r.CertificateSubject | Should -BeNullOrEmpty
        }
    }
}

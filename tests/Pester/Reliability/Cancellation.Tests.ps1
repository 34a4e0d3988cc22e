# Reliability: PowerShell.Stop() (Ctrl+C) ends every wait quickly and leaves sessions usable.
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
    $script:manifest = Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'
    $script:rs = [runspacefactory]::CreateRunspace()
    $script:rs.Open()
    $ps = [powershell]::Create(); $ps.Runspace = $script:rs
    $null = $ps.AddCommand('Import-Module').AddParameter('Name', $script:manifest).Invoke()
    $ps.Dispose()
    $script:sockBaseline = Get-SocketFdCount

    # Runs the script in the helper runspace, stops it after DelayMs; returns how long the stop took.
    function Measure-Stop {
        param([scriptblock] $Script, [object[]] $ArgumentList = @(), [int] $DelayMs = 400)
        $ps = [powershell]::Create(); $ps.Runspace = $script:rs
        $null = $ps.AddScript($Script.ToString())
        foreach ($a in $ArgumentList) { $null = $ps.AddArgument($a) }
        $h = $ps.BeginInvoke()
        Start-Sleep -Milliseconds $DelayMs
        $ps.InvocationStateInfo.State | Should -Be 'Running' -Because "the call must still be waiting when stopped ($(if ($ps.Streams.Error.Count) { $ps.Streams.Error[0] }))"
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $sw.Stop()
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        $ps.Dispose()
        $sw.Elapsed.TotalSeconds
    }

    function New-Pair {
        $l = New-TcpListener -Port 0
        $c = Connect-TcpSocket 127.0.0.1 $l.Port
        $a = Wait-TcpConnection $l -Timeout 5
        Remove-SocketSession $l
        @{ Client = $c; Server = $a }
    }
}
AfterAll {
    $script:rs.Dispose()
}

Describe 'Ctrl+C during a wait' {
    AfterEach {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
        $script:peer = $null
    }

    It 'stops Connect-TcpSocket to a target that drops SYNs' {
        $script:peer = Start-FaultPeer noaccept 60
        # Fill the accept queue so further SYNs are dropped.
        $fill = foreach ($i in 1..3) { $x = [Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp'); $null = $x.ConnectAsync('127.0.0.1', $peer.Port); $x }
        # Wait (bounded) until the queue is full: the kernel has completed what it will accept.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        $settled = 0
        while ([DateTime]::UtcNow -lt $deadline -and $settled -lt 3) {
            $now = @($fill | Where-Object Connected).Count
            if ($now -eq $last) { $settled++ } else { $settled = 0 }
            $last = $now
            Start-Sleep -Milliseconds 200
        }
        try {
            $t = Measure-Stop { param($p) Connect-TcpSocket 127.0.0.1 $p -Timeout 60 } $peer.Port
            $t | Should -BeLessThan 3
            @(Get-SocketSession -Kind Tcp).Count | Should -Be 0
        }
        finally { $fill | ForEach-Object Dispose }
    }

    It 'stops Wait-TcpConnection and the listener still accepts' {
        $l = New-TcpListener -Port 0
        $t = Measure-Stop { param($id) Wait-TcpConnection $id -Timeout 60 } $l.Id
        $t | Should -BeLessThan 3
        $l.State | Should -Be 'Listening'
        $c = Connect-TcpSocket 127.0.0.1 $l.Port
        $a = Wait-TcpConnection $l -Timeout 5
        $a.State | Should -Be 'Open'
    }

    It 'stops Receive-SocketData <Name> and keeps buffered data intact' -ForEach @(
        @{ Name = 'Available'; Opts = '' }
        @{ Name = '-Count'; Opts = '-Count 100' }
        @{ Name = '-Until'; Opts = "-Until 'never'" }
        @{ Name = '-Pattern'; Opts = "-Pattern 'nev(er)'" }
        @{ Name = '-Line'; Opts = '-Line' }
        @{ Name = '-ToEnd'; Opts = '-ToEnd' }
        @{ Name = '-Count -Path'; Opts = "-Count 100 -Path '$([IO.Path]::GetTempPath())/rel-cancel.bin'" }
        @{ Name = '-ToEnd -Path'; Opts = "-ToEnd -Path '$([IO.Path]::GetTempPath())/rel-cancel2.bin'" }
    ) {
        $p = New-Pair
        if ($Name -ne 'Available' -and $Name -notlike '*-Path') { Send-SocketData $p.Server 'partial' }
        Start-Sleep -Milliseconds 100
        $t = Measure-Stop ([scriptblock]::Create("param(`$id) Receive-SocketData `$id $Opts -Timeout 60")) $p.Client.Id
        $t | Should -BeLessThan 3
        $p.Client.State | Should -Be 'Open'
        Send-SocketData $p.Server "rest`n"
        if ($Name -ne 'Available' -and $Name -notlike '*-Path') {
            Receive-SocketData $p.Client -Line -Timeout 5 | Should -Be 'partialrest'
        }
        else {
            Receive-SocketData $p.Client -Line -Timeout 5 | Should -Be 'rest'
        }
        Send-SocketData $p.Client "ping`n"
        Receive-SocketData $p.Server -Line -Timeout 5 | Should -Be 'ping'
        Remove-Item "$([IO.Path]::GetTempPath())/rel-cancel*.bin" -ErrorAction SilentlyContinue
    }

    It 'stops Send-SocketData -Path of a large file to a peer that never reads' {
        $file = Join-Path ([IO.Path]::GetTempPath()) ("big-" + [guid]::NewGuid())
        New-RandomFile $file 64MB
        try {
            $script:peer = Start-FaultPeer noread 60
            $s = Connect-TcpSocket 127.0.0.1 $peer.Port
            $t = Measure-Stop { param($id, $f) Send-SocketData $id -Path $f -Timeout 60 } $s.Id, $file -DelayMs 800
            $t | Should -BeLessThan 3
            $s.State | Should -Be 'Open'
            # A later send waits for the queued write and times out cleanly rather than interleaving.
            { Send-SocketData $s 'x' -Timeout 0.5 } | Should -Throw -ErrorId 'SendTimeout*'
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }

    It 'stops a Test-TcpPort sweep of filtered ports' {
        $script:peer = Start-FaultPeer noaccept 60
        $fill = foreach ($i in 1..3) { $x = [Net.Sockets.Socket]::new('InterNetwork', 'Stream', 'Tcp'); $null = $x.ConnectAsync('127.0.0.1', $peer.Port); $x }
        # Wait (bounded) until the queue is full: the kernel has completed what it will accept.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        $settled = 0
        while ([DateTime]::UtcNow -lt $deadline -and $settled -lt 3) {
            $now = @($fill | Where-Object Connected).Count
            if ($now -eq $last) { $settled++ } else { $settled = 0 }
            $last = $now
            Start-Sleep -Milliseconds 200
        }
        try {
            $t = Measure-Stop { param($p) Test-TcpPort (@('127.0.0.1') * 200) -Port $p -Timeout 30 -ThrottleLimit 50 } $peer.Port
            $t | Should -BeLessThan 3
        }
        finally { $fill | ForEach-Object Dispose }
    }

    It 'leaves no socket behind after all the stops' {
        Remove-AllSocketSessions
        Wait-SocketFdCount -Max $script:sockBaseline | Should -BeLessOrEqual $script:sockBaseline
    }
}

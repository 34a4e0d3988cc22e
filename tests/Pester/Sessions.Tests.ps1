BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    function Get-ErrorOf {
        param([scriptblock] $Script)
        $ErrorActionPreference = 'Continue'
        @(& $Script 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    }
}

Describe '-Session takes an object, an Id or a Name' {
    BeforeAll {
        $l = New-TcpListener -Name sessl
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Name sessc
        $s = Wait-TcpConnection $l -Timeout 5 -Name sesss
    }
    AfterAll { Remove-AllSocketSessions }

    It 'by session object, positionally and by name' {
        Send-SocketData $c 'obj' -Line
        Receive-SocketData -Session $s -Line -Timeout 5 | Should -Be 'obj'
    }

    It 'by Id, as a number and as a string' {
        Send-SocketData $c.Id 'id' -Line
        Receive-SocketData "$($s.Id)" -Line -Timeout 5 | Should -Be 'id'
    }

    It 'by Name, case-insensitive' {
        Send-SocketData SESSC 'name' -Line
        Receive-SocketData sesss -Line -Timeout 5 | Should -Be 'name'
    }

    It 'from the pipeline: session objects and objects with an Id or SessionId property' {
        Send-SocketData sessc 'one', 'two' -Line
        $s | Receive-SocketData -Line -Timeout 5 | Should -Be 'one'
        [pscustomobject]@{ SessionId = $s.Id } | Receive-SocketData -Line -Timeout 5 | Should -Be 'two'
        Send-SocketData sessc 'three' -Line
        [pscustomobject]@{ Id = $s.Id; Other = 'x' } | Receive-SocketData -Line -Timeout 5 | Should -Be 'three'
        'x' | Send-SocketData -Session $c.Id -Line
        Get-SocketSession -Name sesss | Receive-SocketData -Line -Timeout 5 | Should -Be 'x'
    }

    It 'writes SessionNotFound for an unknown Id or Name and goes on with the next item' {
        $err = Get-ErrorOf { Receive-SocketData -Session 999999 -Timeout 1 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 999999
        $err = Get-ErrorOf { Send-SocketData -Session nosuchsession -Data 'x' }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
        Send-SocketData $c 'after' -Line
        $err = Get-ErrorOf { 'nosuch', $s | Receive-SocketData -Line -Timeout 5 }
        $err.Count | Should -Be 1
    }

    It 'refuses a listener where a connected session is needed' {
        $err = Get-ErrorOf { Receive-SocketData $l -Timeout 1 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind,*'
        $err = Get-ErrorOf { Send-SocketData $l 'x' }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WrongSessionKind,*'
    }
}

Describe 'Get-SocketSession' {
    BeforeAll {
        Remove-AllSocketSessions   # counts below assume only this block's sessions
        $l = New-TcpListener -Name 'gs-listener'
        $c = Connect-TcpSocket 127.0.0.1 $l.Port -Name 'gs-client'
        $s = Wait-TcpConnection $l -Timeout 5
    }
    AfterAll { Remove-AllSocketSessions }

    It 'lists every session ordered by Id' {
        $all = @(Get-SocketSession)
        $all.Count | Should -Be 3
        $all.Id | Should -Be @($l.Id, $c.Id, $s.Id)
    }

    It 'filters by -Id, positionally and from the pipeline' {
        (Get-SocketSession $c.Id).Name | Should -Be 'gs-client'
        @(Get-SocketSession -Id $l.Id, $s.Id).Count | Should -Be 2
        ([pscustomobject]@{ Id = $s.Id } | Get-SocketSession).Id | Should -Be $s.Id
    }

    It 'takes a Name or an Id by position' {
        (Get-SocketSession gs-client).Id | Should -Be $c.Id
        (Get-SocketSession "#$($c.Id)").Id | Should -Be $c.Id
        (Get-SocketSession 'gs-cl*').Id | Should -Be $c.Id
    }

    It 'filters by -Name with wildcards' {
        @(Get-SocketSession -Name 'gs-*').Count | Should -Be 2
        (Get-SocketSession -Name 'GS-CLIENT').Id | Should -Be $c.Id
        @(Get-SocketSession -Name 'zz*').Count | Should -Be 0
    }

    It 'filters by -Kind and -State' {
        (Get-SocketSession -Kind TcpListener).Id | Should -Be $l.Id
        @(Get-SocketSession -Kind Tcp).Count | Should -Be 2
        (Get-SocketSession -State Listening).Id | Should -Be $l.Id
        @(Get-SocketSession -State Open -Kind Tcp).Count | Should -Be 2
        @(Get-SocketSession -State Closed).Count | Should -Be 0
    }

    It 'writes SessionNotFound for a missing Id or an exact Name' {
        $err = Get-ErrorOf { Get-SocketSession -Id 999999 }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err = Get-ErrorOf { Get-SocketSession -Name 'no-such-name' }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
    }

    It 'shows the counters and the table view columns' {
        Send-SocketData $c '12345'
        $null = Receive-SocketData $s -Count 5 -Timeout 5
        $c.BytesSent | Should -Be 5
        $s.BytesReceived | Should -Be 5
        $c.LastActivityAt | Should -BeGreaterOrEqual $c.CreatedAt
        $c.Encoding.WebName | Should -Be 'utf-8'
        $c.NewLine | Should -Be "`n"
        $table = Get-SocketSession | Format-Table | Out-String -Width 250
        foreach ($column in 'Id', 'Name', 'Kind', 'State', 'LocalEndPoint', 'RemoteEndPoint', 'Sent', 'Recv') {
            $table | Should -Match $column
        }
    }
}

Describe 'Remove-SocketSession' {
    BeforeAll { Remove-AllSocketSessions }
    AfterEach { Remove-AllSocketSessions }

    It 'leaves the session alone with -WhatIf' {
        $l = New-TcpListener -Name whatif
        Remove-SocketSession $l -WhatIf
        (Get-SocketSession -Name whatif).State | Should -Be 'Listening'
    }

    It 'closes and unregisters by object, Id, Name and pipeline' {
        $l1 = New-TcpListener -Name r1
        $l2 = New-TcpListener -Name r2
        $l3 = New-TcpListener -Name r3
        $l4 = New-TcpListener -Name r4
        Remove-SocketSession $l1
        Remove-SocketSession $l2.Id
        Remove-SocketSession r3
        Get-SocketSession -Name r4 | Remove-SocketSession
        @(Get-SocketSession).Count | Should -Be 0
        $l1.State | Should -Be 'Closed'
        $l4.State | Should -Be 'Closed'
    }

    It 'writes SessionNotFound for what is not registered' {
        $err = Get-ErrorOf { Remove-SocketSession 999999, 'nobody' }
        $err.Count | Should -Be 2
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
    }

    It 'removes by wildcard Name and leaves the rest' {
        $a = New-TcpListener -Name 'redis-a'
        $b = New-TcpListener -Name 'redis-b'
        $k = New-TcpListener -Name 'keep-me'
        Remove-SocketSession 'redis-*'
        $a.State, $b.State | Should -Be 'Closed', 'Closed'
        @(Get-SocketSession).Name | Should -Be 'keep-me'
        Remove-SocketSession 'nothing-*' -ErrorAction Stop
        (Get-SocketSession keep-me).Id | Should -Be $k.Id
    }

    It 'ends the documented clean-up with no sessions while a server has connected clients, even under -ErrorAction Stop' {
        $srv = Start-SocketServer -Port 0 { $null = Receive-SocketData $_ -Line -Timeout 30 -ErrorAction Ignore }
        $clients = 1..3 | ForEach-Object { Connect-TcpSocket 127.0.0.1 $srv.Port }
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while ($srv.ClientsActive -lt 3 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $srv.ClientsActive | Should -Be 3
        # The server's own client sessions are listed after it; removing it takes them along.
        @(Get-SocketSession).Count | Should -BeGreaterThan 4
        Get-SocketSession | Remove-SocketSession -ErrorAction Stop
        @(Get-SocketSession) | Should -BeNullOrEmpty
        $clients.State | Should -Not -Contain 'Open'
        # Passing a session object that is already gone again is not an error either.
        Remove-SocketSession $clients[0] -ErrorAction Stop
    }

    It 'lets the name be used again once removed' {
        $a = New-TcpListener -Name again
        $err = Get-ErrorOf { New-TcpListener -Name again }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DuplicateSessionName,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Remove-SocketSession again
        (New-TcpListener -Name again).Name | Should -Be 'again'
    }

    It 'makes a closed session refuse further use with SessionClosed or SessionNotFound' {
        $l = New-TcpListener
        $c = Connect-TcpSocket 127.0.0.1 $l.Port
        Remove-SocketSession $c
        $err = Get-ErrorOf { Send-SocketData $c 'x' }
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SessionNotFound,*'
    }
}

Describe 'Eight runspaces share one session set' {
    BeforeAll {
        $peerOnPort = Start-PeerOnFreePort { param($port) Start-Peer redis-server @('--port', "$port", '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no') }
        $redis = $peerOnPort.Process
        $port = $peerOnPort.Port
        $shared = Connect-TcpSocket 127.0.0.1 $port -Name shared-redis
        $module = Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'
    }
    AfterAll {
        Remove-AllSocketSessions
        Stop-Peer $redis
    }

    It 'serializes sends and receives of one session used from 8 runspaces at once' {
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $ErrorActionPreference = 'Stop'
            $replies = for ($i = 0; $i -lt 50; $i++) {
                Send-SocketData shared-redis "INCR counter`r`n"
                Receive-SocketData shared-redis -Line -Timeout 20
            }
            $replies
        }
        $results.Count | Should -Be 400
        $results | ForEach-Object { $_ | Should -Match '^:\d+$' }
        ($results | Sort-Object -Unique).Count | Should -Be 400
        Send-SocketData $shared "GET counter`r`n"
        Receive-SocketData $shared -Line -Count 2 -Timeout 5 | Should -Be @('$3', '400')
        $shared.Available | Should -Be 0
    }

    It 'sees sessions opened in other runspaces and uses its own in parallel' {
        1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $null = Connect-TcpSocket 127.0.0.1 $using:port -Name "par-$_"
        }
        $mine = @(Get-SocketSession -Name 'par-*')
        $mine.Count | Should -Be 8
        $out = $mine | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $s = $_
            Send-SocketData $s.Name "ECHO $($s.Name)`r`n"
            Receive-SocketData $s.Id -Line -Count 2 -Timeout 20 | Select-Object -Last 1
        }
        ($out | Sort-Object) | Should -Be (1..8 | ForEach-Object { "par-$_" } | Sort-Object)
    }
}

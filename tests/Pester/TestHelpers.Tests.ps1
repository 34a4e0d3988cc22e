# The helpers in common.ps1 that every test file relies on.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:SavedCI = $env:CI
    $script:SavedRequire = $env:PSSOCKET_REQUIRE_PEERS
    $script:Missing = 'pssocket-no-such-peer-' + [guid]::NewGuid().ToString('n')
}
AfterAll {
    $env:CI = $SavedCI
    $env:PSSOCKET_REQUIRE_PEERS = $SavedRequire
}

Describe 'Get-PeerSkipReason' {
    BeforeEach { $env:CI = $null; $env:PSSOCKET_REQUIRE_PEERS = $null }

    It 'returns nothing for a peer that is there (a command, a file, a probe)' {
        Get-PeerSkipReason python3 | Should -BeNullOrEmpty
        Get-PeerSkipReason 'the shell' -Path /bin/sh | Should -BeNullOrEmpty
        Get-PeerSkipReason 'a probe' -Probe { } | Should -BeNullOrEmpty
    }

    It 'names the missing peer and why when peers are not required (a skip)' {
        Get-PeerSkipReason $Missing | Should -Be "peer $Missing is missing: '$Missing' is not on PATH"
        Get-PeerSkipReason 'a daemon' -Path "/nonexistent/$Missing" | Should -Match 'peer a daemon is missing: /nonexistent/.* does not exist'
        Get-PeerSkipReason 'a probe' -Probe { 'the kernel says no' } | Should -Be 'peer a probe is missing: the kernel says no'
    }

    It 'throws instead (a failure) when CI is set or PSSOCKET_REQUIRE_PEERS=1' {
        $env:CI = 'true'
        { Get-PeerSkipReason $Missing } | Should -Throw "*peer $Missing is missing*peers are required here*"
        $env:CI = $null
        $env:PSSOCKET_REQUIRE_PEERS = '1'
        { Get-PeerSkipReason 'a probe' -Probe { 'the kernel says no' } } | Should -Throw '*the kernel says no*'
        Get-PeerSkipReason python3 | Should -BeNullOrEmpty
    }

    It 'fails a Describe block that needs a missing peer when peers are required, and skips it otherwise' {
        $file = Join-Path ([IO.Path]::GetTempPath()) "pspeer-$([guid]::NewGuid().ToString('n')).Tests.ps1"
        Set-Content $file @"
BeforeDiscovery { . '$(Join-Path $PSScriptRoot 'common.ps1')' }
Describe 'needs a peer' -Skip:([bool] (Get-PeerSkipReason '$Missing')) {
    It 'would talk to it' { `$true | Should -BeTrue }
}
Describe 'needs a peer, checked in the test' {
    BeforeAll { . '$(Join-Path $PSScriptRoot 'common.ps1')' }
    It 'would talk to it' {
        if (`$why = Get-PeerSkipReason '$Missing') { Set-ItResult -Skipped -Because `$why; return }
        `$true | Should -BeTrue
    }
}
"@
        try {
            $quiet = Invoke-Pester -Path $file -PassThru -Output None
            $quiet.SkippedCount | Should -Be 2
            $quiet.FailedCount + $quiet.FailedContainersCount | Should -Be 0

            $env:PSSOCKET_REQUIRE_PEERS = '1'
            $required = Invoke-Pester -Path $file -PassThru -Output None
            $required.PassedCount | Should -Be 0
            $required.SkippedCount | Should -Be 0
            ($required.FailedCount + $required.FailedContainersCount) | Should -BeGreaterThan 0
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }
}

Describe 'Start-PeerOnFreePort' {
    It 'starts a peer on a free port and returns it once it accepts' {
        $peer = Start-PeerOnFreePort { param($port) Start-Peer python3 @('-c', "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(5); time.sleep(60)") }
        try {
            $peer.Process.HasExited | Should -BeFalse
            $c = [System.Net.Sockets.TcpClient]::new()
            try { $c.Connect('127.0.0.1', $peer.Port); $c.Connected | Should -BeTrue } finally { $c.Dispose() }
        }
        finally { Stop-Peer $peer.Process }
    }

    It 'moves to a new port when the picked one was taken before the peer could bind it' {
        $script:taken = [System.Collections.Generic.List[object]]::new()
        try {
            $peer = Start-PeerOnFreePort {
                param($port)
                # The first port is taken by someone else in between (a listener of this test).
                if ($script:taken.Count -eq 0) {
                    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $port)
                    $l.Start()
                    $script:taken.Add($l)
                }
                Start-Peer python3 @('-c', "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(5); time.sleep(60)")
            }
            try {
                $peer.Port | Should -Not -Be $script:taken[0].LocalEndpoint.Port
                $peer.Process.HasExited | Should -BeFalse
            }
            finally { Stop-Peer $peer.Process }
        }
        finally { $script:taken | ForEach-Object Stop }
    }
}

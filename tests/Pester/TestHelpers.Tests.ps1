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

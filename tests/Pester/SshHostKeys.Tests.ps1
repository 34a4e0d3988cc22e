# Host key checking against a real sshd: strict by default and never a prompt. known_hosts files
# are written here the way OpenSSH writes them (ssh-keyscan, ssh-keygen -H for hashed names).
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'ssh.ps1')
    $script:NoPeer = Get-PeerSkipReason sshd -Path @('/usr/sbin/sshd') -Command @('ssh-keygen', 'ssh-keyscan', 'useradd')
    if (-not $NoPeer) {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-sshkeys-$PID"
        $script:User = Initialize-TestSshUser
        # One host key type, so "the key" of the server is one key.
        $script:Sshd = Start-TestSshd -Directory (Join-Path $Dir 'sshd') -HostKeyTypes ed25519 -ExtraConfig 'PrintMotd no'
        $script:Fingerprint = $Sshd.Fingerprints[0]
        $script:HostLine = "[127.0.0.1]:$($Sshd.Port) $((Get-Content $Sshd.HostKeys[0]) -replace ' pssocket-test-host$', '')"
        $script:Login = @{ Port = $Sshd.Port; Credential = $User.Credential }
    }

    function script:New-KnownHosts([string[]] $Lines) {
        $path = Join-Path $Dir "known_hosts_$([guid]::NewGuid().ToString('n'))"
        Set-Content -Path $path -Value $Lines -Encoding ascii
        $path
    }

    function script:Connect-Checked([hashtable] $Extra) {
        $e = $null
        $s = Connect-SshShell 127.0.0.1 @Login @Extra -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w -WarningAction SilentlyContinue
        [pscustomobject]@{ Session = $s; Error = $e; Warning = $w }
    }
}

AfterAll {
    Get-SocketSession | Remove-SocketSession
    if ($script:Sshd) { Stop-Peer $Sshd.Process }
    if ($script:Dir) { Remove-Item -Recurse -Force $Dir -ErrorAction Ignore }
}

Describe 'SSH host keys' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }
    AfterEach { Get-SocketSession | Remove-SocketSession }

    It 'refuses an unknown key with HostKeyUnknown, showing its SHA256 fingerprint and how to trust it' {
        $r = Connect-Checked @{ KnownHostsPath = (New-KnownHosts @()) }
        $r.Session | Should -BeNullOrEmpty
        $r.Error[0].FullyQualifiedErrorId | Should -Match '^HostKeyUnknown'
        $r.Error[0].CategoryInfo.Category | Should -Be 'SecurityError'
        "$($r.Error[0])" | Should -Match ([regex]::Escape($Fingerprint))
        "$($r.Error[0])" | Should -Match '-HostKeyFingerprint'
        "$($r.Error[0])" | Should -Match '-AcceptNewHostKey'
    }

    It 'trusts a key that known_hosts holds as [host]:port' {
        $r = Connect-Checked @{ KnownHostsPath = (New-KnownHosts '# a comment', '', $HostLine) }
        $r.Error | Should -BeNullOrEmpty
        $r.Session.HostKeyFingerprint | Should -Be $Fingerprint
    }

    It 'trusts a key under a hashed name (ssh-keygen -H)' {
        $path = New-KnownHosts $HostLine
        & ssh-keygen -q -H -f $path 2>&1 | Out-Null
        Get-Content $path | Should -Match '^\|1\|'
        (Connect-Checked @{ KnownHostsPath = $path }).Session.State | Should -Be 'Open'
    }

    It 'trusts a key pinned with -HostKeyFingerprint and refuses a fingerprint that does not match' {
        (Connect-Checked @{ KnownHostsPath = (New-KnownHosts @()); HostKeyFingerprint = 'SHA256:0000000000000000000000000000000000000000000', $Fingerprint }).Session.State | Should -Be 'Open'
        $r = Connect-Checked @{ KnownHostsPath = (New-KnownHosts @()); HostKeyFingerprint = 'SHA256:0000000000000000000000000000000000000000000' }
        $r.Error[0].FullyQualifiedErrorId | Should -Match '^HostKeyMismatch'
    }

    It 'refuses a changed key with HostKeyMismatch, even with -AcceptNewHostKey, and leaves the file alone' {
        $other = Join-Path $Dir "other_$([guid]::NewGuid().ToString('n'))"
        & ssh-keygen -q -t ed25519 -N '' -f $other
        $path = New-KnownHosts "[127.0.0.1]:$($Sshd.Port) $(Get-Content "$other.pub")"
        $before = Get-Content -Raw $path
        $r = Connect-Checked @{ KnownHostsPath = $path; AcceptNewHostKey = $true }
        $r.Error[0].FullyQualifiedErrorId | Should -Match '^HostKeyMismatch'
        "$($r.Error[0])" | Should -Match 'changed'
        Get-Content -Raw $path | Should -Be $before
    }

    It 'refuses a key marked @revoked' {
        $r = Connect-Checked @{ KnownHostsPath = (New-KnownHosts "@revoked * $((Get-Content $Sshd.HostKeys[0]))", $HostLine) }
        $r.Error[0].FullyQualifiedErrorId | Should -Match '^HostKeyMismatch'
        "$($r.Error[0])" | Should -Match 'revoked'
    }

    It '-AcceptNewHostKey trusts a new key and writes it to a new known_hosts file (0600) that ssh then accepts' {
        $path = Join-Path $Dir "new_$([guid]::NewGuid().ToString('n'))/known_hosts"
        (Connect-Checked @{ KnownHostsPath = $path; AcceptNewHostKey = $true }).Session.State | Should -Be 'Open'
        Test-Path $path | Should -BeTrue
        if (-not $IsWindows) { (& stat -c '%a' $path) | Should -Be '600' }
        # OpenSSH reads the line back: a strict ssh with only that file knows the host.
        (& ssh-keygen -F "[127.0.0.1]:$($Sshd.Port)" -f $path) -join ' ' | Should -Match 'ssh-ed25519'
        (Connect-Checked @{ KnownHostsPath = $path }).Session.State | Should -Be 'Open'
    }

    It '-SkipHostKeyCheck connects with a warning' {
        $r = Connect-Checked @{ KnownHostsPath = (New-KnownHosts @()); SkipHostKeyCheck = $true }
        $r.Session.State | Should -Be 'Open'
        "$($r.Warning)" | Should -Match 'not checked'
    }

    It 'rejects a -HostKeyFingerprint that is not a SHA256 fingerprint as misuse' {
        { Connect-SshShell 127.0.0.1 @Login -HostKeyFingerprint 'MD5:aa:bb' } | Should -Throw -ErrorId 'InvalidArgument*'
    }
}

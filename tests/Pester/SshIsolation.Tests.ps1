# PSSocket's SSH.NET lives in its own load context, so another module that ships a different
# Renci.SshNet (the way Posh-SSH does: loaded into the default context) works beside it, whichever
# is loaded first, and under ForEach-Object -Parallel. Each case runs in a fresh pwsh process.
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'ssh.ps1')
    $packages = (dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    $other = Join-Path $packages.Trim() 'ssh.net/2026.0.0/lib/netstandard2.0/Renci.SshNet.dll'
    $script:NoPeer = Get-PeerSkipReason sshd -Path @('/usr/sbin/sshd', $other) -Command @('ssh-keygen', 'useradd')
    if (-not $NoPeer) {
        $script:Dir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-sshiso-$PID"
        $script:User = Initialize-TestSshUser
        $script:Sshd = Start-TestSshd -Directory (Join-Path $Dir 'sshd') -HostKeyTypes ed25519 -ExtraConfig 'PrintMotd no'

        # The scratch module: another SSH.NET and its dependencies, loaded into the default context
        # by the module's manifest, and a function that really uses it.
        $scratch = New-Item -ItemType Directory -Force (Join-Path $Dir 'OtherSsh')
        Copy-Item $other $scratch
        Copy-Item (Join-Path $packages.Trim() 'bouncycastle.cryptography/2.7.0/lib/netstandard2.0/BouncyCastle.Cryptography.dll') $scratch
        Copy-Item (Join-Path $packages.Trim() 'microsoft.extensions.logging.abstractions/8.0.3/lib/netstandard2.0/Microsoft.Extensions.Logging.Abstractions.dll') $scratch
        Copy-Item (Join-Path $packages.Trim() 'microsoft.extensions.dependencyinjection.abstractions/8.0.2/lib/netstandard2.0/Microsoft.Extensions.DependencyInjection.Abstractions.dll') $scratch
        Set-Content (Join-Path $scratch 'OtherSsh.psm1') @'
function Invoke-OtherSsh([string] $HostName, [int] $Port, [string] $User, [string] $Password, [string] $Command) {
    $client = [Renci.SshNet.SshClient]::new($HostName, $Port, $User, $Password)
    try {
        $client.Connect()
        $result = $client.RunCommand($Command).Result.Trim()
        "$result by $([Renci.SshNet.SshClient].Assembly.GetName().Version)"
    }
    finally { $client.Dispose() }
}
'@
        Set-Content (Join-Path $scratch 'OtherSsh.psd1') "@{ ModuleVersion = '1.0'; RootModule = 'OtherSsh.psm1'; FunctionsToExport = 'Invoke-OtherSsh'; RequiredAssemblies = 'Microsoft.Extensions.DependencyInjection.Abstractions.dll', 'Microsoft.Extensions.Logging.Abstractions.dll', 'BouncyCastle.Cryptography.dll', 'Renci.SshNet.dll' }"
        $script:Scratch = Join-Path $scratch 'OtherSsh.psd1'

        $script:Prelude = @"
`$ErrorActionPreference = 'Stop'
`$cred = [pscredential]::new('$($User.Name)', (ConvertTo-SecureString '$($User.Password)' -AsPlainText -Force))
`$ours = { (Invoke-SshCommand 127.0.0.1 'echo ours' -Port $($Sshd.Port) -Credential `$cred -HostKeyFingerprint '$($Sshd.Fingerprints[0])').Output.Trim() }
`$theirs = { Invoke-OtherSsh 127.0.0.1 $($Sshd.Port) '$($User.Name)' '$($User.Password)' 'echo theirs' }
`$versions = { ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Renci.SshNet' } | ForEach-Object { `$_.GetName().Version.ToString() } | Sort-Object) -join ',' }
"@
    }

    function script:Invoke-Fresh([string] $Script) {
        $pwsh = @(Get-PwshCommand)
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command ($Prelude + "`n" + $Script) 2>&1 | ForEach-Object { "$_" }
    }
}

AfterAll {
    if ($script:Sshd) { Stop-Peer $Sshd.Process }
    if ($script:Dir) { Remove-Item -Recurse -Force $Dir -ErrorAction Ignore }
}

Describe 'Another module''s SSH.NET in the same PowerShell' {
    BeforeEach { if ($NoPeer) { Set-ItResult -Skipped -Because $NoPeer } }

    It 'works when the other SSH.NET (2026.0.0) is loaded first' {
        $out = Invoke-Fresh @"
Import-Module '$Scratch'
& `$theirs
Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'
& `$ours
& `$theirs
'versions=' + (& `$versions)
"@
        $out | Should -Contain 'theirs by 2026.0.0.1'
        $out | Should -Contain 'ours'
        $out | Should -Contain 'versions=2026.0.0.1,2026.0.1.1'
        ($out | Where-Object { $_ -match 'theirs by' }).Count | Should -Be 2
    }

    It 'works when PSSocket''s SSH.NET is loaded first' {
        $out = Invoke-Fresh @"
Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'
& `$ours
Import-Module '$Scratch'
& `$theirs
& `$ours
'versions=' + (& `$versions)
"@
        ($out | Where-Object { $_ -eq 'ours' }).Count | Should -Be 2
        $out | Should -Contain 'theirs by 2026.0.0.1'
        $out | Should -Contain 'versions=2026.0.0.1,2026.0.1.1'
    }

    It 'works under ForEach-Object -Parallel, each runspace importing both modules' {
        $out = Invoke-Fresh @"
`$results = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
    `$ErrorActionPreference = 'Stop'
    Import-Module '$Scratch'
    Import-Module '$env:PSSOCKET_MODULE/PSSocket.psd1'
    `$cred = [pscredential]::new('$($User.Name)', (ConvertTo-SecureString '$($User.Password)' -AsPlainText -Force))
    `$a = (Invoke-SshCommand 127.0.0.1 "echo run`$_" -Port $($Sshd.Port) -Credential `$cred -HostKeyFingerprint '$($Sshd.Fingerprints[0])').Output.Trim()
    `$b = Invoke-OtherSsh 127.0.0.1 $($Sshd.Port) '$($User.Name)' '$($User.Password)' "echo other`$_"
    "`$a `$b"
}
`$results | Sort-Object
'versions=' + (& `$versions)
"@
        foreach ($i in 1..4) { $out | Should -Contain "run$i other$i by 2026.0.0.1" }
        $out | Should -Contain 'versions=2026.0.0.1,2026.0.1.1'
    }
}

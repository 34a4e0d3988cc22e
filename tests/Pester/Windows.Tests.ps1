# What can be shown here of the Windows behaviour and of the Windows/macOS CI workflow.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
}

Describe 'Enter-SocketSession in a host without a console (like the Windows PowerShell ISE)' {
    BeforeAll {
        $script:Listener = New-TcpListener -Port 0
        $script:Client = Connect-TcpSocket 127.0.0.1 $Listener.Port -Timeout 10
    }
    AfterAll {
        $Client, $Listener | Where-Object { $_ } | Remove-SocketSession
    }

    It 'stops with ErrorId NoConsole and says where it works, instead of ending silently' {
        # A runspace of this process with no host of its own: PowerShell's default host, no console UI.
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($Module, $Id)
                    Import-Module $Module
                    try { Enter-SocketSession $Id; 'returned' } catch { $_ }
                }).AddArgument((Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')).AddArgument($Client.Id)
            $out = $ps.Invoke()
        }
        finally { $ps.Dispose() }
        $err = $out | Select-Object -First 1
        $err | Should -BeOfType System.Management.Automation.ErrorRecord
        $err.FullyQualifiedErrorId | Should -BeLike 'NoConsole,*'
        $err.CategoryInfo.Category | Should -Be ResourceUnavailable
        $err.Exception.Message | Should -Match 'console'
        $err.Exception.Message | Should -Match 'Send-SocketData'
        (Get-SocketSession -Id $Client.Id).State | Should -Be Open
    }
}

Describe 'The hosted CI workflow (.github/workflows/ci.yml)' {
    It 'is valid YAML with Windows PowerShell 5.1 and pwsh 7 on windows-latest, pwsh 7 on ubuntu-latest and macos-latest' {
        if ($why = Get-PeerSkipReason python3) { Set-ItResult -Skipped -Because $why; return }
        # PyYAML (Debian python3-yaml) is the parser; .ci/run installs it.
        $script = 'import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); d["on"] = d.pop(True, d.get("on")); print(json.dumps(d))'
        $json = python3 -c $script (Join-Path $RepoRoot '.github/workflows/ci.yml')
        $LASTEXITCODE | Should -Be 0
        $ci = $json | ConvertFrom-Json
        $ci.jobs.windows.'runs-on' | Should -Be 'windows-latest'
        $shells = @($ci.jobs.windows.steps | Where-Object { $_.PSObject.Properties['shell'] } | ForEach-Object shell)
        $shells | Should -Contain 'powershell'
        $shells | Should -Contain 'pwsh'
        $ci.jobs.unix.strategy.matrix.os | Should -Be @('ubuntu-latest', 'macos-latest')
        # Every Pester file the workflow names exists.
        $named = [regex]::Matches((Get-Content -Raw (Join-Path $RepoRoot '.github/workflows/ci.yml')), 'tests/Pester/[\w.]+\.ps1') | ForEach-Object Value | Sort-Object -Unique
        $named | Should -Not -BeNullOrEmpty
        $named | ForEach-Object { Join-Path $RepoRoot $_ | Should -Exist }
    }
}

Describe 'build.ps1 -Task Package -SigningCertificatePath' {
    It 'fails at once with the reason where Set-AuthenticodeSignature does not exist (Linux, macOS)' -Skip:([bool] (Get-Command Set-AuthenticodeSignature -ErrorAction Ignore)) {
        $pwsh = @(Get-PwshCommand)
        $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') -Task Package -SigningCertificatePath (Join-Path $TestDrive 'codesign.pfx') 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        ($out -join "`n") | Should -Match 'Signing needs Set-AuthenticodeSignature'
        ($out -join "`n") | Should -Not -Match '==> Build'
    }
}

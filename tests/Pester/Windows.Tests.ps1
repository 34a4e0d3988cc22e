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

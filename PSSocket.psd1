@{
    RootModule           = 'PSSocket.dll'
    ModuleVersion        = '0.0.0'  # stamped by build.ps1 from src/Directory.Build.props
    GUID                 = '5b0f3c4e-8d2a-4c7e-9a51-2f6c1d8e7b34'
    Author               = 'PSSocket contributors'
    CompanyName          = 'PSSocket'
    Copyright            = 'Copyright (c) 2026 The PSSocket authors. MIT License (see LICENSE).'
    Description          = 'Sockets as cmdlets: TCP sessions that live between pipeline calls, listeners, UDP datagrams, raw sockets, TLS and fast parallel port checks, with real objects, help and errors.'
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'
    RequiredAssemblies   = @('PSSocket.Core.dll')
    TypesToProcess       = @('PSSocket.Types.ps1xml')
    FormatsToProcess     = @('PSSocket.Format.ps1xml', 'PSSocket.Servers.Format.ps1xml')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'Connect-TcpSocket'
        'Connect-SshShell'
        'Invoke-SshCommand'
        'New-TcpListener'
        'Wait-TcpConnection'
        'Connect-UnixSocket'
        'New-UnixListener'
        'Send-SocketData'
        'Receive-SocketData'
        'Get-SocketSession'
        'Remove-SocketSession'
        'Start-SocketServer'
        'Start-SocketRelay'
        'Stop-SocketServer'
        'Stop-SocketRelay'
        'Wait-SocketServer'
        'Receive-SocketServerOutput'
        'Start-SocketTls'
        'Invoke-UdpSend'
        'New-UdpListener'
        'New-RawSocket'
        'Test-TcpPort'
        'Test-UdpPort'
        'Invoke-SocketConversation'
        'Enter-SocketSession'
        'Start-SocketTranscript'
        'Stop-SocketTranscript'
        'Invoke-DeviceCommand'
        'Get-DeviceProfile'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('socket', 'tcp', 'udp', 'tls', 'network', 'port', 'netcat', 'listener', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            # No LicenseUri or ProjectUri until the project has a public home: the MIT text ships
            # as LICENSE in the module folder and the package.
            ReleaseNotes = 'See the project README.'
        }
    }
}

<#
.SYNOPSIS
    The README's demo: a listener, a client, a short conversation, the session table, clean removal.
#>
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'PSSocket.psd1') -Force

function Show([string] $Text) { Write-Host "PS> $Text" -ForegroundColor Yellow }

Show '$listener = New-TcpListener -Port 0 -Name demo-listener'
$listener = New-TcpListener -Port 0 -Name demo-listener
Show "`$client = Connect-TcpSocket 127.0.0.1 $($listener.Port) -Name demo-client"
$client = Connect-TcpSocket 127.0.0.1 $listener.Port -Name demo-client
Show '$server = Wait-TcpConnection demo-listener -Timeout 5'
$server = Wait-TcpConnection demo-listener -Timeout 5

Show "Send-SocketData demo-client 'HELLO device' -Line"
Send-SocketData demo-client 'HELLO device' -Line
Show 'Receive-SocketData $server -Line'
Receive-SocketData $server -Line | Out-Host

Show "'220 ready', 'OK 1', 'OK 2' | Send-SocketData `$server -Line"
'220 ready', 'OK 1', 'OK 2' | Send-SocketData $server -Line
Show 'Receive-SocketData demo-client -Line -Count 3'
Receive-SocketData demo-client -Line -Count 3 | Out-Host

Show 'Get-SocketSession'
Get-SocketSession | Format-Table | Out-Host

Show 'Get-SocketSession | Remove-SocketSession'
Get-SocketSession | Remove-SocketSession
Show 'Get-SocketSession  # empty'
$left = @(Get-SocketSession).Count
Write-Host "$left sessions left"
if ($left -ne 0) { exit 1 }

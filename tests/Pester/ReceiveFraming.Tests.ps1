BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $script:SendBytes = Join-Path $PSScriptRoot 'peers/send-bytes.py'
    # Starts a python3 peer that sends these bytes to each client, and connects to it.
    # Each further piece comes 1 s after the one before.
    function Connect-BytePeer([byte[][]] $Pieces, [hashtable] $Options = @{}) {
        $hex = @($Pieces | ForEach-Object { -join ($_ | ForEach-Object { $_.ToString('x2') }) })
        $peer = Start-PeerOnFreePort { param($port) Start-Peer (Get-Command python3).Source (@($SendBytes, $port) + $hex) }
        $script:peers += $peer.Process
        Connect-TcpSocket 127.0.0.1 $peer.Port @Options
    }
    $script:peers = @()
}

AfterAll {
    Remove-AllSocketSessions
    $peers | Stop-Peer
}

Describe 'Receive-SocketData -Pattern gives the bytes as they arrived' {
    It 'returns FF 41 78 for a match on Ax with -AsBytes, not a replacement character' {
        $s = Connect-BytePeer (, [byte[]](0xFF, 0x41, 0x78, 0x7A))
        $got = Receive-SocketData $s -Pattern 'Ax' -AsBytes -Timeout 10
        ($got | ForEach-Object { $_.ToString('X2') }) -join ' ' | Should -Be 'FF 41 78'
        Receive-SocketData $s -Count 1 -AsBytes -Timeout 10 | Should -Be 0x7A
    }

    It 'writes the raw bytes (escape sequences included) to -Path even with -StripAnsi, as its help says' {
        $raw = [Text.Encoding]::ASCII.GetBytes("`e[1mok`e[0m>tail")
        $s = Connect-BytePeer (, $raw)
        $file = Join-Path $TestDrive 'prompt.bin'
        Receive-SocketData $s -Pattern 'ok>' -StripAnsi -Path $file -Timeout 10
        [IO.File]::ReadAllBytes($file) | Should -Be $raw[0..10]
        Receive-SocketData $s -Count 4 -Timeout 10 | Should -Be 'tail'
    }

    It 'still outputs the clean text of a -StripAnsi match' {
        $s = Connect-BytePeer (, [Text.Encoding]::ASCII.GetBytes("`e[1mok`e[0m>"))
        Receive-SocketData $s -Pattern 'ok>' -StripAnsi -Timeout 10 | Should -Be 'ok>'
    }
}

Describe 'NewLine Any: the LF of a CRLF split after a -Line read' {
    It 'is dropped for a -Count read too: -Line reads "one\r", then -Count 2 on "\nAB" gives 41 42' {
        $s = Connect-BytePeer ([Text.Encoding]::ASCII.GetBytes("one`r"), [Text.Encoding]::ASCII.GetBytes("`nAB")) @{ NewLine = 'Any' }
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'one'
        $two = Receive-SocketData $s -Count 2 -AsBytes -Timeout 10
        ($two | ForEach-Object { $_.ToString('X2') }) -join ' ' | Should -Be '41 42'
    }

    It 'is dropped for a -Path read too' {
        $s = Connect-BytePeer ([Text.Encoding]::ASCII.GetBytes("one`r"), [Text.Encoding]::ASCII.GetBytes("`nAB")) @{ NewLine = 'Any' }
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'one'
        $file = Join-Path $TestDrive 'after-cr.bin'
        Receive-SocketData $s -Count 2 -Path $file -Timeout 10
        [IO.File]::ReadAllText($file) | Should -Be 'AB'
    }

    It 'gives no empty line when two runspaces read the lines of one session in turn' {
        $s = Connect-BytePeer ([Text.Encoding]::ASCII.GetBytes("one`r"), [Text.Encoding]::ASCII.GetBytes("`ntwo`r`n")) @{ NewLine = 'Any' }
        Receive-SocketData $s -Line -Timeout 10 | Should -Be 'one'
        $other = New-ModulePowerShell
        try {
            $null = $other.AddScript({ param($id) Receive-SocketData $id -Line -Timeout 10 }).AddArgument($s.Id)
            $other.Invoke() | Should -Be 'two'
        }
        finally { $other.Dispose() }
    }
}

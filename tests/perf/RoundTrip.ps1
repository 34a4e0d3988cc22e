<#
.SYNOPSIS
    Line round trips against an echo peer: 20,000 x (Send-SocketData -Line, Receive-SocketData -Line)
    against the same loop with raw .NET StreamWriter/StreamReader in this pwsh; and a pipeline form,
    200,000 lines piped into one Send-SocketData -Line and read back with one Receive-SocketData -Line -Count.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Messages = 20000, [int] $PipelineLines = 200000, [int] $Repeat = 3)
. (Join-Path $PSScriptRoot '_common.ps1')

$port = Get-FreeTcpPort
$peer = Start-Peer python3 (Join-Path $PSScriptRoot '_echo.py'), $port
Wait-TcpPort $port
$line = 'x' * 15   # 16 bytes with the newline

$worker = [powershell]::Create()
$null = $worker.AddScript("Import-Module '$(Join-Path $ModulePath 'PSSocket.psd1')'").Invoke()

function Invoke-Reader([scriptblock] $Read, [object[]] $ReadArgs, [scriptblock] $Write) {
    $worker.Commands.Clear()
    $null = $worker.AddScript($Read)
    foreach ($a in $ReadArgs) { $null = $worker.AddArgument($a) }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $h = $worker.BeginInvoke()
    & $Write
    $got = $worker.EndInvoke($h) | Select-Object -Last 1
    $sw.Stop()
    if ($worker.HadErrors) { throw "reader failed: $($worker.Streams.Error | Select-Object -First 1)" }
    if ($got -ne $PipelineLines) { throw "read back $got of $PipelineLines lines" }
    $sw.Elapsed.TotalSeconds
}

$roundTrip = [ordered]@{
    'PSSocket' = {
        $s = Connect-TcpSocket 127.0.0.1 $port -NoDelay
        try {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $Messages; $i++) {
                Send-SocketData $s $line -Line
                $null = Receive-SocketData $s -Line
            }
            $sw.Elapsed.TotalSeconds
        }
        finally { Remove-SocketSession $s }
    }
    'raw .NET StreamReader' = {
        $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port)
        $c.NoDelay = $true
        try {
            $ns = $c.GetStream()
            $w = [IO.StreamWriter]::new($ns, [Text.UTF8Encoding]::new($false)); $w.AutoFlush = $true; $w.NewLine = "`n"
            $r = [IO.StreamReader]::new($ns, [Text.UTF8Encoding]::new($false))
            $sw = [Diagnostics.Stopwatch]::StartNew()
            for ($i = 0; $i -lt $Messages; $i++) {
                $w.WriteLine($line)
                $null = $r.ReadLine()
            }
            $sw.Elapsed.TotalSeconds
        }
        finally { $c.Dispose() }
    }
}

$pipeline = [ordered]@{
    'PSSocket pipeline' = {
        $s = Connect-TcpSocket 127.0.0.1 $port
        try {
            Invoke-Reader -ReadArgs $s.Id, $PipelineLines -Read {
                param($id, $n)
                @(Receive-SocketData $id -Line -Count $n -Timeout 60).Count
            } -Write {
                1..$PipelineLines | ForEach-Object { $line } | Send-SocketData $s -Line
            }
        }
        finally { Remove-SocketSession $s }
    }
    'raw .NET pipeline' = {
        $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port)
        try {
            $ns = $c.GetStream()
            Invoke-Reader -ReadArgs $ns, $PipelineLines -Read {
                param($ns, $n)
                $r = [IO.StreamReader]::new($ns, [Text.UTF8Encoding]::new($false))
                $lines = [System.Collections.Generic.List[string]]::new()
                while ($lines.Count -lt $n -and $null -ne ($l = $r.ReadLine())) { $lines.Add($l) }
                $lines.Count
            } -Write {
                $w = [IO.StreamWriter]::new($ns, [Text.UTF8Encoding]::new($false)); $w.NewLine = "`n"
                1..$PipelineLines | ForEach-Object { $line } | ForEach-Object { $w.WriteLine($_) }
                $w.Flush()
            }
        }
        finally { $c.Dispose() }
    }
}

try {
    Write-Host "round trip: $Messages x 16-byte line, $Repeat rounds"
    $samples = Invoke-Alternating $roundTrip -Repeat $Repeat -Warmup
    Write-BenchResult -Name 'RoundTrip' -Samples $samples -Ours 'PSSocket' -References 'raw .NET StreamReader' `
        -Figure { param($s) $Messages / $s.Seconds } -Unit 'round trips/s' -HigherIsBetter -Targets @{ 'raw .NET StreamReader' = 0.5 }
    Write-Host "pipeline: $PipelineLines lines through one Send-SocketData and one Receive-SocketData"
    $samples = Invoke-Alternating $pipeline -Repeat $Repeat -Warmup
    Write-BenchResult -Name 'PipelineLines' -Samples $samples -Ours 'PSSocket pipeline' -References 'raw .NET pipeline' `
        -Figure { param($s) $PipelineLines / $s.Seconds } -Unit 'lines/s' -HigherIsBetter -Targets @{ 'raw .NET pipeline' = 0.8 }
}
finally {
    $worker.Dispose()
    Stop-Peer $peer
}

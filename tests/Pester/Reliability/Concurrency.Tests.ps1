# Reliability: many runspaces share the process-wide registry while one enumerates it.
# PSSocket-Tests: serial (32 runspaces of heavy traffic: alone, so other files keep their timing)
BeforeAll {
    . (Join-Path $PSScriptRoot '_reliability.ps1')
    $script:manifest = Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'
}

Describe 'Concurrent runspaces' {
    AfterAll {
        Remove-AllSocketSessions
        Stop-FaultPeer $script:peer
    }

    It '32 runspaces exchange 1,000 messages each while another enumerates Get-SocketSession' {
        $script:peer = Start-FaultPeer echo
        Remove-AllSocketSessions
        $state = [hashtable]::Synchronized(@{ Done = $false; Enumerations = 0; Errors = [Collections.ArrayList]::Synchronized([Collections.ArrayList]::new()) })
        $enumRs = [powershell]::Create()
        $null = $enumRs.AddScript({
                param($manifest, $state)
                Import-Module $manifest
                $n = 0
                while (-not $state.Done -and $n -lt 1000000) {
                    try {
                        foreach ($s in Get-SocketSession) { $null = $s.State, $s.Available, $s.BytesReceived }
                        $null = @(Get-SocketSession -Kind Tcp -State Open)
                    }
                    catch { $null = $state.Errors.Add("enum: $_") }
                    $n++
                }
                $state.Enumerations = $n
            }).AddArgument($manifest).AddArgument($state)
        $h = $enumRs.BeginInvoke()
        $port = $peer.Port
        $manifest = $script:manifest
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $results = 1..32 | ForEach-Object -ThrottleLimit 32 -Parallel {
            Import-Module $using:manifest
            $w = $_
            $bad = 0
            $errs = @()
            try {
                $s = Connect-TcpSocket 127.0.0.1 $using:port -Timeout 10 -Name "worker$w"
                foreach ($batch in 0..19) {
                    $msgs = foreach ($i in 1..50) { "w$w m$($batch * 50 + $i) ü✓" }
                    $msgs | Send-SocketData $s -Line
                    $back = @(Receive-SocketData $s -Line -Count 50 -Timeout 20)
                    for ($i = 0; $i -lt 50; $i++) { if ($back[$i] -ne $msgs[$i]) { $bad++ } }
                }
                Remove-SocketSession $s
            }
            catch { $errs += "$w $($_.FullyQualifiedErrorId): $_" }
            [pscustomobject]@{ Worker = $w; Bad = $bad; Errors = $errs }
        }
        $sw.Stop()
        $state.Done = $true
        $null = $enumRs.EndInvoke($h)
        $enumErrors = @($enumRs.Streams.Error.ReadAll())
        $enumRs.Dispose()
        $results.Count | Should -Be 32
        @($results | Where-Object Bad).Count | Should -Be 0
        @($results.Errors) | Should -BeNullOrEmpty
        @($state.Errors) | Should -BeNullOrEmpty
        $enumErrors | Should -BeNullOrEmpty
        $state.Enumerations | Should -BeGreaterThan 0
        @(Get-SocketSession).Count | Should -Be 0
        Write-Host "    32x1000 messages in $([int]$sw.Elapsed.TotalSeconds) s; $($state.Enumerations) enumerations"
    }
}

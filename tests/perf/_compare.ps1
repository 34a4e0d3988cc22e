# build.ps1 -Task Bench -Compare: the table of one benchmark's runs for two builds.
# Every figure is a median over the rounds; every ratio is a ratio of times (or CPU seconds),
# lower is faster: "this tree / ref" for each case (on a case that does not run PSSocket, such as
# nmap or socat, it shows the noise of the run), and "PSSocket / reference" for each build.

function Get-CompareMedian([double[]] $Values) {
    if (-not $Values.Count) { return $null }
    $s = @($Values | Sort-Object)
    $n = $s.Count
    if ($n % 2) { $s[[int][Math]::Floor($n / 2)] } else { ($s[$n / 2 - 1] + $s[$n / 2]) / 2 }
}

function Format-Ratio($Numerator, $Denominator) {
    if ($null -eq $Numerator -or $null -eq $Denominator -or $Denominator -le 0) { return '-' }
    '{0:0.00}x' -f ($Numerator / $Denominator)
}

function Write-BenchComparison {
    param([object[]] $Runs, [string[]] $Builds, [string] $Load, [string] $ResultsDir)
    $mine, $base = $Builds
    foreach ($group in ($Runs | Group-Object { $_.Record.name })) {
        $name = $group.Name
        $ours = $group.Group[0].Record.ours
        $caseNames = @($group.Group | ForEach-Object { $_.Record.cases.case } | Select-Object -Unique)
        # Case -> build -> medians of wall and CPU seconds.
        $m = [ordered]@{}
        foreach ($c in $caseNames) {
            $m[$c] = @{}
            foreach ($b in $Builds) {
                $rows = @($group.Group | Where-Object Build -eq $b | ForEach-Object { $_.Record.cases | Where-Object case -eq $c })
                $m[$c][$b] = @{
                    Seconds = Get-CompareMedian ([double[]] @($rows | ForEach-Object seconds | Where-Object { $null -ne $_ }))
                    Cpu     = Get-CompareMedian ([double[]] @($rows | ForEach-Object cpuSeconds | Where-Object { $null -ne $_ }))
                    Runs    = $rows.Count
                }
            }
        }
        Write-Host ''
        Write-Host "== ${name}: $mine against $base (medians of $($m[$ours][$mine].Runs) and $($m[$ours][$base].Runs) runs; $Load)" -ForegroundColor Cyan
        Write-Host ('  {0,-44} {1,9} {2,9} {3,7}   {4,8} {5,8} {6,7}' -f 'case (seconds)', 'this', 'ref', 'ratio', 'CPU this', 'CPU ref', 'ratio')
        foreach ($c in $m.Keys) {
            $a = $m[$c][$mine]; $b = $m[$c][$base]
            Write-Host ('  {0,-44} {1,9:0.000} {2,9:0.000} {3,7}   {4,8:0.00} {5,8:0.00} {6,7}' -f $c, $a.Seconds, $b.Seconds, (Format-Ratio $a.Seconds $b.Seconds), $a.Cpu, $b.Cpu, (Format-Ratio $a.Cpu $b.Cpu))
        }
        Write-Host ("  {0}: {1} / {2}: wall {3}, CPU {4}" -f $ours, $mine, $base, (Format-Ratio $m[$ours][$mine].Seconds $m[$ours][$base].Seconds), (Format-Ratio $m[$ours][$mine].Cpu $m[$ours][$base].Cpu))
        foreach ($c in $caseNames | Where-Object { $_ -ne $ours }) {
            # A reference does not depend on the build: its runs of both are pooled.
            $rows = @($group.Group | ForEach-Object { $_.Record.cases | Where-Object case -eq $c })
            $refWall = Get-CompareMedian ([double[]] @($rows | ForEach-Object seconds | Where-Object { $null -ne $_ }))
            $refCpu = Get-CompareMedian ([double[]] @($rows | ForEach-Object cpuSeconds | Where-Object { $null -ne $_ }))
            Write-Host ("  {0} / {1}: wall {2} ({3}) {4} ({5}); CPU {6} ({3}) {7} ({5})" -f $ours, $c,
                (Format-Ratio $m[$ours][$mine].Seconds $refWall), $mine, (Format-Ratio $m[$ours][$base].Seconds $refWall), $base,
                (Format-Ratio $m[$ours][$mine].Cpu $refCpu), (Format-Ratio $m[$ours][$base].Cpu $refCpu))
        }
        $file = Join-Path $ResultsDir "Compare-$name.json"
        New-Item -ItemType Directory -Force $ResultsDir | Out-Null
        [ordered]@{ name = $name; ours = $ours; builds = $Builds; load = $Load; medians = $m; at = (Get-Date).ToString('o') } |
            ConvertTo-Json -Depth 6 | Set-Content $file -Encoding utf8NoBOM
    }
}

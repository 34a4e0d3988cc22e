<#
.SYNOPSIS
    Import-Module PSSocket in a fresh pwsh (median of 10) against a bare `pwsh -NoProfile -c exit`.
#>
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Repeat = 10)
. (Join-Path $PSScriptRoot '_common.ps1')

$exe = [Environment]::ProcessPath
$prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME "pwsh.dll" })
$manifest = Join-Path $ModulePath 'PSSocket.psd1'

function Measure-Pwsh([string] $Command) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = & $exe @prefix -NoProfile -NonInteractive -Command $Command 2>&1
    if ($LASTEXITCODE -ne 0) { throw "pwsh -c '$Command' exited ${LASTEXITCODE}: $out" }
    $sw.Elapsed.TotalSeconds
}

$cases = [ordered]@{
    'pwsh + Import-Module PSSocket' = { Measure-Pwsh "Import-Module '$manifest'; exit" }
    'bare pwsh' = { Measure-Pwsh 'exit' }
}
Write-Host "import: $Repeat rounds"
$samples = Invoke-Alternating $cases -Repeat $Repeat
$ours = Get-Median ([double[]]@($samples['pwsh + Import-Module PSSocket'] | ForEach-Object Seconds))
$bare = Get-Median ([double[]]@($samples['bare pwsh'] | ForEach-Object Seconds))
$over = ($ours - $bare) * 1000
Write-BenchResult -Name 'Import' -Samples $samples -Ours 'pwsh + Import-Module PSSocket' -References 'bare pwsh' `
    -Extra @{ 'import cost over bare pwsh (ms)' = '{0:0} (target <= 150: {1})' -f $over, $(if ($over -le 150) { 'met' } else { 'NOT met' }) }

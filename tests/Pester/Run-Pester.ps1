<#
.SYNOPSIS
    Runs Pester in this fresh pwsh against the built module; build.ps1 -Task Test calls it.
#>
param(
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string[]] $Path,
    [Parameter(Mandatory)] [string] $SummaryPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force
$env:PSSOCKET_MODULE = $ModulePath

$config = New-PesterConfiguration
# build.ps1 passes several paths as one argument joined with the path separator (pwsh -File takes one string per parameter).
$config.Run.Path = @($Path | ForEach-Object { $_ -split [regex]::Escape([IO.Path]::PathSeparator) } | Where-Object { $_ })
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $config

$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
[pscustomobject]@{
    Passed  = $result.PassedCount
    Failed  = $failed
    Skipped = $result.SkippedCount
} | ConvertTo-Json | Set-Content -Path $SummaryPath -Encoding utf8NoBOM

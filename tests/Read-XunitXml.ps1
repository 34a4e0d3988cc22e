<#
.SYNOPSIS
    Reads the counts of an xunit (v2) XML result file, and says when the file cannot be trusted.
.DESCRIPTION
    tests/Invoke-MonoTest.ps1 uses it. A file is trusted when its assembly element carries the
    counts (total, passed, failed, skipped) and they add up, and it lists no runner error. The xunit
    console runner can end with a fatal error after the last test (seen: AppDomainUnloadedException
    on Mono); it then writes an assembly element without counts, which read naively is 0 passed and
    0 failed, a silent pass.
.OUTPUTS
    [pscustomobject] Passed, Failed, Skipped, Problem (null when the file is trusted)
#>
[CmdletBinding()]
param([Parameter(Mandatory)] [string] $XmlPath)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$result = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; Problem = $null }
$a = ([xml] (Get-Content -Raw $XmlPath)).SelectSingleNode('/assemblies/assembly')
if (-not $a) {
    $result.Problem = "the result file names no test assembly ($XmlPath)"
    return $result
}

# GetAttribute: the assembly element also has an <errors> child.
$result.Passed = [int] $a.GetAttribute('passed')
$result.Failed = [int] $a.GetAttribute('failed') + [int] $a.GetAttribute('errors')
$result.Skipped = [int] $a.GetAttribute('skipped')
$fatal = @($a.SelectNodes('errors/error') | ForEach-Object {
        $f = $_.SelectSingleNode('failure')
        "$($_.GetAttribute('type')) error: $(if ($f) { $f.GetAttribute('exception-type') } else { 'no details' })"
    })
if (-not $a.HasAttribute('total')) {
    $result.Problem = "the runner wrote no counts ($(if ($fatal) { $fatal -join '; ' } else { 'no error named' }))"
}
elseif ([int] $a.GetAttribute('total') -ne $result.Passed + [int] $a.GetAttribute('failed') + $result.Skipped) {
    $result.Problem = "the counts do not add up: total $($a.GetAttribute('total')), passed $($result.Passed), failed $($a.GetAttribute('failed')), skipped $($result.Skipped)"
}
elseif ($fatal -and $result.Failed -eq 0) {
    $result.Problem = "the runner reported $($fatal -join '; ')"
}
$result

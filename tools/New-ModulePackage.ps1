<#
.SYNOPSIS
    Packs the built module folder into <OutputPath>/<Name>.<Version>.nupkg with Compress-PSResource.
.DESCRIPTION
    Compress-PSResource (Microsoft.PowerShell.PSResourceGet, part of the pinned PowerShell) makes
    the package Publish-PSResource would publish: the module files at the package root (so
    Install-PSResource and Save-PSResource unpack them into <Name>/<Version>/) and a nuspec made
    from the module manifest. It validates the manifest first; a manifest with errors makes no
    package. The module folder is staged under its own name, as Compress-PSResource expects.
.EXAMPLE
    ./tools/New-ModulePackage.ps1 -ModulePath out/PSSocket/0.1.0 -OutputPath out
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    # Outputs the package file.
    [switch] $PassThru
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$ModulePath = (Resolve-Path $ModulePath).Path
# The module manifest is the .psd1 named after its folder's module (DeviceProfiles.psd1 is data).
$manifest = Get-ChildItem $ModulePath -Filter '*.psd1' | Where-Object { $_.Name -ne 'DeviceProfiles.psd1' } | Select-Object -First 1
if (-not $manifest) { throw "No module manifest in $ModulePath" }
if (-not (Test-Path (Join-Path $ModulePath 'LICENSE'))) { throw "No LICENSE in ${ModulePath}: build the module with build.ps1" }

$stage = Join-Path ([IO.Path]::GetTempPath()) "pssocket-pack-$([guid]::NewGuid().ToString('n'))"
$folder = Join-Path $stage $manifest.BaseName
try {
    New-Item -ItemType Directory -Force $folder | Out-Null
    Get-ChildItem $ModulePath | Copy-Item -Destination $folder -Recurse
    New-Item -ItemType Directory -Force $OutputPath | Out-Null
    $package = Compress-PSResource -Path $folder -DestinationPath (Resolve-Path $OutputPath).Path -PassThru
    Write-Information "Package: $($package.FullName)" -InformationAction Continue
    if ($PassThru) { $package }
}
finally {
    Remove-Item -Recurse -Force $stage -ErrorAction SilentlyContinue
}

<#
.SYNOPSIS
    Packs the built module folder into <OutputPath>/<Name>.<Version>.nupkg, the layout Publish-Module makes.
.DESCRIPTION
    A .nupkg is an OPC zip: the module files at the package root (as Publish-Module / Publish-PSResource
    lay them out, so Install-Module and Install-PSResource unpack them into <Name>/<Version>/), a
    <Name>.nuspec with the metadata taken from the module manifest, [Content_Types].xml, _rels/.rels
    and a core-properties part. Built with System.IO.Compression: no nuget.exe, no dotnet pack.
    The manifest is checked with Test-ModuleManifest first; a manifest with errors makes no package.
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
Add-Type -AssemblyName System.IO.Compression

$ModulePath = (Resolve-Path $ModulePath).Path
$manifestFile = Get-ChildItem $ModulePath -Filter '*.psd1' | Select-Object -First 1
if (-not $manifestFile) { throw "No module manifest in $ModulePath" }
$name = $manifestFile.BaseName

$module = Test-ModuleManifest $manifestFile.FullName -ErrorAction Stop
$data = Import-PowerShellDataFile $manifestFile.FullName
$psData = $data.PrivateData.PSData
$version = $module.Version.ToString()
if ($psData.ContainsKey('Prerelease') -and $psData.Prerelease) { $version += "-$($psData.Prerelease)" }

# The tags PowerShellGet adds when it publishes, so Find-Module -Command/-Tag work on this package.
$tags = [System.Collections.Generic.List[string]]::new()
$tags.Add('PSModule')
foreach ($t in @($psData.Tags)) { if ($t -and -not $tags.Contains($t)) { $tags.Add($t) } }
foreach ($e in @($data.CompatiblePSEditions)) { if ($e -and -not $tags.Contains("PSEdition_$e")) { $tags.Add("PSEdition_$e") } }
$cmdlets = @($data.CmdletsToExport | Where-Object { $_ -and $_ -ne '*' })
if ($cmdlets) { $tags.Add('PSIncludes_Cmdlet') }
foreach ($c in $cmdlets) { $tags.Add("PSCmdlet_$c"); $tags.Add("PSCommand_$c") }

$projectUrl = if ($psData.ContainsKey('ProjectUri') -and $psData.ProjectUri) { $psData.ProjectUri } else { 'https://example.invalid/project' }
$releaseNotes = if ($psData.ContainsKey('ReleaseNotes')) { $psData.ReleaseNotes } else { '' }

function ConvertTo-XmlText([string] $s) { [System.Security.SecurityElement]::Escape($s) }

$nuspec = @"
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd">
  <metadata>
    <id>$(ConvertTo-XmlText $name)</id>
    <version>$(ConvertTo-XmlText $version)</version>
    <authors>$(ConvertTo-XmlText $data.Author)</authors>
    <owners>$(ConvertTo-XmlText $data.CompanyName)</owners>
    <requireLicenseAcceptance>false</requireLicenseAcceptance>
    <license type="expression">MIT</license>
    <projectUrl>$(ConvertTo-XmlText $projectUrl)</projectUrl>
    <description>$(ConvertTo-XmlText $data.Description)</description>
    <releaseNotes>$(ConvertTo-XmlText $releaseNotes)</releaseNotes>
    <copyright>$(ConvertTo-XmlText $data.Copyright)</copyright>
    <tags>$(ConvertTo-XmlText ($tags -join ' '))</tags>
  </metadata>
</package>
"@

$coreId = [guid]::NewGuid().ToString('n')
$corePath = "package/services/metadata/core-properties/$coreId.psmdcp"
$core = @"
<?xml version="1.0" encoding="utf-8"?>
<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">
  <dc:creator>$(ConvertTo-XmlText $data.Author)</dc:creator>
  <dc:description>$(ConvertTo-XmlText $data.Description)</dc:description>
  <dc:identifier>$(ConvertTo-XmlText $name)</dc:identifier>
  <version>$(ConvertTo-XmlText $version)</version>
  <keywords>$(ConvertTo-XmlText ($tags -join ' '))</keywords>
  <lastModifiedBy>New-ModulePackage.ps1</lastModifiedBy>
</coreProperties>
"@

$rels = @"
<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/$name.nuspec" Id="R$([guid]::NewGuid().ToString('n').Substring(0, 16))" />
  <Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="/$corePath" Id="R$([guid]::NewGuid().ToString('n').Substring(0, 16))" />
</Relationships>
"@

$files = Get-ChildItem $ModulePath -Recurse -File | Sort-Object FullName
$extensions = @($files | ForEach-Object { $_.Extension.TrimStart('.').ToLowerInvariant() } | Where-Object { $_ } | Sort-Object -Unique)
$types = [System.Text.StringBuilder]::new()
[void] $types.AppendLine('<?xml version="1.0" encoding="utf-8"?>')
[void] $types.AppendLine('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">')
[void] $types.AppendLine('  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />')
[void] $types.AppendLine('  <Default Extension="nuspec" ContentType="application/octet" />')
[void] $types.AppendLine('  <Default Extension="psmdcp" ContentType="application/vnd.openxmlformats-package.core-properties+xml" />')
foreach ($x in $extensions | Where-Object { $_ -notin 'rels', 'nuspec', 'psmdcp' }) {
    [void] $types.AppendLine("  <Default Extension=`"$x`" ContentType=`"application/octet`" />")
}
[void] $types.AppendLine('</Types>')

New-Item -ItemType Directory -Force $OutputPath | Out-Null
$package = Join-Path (Resolve-Path $OutputPath).Path "$name.$version.nupkg"
if (Test-Path $package) { Remove-Item -Force $package }
$utf8 = [System.Text.UTF8Encoding]::new($false)
$zip = [System.IO.Compression.ZipFile]::Open($package, [System.IO.Compression.ZipArchiveMode]::Create)
try {
    $addText = {
        param([string] $EntryName, [string] $Text)
        $entry = $zip.CreateEntry($EntryName, [System.IO.Compression.CompressionLevel]::Optimal)
        $s = $entry.Open()
        try { $b = $utf8.GetBytes($Text); $s.Write($b, 0, $b.Length) } finally { $s.Dispose() }
    }
    & $addText '_rels/.rels' $rels
    & $addText "$name.nuspec" $nuspec
    & $addText $corePath $core
    foreach ($f in $files) {
        $rel = [IO.Path]::GetRelativePath($ModulePath, $f.FullName).Replace('\', '/')
        [void] [System.IO.Compression.ZipFileExtensions]::CreateEntryFromFile($zip, $f.FullName, $rel, [System.IO.Compression.CompressionLevel]::Optimal)
    }
    & $addText '[Content_Types].xml' $types.ToString()
}
finally { $zip.Dispose() }

Write-Host "    package: $package"
if ($PassThru) { Get-Item $package }

# build.ps1 -Task Package: the .nupkg Compress-PSResource makes (what Publish-PSResource publishes), installable from a folder feed.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    Add-Type -AssemblyName System.IO.Compression
    $script:Manifest = Import-PowerShellDataFile (Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1')
    $script:Feed = Join-Path $TestDrive 'feed'
    $script:Package = & (Join-Path $RepoRoot 'tools/New-ModulePackage.ps1') -ModulePath $env:PSSOCKET_MODULE -OutputPath $Feed -PassThru 6>$null
    $zip = [System.IO.Compression.ZipFile]::OpenRead($Package.FullName)
    try {
        $script:Entries = @($zip.Entries.FullName)
        $r = [IO.StreamReader]::new($zip.GetEntry('PSSocket.nuspec').Open())
        try { [xml] $script:Nuspec = $r.ReadToEnd() } finally { $r.Dispose() }
    }
    finally { $zip.Dispose() }
    $script:Meta = $Nuspec.package.metadata
}

Describe 'The module package' {
    It 'is named after the module and its version' {
        $Package.Name | Should -Be "PSSocket.$($Manifest.ModuleVersion).nupkg"
    }

    It 'has the module files at the package root' {
        foreach ($f in 'PSSocket.psd1', 'PSSocket.dll', 'PSSocket.Core.dll', 'PSSocket.Format.ps1xml', 'PSSocket.Servers.Format.ps1xml', 'PSSocket.Types.ps1xml', 'en-US/PSSocket.dll-Help.xml', 'en-US/about_PSSocket.help.txt') {
            $Entries | Should -Contain $f
        }
    }

    It 'has the OPC parts NuGet expects' {
        $Entries | Should -Contain 'PSSocket.nuspec'
        $Entries | Should -Contain '[Content_Types].xml'
        $Entries | Should -Contain '_rels/.rels'
        $Entries | Where-Object { $_ -like 'package/services/metadata/core-properties/*.psmdcp' } | Should -HaveCount 1
    }

    It 'describes the module in the nuspec from its manifest' {
        $Meta.id | Should -Be 'PSSocket'
        $Meta.version | Should -Be $Manifest.ModuleVersion
        $Meta.authors | Should -Be $Manifest.Author
        $Meta.description | Should -Be $Manifest.Description
        $Meta.copyright | Should -Be $Manifest.Copyright
        $Meta.SelectSingleNode('*[local-name()="dependencies"]') | Should -BeNullOrEmpty
    }

    It 'carries the manifest tags and the tags PowerShellGet adds' {
        $tags = $Meta.tags -split ' '
        foreach ($t in $Manifest.PrivateData.PSData.Tags) { $tags | Should -Contain $t }
        $tags | Should -Contain 'PSModule'
    }

    It 'ships the MIT license text of the repository' {
        $Entries | Should -Contain 'LICENSE'
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Package.FullName)
        try {
            $r = [IO.StreamReader]::new($zip.GetEntry('LICENSE').Open())
            try { $text = $r.ReadToEnd() } finally { $r.Dispose() }
        }
        finally { $zip.Dispose() }
        $text | Should -Match '^MIT License'
        $text | Should -Match 'Copyright \(c\) 2026 The PSSocket authors'
        $text | Should -Be (Get-Content -Raw (Join-Path $RepoRoot 'LICENSE'))
    }

    It 'points at no placeholder address, in the package or anywhere in the repository' {
        $Manifest.PrivateData.PSData.Keys | Should -Not -Contain 'ProjectUri'
        $Manifest.PrivateData.PSData.Keys | Should -Not -Contain 'LicenseUri'
        $Nuspec.OuterXml | Should -Not -Match 'example\.invalid'
        $files = @(git -C $RepoRoot ls-files) | Where-Object { $_ -notmatch '^tests/Pester/Package\.Tests\.ps1$' }
        $files | Should -Not -BeNullOrEmpty
        $hits = @($files | ForEach-Object { Join-Path $RepoRoot $_ } | Where-Object { Test-Path $_ -PathType Leaf } |
            Select-String -Pattern 'example\.invalid' -List | ForEach-Object { "$($_.Path):$($_.LineNumber)" })
        $hits | Should -BeNullOrEmpty
    }

    It 'has a manifest that Test-ModuleManifest accepts' {
        $dir = Join-Path $TestDrive 'unzipped/PSSocket'
        [System.IO.Compression.ZipFile]::ExtractToDirectory($Package.FullName, $dir)
        $m = Test-ModuleManifest (Join-Path $dir 'PSSocket.psd1') -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad | Should -BeNullOrEmpty
        $m.Version.ToString() | Should -Be $Manifest.ModuleVersion
        @($m.ExportedCmdlets.Keys) | Should -Be @($Manifest.CmdletsToExport)
    }

    It 'installs from a folder feed with Save-PSResource and imports in a fresh pwsh with help' -Skip:([bool] (Get-PeerSkipReason Save-PSResource)) {
        $repo = "pssocket-test-$PID"
        $dest = Join-Path $TestDrive 'installed'
        New-Item -ItemType Directory -Force $dest | Out-Null
        Register-PSResourceRepository -Name $repo -Uri $Feed -Trusted
        try {
            Save-PSResource -Name PSSocket -Repository $repo -Path $dest -TrustRepository -SkipDependencyCheck
        }
        finally { Unregister-PSResourceRepository -Name $repo }
        $psd1 = Join-Path $dest "PSSocket/$($Manifest.ModuleVersion)/PSSocket.psd1"
        $psd1 | Should -Exist
        $pwsh = Get-PwshCommand
        $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command "Import-Module '$psd1'; (Get-Command -Module PSSocket).Count; (Get-Help Connect-TcpSocket).Synopsis"
        $LASTEXITCODE | Should -Be 0
        [int] $out[0] | Should -Be $Manifest.CmdletsToExport.Count
        # Without MAML, Get-Help makes a synopsis out of the syntax, which starts with the name.
        $out[1] | Should -Not -BeNullOrEmpty
        $out[1] | Should -Not -Match '^\s*Connect-TcpSocket'
    }
}

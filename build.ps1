#Requires -Version 7.2
<#
.SYNOPSIS
    The one entry point for building, testing, documenting, benchmarking and packaging PSSocket.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Bench', 'Demo', 'Package', 'Stress')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester test files or folders to run (default: all of tests/Pester).
    [string[]] $PesterPath,

    # Benchmarks to run (file names under tests/perf without .ps1; default: all).
    [string[]] $Bench,

    # Bench: a git ref (commit, branch, tag) to measure against. It is built in its own git
    # worktree under out/compare/, and each benchmark runs once per build and round, the two
    # builds alternating, so a change is judged against its base at the same minute.
    [string] $Compare,

    # Bench -Compare: rounds per build (the medians are over these).
    [ValidateRange(1, 20)]
    [int] $Rounds = 3,

    # Test: run the tests while this many CPU-burning processes compete (a loaded machine).
    [ValidateRange(0, 64)]
    [int] $Load = 0,

    # Package: sign the module files with this code-signing certificate (a PFX file) before
    # packing them, for machines whose execution policy is AllSigned. Windows only.
    [string] $SigningCertificatePath,

    # The PFX password, if it has one.
    [securestring] $SigningCertificatePassword
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$PesterVersion = '6.2.0'
# The console runner that runs the engine tests on Mono (restored by the test project).
$XunitConsoleVersion = '2.4.1'

function Get-ModuleVersion {
    [xml] $props = Get-Content -Raw (Join-Path $Root 'src/Directory.Build.props')
    $props.Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
}

function Get-ModuleOutput {
    Join-Path $Root "out/PSSocket/$(Get-ModuleVersion)"
}

# The pwsh running this script, as a command line that starts a fresh one (works for the
# dotnet local tool, where the host is dotnet and pwsh is a dll).
function Get-PwshCommand {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        return @($exe, (Join-Path $PSHOME 'pwsh.dll'))
    }
    @($exe)
}

# Ends the build with this exit code (the only way build.ps1 exits early, so a stop can be told apart).
function Exit-Build {
    param([int] $Code)
    $script:Ended = $true
    exit $Code
}

# Runs a child process on this console and returns its exit code ($null when it ran past
# -TimeoutSeconds). It waits in short steps, so Ctrl+C stops the build at once; a child still
# running then (or past its time) is ended together with every process it started (test hosts,
# Pester workers and the peers their tests run), so nothing of the run is left behind. The call
# operator would neither return on a SIGINT sent to this process alone nor end the grandchildren.
function Invoke-Child {
    param([string[]] $Command, [string] $WorkingDirectory = $Root, [int] $TimeoutSeconds = 0)
    $psi = [Diagnostics.ProcessStartInfo]::new($Command[0])
    foreach ($a in @($Command | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = $WorkingDirectory
    $p = [Diagnostics.Process]::Start($psi)
    try {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not $p.WaitForExit(200)) {
            if ($TimeoutSeconds -gt 0 -and $clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { return $null }
        }
        $p.WaitForExit()
        $p.ExitCode
    }
    finally {
        if (-not $p.HasExited) {
            $p.Kill($true)
            $null = $p.WaitForExit(10000)
        }
        $p.Dispose()
    }
}


function Invoke-Build {
    # The help first: a broken page fails the build at once, before the compile.
    $help = Invoke-Docs
    Write-Host "==> Build ($Configuration)" -ForegroundColor Cyan
    foreach ($project in 'src/PSSocket/PSSocket.csproj', 'src/PSSocket.Ssh/PSSocket.Ssh.csproj') {
        $code = Invoke-Child @('dotnet', 'build', (Join-Path $Root $project), '-c', $Configuration, '--nologo', '-v:q', '-clp:NoSummary')
        if ($code -ne 0) { throw "dotnet build of $project failed with exit code $code" }
    }
    $bin = Join-Path $Root "src/PSSocket/bin/$Configuration/netstandard2.0"
    $out = Get-ModuleOutput
    if (Test-Path $out) { Remove-Item -Recurse -Force $out }
    New-Item -ItemType Directory -Force $out | Out-Null
    foreach ($f in 'PSSocket.dll', 'PSSocket.Core.dll', 'PSSocket.Format.ps1xml', 'PSSocket.Servers.Format.ps1xml', 'PSSocket.Types.ps1xml', 'DeviceProfiles.psd1', 'PSSocket.pdb', 'PSSocket.Core.pdb') {
        Copy-Item (Join-Path $bin $f) $out
    }
    $manifest = Get-Content -Raw (Join-Path $Root 'PSSocket.psd1')
    $manifest = $manifest -replace "ModuleVersion\s*=\s*'[^']*'[^\r\n]*", "ModuleVersion        = '$(Get-ModuleVersion)'"
    Set-Content -Path (Join-Path $out 'PSSocket.psd1') -Value $manifest -Encoding utf8NoBOM
    Copy-Item (Join-Path $Root 'LICENSE') $out
    # SSH.NET and its dependencies go into ssh/, which PowerShell does not probe: the module loads
    # them on the first SSH call into their own load context (SshAssembly.cs), never at import.
    $ssh = New-Item -ItemType Directory -Force (Join-Path $out 'ssh')
    Get-ChildItem (Join-Path $Root "src/PSSocket.Ssh/bin/$Configuration/netstandard2.0") -File |
        Where-Object { $_.Extension -in '.dll', '.pdb' -and $_.BaseName -ne 'PSSocket.Core' } |
        Copy-Item -Destination $ssh
    Move-Item $help (Join-Path $out 'en-US')
    Write-Host "    module: $out"
}

# Turns docs/en-US/*.md into the MAML help and about topics Get-Help reads, in a staging folder
# (returned). The module is not built without its help: a converter that is missing, that throws
# or that reports an error, or no help file at the end, fails the build here with what went wrong.
function Invoke-Docs {
    Write-Host '==> Docs (docs/en-US -> MAML help)' -ForegroundColor Cyan
    $converter = Join-Path $Root 'tools/ConvertTo-Maml.ps1'
    $docs = Join-Path $Root 'docs/en-US'
    $staging = Join-Path $Root 'out/help-staging'
    if (Test-Path $staging) { Remove-Item -Recurse -Force $staging }
    $problem = $null
    if (-not (Test-Path $converter)) { $problem = 'tools/ConvertTo-Maml.ps1 is missing' }
    elseif (-not (Get-ChildItem $docs -Filter *.md -ErrorAction Ignore)) { $problem = 'docs/en-US holds no pages' }
    else {
        $reported = $null
        try { & $converter -DocsPath $docs -OutputPath $staging -ModuleName PSSocket -ErrorVariable reported }
        catch { $problem = "$_" }
        if (-not $problem -and $reported) { $problem = ($reported | ForEach-Object { "$_" }) -join '; ' }
        if (-not $problem -and -not (Test-Path (Join-Path $staging 'PSSocket.dll-Help.xml'))) { $problem = 'the converter wrote no PSSocket.dll-Help.xml' }
    }
    if ($problem) {
        Write-Host "FAILED: the help could not be made from docs/en-US, so the module is not built: $problem" -ForegroundColor Red
        Exit-Build 1
    }
    $staging
}

function Get-NuGetPackagePath {
    param([string] $RelativePath)
    $globalPackages = (dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    Join-Path $globalPackages.Trim() $RelativePath
}

function Get-PesterModulePath {
    Get-NuGetPackagePath "pester/$PesterVersion/tools/Pester.psd1"
}

# The Mono run's time limit: about ten times a quiet run (25 s on 2 cores), times how crowded the
# machine is: N -Load burners on C cores leave the tests about C/(N+C) of it, and a shared machine's
# load average says the same (measured here: 228 s at a load average of 60 on 2 cores). At most
# eight times, so a hang is still stopped within 32 minutes.
function Get-MonoTimeLimit {
    $cores = [Environment]::ProcessorCount
    $crowd = 1 + $Load / $cores
    if (Test-Path /proc/loadavg) {
        $average = [double]::Parse(((Get-Content /proc/loadavg) -split ' ')[0], [cultureinfo]::InvariantCulture)
        $crowd = [math]::Max($crowd, $average / $cores)
    }
    [int] [math]::Ceiling(240 * [math]::Min(8, $crowd))
}

# The engine's xunit tests on Mono, the stand-in here for .NET Framework (where Windows
# PowerShell 5.1 runs the same netstandard2.0 engine): the net472 build of the test project, run
# by the xunit console runner that the project restores (tests/Invoke-MonoTest.ps1). Returns
# Passed, Failed and Skipped; no mono, a failed build, a run past its time limit or no result file
# is one failure, never a pass.
function Invoke-MonoTest {
    param([int] $TimeoutSeconds = (Get-MonoTimeLimit))
    Write-Host '==> xunit on Mono (tests/PSSocket.Core.Tests, net472)' -ForegroundColor Cyan
    $failure = [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 }
    if (-not (Get-Command mono -CommandType Application -ErrorAction Ignore)) {
        Write-Host 'mono is not installed (Debian: apt-get install mono-runtime mono-devel): counted as one failure' -ForegroundColor Red
        return $failure
    }
    $project = Join-Path $Root 'tests/PSSocket.Core.Tests/PSSocket.Core.Tests.csproj'
    dotnet build $project -c $Configuration -f net472 --nologo -v:q -clp:NoSummary | Out-Host
    if ($LASTEXITCODE -ne 0) {
        Write-Host 'the net472 test build failed: counted as one failure' -ForegroundColor Red
        return $failure
    }
    $runner = Get-NuGetPackagePath "xunit.runner.console/$XunitConsoleVersion/tools/net472/xunit.console.exe"
    $assembly = Join-Path $Root "tests/PSSocket.Core.Tests/bin/$Configuration/net472/PSSocket.Core.Tests.dll"
    & (Join-Path $Root 'tests/Invoke-MonoTest.ps1') -Assembly $assembly -Runner $runner -XmlPath (Join-Path $Root 'out/TestResults/mono.xml') -TimeoutSeconds $TimeoutSeconds
}

# Starts N processes that each keep one CPU busy; each also ends by itself once this build is gone.
function Start-CpuLoad {
    param([int] $Count)
    $burn = "`$i = 0; while (`$true) { if ((++`$i % 500000) -eq 0 -and -not (Get-Process -Id $PID -ErrorAction Ignore)) { break } }"
    $pwsh = @(Get-PwshCommand)
    foreach ($n in 1..$Count) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $burn)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        [System.Diagnostics.Process]::Start($psi)
    }
}

function Stop-CpuLoad {
    param([System.Diagnostics.Process[]] $Process)
    foreach ($p in $Process) {
        try { if (-not $p.HasExited) { $p.Kill(); $null = $p.WaitForExit(10000) } }
        catch { Write-Host "load process $($p.Id): $_" }
        $p.Dispose()
    }
}

function Invoke-Test {
    Invoke-Build
    $passed = 0; $failed = 0; $skipped = 0
    $burners = @()
    if ($Load -gt 0) {
        $burners = @(Start-CpuLoad $Load)
        Write-Host "==> Load: $Load CPU-burning processes ($(($burners | ForEach-Object Id) -join ', ')), stopped at the end" -ForegroundColor Cyan
    }
    try {
        Write-Host '==> xunit (tests/PSSocket.Core.Tests)' -ForegroundColor Cyan
        $project = Join-Path $Root 'tests/PSSocket.Core.Tests/PSSocket.Core.Tests.csproj'
        $xunit = & (Join-Path $Root 'tests/Invoke-DotnetTest.ps1') -Project $project -Configuration $Configuration -ResultsDirectory (Join-Path $Root 'out/TestResults')
        $passed += $xunit.Passed; $failed += $xunit.Failed; $skipped += $xunit.Skipped
        foreach ($p in $xunit.Problems) { Write-Host "xunit run not trusted, counted as one failure: $p" -ForegroundColor Red }

        $mono = Invoke-MonoTest
        $passed += $mono.Passed; $failed += $mono.Failed; $skipped += $mono.Skipped

        # A failing check, not a test: it fails the task without entering the counts.
        Write-Host '==> dotnet format --verify-no-changes (style and analyzers)' -ForegroundColor Cyan
        $formatFailed = (Invoke-Child @('dotnet', 'format', (Join-Path $Root 'PSSocket.sln'), '--verify-no-changes')) -ne 0
        if ($formatFailed) { Write-Host 'dotnet format found changes to make (run: dotnet format PSSocket.sln)' -ForegroundColor Red }

        Write-Host '==> Pester (tests/Pester)' -ForegroundColor Cyan
        $pester = Get-PesterModulePath
        if (-not (Test-Path $pester)) { throw "Pester $PesterVersion was not restored to $pester" }
        $resultFile = Join-Path $Root 'out/pester-summary.json'
        Remove-Item $resultFile -ErrorAction SilentlyContinue
        $paths = if ($PesterPath) { $PesterPath | ForEach-Object { $_ -split "," } | Where-Object { $_ } | ForEach-Object { (Resolve-Path $_).Path } } else { @(Join-Path $Root 'tests/Pester') }
        $runner = Join-Path $Root 'tests/Pester/Run-Pester.ps1'
        $pwsh = @(Get-PwshCommand)
        $null = Invoke-Child ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $runner, '-PesterModule', $pester, '-ModulePath', (Get-ModuleOutput), '-Path', ($paths -join [IO.Path]::PathSeparator), '-SummaryPath', $resultFile))
        if (Test-Path $resultFile) {
            $s = Get-Content -Raw $resultFile | ConvertFrom-Json
            $passed += $s.Passed; $failed += $s.Failed; $skipped += $s.Skipped
        }
        else {
            Write-Host 'Pester produced no summary: counted as one failure' -ForegroundColor Red
            $failed++
        }
    }
    finally {
        if ($burners) { Stop-CpuLoad $burners }
    }

    $line = "$passed passed, $failed failed"
    if ($skipped) { $line += ", $skipped skipped" }
    # The counts stay the last line; a failed format check is said just before them.
    if ($formatFailed) { Write-Host 'FAILED: dotnet format --verify-no-changes (not a test: not in the counts)' -ForegroundColor Red }
    Write-Host ''
    Write-Host $line
    if ($failed -gt 0 -or $formatFailed) { Exit-Build 1 }
}

function Invoke-Demo {
    Invoke-Build
    Write-Host '==> Demo' -ForegroundColor Cyan
    $pwsh = @(Get-PwshCommand)
    $code = Invoke-Child ($pwsh + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'tools/Demo.ps1'), '-ModulePath', (Get-ModuleOutput)))
    if ($code -ne 0) { Exit-Build $code }
}

function Invoke-Bench {
    Invoke-Build
    $perf = Join-Path $Root 'tests/perf'
    $scripts = Get-ChildItem $perf -Filter '*.ps1' | Where-Object { $_.Name -notlike '_*' -and (-not $Bench -or $_.BaseName -in $Bench) }
    if ($Compare) { return Invoke-BenchCompare $scripts }
    $pwsh = @(Get-PwshCommand)
    foreach ($s in $scripts) {
        Write-Host "==> Bench $($s.BaseName)" -ForegroundColor Cyan
        $code = Invoke-Child ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $s.FullName, '-ModulePath', (Get-ModuleOutput)))
        if ($code -ne 0) { Write-Host "bench $($s.BaseName) exited with $code" -ForegroundColor Red }
    }
}

# Builds -Compare's commit with its own build.ps1 in a git worktree (out/compare/<commit>, kept
# for the next run) and returns the module folder it laid out.
function Get-CompareModule {
    $commit = & git -C $Root rev-parse --verify --quiet "$Compare^{commit}"
    if ($LASTEXITCODE -ne 0 -or -not $commit) { throw "-Compare '$Compare' is not a commit, branch or tag of this repository." }
    $dir = Join-Path $Root "out/compare/$($commit.Substring(0, 12))"
    $built = "$dir.built"
    if (-not (Test-Path $built)) {
        Write-Host "==> Build $Compare ($($commit.Substring(0, 12))) in $dir" -ForegroundColor Cyan
        if (Test-Path $dir) { $null = & git -C $Root worktree remove --force $dir 2>&1; Remove-Item -Recurse -Force $dir -ErrorAction Ignore }
        $null = & git -C $Root worktree prune 2>&1
        $null = & git -C $Root worktree add --detach $dir $commit 2>&1
        if ($LASTEXITCODE -ne 0) { throw "git worktree add $dir $Compare failed" }
        $code = Invoke-Child (@(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $dir 'build.ps1'), '-Task', 'Build', '-Configuration', $Configuration)) -WorkingDirectory $dir
        if ($code -ne 0) { throw "the build of $Compare failed with exit code $code" }
        Set-Content $built $commit
    }
    $module = Get-ChildItem (Join-Path $dir 'out/PSSocket') -Directory | Select-Object -First 1
    if (-not $module -or -not (Test-Path (Join-Path $module.FullName 'PSSocket.psd1'))) { throw "the build of $Compare laid out no module under $dir/out/PSSocket" }
    $module.FullName
}

# -Compare: every benchmark runs -Rounds times for each build, alternating (this tree first in odd
# rounds, the ref first in even ones), each run with -Repeat 1 where the benchmark has it; every
# run appends its results to a record file (PSSOCKET_BENCH_RECORD, see tests/perf/_common.ps1)
# that Write-BenchComparison reads.
function Invoke-BenchCompare($Scripts) {
    $builds = [ordered]@{ 'this tree' = (Get-ModuleOutput); $Compare = (Get-CompareModule) }
    . (Join-Path $Root 'tests/perf/_compare.ps1')
    $recordDir = New-Item -ItemType Directory -Force (Join-Path $Root "out/compare/records-$PID")
    $pwsh = @(Get-PwshCommand)
    $load = { if (Test-Path /proc/loadavg) { "load average $(((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ')" } else { '' } }
    foreach ($s in $Scripts) {
        $repeat = @(if ((Get-Command $s.FullName).Parameters.ContainsKey('Repeat')) { '-Repeat', '1' })
        $runs = [System.Collections.Generic.List[object]]::new()
        $loadBefore = & $load
        for ($r = 1; $r -le $Rounds; $r++) {
            $order = @($builds.Keys)
            if ($r % 2 -eq 0) { [array]::Reverse($order) }
            foreach ($b in $order) {
                Write-Host "==> Bench $($s.BaseName), round $r of $Rounds, $b" -ForegroundColor Cyan
                $file = Join-Path $recordDir "$($s.BaseName)-$r-$(if ($b -eq 'this tree') { 'this' } else { 'ref' }).jsonl"
                $env:PSSOCKET_BENCH_RECORD = $file
                try { $code = Invoke-Child ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $s.FullName, '-ModulePath', $builds[$b]) + $repeat) }
                finally { $env:PSSOCKET_BENCH_RECORD = $null }
                if ($code -ne 0) { Write-Host "bench $($s.BaseName) ($b) exited with $code" -ForegroundColor Red }
                if (Test-Path $file) {
                    foreach ($line in Get-Content $file) { $runs.Add([pscustomobject]@{ Build = $b; Record = ($line | ConvertFrom-Json) }) }
                }
            }
        }
        Write-BenchComparison -Runs $runs -Builds @($builds.Keys) -Load "before: $loadBefore; after: $(& $load)" -ResultsDir (Join-Path $Root 'tests/perf/results')
    }
}

function Invoke-Stress {
    Invoke-Build
    $script = Join-Path $Root 'tests/perf/_Stress.ps1'
    if (-not (Test-Path $script)) { throw 'tests/perf/_Stress.ps1 is missing' }
    $pwsh = @(Get-PwshCommand)
    $code = Invoke-Child ($pwsh + @('-NoProfile', '-NonInteractive', '-File', $script, '-ModulePath', (Get-ModuleOutput)))
    if ($code -ne 0) { Exit-Build $code }
}

# Authenticode signing of the built module; Assert-CanSign fails before any work where it cannot sign.
function Assert-CanSign {
    if (-not $SigningCertificatePath) { return }
    if (-not (Get-Command Set-AuthenticodeSignature -ErrorAction Ignore)) {
        throw "Signing needs Set-AuthenticodeSignature, which PowerShell has only on Windows: run build.ps1 -Task Package -SigningCertificatePath there, or package unsigned here."
    }
    if (-not (Test-Path $SigningCertificatePath)) { throw "The signing certificate '$SigningCertificatePath' does not exist." }
}

function Invoke-Signing {
    if (-not $SigningCertificatePath) { return }
    $cert = [Security.Cryptography.X509Certificates.X509Certificate2]::new((Resolve-Path $SigningCertificatePath).Path, $SigningCertificatePassword)
    $files = Get-ChildItem (Get-ModuleOutput) -Recurse -Include *.psd1, *.ps1xml, *.dll
    $bad = $files | Set-AuthenticodeSignature -Certificate $cert | Where-Object Status -ne 'Valid'
    if ($bad) { throw "Signing failed for: $(($bad | ForEach-Object { "$($_.Path) ($($_.StatusMessage))" }) -join '; ')" }
}

function Invoke-Package {
    Assert-CanSign
    Invoke-Build
    Invoke-Signing
    $script = Join-Path $Root 'tools/New-ModulePackage.ps1'
    if (-not (Test-Path $script)) { throw 'tools/New-ModulePackage.ps1 is missing' }
    & $script -ModulePath (Get-ModuleOutput) -OutputPath (Join-Path $Root 'out')
}

# A run stopped by Ctrl+C ends with 130 (128 + SIGINT, as a shell reports it), never with the 0
# pwsh would give it: a stop is whatever reaches the finally without the tasks ending, failing
# or exiting (Exit-Build). `exit` is ignored there in a stopping advanced script, so the process is
# ended directly - only when it was started for this script (pwsh ./build.ps1), never a session
# that ran it.
$script:Ended = $false
$ownProcess = @([Environment]::GetCommandLineArgs() | Where-Object { $_ -like '*build.ps1' -and [IO.Path]::GetFullPath($_) -eq $PSCommandPath }).Count -gt 0
try {
    foreach ($t in $Task) {
        switch ($t) {
            'Build' { Invoke-Build }
            'Docs' { Invoke-Build }
            'Test' { Invoke-Test }
            'Demo' { Invoke-Demo }
            'Bench' { Invoke-Bench }
            'Stress' { Invoke-Stress }
            'Package' { Invoke-Package }
        }
    }
    $script:Ended = $true
}
catch {
    $script:Ended = $true
    throw
}
finally {
    if (-not $script:Ended) {
        [Console]::Error.WriteLine('build.ps1 was stopped (Ctrl+C)')
        if ($ownProcess) { [Environment]::Exit(130) }
    }
}

# The docs cannot rot: every exported cmdlet and parameter is documented (and nothing else),
# Get-Help in a fresh pwsh shows what the markdown says, and every example marked
# <!-- runnable --> runs against loopback peers started here (convention: docs/README.md).
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $docsDir = Join-Path $RepoRoot 'docs/en-US'
    $converter = Join-Path $RepoRoot 'tools/ConvertTo-Maml.ps1'
    $docs = @{}
    foreach ($d in & $converter -DocsPath $docsDir -OutputPath ([IO.Path]::GetTempPath()) -ModuleName PSSocket -PassThru) { $docs[$d.Name] = $d }

    $cmdletCases = foreach ($c in (Get-Module PSSocket).ExportedCmdlets.Values | Sort-Object Name) {
        @{ Name = $c.Name; Doc = $docs[$c.Name]; DocPath = Join-Path $docsDir "$($c.Name).md" }
    }

    # Runnable examples: the first code fence after a <!-- runnable --> line, in any doc or the README.
    $files = @(Get-ChildItem $docsDir -Filter '*.md') + @(Get-Item (Join-Path $RepoRoot 'README.md'))
    $runnableCases = foreach ($f in $files) {
        $lines = [IO.File]::ReadAllLines($f.FullName)
        $heading = ''
        $armed = $false
        for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -match '^#+\s+(.+)$' -and -not $armed) { $heading = $Matches[1] }
            # <!-- runnable -->, <!-- runnable: text => replacement | text => replacement -->
            # or <!-- runnable setup: code run first -->
            if ($lines[$i] -match '^\s*<!--\s*runnable\b(.*?)-->\s*$') {
                $armed = $true; $markerLine = $i + 1
                $rest = $Matches[1].Trim()
                $setup = ''
                $replace = @()
                if ($rest -match '^setup:(.*)$') { $setup = $Matches[1].Trim() }
                elseif ($rest -match '^:(.*)$') {
                    $replace = @(foreach ($pair in ($Matches[1] -split ' \| ' | Where-Object { $_.Trim() })) {
                            $from, $to = $pair -split ' => ', 2
                            , @($from.Trim(), $to.Trim())
                        })
                }
                continue
            }
            if ($armed -and $lines[$i] -match '^\s*```') {
                $code = [System.Collections.Generic.List[string]]::new()
                for ($i++; $i -lt $lines.Count -and $lines[$i] -notmatch '^\s*```'; $i++) { $code.Add($lines[$i]) }
                $text = $code -join "`n"
                foreach ($r in $replace) { $text = $text.Replace($r[0], $r[1]) }
                if ($setup) { $text = $setup + "`n" + $text }
                @{ File = $f.Name; Line = $markerLine; Title = $heading; Code = $text }
                $armed = $false
            }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')
    . (Join-Path $PSScriptRoot 'remoting.ps1')
    $script:DocsDir = Join-Path $RepoRoot 'docs/en-US'
    $script:Common = @([System.Management.Automation.PSCmdlet]::CommonParameters) + @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)
    $script:Optional = @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)

    # Peers for runnable examples, started on first use and stopped in AfterAll.
    $script:Peers = @{}
    $script:PeerProcs = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    # As if installed: runspaces the examples start (ForEach-Object -Parallel, thread jobs)
    # autoload the module from PSModulePath (out/PSSocket/<version>/PSSocket.psd1).
    $moduleBase = Split-Path (Split-Path $env:PSSOCKET_MODULE)
    if (($env:PSModulePath -split [IO.Path]::PathSeparator) -notcontains $moduleBase) {
        $env:PSModulePath = $moduleBase + [IO.Path]::PathSeparator + $env:PSModulePath
    }
    $script:TempDir = Join-Path ([IO.Path]::GetTempPath()) "pssocket-docs-$PID"
    New-Item -ItemType Directory -Force $TempDir | Out-Null

    function script:Get-DocPeer([string] $Variable) {
        if ($Peers.ContainsKey($Variable)) { return $Peers[$Variable] }
        switch ($Variable) {
            'Port' {
                # A line echo: every connection gets its own cat.
                $p = Get-FreeTcpPort
                $PeerProcs.Add((Start-Peer ncat @('-lk', '127.0.0.1', "$p", '-e', '/bin/cat')))
                Wait-TcpPort $p
            }
            'FreePort' { $p = Get-FreeTcpPort }
            'SocksPort' {
                $p = Get-FreeTcpPort
                $PeerProcs.Add((Start-Peer microsocks @('-i', '127.0.0.1', '-p', "$p")))
                Wait-TcpPort $p
            }
            'SwitchPort' {
                $p = Get-FreeTcpPort
                $script = Join-Path $TempDir 'fake-switch.py'
                Set-Content $script -Encoding utf8NoBOM -Value $FakeSwitch
                $PeerProcs.Add((Start-Peer python3 @($script, "$p")))
                Wait-TcpPort $p
            }
            'Credential' {
                $p = [pscredential]::new('netops', (ConvertTo-SecureString 'lab-password' -AsPlainText -Force))
            }
            'UdpPort' {
                $p = Get-FreeUdpPort
                $PeerProcs.Add((Start-Peer socat @("UDP4-RECVFROM:$p,bind=127.0.0.1,fork", 'EXEC:cat')))
                Wait-UdpEcho $p
            }
            'RedisPort' {
                $p = Get-FreeTcpPort
                $PeerProcs.Add((Start-Peer redis-server @('--port', "$p", '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no')))
                Wait-TcpPort $p
            }
            'TlsPort' {
                $p = Get-FreeTcpPort
                $key = Join-Path $TempDir 'tls.key'; $crt = Join-Path $TempDir 'tls.crt'
                if (-not (Test-Path $crt)) {
                    & openssl req -x509 -newkey rsa:2048 -nodes -keyout $key -out $crt -days 30 -subj '/CN=localhost' 2>$null
                    if ($LASTEXITCODE) { throw 'openssl could not make a test certificate' }
                }
                $PeerProcs.Add((Start-Peer openssl @('s_server', '-accept', "127.0.0.1:$p", '-cert', $crt, '-key', $key, '-www', '-quiet')))
                Wait-TcpPort $p
            }
            'DnsPort' {
                $p = Get-FreeUdpPort
                $PeerProcs.Add((Start-Peer dnsmasq @('--keep-in-foreground', '--no-daemon', "--port=$p", '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--user=root')))
                Wait-UdpBound $p
            }
            'SshRemoting' {
                # PowerShell remoting over SSH to this machine, with PSSocket installed there from its package.
                $dir = Join-Path $TempDir 'ssh'
                $peer = Start-SshRemotingPeer -Directory $dir
                $PeerProcs.Add($peer.Process)
                New-ModuleFeed -FeedPath (Join-Path $dir 'feed')
                $null = Install-RemotePSSocket -Peer $peer -FeedPath (Join-Path $dir 'feed')
                $p = $peer.Ssh
            }
            default { throw "no doc peer for `$$Variable" }
        }
        $Peers[$Variable] = $p
        $p
    }

    # A switch CLI over telnet-like TCP: login prompts, a hostname prompt, a few show commands.
    $script:FakeSwitch = @'
import socket, sys, threading
VERSION = "Cisco IOS Software, C2960X Software, Version 15.2(4)E10, RELEASE SOFTWARE (fc2)\r\nsw01 uptime is 3 weeks, 2 days, 4 hours\r\n"
STATUS = "Port      Name    Status       Vlan\r\nGi1/0/1   uplink  connected    trunk\r\nGi1/0/2           notconnect   10\r\n"
def readline(f):
    line = f.readline()
    if not line:
        raise EOFError
    return line.decode("utf-8", "replace").strip()
def serve(c):
    f = c.makefile("rb")
    try:
        c.sendall(b"\r\nUser Access Verification\r\n\r\nUsername: ")
        readline(f)
        c.sendall(b"Password: ")
        readline(f)
        c.sendall(b"\r\nsw01>")
        while True:
            cmd = readline(f)
            if cmd in ("exit", "quit"):
                break
            out = {"show version": VERSION, "show interfaces status": STATUS, "terminal length 0": "", "enable": ""}.get(cmd, "% Invalid input detected at '^' marker.\r\n")
            c.sendall(cmd.encode() + b"\r\n" + out.encode() + b"sw01>")  # devices echo the command
    except (EOFError, OSError):
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
'@

    function script:Wait-UdpEcho([int] $Port) {
        $u = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        try {
            $u.Client.ReceiveTimeout = 200
            for ($i = 0; $i -lt 50; $i++) {
                [void] $u.Send([byte[]] (1, 2, 3), 3, '127.0.0.1', $Port)
                try { $null = $u.Receive([ref] $null); return } catch [System.Net.Sockets.SocketException] { Start-Sleep -Milliseconds 50 }
            }
            throw "no UDP echo on port $Port"
        }
        finally { $u.Dispose() }
    }

    # Get-Help as a user sees it: a fresh pwsh that imports the built module.
    $probe = Join-Path $TempDir 'help-probe.ps1'
    Set-Content $probe -Encoding utf8NoBOM -Value @'
param([string] $Module)
Import-Module (Join-Path $Module 'PSSocket.psd1')
$out = @{}
foreach ($c in (Get-Module PSSocket).ExportedCmdlets.Keys) {
    $h = Get-Help $c -Full
    $params = @(Get-Help $c -Parameter * -ErrorAction SilentlyContinue | ForEach-Object { $_.name })
    $out[$c] = @{
        Synopsis    = "$($h.Synopsis)".Trim()
        Examples    = @((Get-Help $c -Examples).examples.example).Count
        Description = ($h.description | Out-String).Trim()
        Parameters  = $params
        Full        = $h | Out-String -Width 120
    }
}
$out['about_PSSocket'] = @{ Full = Get-Help about_PSSocket | Out-String }
$out | ConvertTo-Json -Depth 4
'@
    $pwsh = Get-PwshCommand
    $json = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $probe -Module $env:PSSOCKET_MODULE
    $script:Help = $json | Out-String | ConvertFrom-Json -AsHashtable
}

AfterAll {
    foreach ($p in $PeerProcs) { Stop-Peer $p }
    Remove-Item -Recurse -Force $TempDir -ErrorAction SilentlyContinue
    Remove-AllSocketSessions
}

Describe 'Docs of <Name>' -ForEach $cmdletCases {
    It 'has docs/en-US/<Name>.md' {
        $DocPath | Should -Exist -Because 'every exported cmdlet needs a platyPS markdown page'
    }

    Context 'its page' -Skip:($null -eq $Doc) {
        BeforeAll {
            $cmd = Get-Command $Name
            $script:Actual = @($cmd.Parameters.Keys | Where-Object { $_ -notin $Common })
            $script:Documented = @($Doc.Parameters.Name | Where-Object { $_ -notin $Optional })
        }

        It 'has a synopsis and a description' {
            ($Doc.Synopsis -join ' ') | Should -Not -BeNullOrEmpty
            ($Doc.Description -join ' ') | Should -Not -BeNullOrEmpty
        }

        It 'documents every parameter' {
            $missing = $Actual | Where-Object { $_ -notin $Documented }
            $missing | Should -BeNullOrEmpty -Because "$Name.md must have a '### -Parameter' section for each"
        }

        It 'names no parameter that does not exist' {
            $extra = $Documented | Where-Object { $_ -notin $Actual }
            $extra | Should -BeNullOrEmpty
        }

        It 'has one SYNTAX block per parameter set, named as the cmdlet names them' {
            $sets = @($cmd.ParameterSets.Name | Sort-Object)
            @($Doc.SyntaxSets | Sort-Object) | Should -Be $sets
        }

        It 'has at least three examples with code' {
            $Doc.Examples.Count | Should -BeGreaterOrEqual 3
            $Doc.Examples | Where-Object { -not $_.Code } | ForEach-Object Title | Should -BeNullOrEmpty
        }

        It 'states type, position and Required as the cmdlet declares them' {
            $wrong = foreach ($p in $Doc.Parameters | Where-Object { $cmd.Parameters.ContainsKey($_.Name) }) {
                $meta = $cmd.Parameters[$p.Name]
                $sets = @($meta.ParameterSets.Values)
                $type = $meta.ParameterType
                $typeOk = $p.Type -in $type.Name, $type.FullName -or ($p.Type -eq 'Object' -and $type -eq [object])
                if (-not $typeOk) { "-$($p.Name): Type '$($p.Type)' but the cmdlet has $($type.Name)" }
                if ($p.Required -and -not ($sets | Where-Object IsMandatory)) { "-$($p.Name): Required True but mandatory in no parameter set" }
                if (-not $p.Required -and -not ($sets | Where-Object { -not $_.IsMandatory })) { "-$($p.Name): Required False but mandatory in every parameter set" }
                $positions = @($sets | ForEach-Object Position | Where-Object { $_ -ge 0 })
                if ($p.Position -match '^\d+$') {
                    if ([int] $p.Position -notin $positions) { "-$($p.Name): Position $($p.Position) but the cmdlet has $(if ($positions) { $positions -join ',' } else { 'Named' })" }
                }
                elseif ($positions.Count -eq $sets.Count -and $positions) { "-$($p.Name): Position Named but the cmdlet has $($positions -join ',')" }
            }
            $wrong | Should -BeNullOrEmpty
        }

        It 'is shown by Get-Help in a fresh pwsh (synopsis, description, examples, every parameter)' {
            $h = $Help[$Name]
            $h.Synopsis | Should -Be ($Doc.Synopsis -join ' ')
            $h.Description | Should -Not -BeNullOrEmpty
            $h.Examples | Should -Be $Doc.Examples.Count
            foreach ($p in $Documented) { $h.Parameters | Should -Contain $p }
            $h.Full | Should -Match ([regex]::Escape($Doc.Examples[0].Title))
        }
    }
}

Describe 'about_PSSocket' {
    It 'is shown by Get-Help about_PSSocket in a fresh pwsh' {
        $Help['about_PSSocket'].Full | Should -Match 'SHORT DESCRIPTION'
        $Help['about_PSSocket'].Full | Should -Match 'no-loss guarantee'
    }
}

Describe 'Markdown tables in Get-Help' {
    It 'shows a cmdlet page table as aligned rows, one per line' {
        $full = $Help['Invoke-SocketConversation'].Full
        $full | Should -Match '(?m)^\s+Key\s{2,}Meaning\s*$'
        $full | Should -Match '(?m)^\s+Expect\s{2,}Text to wait for'
        $full | Should -Match '(?m)^\s+Fail\s{2,}Text \(a regular'
        $full | Should -Match '(?m)^\s+PageSend\s{2,}What answers'
        $full | Should -Not -Match '\|\s*Key\s*\|'
        $full | Should -Not -Match '\|---'
        # The rows start in one column: the meanings line up under each other.
        $starts = [regex]::Matches($full, '(?m)^(\s+)(?:Expect|Regex|Send|Timeout)\s{2,}(\S)') | ForEach-Object { $_.Groups[2].Index - $_.Groups[1].Index }
        @($starts | Select-Object -Unique).Count | Should -Be 1
    }

    It 'shows the about topic''s table as aligned rows' {
        $full = $Help['about_PSSocket'].Full
        $full | Should -Match '(?m)^\s+Capability\s{2,}Cmdlets\s*$'
        $full | Should -Match '(?m)^\s+Conversations\s{2,}Invoke-SocketConversation'
        $full | Should -Not -Match '\|\s*Capability\s*\|'
    }
}

Describe 'Runnable example <File>:<Line> (<Title>)' -ForEach $runnableCases {
    It 'runs without errors against loopback peers' {
        # An example naming a command that does not exist is a broken example, not a skip.
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $null, [ref] $null)
        $names = $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() } | Where-Object { $_ -match '^\w+-\w+$' }
        $unknown = @($names | Sort-Object -Unique | Where-Object { -not (Get-Command $_ -ErrorAction SilentlyContinue) })
        $unknown | Should -BeNullOrEmpty -Because 'every command a runnable example names must exist (a PSSocket cmdlet, or a peer installed by .ci/run)'

        $vars = @{}
        foreach ($v in 'Port', 'FreePort', 'UdpPort', 'RedisPort', 'TlsPort', 'SwitchPort', 'SocksPort', 'Credential', 'SshRemoting', 'DnsPort') {
            if ($Code -match "(?:[`$@]|\`$using:)$v\b") { $vars[$v] = Get-DocPeer $v }
        }

        $before = @((Get-SocketSession).Id)
        $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault2()
        $iss.ImportPSModule((Join-Path $env:PSSOCKET_MODULE 'PSSocket.psd1'))
        $ps = [powershell]::Create($iss)
        try {
            foreach ($k in $vars.Keys) { $ps.Runspace.SessionStateProxy.SetVariable($k, $vars[$k]) }
            $ps.Runspace.SessionStateProxy.Path.SetLocation($TempDir) | Out-Null
            [void] $ps.AddScript($Code)
            $async = $ps.BeginInvoke()
            if (-not $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60))) {
                $ps.Stop()
                throw "the example did not finish within 60 s"
            }
            $output = $ps.EndInvoke($async)
            $errors = @($ps.Streams.Error | ForEach-Object { "$_ ($($_.FullyQualifiedErrorId))" })
            $errors | Should -BeNullOrEmpty -Because "the example printed:`n$($output | Out-String)"
        }
        finally {
            $ps.Dispose()
            # Sessions can go away on their own meanwhile (a server removes its clients): not an error.
            Get-SocketSession | Where-Object Id -NotIn $before | Remove-SocketSession -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}

<#
.SYNOPSIS
    Converts platyPS-schema markdown (docs/en-US/*.md) into MAML help and about_*.help.txt files.
.DESCRIPTION
    PowerShell reads help for binary cmdlets from a MAML file named by the cmdlet's assembly
    (PSSocket.dll-Help.xml); the XML doc comments in the C# source are not used for that. platyPS
    is not available here, so this script owns the conversion. It reads every <Cmdlet>.md (front
    matter, SYNOPSIS, SYNTAX, DESCRIPTION, EXAMPLES, PARAMETERS with their yaml blocks, INPUTS,
    OUTPUTS, NOTES, RELATED LINKS) and every about_*.md, and writes:
      <OutputPath>/<ModuleName>.dll-Help.xml
      <OutputPath>/about_<Topic>.help.txt
    HTML comments (such as the <!-- runnable --> marker the doc tests use) are dropped.
.EXAMPLE
    ./tools/ConvertTo-Maml.ps1 -DocsPath docs/en-US -OutputPath out/PSSocket/0.1.0/en-US -ModuleName PSSocket
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputPath,
    [Parameter(Mandatory)] [string] $ModuleName,
    # Passes the parsed documents out (used by the doc tests) instead of only writing files.
    [switch] $PassThru
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$script:FenceRegex = '^\s*(```|~~~)'

# Splits a markdown body into blocks: @{ Kind = 'text'|'code'; Lines; Lang }.
function Split-MarkdownBlock {
    param([string[]] $Lines)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $current = $null
    $inCode = $false
    foreach ($line in $Lines) {
        if ($inCode) {
            if ($line -match $script:FenceRegex) { $inCode = $false; $current = $null; continue }
            $current.Lines.Add($line)
            continue
        }
        if ($line -match '^\s*(```|~~~)\s*(\S*)') {
            $current = @{ Kind = 'code'; Lang = $Matches[2]; Lines = [System.Collections.Generic.List[string]]::new() }
            $blocks.Add($current)
            $inCode = $true
            continue
        }
        if ($line -match '^\s*$') { $current = $null; continue }
        if ($null -eq $current -or $current.Kind -ne 'text') {
            $current = @{ Kind = 'text'; Lang = ''; Lines = [System.Collections.Generic.List[string]]::new() }
            $blocks.Add($current)
        }
        $current.Lines.Add($line)
    }
    $blocks.ToArray()
}

# Removes HTML comments (single- and multi-line) outside code fences.
function Remove-HtmlComment {
    param([string[]] $Lines)
    $text = ($Lines -join "`n")
    $out = [System.Text.StringBuilder]::new()
    $inCode = $false
    $inComment = $false
    foreach ($line in $text -split "`n") {
        if (-not $inComment -and $line -match $script:FenceRegex) { $inCode = -not $inCode; [void] $out.AppendLine($line); continue }
        if ($inCode) { [void] $out.AppendLine($line); continue }
        $l = $line
        if ($inComment) {
            $end = $l.IndexOf('-->')
            if ($end -lt 0) { continue }
            $l = $l.Substring($end + 3); $inComment = $false
            if ($l -match '^\s*$') { continue }
        }
        $l = [regex]::Replace($l, '<!--.*?-->', '')
        $start = $l.IndexOf('<!--')
        if ($start -ge 0) { $l = $l.Substring(0, $start); $inComment = $true }
        if ($line -match '<!--' -and $l -match '^\s*$') { continue }
        [void] $out.AppendLine($l)
    }
    $out.ToString().TrimEnd("`r", "`n") -split "`n"
}

# A markdown table as aligned plain-text lines: the separator row dropped, every column but the
# last padded to its widest cell (at most 28), the last one wrapped under itself to fit 80
# columns with the indent the caller adds.
function Format-MarkdownTable {
    param([string[]] $Rows, [int] $Width = 76)
    $cells = [System.Collections.Generic.List[string[]]]::new()
    foreach ($r in $Rows) {
        $t = $r.Trim()
        if ($t -match '^\|?\s*:?-{3,}') { continue }
        $t = $t -replace '^\|', '' -replace '\|$', ''
        $cells.Add([string[]] @(($t -split '(?<!\\)\|') | ForEach-Object { $_.Trim() -replace '\\\|', '|' }))
    }
    $cols = ($cells | ForEach-Object { $_.Count } | Measure-Object -Maximum).Maximum
    $widths = for ($c = 0; $c -lt $cols - 1; $c++) {
        [Math]::Min(28, ($cells | ForEach-Object { if ($c -lt $_.Count) { $_[$c].Length } else { 0 } } | Measure-Object -Maximum).Maximum)
    }
    $lead = ($widths | Measure-Object -Sum).Sum + 2 * ($cols - 1)
    $room = [Math]::Max(24, $Width - $lead)
    foreach ($row in $cells) {
        $head = ''
        for ($c = 0; $c -lt $cols - 1; $c++) { $head += ($(if ($c -lt $row.Count) { $row[$c] } else { '' })).PadRight($widths[$c]) + '  ' }
        $last = if ($row.Count -ge $cols) { $row[$cols - 1] } else { '' }
        $line = $head
        $first = $true
        foreach ($word in ($last -split ' ' | Where-Object { $_ })) {
            if (-not $first -and ($line.Length + 1 + $word.Length) -gt ($lead + $room)) { $line.TrimEnd(); $line = (' ' * $lead) + $word }
            elseif ($first) { $line += $word }
            else { $line += ' ' + $word }
            $first = $false
        }
        $line.TrimEnd()
    }
}

# Text blocks become paragraphs (list items one each); code blocks keep their lines, indented;
# tables become aligned lines in one paragraph (Get-Help indents it, and keeps its line breaks).
function ConvertTo-Paragraph {
    param([string[]] $Lines)
    $paras = [System.Collections.Generic.List[string]]::new()
    foreach ($b in Split-MarkdownBlock (Remove-HtmlComment $Lines)) {
        if ($b.Kind -eq 'code') {
            $paras.Add((($b.Lines | ForEach-Object { "    $_" }) -join "`n"))
            continue
        }
        $para = [System.Collections.Generic.List[string]]::new()
        $table = [System.Collections.Generic.List[string]]::new()
        foreach ($l in $b.Lines) {
            if ($l -match '^\s*\|') {
                if ($para.Count) { $paras.Add(($para -join ' ')); $para.Clear() }
                $table.Add($l)
                continue
            }
            if ($table.Count) { $paras.Add(((Format-MarkdownTable $table.ToArray()) -join "`n")); $table.Clear() }
            if ($l -match '^\s*([-*+]|\d+\.)\s+' -and $para.Count) { $paras.Add(($para -join ' ')); $para.Clear() }
            $para.Add($l.Trim())
        }
        if ($table.Count) { $paras.Add(((Format-MarkdownTable $table.ToArray()) -join "`n")) }
        if ($para.Count) { $paras.Add(($para -join ' ')) }
    }
    , $paras.ToArray()
}

# Splits lines into sections by a heading prefix ('## ' or '### '), ignoring headings inside code.
function Split-Section {
    param([string[]] $Lines, [string] $Prefix)
    $sections = [ordered]@{}
    $preamble = [System.Collections.Generic.List[string]]::new()
    $current = $preamble
    $inCode = $false
    foreach ($line in $Lines) {
        if ($line -match $script:FenceRegex) { $inCode = -not $inCode }
        if (-not $inCode -and $line.StartsWith($Prefix) -and -not $line.StartsWith($Prefix + '#')) {
            $name = $line.Substring($Prefix.Length).Trim()
            $current = [System.Collections.Generic.List[string]]::new()
            $key = $name; $i = 2
            while ($sections.Contains($key)) { $key = "$name ($i)"; $i++ }
            $sections[$key] = $current
            continue
        }
        $current.Add($line)
    }
    @{ Preamble = $preamble.ToArray(); Sections = $sections }
}

function Get-Section {
    param($Sections, [string] $Name)
    foreach ($k in $Sections.Keys) { if ($k -eq $Name) { return , $Sections[$k].ToArray() } }
    , @()
}

function ConvertFrom-SimpleYaml {
    param([string[]] $Lines)
    $h = [ordered]@{}
    foreach ($l in $Lines) {
        if ($l -match '^\s*([^:#]+?)\s*:\s*(.*?)\s*$') { $h[$Matches[1]] = $Matches[2] }
    }
    $h
}

# Reads one cmdlet markdown file into a hashtable the writer and the doc tests use.
function Read-CommandDoc {
    param([string] $Path)
    $lines = [IO.File]::ReadAllLines($Path)
    $front = @{}
    $i = 0
    if ($lines.Count -and $lines[0].Trim() -eq '---') {
        for ($i = 1; $i -lt $lines.Count -and $lines[$i].Trim() -ne '---'; $i++) {
            if ($lines[$i] -match '^\s*([^:]+?)\s*:\s*(.*?)\s*$') { $front[$Matches[1]] = $Matches[2] }
        }
        $i++
    }
    $body = $lines[$i..($lines.Count - 1)]
    $name = $null
    $rest = [System.Collections.Generic.List[string]]::new()
    $inCode = $false
    $fenceLine = 0
    for ($n = 0; $n -lt $body.Count; $n++) {
        $l = $body[$n]
        if ($l -match $script:FenceRegex) { $inCode = -not $inCode; $fenceLine = $i + $n + 1 }
        if (-not $inCode -and -not $name -and $l -match '^#\s+(\S.*?)\s*$') { $name = $Matches[1]; continue }
        $rest.Add($l)
    }
    # Each of these would otherwise be converted silently into help with parts missing.
    if (-not $name) { throw "$Path has no '# Name' heading" }
    if ($inCode) { throw "${Path}: the code fence opened on line $fenceLine is never closed" }
    $top = (Split-Section $rest.ToArray() '## ').Sections
    foreach ($required in 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'PARAMETERS') {
        if ($top.Keys -notcontains $required) { throw "$Path has no '## $required' section" }
    }

    # platyPS marks the default set as '### Name (Default)'.
    $syntaxSets = @((Split-Section (Get-Section $top 'SYNTAX') '### ').Sections.Keys | ForEach-Object { $_ -replace '\s*\(Default\)$', '' })
    if (-not $syntaxSets) { $syntaxSets = @('__AllParameterSets') }

    $parameters = [System.Collections.Generic.List[object]]::new()
    foreach ($e in (Split-Section (Get-Section $top 'PARAMETERS') '### ').Sections.GetEnumerator()) {
        if ($e.Key -eq 'CommonParameters') { continue }
        $pname = $e.Key -replace '^-', '' -replace '\s*\(\d+\)$', ''
        $yaml = $null
        $requiredSets = [System.Collections.Generic.List[string]]::new()
        $prose = [System.Collections.Generic.List[string]]::new()
        foreach ($b in Split-MarkdownBlock $e.Value.ToArray()) {
            if ($b.Kind -eq 'code' -and $b.Lang -eq 'yaml') {
                $y = ConvertFrom-SimpleYaml $b.Lines.ToArray()
                $ySets = @((($y['Parameter Sets'] ?? '(All)') -split ',') | ForEach-Object Trim | Where-Object { $_ })
                if ($y['Required'] -eq 'True') { $requiredSets.AddRange([string[]] $ySets) }
                if ($null -eq $yaml) { $yaml = $y }
                else {
                    # platyPS writes a second yaml block when Required or Position differ between
                    # parameter sets: merge the set lists, keep the first block's other facts.
                    $yaml['Parameter Sets'] = ($yaml['Parameter Sets'], $y['Parameter Sets']) -join ', '
                }
                continue
            }
            if ($b.Kind -eq 'code') { $prose.Add('```'); $prose.AddRange($b.Lines); $prose.Add('```'); $prose.Add(''); continue }
            $prose.AddRange($b.Lines); $prose.Add('')
        }
        if ($null -eq $yaml) { throw "${Path}: parameter $($e.Key) has no yaml block (Type, Parameter Sets, Required, Position ...)" }
        $parameters.Add([pscustomobject]@{
                Name        = $pname
                Description = ConvertTo-Paragraph $prose.ToArray()
                Type        = if ($yaml['Type']) { $yaml['Type'] } else { 'Object' }
                Sets        = @((($yaml['Parameter Sets'] ?? '(All)') -split ',') | ForEach-Object Trim | Where-Object { $_ })
                Aliases     = $yaml['Aliases'] ?? ''
                Required    = ($yaml['Required'] ?? 'False') -eq 'True'
                RequiredIn  = $requiredSets.ToArray()
                Position    = $yaml['Position'] ?? 'Named'
                Default     = $yaml['Default value'] ?? 'None'
                Pipeline    = $yaml['Accept pipeline input'] ?? 'False'
                Globbing    = ($yaml['Accept wildcard characters'] ?? 'False') -eq 'True'
                Accepted    = @((($yaml['Accepted values'] ?? '') -split ',') | ForEach-Object Trim | Where-Object { $_ })
            })
    }

    $examples = [System.Collections.Generic.List[object]]::new()
    foreach ($e in (Split-Section (Get-Section $top 'EXAMPLES') '### ').Sections.GetEnumerator()) {
        $code = [System.Collections.Generic.List[string]]::new()
        $intro = [System.Collections.Generic.List[string]]::new()
        $remarks = [System.Collections.Generic.List[string]]::new()
        $runnable = $false
        $pending = $false
        $inCode = $false
        $seenCode = $false
        foreach ($l in $e.Value) {
            if ($inCode) {
                if ($l -match $script:FenceRegex) { $inCode = $false; continue }
                $code.Add($l); continue
            }
            if ($l -match '^\s*<!--\s*runnable\b.*-->\s*$') { $pending = $true; continue }
            if ($l -match $script:FenceRegex) {
                if ($seenCode) { $code.Add('') }
                $inCode = $true; $seenCode = $true
                if ($pending) { $runnable = $true; $pending = $false }
                continue
            }
            if ($seenCode) { $remarks.Add($l) } else { $intro.Add($l) }
        }
        $title = $e.Key -replace '\s*\(\d+\)$', ''
        $examples.Add([pscustomobject]@{
                Title    = $title
                Code     = ($code -join "`n").Trim("`n")
                Remarks  = ConvertTo-Paragraph ($intro + $remarks)
                Runnable = $runnable
                File     = $Path
            })
    }

    $typeList = {
        param([string[]] $Lines)
        $sec = Split-Section $Lines '### '
        $items = foreach ($e in $sec.Sections.GetEnumerator()) {
            [pscustomobject]@{ Name = $e.Key; Description = ConvertTo-Paragraph $e.Value.ToArray() }
        }
        if (-not $items) {
            $p = ConvertTo-Paragraph $sec.Preamble
            if ($p) { $items = [pscustomobject]@{ Name = $p[0]; Description = @($p | Select-Object -Skip 1) } }
        }
        , @($items)
    }

    $linkLines = Get-Section $top 'RELATED LINKS'
    $links = foreach ($l in $linkLines) {
        foreach ($m in [regex]::Matches($l, '\[([^\]]+)\]\(([^)]*)\)')) {
            [pscustomobject]@{ Text = $m.Groups[1].Value; Uri = $m.Groups[2].Value }
        }
    }

    $verb, $noun = $name -split '-', 2
    [pscustomobject]@{
        Name        = $name
        Verb        = $verb
        Noun        = $noun
        File        = $Path
        FrontMatter = $front
        Synopsis    = ConvertTo-Paragraph (Get-Section $top 'SYNOPSIS')
        Description = ConvertTo-Paragraph (Get-Section $top 'DESCRIPTION')
        SyntaxSets  = $syntaxSets
        Parameters  = $parameters.ToArray()
        Examples    = $examples.ToArray()
        Inputs      = & $typeList (Get-Section $top 'INPUTS')
        Outputs     = & $typeList (Get-Section $top 'OUTPUTS')
        Notes       = ConvertTo-Paragraph (Get-Section $top 'NOTES')
        Links       = @($links)
    }
}

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Write-Para {
    param([System.Xml.XmlWriter] $W, [string[]] $Paras)
    $W.WriteStartElement('maml', 'description', $ns.maml)
    foreach ($p in $Paras) { $W.WriteElementString('maml', 'para', $ns.maml, $p) }
    if (-not $Paras) { $W.WriteElementString('maml', 'para', $ns.maml, '') }
    $W.WriteEndElement()
}

function Write-Parameter {
    param([System.Xml.XmlWriter] $W, $P, [string] $Position, [bool] $Required, [switch] $InSyntax)
    $isSwitch = $P.Type -in 'SwitchParameter', 'Switch', 'System.Management.Automation.SwitchParameter'
    $W.WriteStartElement('command', 'parameter', $ns.command)
    $W.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $P.Globbing.ToString().ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $P.Pipeline)
    $W.WriteAttributeString('position', $(if ($Position -match '^\d+$') { $Position } else { 'named' }))
    $W.WriteAttributeString('aliases', $(if ($P.Aliases) { $P.Aliases } else { 'none' }))
    $W.WriteElementString('maml', 'name', $ns.maml, $P.Name)
    Write-Para $W $P.Description
    if ($InSyntax -and $P.Accepted) {
        # Shown by Get-Help as -Name {A | B | C}.
        $W.WriteStartElement('command', 'parameterValueGroup', $ns.command)
        foreach ($v in $P.Accepted) {
            $W.WriteStartElement('command', 'parameterValue', $ns.command)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('command', 'variableLength', $ns.command, 'false')
            $W.WriteString($v)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    if (-not ($InSyntax -and $isSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $ns.command)
        $W.WriteAttributeString('required', (-not $isSwitch).ToString().ToLowerInvariant())
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($P.Type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $ns.dev)
    $W.WriteElementString('maml', 'name', $ns.maml, $P.Type)
    $W.WriteElementString('maml', 'uri', $ns.maml, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $ns.dev, $P.Default)
    $W.WriteEndElement()
}

function Write-TypeList {
    param([System.Xml.XmlWriter] $W, [string] $Outer, [string] $Inner, $Items)
    $W.WriteStartElement('command', $Outer, $ns.command)
    foreach ($t in $Items) {
        $W.WriteStartElement('command', $Inner, $ns.command)
        $W.WriteStartElement('dev', 'type', $ns.dev)
        $W.WriteElementString('maml', 'name', $ns.maml, $t.Name)
        $W.WriteEndElement()
        Write-Para $W $t.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
}

function Write-Command {
    param([System.Xml.XmlWriter] $W, $Doc)
    $W.WriteStartElement('command', 'command', $ns.command)
    $W.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $W.WriteAttributeString('xmlns', 'command', $null, $ns.command)
    $W.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

    $W.WriteStartElement('command', 'details', $ns.command)
    $W.WriteElementString('command', 'name', $ns.command, $Doc.Name)
    $W.WriteElementString('command', 'verb', $ns.command, $Doc.Verb)
    $W.WriteElementString('command', 'noun', $ns.command, $Doc.Noun)
    Write-Para $W $Doc.Synopsis
    $W.WriteEndElement()
    Write-Para $W $Doc.Description

    $W.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $Doc.SyntaxSets) {
        $inSet = @($Doc.Parameters | Where-Object {
                $s = $_.Sets
                $s -contains '(All)' -or $s -contains $set -or $set -eq '__AllParameterSets' -or $s -contains 'All'
            })
        # Positional parameters first, in position order, then required ones, then the rest by name.
        $ordered = $inSet | Sort-Object @{ Expression = { if ($_.Position -match '^\d+$') { [int] $_.Position } else { 1000 } } },
        @{ Expression = { -not (Get-RequiredIn $_ $set) } }, Name
        $W.WriteStartElement('command', 'syntaxItem', $ns.command)
        $W.WriteElementString('maml', 'name', $ns.maml, $Doc.Name)
        foreach ($p in $ordered) { Write-Parameter $W $p $p.Position (Get-RequiredIn $p $set) -InSyntax }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $Doc.Parameters) { Write-Parameter $W $p $p.Position $p.Required }
    $W.WriteEndElement()

    Write-TypeList $W 'inputTypes' 'inputType' $Doc.Inputs
    Write-TypeList $W 'returnValues' 'returnValue' $Doc.Outputs

    $W.WriteStartElement('maml', 'alertSet', $ns.maml)
    $W.WriteStartElement('maml', 'alert', $ns.maml)
    foreach ($n in $Doc.Notes) { $W.WriteElementString('maml', 'para', $ns.maml, $n) }
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $ns.command)
    foreach ($e in $Doc.Examples) {
        $W.WriteStartElement('command', 'example', $ns.command)
        $W.WriteElementString('maml', 'title', $ns.maml, "---------- $($e.Title) ----------")
        $W.WriteElementString('dev', 'code', $ns.dev, $e.Code)
        $W.WriteStartElement('dev', 'remarks', $ns.dev)
        foreach ($r in $e.Remarks) { $W.WriteElementString('maml', 'para', $ns.maml, $r) }
        # An empty paragraph keeps a blank line before the next example's title.
        $W.WriteElementString('maml', 'para', $ns.maml, '')
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $ns.command)
    $online = $Doc.FrontMatter['online version']
    if ($online) {
        $W.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $W.WriteElementString('maml', 'linkText', $ns.maml, 'Online Version:')
        $W.WriteElementString('maml', 'uri', $ns.maml, $online)
        $W.WriteEndElement()
    }
    foreach ($l in $Doc.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $W.WriteElementString('maml', 'linkText', $ns.maml, $l.Text)
        # Only web addresses help a reader of Get-Help; a relative .md link is for the markdown.
        $W.WriteElementString('maml', 'uri', $ns.maml, $(if ($l.Uri -match '^https?://') { $l.Uri } else { '' }))
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

# Required in this set: per the yaml block(s) that name the set.
function Get-RequiredIn {
    param($P, [string] $Set)
    $P.RequiredIn -contains $Set -or $P.RequiredIn -contains '(All)' -or ($Set -eq '__AllParameterSets' -and $P.Required)
}

# about_*.md (platyPS about schema: '# about_X', '## SHORT DESCRIPTION', '## LONG DESCRIPTION', ...)
# to the classic help.txt layout: headings flush left in capitals, text indented four spaces,
# code indented eight, long prose lines wrapped at 80 columns.
function ConvertTo-AboutText {
    param([string] $Path)
    $lines = Remove-HtmlComment ([IO.File]::ReadAllLines($Path))
    $sb = [System.Text.StringBuilder]::new()
    $items = [System.Collections.Generic.List[string]]::new()
    $tableRows = [System.Collections.Generic.List[string]]::new()
    $flush = {
        if ($tableRows.Count) { foreach ($row in Format-MarkdownTable $tableRows.ToArray()) { [void] $sb.AppendLine("    $row".TrimEnd()) }; $tableRows.Clear() }
        foreach ($item in $items) {
            $isList = $item -match '^([-*]|\d+\.)\s'
            $indent = '    '
            $hang = if ($isList) { $indent + (' ' * ($Matches[1].Length + 1)) } else { $indent }
            $cur = $indent
            $first = $true
            foreach ($w in ($item -split ' ' | Where-Object { $_ })) {
                if (-not $first -and ($cur.Length + 1 + $w.Length) -gt 79) { [void] $sb.AppendLine($cur.TrimEnd()); $cur = $hang + $w }
                elseif ($first) { $cur += $w }
                else { $cur += ' ' + $w }
                $first = $false
            }
            [void] $sb.AppendLine($cur.TrimEnd())
        }
        $items.Clear()
    }
    $inCode = $false
    $topicDone = $false
    foreach ($l in $lines) {
        if ($l -match $script:FenceRegex) {
            . $flush
            $inCode = -not $inCode
            continue
        }
        if ($inCode) { [void] $sb.AppendLine(('        ' + $l).TrimEnd()); continue }
        if ($l -match '^#{1,6}\s') {
            . $flush
            if ($l -match '^#\s+(about_\S+)') {
                if (-not $topicDone) { [void] $sb.AppendLine('TOPIC'); [void] $sb.AppendLine("    $($Matches[1])"); [void] $sb.AppendLine(); $topicDone = $true }
            }
            elseif ($l -match '^##\s+(about_\S+)\s*$') { }
            elseif ($l -match '^#{1,2}\s+(.+)$') { [void] $sb.AppendLine(); [void] $sb.AppendLine($Matches[1].ToUpperInvariant()) }
            elseif ($l -match '^#{3,}\s+(.+)$') { [void] $sb.AppendLine(); [void] $sb.AppendLine("  $($Matches[1].ToUpperInvariant())") }
            continue
        }
        if ($l -match '^\s*$') { . $flush; [void] $sb.AppendLine(); continue }
        if ($l -match '^\s*\|') {
            if ($items.Count) { . $flush }
            $tableRows.Add($l)
            continue
        }
        if ($tableRows.Count) { foreach ($row in Format-MarkdownTable $tableRows.ToArray()) { [void] $sb.AppendLine("    $row".TrimEnd()) }; $tableRows.Clear() }
        $t = $l.Trim()
        if ($t -match '^([-*]|\d+\.)\s' -or $items.Count -eq 0) { $items.Add($t) }
        else { $items[$items.Count - 1] += ' ' + $t }
    }
    . $flush
    ($sb.ToString() -replace "(\r?\n){3,}", "`n`n").Trim("`r", "`n") + "`n"
}

$docs = (Resolve-Path $DocsPath).Path
$cmdFiles = Get-ChildItem $docs -Filter '*.md' | Where-Object { $_.Name -notlike 'about_*' -and $_.Name -ne 'README.md' } | Sort-Object Name
$aboutFiles = Get-ChildItem $docs -Filter 'about_*.md' | Sort-Object Name

$parsed = foreach ($f in $cmdFiles) {
    try { Read-CommandDoc $f.FullName }
    catch { throw "Cannot convert $($f.Name): $_ $($_.ScriptStackTrace)" }
}
if ($PassThru) { return $parsed }

New-Item -ItemType Directory -Force $OutputPath | Out-Null
$mamlPath = Join-Path $OutputPath "$ModuleName.dll-Help.xml"
$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
try {
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', 'http://msh')
    $w.WriteAttributeString('schema', 'maml')
    foreach ($d in $parsed) { Write-Command $w $d }
    $w.WriteEndElement()
    $w.WriteEndDocument()
}
finally { $w.Dispose() }
# The file must load as XML: a broken one makes Get-Help fall back silently to bare syntax.
[void] ([xml] [IO.File]::ReadAllText($mamlPath))
Write-Verbose "$($parsed.Count) commands -> $mamlPath"

foreach ($a in $aboutFiles) {
    $target = Join-Path $OutputPath ($a.BaseName + '.help.txt')
    [IO.File]::WriteAllText($target, (ConvertTo-AboutText $a.FullName), [System.Text.UTF8Encoding]::new($false))
    Write-Verbose "$($a.Name) -> $target"
}

# The device profiles Invoke-DeviceCommand knows (Get-DeviceProfile lists them). One entry per
# device type; every pattern is a .NET regular expression. Add or override types with
# Invoke-DeviceCommand -DeviceProfile (a hashtable like an entry here, or a .psd1 file of entries);
# about_PSSocket describes every key.
#   Prompt            the whole prompt line in every mode (trailing blanks aside)
#   UserPrompt        a prompt of the unprivileged mode, where EnableCommand is needed
#   EnableCommand     enters privileged mode; EnablePrompt is its password question
#   PagingCommand     sent once per session to turn paging off
#   PagerPrompt       pager prompts that still come; PagerKey answers them (no line end)
#   ConfigCommand     enters configuration mode; ConfigExitCommand leaves it; ConfigPrompt matches
#                     its prompts; CommitCommand (if any) is sent after the lines
#   ErrorPattern      an answer that matches is an error (configuration stops there)
#   QuestionPattern   questions the device waits on; only -Answer answers them
#   SaveCommand       saves the configuration; CloseCommand is sent before disconnecting
#   Base              another type whose keys fill in the ones not given
@{
    generic           = @{
        Description     = 'Any CLI: the prompt is the last line, ending in >, #, $, % or ]; no paging command'
        Prompt          = '\S[^\r\n]{0,126}[>#$%\]]'
        PagerPrompt     = @('-- ?More ?--', '<--- More --->', '---\(more( \d+%)?\)---', '---- More ----', 'Press any key to continue')
        PagerKey        = ' '
        ErrorPattern    = @('% ?Invalid input', '% ?Incomplete command', '% ?Ambiguous command', '% ?Unknown command', '(?i)syntax error', '^Error:')
        QuestionPattern = @('\[confirm\]', '\((?i:y/n|yes/no)\)\??\s*$', '\[(?i:y/n|yes/no)\]:?\s*$', '(?i)are you sure', '\?\s*\[[^\]]*\]\s*\??\s*$', '\[[^\]]*\]\?\s*$')
    }
    linux             = @{
        Description     = 'A Linux or Unix shell (bash, sh, busybox): prompts ending in $ or #'
        Prompt          = '[^\r\n]{0,127}[$#%>]'
        PagerPrompt     = @('--More--', '\(END\)')
        PagerKey        = ' '
        PagingCommand   = @('export PAGER=cat SYSTEMD_PAGER=cat TERM=dumb 2>/dev/null')
        ErrorPattern    = @('command not found', 'No such file or directory', 'Permission denied')
        QuestionPattern = @('\[[yY]/[nN]\]\??\s*$', '\(yes/no(/\[fingerprint\])?\)\??\s*$')
        CloseCommand    = @('exit')
    }
    cisco_ios         = @{
        Description       = 'Cisco IOS and IOS XE'
        Prompt            = '[\w.\-@/:]{1,63}(\([\w.\-@/: ]{1,40}\))?[>#]'
        UserPrompt        = '>\s*$'
        EnableCommand     = 'enable'
        EnablePrompt      = '[Pp]assword:'
        PagingCommand     = @('terminal length 0', 'terminal width 511')
        PagerPrompt       = @('-- ?More ?--')
        PagerKey          = ' '
        ConfigCommand     = 'configure terminal'
        ConfigExitCommand = 'end'
        ConfigPrompt      = '\(conf[^)]*\)#'
        ErrorPattern      = @('% ?Invalid input', '% ?Incomplete command', '% ?Ambiguous command', '% ?Unknown command', '% ?Bad ', '^Error:')
        QuestionPattern   = @('\[confirm\]', '\[(?i:yes/no)\]:?\s*$', '\?\s*\[[^\]]*\]\s*\??\s*$', '\[[^\]]*\]\?\s*$', '(?i)are you sure')
        SaveCommand       = 'copy running-config startup-config'
        CloseCommand      = @('exit')
    }
    cisco_nxos        = @{
        Base              = 'cisco_ios'
        Description       = 'Cisco NX-OS (Nexus)'
        UserPrompt        = ''
        PagingCommand     = @('terminal length 0', 'terminal width 511')
        ErrorPattern      = @('% ?Invalid', '% ?Incomplete command', '% ?Ambiguous command', '^Syntax error', '^ERROR:')
        SaveCommand       = 'copy running-config startup-config'
    }
    cisco_asa         = @{
        Base              = 'cisco_ios'
        Description       = 'Cisco ASA firewalls'
        PagingCommand     = @('terminal pager 0')
        PagerPrompt       = @('<--- More --->')
        ErrorPattern      = @('% ?Invalid input', '% ?Incomplete command', '^ERROR:', '^Error:')
        SaveCommand       = 'write memory'
    }
    arista_eos        = @{
        Base              = 'cisco_ios'
        Description       = 'Arista EOS'
        PagingCommand     = @('terminal length 0', 'terminal width 32767')
        ErrorPattern      = @('% ?Invalid input', '% ?Incomplete command', '% ?Ambiguous command', '% ?Unrecognized command', '^Error:')
        SaveCommand       = 'write memory'
    }
    juniper_junos     = @{
        Description       = 'Juniper Junos (the CLI, not the shell)'
        Prompt            = '(\{[\w:]+\}\[?[\w ]*\]?\s*)?([\w.\-@]+[>#%]|\[edit[^\]]*\][\r\n]+[\w.\-@]+#)'
        PagingCommand     = @('set cli screen-length 0', 'set cli screen-width 511')
        PagerPrompt       = @('---\(more( \d+%)?\)---')
        PagerKey          = ' '
        ConfigCommand     = 'configure'
        ConfigExitCommand = 'exit configuration-mode'
        ConfigPrompt      = '#\s*$'
        CommitCommand     = 'commit'
        ErrorPattern      = @('syntax error', 'unknown command', 'error:', 'missing argument', 'invalid value')
        QuestionPattern   = @('\(yes\)\s*$', '\[yes,no\]\s*\(no\)\s*$', '(?i)are you sure')
        SaveCommand       = 'commit'
        CloseCommand      = @('exit')
    }
    huawei_vrp        = @{
        Description       = 'Huawei VRP'
        Prompt            = '[<\[][\w.\-@/:~]+(-[\w\-/:.]+)?[>\]]'
        PagingCommand     = @('screen-length 0 temporary')
        PagerPrompt       = @('---- More ----', '  ---- More ----')
        PagerKey          = ' '
        ConfigCommand     = 'system-view'
        ConfigExitCommand = 'return'
        ConfigPrompt      = '^\['
        ErrorPattern      = @('Error:', 'Unrecognized command', 'Incomplete command', 'Wrong parameter')
        QuestionPattern   = @('\[Y/N\]:?\s*$', '\[y/n\]:?\s*$')
        SaveCommand       = 'save'
        CloseCommand      = @('quit')
    }
    mikrotik_routeros = @{
        Description     = 'MikroTik RouterOS (log in as user+ct to turn off colours and the terminal detection)'
        Prompt          = '\[[\w.\-@ ]+\] [^\r\n]{0,60}>'
        PagerPrompt     = @('-- \[Q quit\|D dump\|down\]')
        PagerKey        = ' '
        ErrorPattern    = @('bad command name', 'syntax error', 'expected end of command', 'failure:', 'input does not match')
        QuestionPattern = @('\[y/N\]:?\s*$', '\[Y/n\]:?\s*$')
        CloseCommand    = @('/quit')
    }
    frr               = @{
        Description       = "FRRouting's vtysh (and Quagga)"
        Prompt            = '[\w.\-]{1,63}(\([\w.\-]{1,40}\))?[>#]'
        UserPrompt        = '>\s*$'
        EnableCommand     = 'enable'
        EnablePrompt      = '[Pp]assword:'
        PagingCommand     = @('terminal length 0')
        PagerPrompt       = @('--More--', '\(END\)')
        PagerKey          = ' '
        ConfigCommand     = 'configure terminal'
        ConfigExitCommand = 'end'
        ConfigPrompt      = '\(config[^)]*\)#'
        ErrorPattern      = @('% Unknown command', '% Invalid input', '% Incomplete command', '% Ambiguous command', '% Command incomplete', '^% ')
        QuestionPattern   = @('\[(?i:yes/no)\]\??\s*$', '\[confirm\]')
        SaveCommand       = 'write memory'
        CloseCommand      = @('exit')
    }
}

#!/usr/bin/env python3
"""A scripted Cisco IOS-like CLI on raw TCP for the device command tests: what vtysh does not do.
Prompt 'sw1>' (unprivileged); 'enable' asks for the secret cisco123 (a wrong one: '% Access denied'
and the question again, three times, then '% Bad secrets'); 'terminal length 0' turns paging off,
else 'show long' (60 lines) pages with ' --More-- ' erased by backspaces; 'reload' asks
'[confirm]' (Ctrl+C cancels); 'copy running-config startup-config' asks 'Destination filename';
'configure terminal' and 'hostname', 'interface' (config-if), 'exit', 'end'; unknown commands get
'% Invalid input detected'; 'show clock' is coloured; 'slow' answers after 3 s; 'silent' prints a
line and no prompt. Every command is echoed. Usage: fake-ios.py PORT [lookalike]; with lookalike the
banner's last line looks like a prompt ('banner-host# ') and the real prompt follows 0.3 s later."""
import socket
import sys
import threading
import time

MORE = b' --More-- '
ERASE = b'\b' * len(MORE) + b' ' * len(MORE) + b'\b' * len(MORE)
INVALID = b"             ^\r\n% Invalid input detected at '^' marker.\r\n\r\n"


class Cli:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(60)
        self.buf = b''
        self.host = 'sw1'
        self.mode = '>'
        self.paging = True

    def send(self, data):
        self.sock.sendall(data)

    def key(self):
        while not self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk
        k, self.buf = self.buf[:1], self.buf[1:]
        return k

    def line(self, echo=True):
        got = b''
        while True:
            k = self.key()
            if k == b'\x03':
                return None
            if k in (b'\r', b'\n'):
                if k == b'\r' and self.buf[:1] == b'\n':
                    self.buf = self.buf[1:]
                if echo:
                    self.send(got + b'\r\n')
                return got.decode(errors='replace').strip()
            got += k

    def prompt(self):
        return (self.host + self.mode).encode()

    def paged(self, lines):
        for i, text in enumerate(lines):
            if self.paging and i and i % 20 == 0:
                self.send(MORE)
                k = self.key()
                self.send(ERASE)
                if k != b' ':
                    return
            self.send(text.encode() + b'\r\n')

    def enable(self):
        for _ in range(3):
            self.send(b'Password: ')
            secret = self.line(echo=False)
            self.send(b'\r\n')
            if secret == 'cisco123':
                self.mode = '#'
                return
            self.send(b'% Access denied\r\n\r\n')
        self.send(b'% Bad secrets\r\n\r\n')

    def run(self, cmd):
        config = '(config' in self.mode
        if cmd == '':
            return
        if config:
            if cmd.startswith('hostname '):
                self.host = cmd.split()[1]
            elif cmd.startswith('interface '):
                self.mode = '(config-if)#'
            elif cmd == 'exit':
                self.mode = '(config)#' if self.mode == '(config-if)#' else '#'
            elif cmd == 'end':
                self.mode = '#'
            elif not cmd.startswith(('description ', 'ip address ', 'shutdown', 'no ')):
                self.send(INVALID)
        elif cmd == 'enable':
            self.enable()
        elif cmd == 'terminal length 0':
            self.paging = False
        elif cmd == 'terminal width 511':
            pass
        elif cmd == 'show long':
            self.paged(['line %02d of the long answer' % i for i in range(1, 61)])
        elif cmd == 'show clock':
            self.send(b'\x1b[1m*12:00:00.000 UTC Mon Dec 7 2026\x1b[0m\r\n')
        elif cmd == 'reload':
            self.send(b'Proceed with reload? [confirm]')
            k = self.key()
            self.send(b'^C\r\n' if k == b'\x03' else b'\r\nReloading (not really)\r\n')
        elif cmd == 'copy running-config startup-config':
            self.send(b'Destination filename [startup-config]? ')
            self.line()
            self.send(b'Building configuration...\r\n[OK]\r\n')
        elif cmd == 'configure terminal' and self.mode == '#':
            self.send(b'Enter configuration commands, one per line.  End with CNTL/Z.\r\n')
            self.mode = '(config)#'
        elif cmd == 'slow':
            time.sleep(3)
            self.send(b'finally\r\n')
        elif cmd == 'silent':
            self.send(b'this command leaves no prompt\r\n')
            return 'no prompt'
        elif cmd == 'show privilege':
            self.send(b'Current privilege level is %d\r\n' % (15 if self.mode == '#' else 1))
        else:
            self.send(INVALID)

    def serve(self):
        try:
            if LOOKALIKE:
                self.send(b'\r\nWelcome to\r\nbanner-host# ')
                time.sleep(0.3)
            self.send(b'\r\n\x1b[1;33mUser Access Verification\x1b[0m\r\n\r\n' + self.prompt())
            while True:
                cmd = self.line()
                if cmd is None:
                    self.send(b'^C\r\n' + self.prompt())
                    continue
                if cmd in ('quit', 'logout'):
                    return
                if self.run(cmd) != 'no prompt':
                    self.send(self.prompt())
        except (EOFError, OSError):
            pass
        finally:
            self.sock.close()


LOOKALIKE = sys.argv[2:3] == ['lookalike']
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1])))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=Cli(conn).serve, daemon=True).start()

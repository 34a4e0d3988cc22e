#!/usr/bin/env python3
"""A scripted network switch CLI: Username/Password login, a 'switch01>' prompt, 'enable'
to 'switch01#', and 'show running-config' / 'show version' output paged with --More--
(a space shows the next page, anything else aborts), colour codes in the banner, the
pager erased with backspaces as real devices do, and small delays between pages.
Usage: fake-switch.py PORT"""
import socket
import sys
import threading
import time

PAGE = 10
MORE = b' --More-- '
ERASE = b'\b' * len(MORE) + b' ' * len(MORE) + b'\b' * len(MORE)
VERSION = ['Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)',
           'ROM: Bootstrap program is C2960 boot loader',
           'switch01 uptime is 3 weeks, 2 days, 4 hours, 1 minute',
           'System image file is "flash:c2960-lanbasek9-mz.150-2.SE11.bin"'] + \
          ['Interface GigabitEthernet0/%d is up' % i for i in range(1, 9)] + \
          ['Model number                    : WS-C2960-24TT-L',
           'System serial number            : FOC1234X0YZ',
           'Configuration register is 0xF']
RUNNING = ['Building configuration...', '!', 'hostname switch01', '!'] + \
          ['interface FastEthernet0/%d\n switchport access vlan %d\n!' % (i, 10 + i % 3) for i in range(1, 25)] + ['end']


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(30)
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)

    def read_line(self):
        while True:
            for term in (b'\r\n', b'\n', b'\r'):
                at = self.buf.find(term)
                if at >= 0:
                    line, self.buf = self.buf[:at], self.buf[at + len(term):]
                    if term == b'\r' and self.buf[:1] == b'\n':
                        self.buf = self.buf[1:]
                    return line.decode(errors='replace').strip()
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def read_key(self):
        while not self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk
        key, self.buf = self.buf[:1], self.buf[1:]
        return key

    def paged(self, lines):
        text = '\n'.join(lines).split('\n')
        for i in range(0, len(text), PAGE):
            for line in text[i:i + PAGE]:
                self.send(line.encode() + b'\r\n')
            if i + PAGE < len(text):
                self.send(MORE)
                key = self.read_key()
                self.send(ERASE)
                if key != b' ':
                    return
                time.sleep(0.05)


def serve(sock):
    c = Client(sock)
    try:
        time.sleep(0.1)
        c.send(b'\r\n\x1b[1;33mUser Access Verification\x1b[0m\r\n\r\nUsername: ')
        user = c.read_line()
        c.send(b'Password: ')
        password = c.read_line()
        if (user, password) != ('admin', 'cisco123'):
            c.send(b'\r\n% Authentication failed\r\n')
            return
        prompt = b'switch01>'
        c.send(b'\r\n' + prompt)
        while True:
            cmd = c.read_line()
            c.send(cmd.encode() + b'\r\n')  # the CLI echoes the command
            time.sleep(0.05)
            if cmd == 'enable':
                prompt = b'switch01#'
            elif cmd in ('show version', 'sh ver'):
                c.paged(VERSION)
            elif cmd in ('show running-config', 'sh run'):
                if prompt != b'switch01#':
                    c.send(b'% Privileged command\r\n')
                else:
                    c.paged(RUNNING)
            elif cmd in ('exit', 'quit'):
                return
            elif cmd:
                c.send(b'% Invalid input detected\r\n')
            c.send(prompt)
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', int(sys.argv[1])))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()

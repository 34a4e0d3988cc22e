#!/usr/bin/env python3
"""A telnet-style server that performs real option negotiation and checks the client's answers.
It offers ECHO and SUPPRESS-GO-AHEAD, asks for TERMINAL-TYPE, NAWS and an option nobody
implements (LINEMODE), asks for the terminal type by subnegotiation, sends data containing an
escaped 0xFF, and logs in one user. The command `report` prints what the client answered,
`ff` prints 'A<0xFF>B' (escaped on the wire), `bytes` prints the hex of the next line's bytes.
Usage: telnet-server.py PORT"""
import socket
import sys
import threading

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, TTYPE, NAWS, LINEMODE = 1, 3, 24, 31, 34


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(20)
        self.pending = bytearray()
        self.commands = []       # (verb, option) the client sent
        self.subs = []           # subnegotiation payloads the client sent
        self.raw_in = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError
        self.raw_in += chunk
        i = 0
        data = self.raw_in
        while i < len(data):
            b = data[i]
            if b != IAC:
                self.pending.append(b)
                i += 1
                continue
            if i + 1 >= len(data):
                break
            verb = data[i + 1]
            if verb == IAC:
                self.pending.append(IAC)
                i += 2
            elif verb in (DO, DONT, WILL, WONT):
                if i + 2 >= len(data):
                    break
                self.commands.append((verb, data[i + 2]))
                i += 3
            elif verb == SB:
                end = data.find(bytes([IAC, SE]), i)
                if end < 0:
                    break
                self.subs.append(bytes(data[i + 2:end]))
                i = end + 2
            else:
                i += 2
        self.raw_in = self.raw_in[i:]

    def read_line(self):
        while True:
            for term in (b'\r\n', b'\r\x00', b'\n'):
                at = self.pending.find(term)
                if at >= 0:
                    line = bytes(self.pending[:at])
                    del self.pending[:at + len(term)]
                    return line
            self.fill()

    def wait_for(self, predicate):
        while not predicate():
            self.fill()


def report(c):
    want = [(WILL, TTYPE), (DO, ECHO), (DO, SGA), (WILL, NAWS), (WONT, LINEMODE)]
    missing = [w for w in want if w not in c.commands]
    problems = []
    if missing:
        problems.append('missing answers %r' % missing)
    if bytes([NAWS, 0, 80, 0, 24]) not in c.subs:
        problems.append('no NAWS 80x24 in %r' % c.subs)
    if not any(s[:2] == bytes([TTYPE, 0]) and len(s) > 2 for s in c.subs):
        problems.append('no TERMINAL-TYPE IS in %r' % c.subs)
    if len(c.commands) != len(set(c.commands)):
        problems.append('repeated answers %r' % c.commands)
    if problems:
        return 'NEGOTIATION FAILED: ' + '; '.join(problems)
    ttype = next(s[2:] for s in c.subs if s[:2] == bytes([TTYPE, 0])).decode()
    return 'NEGOTIATION OK ttype=%s' % ttype


def serve(sock):
    c = Conn(sock)
    try:
        c.send(bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, NAWS, IAC, DO, LINEMODE]))
        c.wait_for(lambda: (WILL, TTYPE) in c.commands)
        c.send(bytes([IAC, SB, TTYPE, 1, IAC, SE]))
        c.wait_for(lambda: any(s[:1] == bytes([TTYPE]) for s in c.subs))
        c.send(b'\r\nDebian GNU/Linux test\r\n\r\nlogin: ')
        user = c.read_line().decode()
        c.send(b'Password: ')
        password = c.read_line().decode()
        if (user, password) != ('tester', 's3cret'):
            c.send(b'\r\nLogin incorrect\r\n')
            return
        c.send(b'\r\nLast login: never\r\n$ ')
        while True:
            cmd = c.read_line()
            if cmd == b'report':
                c.send(report(c).encode() + b'\r\n$ ')
            elif cmd == b'ff':
                c.send(b'A' + bytes([IAC, IAC]) + b'B\r\n$ ')
            elif cmd == b'bytes':
                c.send(b'> ')
                c.send(c.read_line().hex().encode() + b'\r\n$ ')
            elif cmd == b'exit':
                c.send(b'logout\r\n')
                return
            else:
                c.send(b'sh: ' + cmd + b': not found\r\n$ ')
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', int(sys.argv[1])))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()

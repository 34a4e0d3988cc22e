#!/usr/bin/env python3
"""A small SMTP server (RFC 5321 subset) on 127.0.0.1:PORT that stores each accepted
message in MAILDIR as <n>.eml, with the envelope in the first lines.
Recipients outside example.test are refused with 550. Usage: smtp-server.py PORT MAILDIR"""
import os
import socketserver
import sys
import threading

MAILDIR = sys.argv[2]
counter = [0]
lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, text):
        self.wfile.write(text.encode() + b'\r\n')

    def handle(self):
        self.reply('220 mail.example.test ESMTP test server ready')
        sender, recipients, helo = None, [], None
        while True:
            raw = self.rfile.readline(1000)
            if not raw:
                return
            line = raw.decode(errors='replace').rstrip('\r\n')
            verb = line[:4].upper()
            if verb in ('EHLO', 'HELO'):
                helo = line[5:].strip()
                if verb == 'EHLO':
                    self.reply('250-mail.example.test Hello %s' % helo)
                    self.reply('250-SIZE 1048576')
                    self.reply('250-8BITMIME')
                    self.reply('250 HELP')
                else:
                    self.reply('250 mail.example.test')
            elif line.upper().startswith('MAIL FROM:'):
                if helo is None:
                    self.reply('503 5.5.1 Say EHLO first')
                    continue
                sender, recipients = line[10:].strip(), []
                self.reply('250 2.1.0 Sender OK')
            elif line.upper().startswith('RCPT TO:'):
                if sender is None:
                    self.reply('503 5.5.1 Need MAIL first')
                    continue
                rcpt = line[8:].strip()
                if not rcpt.rstrip('>').endswith('@example.test'):
                    self.reply('550 5.7.1 Relaying denied')
                    continue
                recipients.append(rcpt)
                self.reply('250 2.1.5 Recipient OK')
            elif verb == 'DATA':
                if not recipients:
                    self.reply('503 5.5.1 Need RCPT first')
                    continue
                self.reply('354 End data with <CR><LF>.<CR><LF>')
                body = []
                while True:
                    l = self.rfile.readline(10000)
                    if not l:
                        return
                    l = l.decode(errors='replace').rstrip('\r\n')
                    if l == '.':
                        break
                    body.append(l[1:] if l.startswith('..') else l)
                with lock:
                    counter[0] += 1
                    n = counter[0]
                with open(os.path.join(MAILDIR, '%d.eml' % n), 'w') as f:
                    f.write('X-Envelope-From: %s\nX-Envelope-To: %s\n' % (sender, ', '.join(recipients)))
                    f.write('\n'.join(body) + '\n')
                self.reply('250 2.0.0 Ok: queued as TEST%04d' % n)
                sender, recipients = None, []
            elif verb == 'RSET':
                sender, recipients = None, []
                self.reply('250 2.0.0 Ok')
            elif verb == 'NOOP':
                self.reply('250 2.0.0 Ok')
            elif verb == 'QUIT':
                self.reply('221 2.0.0 Bye')
                return
            else:
                self.reply('502 5.5.2 Command not recognized')


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()

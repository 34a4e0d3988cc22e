#!/usr/bin/env python3
"""Opens COUNT TCP connections to 127.0.0.1:PORT and sends nothing on any of them (a silent flood
that would hold TLS handshake slots). Usage: silent-flood.py PORT COUNT READYFILE. READYFILE gets
the number of connections open once they all are; the connections stay open for 120 s."""
import os
import socket
import sys
import time

port, count, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
held = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(('127.0.0.1', port))
    held.append(s)
with open(ready + '.tmp', 'w') as f:
    f.write(str(len(held)))
os.replace(ready + '.tmp', ready)
time.sleep(120)

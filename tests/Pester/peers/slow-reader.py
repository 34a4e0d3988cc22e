#!/usr/bin/env python3
"""A peer that takes nothing for a while, then reads everything and checks the lines it got.
Usage: slow-reader.py PORT REPORT SLEEP_SECONDS
Listens on 127.0.0.1:PORT with a small receive buffer, takes the first client that sends, reads nothing for
SLEEP_SECONDS, then reads until the client closes or 3 s pass without data, and writes REPORT
(JSON): lines, first, last, duplicates, outOfOrder, gaps (numbers are the digits after the
leading 'L' of each line). Stops on its own after 120 s."""
import json
import os
import socket
import sys
import time

port, report, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + 120
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
srv.bind(('127.0.0.1', port))
srv.listen(1)
srv.settimeout(60)
while True:
    conn, _ = srv.accept()
    # A readiness probe connects and closes at once: wait for a client that sends (peeked, not read).
    conn.settimeout(30)
    try:
        if conn.recv(1, socket.MSG_PEEK):
            break
    except socket.timeout:
        pass
    conn.close()
time.sleep(pause)
conn.settimeout(3)
data = bytearray()
while time.monotonic() < deadline:
    try:
        chunk = conn.recv(1 << 20)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
numbers = [int(line[1:8]) for line in bytes(data).split(b'\n') if line]
seen, duplicates, out_of_order, gaps = set(), 0, 0, 0
previous = 0
for n in numbers:
    if n in seen:
        duplicates += 1
    seen.add(n)
    if n < previous:
        out_of_order += 1
    elif n > previous + 1:
        gaps += 1
    previous = n
with open(report + '.tmp', 'w') as f:
    json.dump({'bytes': len(data), 'lines': len(numbers), 'first': numbers[0] if numbers else 0,
               'last': numbers[-1] if numbers else 0, 'duplicates': duplicates,
               'outOfOrder': out_of_order, 'gaps': gaps}, f)
os.replace(report + '.tmp', report)
conn.close()

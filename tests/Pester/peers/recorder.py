#!/usr/bin/env python3
"""Records what arrives, as one hex line per TCP read, datagram or ICMP packet payload.
Usage: recorder.py tcp|udp|icmp PORT OUTFILE  (PORT is ignored for icmp; the file is created once
the socket is bound, so its existence says the peer is ready). Stops on its own after 60 s."""
import socket
import sys
import time

kind, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + 60
if kind == 'tcp':
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(1)
elif kind == 'udp':
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(('127.0.0.1', port))
else:
    srv = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
srv.settimeout(1)
with open(out, 'a', buffering=1) as f:
    conn = None
    while time.monotonic() < deadline:
        try:
            if kind == 'tcp':
                if conn is None:
                    conn, _ = srv.accept()
                    conn.settimeout(1)
                data = conn.recv(65536)
                if not data:
                    break
            else:
                data = srv.recv(65536)
                if kind == 'icmp':
                    data = data[(data[0] & 0x0F) * 4:]
        except socket.timeout:
            continue
        f.write(data.hex() + '\n')

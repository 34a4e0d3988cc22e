#!/usr/bin/env python3
"""A web server that never answers: it accepts every connection, reads what arrives, says
nothing and keeps the connection open. It counts the connections and the request lines it saw
(an AIA or CRL fetch a hostile certificate asked for). Usage: silent-http.py PORTFILE COUNTFILE.
PORTFILE gets the port (chosen by the OS) once listening; COUNTFILE is rewritten with
"<connections> <first request line>" after each connection. Stops on its own after 300 s."""
import select
import socket
import sys
import time

port_file, count_file = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(('127.0.0.1', 0))
srv.listen(128)
with open(count_file, 'w') as f:
    f.write('0 -\n')
with open(port_file + '.tmp', 'w') as f:
    f.write(str(srv.getsockname()[1]))
import os
os.replace(port_file + '.tmp', port_file)
deadline = time.monotonic() + 300
held = []
count = 0
first = '-'
while time.monotonic() < deadline:
    ready, _, _ = select.select([srv] + held, [], [], 1)
    for s in ready:
        if s is srv:
            conn, _ = srv.accept()
            held.append(conn)
            count += 1
        else:
            try:
                data = s.recv(4096)
            except OSError:
                data = b''
            if not data:
                held.remove(s)
                s.close()
                continue
            if first == '-':
                first = data.split(b'\r\n', 1)[0].decode('latin-1')
        with open(count_file + '.tmp', 'w') as f:
            f.write(f'{count} {first}\n')
        os.replace(count_file + '.tmp', count_file)

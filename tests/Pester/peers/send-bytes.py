#!/usr/bin/env python3
"""Sends fixed bytes to every client: usage send-bytes.py PORT HEX [HEX...]. Listens on
127.0.0.1:PORT, sends the bytes given in hex to each client that connects (each further HEX piece
1 s after the one before, so the client reads them apart) and keeps the connection until the
client closes it. Stops on its own after 120 s."""
import socket
import sys
import threading
import time

port, pieces = int(sys.argv[1]), [bytes.fromhex(h) for h in sys.argv[2:]]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(16)
srv.settimeout(1)


def serve(conn):
    with conn:
        try:
            for i, piece in enumerate(pieces):
                if i:
                    time.sleep(1)
                conn.sendall(piece)
            conn.settimeout(120)
            while conn.recv(4096):
                pass
        except OSError:
            pass


deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()

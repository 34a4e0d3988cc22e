"""Misbehaving peers for the reliability suite. Usage: peer.py MODE PORTFILE [ARG...].
Binds 127.0.0.1 port 0, writes the port to PORTFILE, serves ONE connection (echo serves many)."""
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

mode, portfile = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(128)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(tmp, portfile)


def rst(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def read_all(c, out=None):
    h = hashlib.sha256()
    total = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        h.update(d)
        total += len(d)
    if out:
        with open(out + ".tmp", "w") as f:
            f.write(f"{total} {h.hexdigest().upper()}")
        os.rename(out + ".tmp", out)


if mode == "echo":
    def serve(c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

if mode == "noaccept":
    # A full accept queue: later SYNs are dropped, so connects hang like a filtered port.
    srv.listen(0)
    time.sleep(float(args[0]))
    sys.exit(0)

c, _ = srv.accept()
if mode == "rst-after-send":
    # Sends N bytes, waits for the client to read some, then resets.
    n = int(args[0])
    c.sendall(b"x" * n)
    time.sleep(float(args[1]) if len(args) > 1 else 0.3)
    rst(c)
elif mode == "rst-after-read":
    # Reads N bytes, then resets while the client is still sending.
    want, got = int(args[0]), 0
    while got < want:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    rst(c)
elif mode == "halfclose":
    c.sendall(args[0].encode())
    c.shutdown(socket.SHUT_WR)
    read_all(c, args[1])
    c.close()
elif mode == "noread":
    time.sleep(float(args[0]))
elif mode == "slowloris":
    data = args[0].encode()
    try:
        for b in data:
            c.send(bytes([b]))
            time.sleep(0.1)
        time.sleep(30)
    except OSError:
        pass
elif mode == "flood":
    # N MiB with no delimiter, then a line; stops quietly when the client goes away.
    chunk = b"a" * (1 << 20)
    try:
        for _ in range(int(args[0])):
            c.sendall(chunk)
        c.sendall(b"\nend\n")
        time.sleep(60)
    except OSError:
        pass
elif mode == "fragment":
    # Sends the file in random 1-7 byte pieces with random short pauses, then closes.
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rng = random.Random(int(args[1]))
    with open(args[0], "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        n = rng.randint(1, 7)
        c.sendall(data[i:i + n])
        i += n
        if rng.random() < 0.02:
            time.sleep(rng.random() * 0.002)
    c.shutdown(socket.SHUT_WR)
    try:
        c.recv(1)
    except OSError:
        pass
    c.close()

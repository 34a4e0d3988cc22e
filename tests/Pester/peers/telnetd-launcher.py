#!/usr/bin/env python3
"""Runs the system's inetutils telnetd for each connection on 127.0.0.1:PORT, inetd style
(the socket becomes the daemon's stdin/stdout), with LOGIN as the login program.
Usage: telnetd-launcher.py PORT LOGIN"""
import os
import signal
import socket
import sys

port, login = int(sys.argv[1]), sys.argv[2]
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # reap finished daemons
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    if os.fork() == 0:
        srv.close()
        for fd in (0, 1, 2):
            os.dup2(conn.fileno(), fd)
        os.execv('/usr/sbin/telnetd', ['telnetd', '-h', '-E', login])
    conn.close()

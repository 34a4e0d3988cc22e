#!/usr/bin/python3
"""An SSH server (paramiko) whose only login method is keyboard-interactive with a prompt that no
password answers, for the SSH tests: 'Verification code: ' (a second factor). MODE 'reject'
refuses whatever is answered; MODE 'stall' never answers the reply, as a hung PAM module would.
Needs Debian's python3 (/usr/bin/python3) with python3-paramiko.
Usage: kbd-sshd.py PORT HOST_KEY_FILE MODE"""
import socket
import sys
import threading
import time

import paramiko

PORT, KEY_FILE, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
HOST_KEY = paramiko.Ed25519Key(filename=KEY_FILE)


class SecondFactor(paramiko.ServerInterface):
    def get_allowed_auths(self, username):
        return 'keyboard-interactive'

    def check_auth_interactive(self, username, submethods):
        query = paramiko.server.InteractiveQuery('', 'A second factor is required.')
        query.add_prompt('Verification code: ', False)
        return query

    def check_auth_interactive_response(self, responses):
        if MODE == 'stall':
            time.sleep(3600)
        return paramiko.AUTH_FAILED


def serve(conn):
    transport = paramiko.Transport(conn)
    transport.add_server_key(HOST_KEY)
    try:
        transport.start_server(server=SecondFactor())
        transport.accept(120)
    except (paramiko.SSHException, EOFError, OSError):
        pass
    finally:
        transport.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', PORT))
srv.listen(8)
while True:
    client, _ = srv.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()

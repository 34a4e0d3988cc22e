#!/usr/bin/python3
"""Runs commands through Netmiko's send_command, as the device tests and the device benchmark
compare with: one connection per device, the commands in order, the answers and the time each
took as JSON on stdout. Needs Debian's python3 (/usr/bin/python3) with python3-netmiko.
Usage: netmiko-run.py JSON   where JSON is {"device_type", "host", "port", "username", "password",
"commands": [...], "repeat": n, "devices": [{"host", "port"}, ...] (optional: many devices),
"threads": n (the pool for many devices)}"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from netmiko import ConnectHandler


def run(spec, host, port):
    conn = ConnectHandler(device_type=spec['device_type'], host=host, port=port,
                          username=spec['username'], password=spec['password'])
    try:
        answers = []
        for _ in range(spec.get('repeat', 1)):
            for command in spec['commands']:
                start = time.perf_counter()
                output = conn.send_command(command)
                answers.append({'command': command, 'output': output, 'seconds': time.perf_counter() - start})
        return {'host': host, 'port': port, 'prompt': conn.find_prompt(), 'answers': answers}
    finally:
        conn.disconnect()


def main():
    spec = json.loads(sys.argv[1])
    start = time.perf_counter()
    if 'devices' in spec:
        with ThreadPoolExecutor(max_workers=spec.get('threads', 16)) as pool:
            results = list(pool.map(lambda d: run(spec, d['host'], d['port']), spec['devices']))
    else:
        results = [run(spec, spec['host'], spec['port'])]
    json.dump({'seconds': time.perf_counter() - start, 'results': results}, sys.stdout)


main()

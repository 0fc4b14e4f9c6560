"""Runs moto's AWS API emulator on a free loopback port and prints {"port": N} once it listens.

It stops as soon as its standard input closes, so that a parent which dies, even by SIGKILL,
never leaves a moto server behind.
"""
import json
import logging
import os
import sys

try:
    from moto.server import ThreadedMotoServer
except ImportError as error:  # moto, or its [server] extra (flask, werkzeug), is missing
    print(json.dumps({"error": "import", "detail": str(error)}), flush=True)
    sys.exit(3)

import moto_fidelity  # noqa: E402,F401  (patches moto where it departs from AWS; see the module)

# One log line per request would flood the parent's pipe on large runs.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(json.dumps({"port": port}), flush=True)
try:
    sys.stdin.read()
except KeyboardInterrupt:
    pass
# Nothing to flush: moto keeps its state in memory only.
os._exit(0)

#!/usr/bin/env python3
"""bsctl.py HOST:PORT COMMAND [PARAMS...] - send one command to a baresip
instance through its ctrl_tcp module (netstring-framed JSON) and print the
answer. Exit status 0 when baresip answered ok=true, 1 when it answered
ok=false, 2 on a connection or protocol error, 3 on timeout.

Examples:
    bsctl.py 127.0.0.1:4445 dial sip:+13175550100@127.0.0.1:15060
    bsctl.py 127.0.0.1:4445 hold
    bsctl.py 127.0.0.1:4445 resume
    bsctl.py 127.0.0.1:4445 hangup
    bsctl.py 127.0.0.1:4445 quit

Standard library only. Events baresip pushes on the same connection are
skipped (printed to stderr with -e)."""
import json
import os
import socket
import sys
import time


def read_netstring(sock, buf, deadline):
    """Return (payload bytes, remaining buffer); raises TimeoutError."""
    while True:
        colon = buf.find(b":")
        if colon > 0:
            if not buf[:colon].isdigit():
                raise ValueError("bad netstring length %r" % buf[:colon])
            n = int(buf[:colon])
            end = colon + 1 + n
            if len(buf) >= end + 1:
                if buf[end:end + 1] != b",":
                    raise ValueError("netstring not terminated by ','")
                return buf[colon + 1:end], buf[end + 1:]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("baresip closed the control connection")
        buf += chunk


def main(argv):
    show_events = False
    if argv and argv[0] == "-e":
        show_events = True
        argv = argv[1:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    host, _, port = argv[0].rpartition(":")
    command, params = argv[1], " ".join(argv[2:])
    timeout = float(os.environ.get("BSCTL_TIMEOUT", "5"))
    token = "bsctl-%d" % os.getpid()
    req = {"command": command, "params": params, "token": token}
    data = json.dumps(req).encode()
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except OSError as e:
        print("bsctl: cannot connect to %s: %s" % (argv[0], e), file=sys.stderr)
        return 2
    with sock:
        sock.sendall(b"%d:%s," % (len(data), data))
        buf = b""
        while True:
            try:
                payload, buf = read_netstring(sock, buf, deadline)
            except TimeoutError:
                print("bsctl: no answer to %r within %.0f s" % (command, timeout),
                      file=sys.stderr)
                return 3
            except (OSError, ValueError) as e:
                print("bsctl: %s" % e, file=sys.stderr)
                return 2
            try:
                msg = json.loads(payload.decode("utf-8", "replace"))
            except ValueError:
                print("bsctl: not JSON: %r" % payload[:200], file=sys.stderr)
                return 2
            if msg.get("event"):
                if show_events:
                    print("event: %s" % json.dumps(msg), file=sys.stderr)
                continue
            if msg.get("response") and msg.get("token") in (token, None):
                text = msg.get("data") or ""
                if text:
                    print(text.rstrip("\n"))
                return 0 if msg.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""stub.py - the far ends for tests/integration/98_torture.sh.

Binds one UDP socket per LABEL=IP:PORT argument (the test uses
cloud=127.0.0.3:5080, the agent Kamailio relays to, and pbx=127.0.0.1:5090,
the PBX tlstrunk delivers calls from the cloud to) and answers every
request statelessly, to the datagram's source:

    INVITE          -> 486 Busy Here (no dialog, no media to set up)
    ACK             -> nothing
    anything else   -> 200 OK

Each request received is logged on stdout as one line

    STUB-RX side=LABEL method=METHOD callid=CALL-ID bytes=N

(callid=- when it has none), flushed at once, and every datagram as it
came is appended to RAWDIR/LABEL.raw (--raw RAWDIR): the test greps both to
see what reached the far side, parsable or not.  Python 3 standard library
only.
"""
import re
import select
import socket
import sys

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
COPY = ("via", "from", "to", "call-id", "cseq")


def headers(head):
    """(name, raw line) per header field, folded lines joined."""
    out = []
    for line in re.split(rb"\r?\n", head)[1:]:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b" " + line.strip())
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        out.append((COMPACT.get(name, name), line))
    return out


def answer(data):
    """(method, callid, response bytes or None) for one datagram."""
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    start = head.split(b"\n", 1)[0].rstrip(b"\r")
    if start.startswith(b"SIP/2.0 "):
        return None, None, None		# a response: nothing to do
    method = start.split(b" ", 1)[0].decode("latin-1")
    hs = headers(head)
    callid = "-"
    for name, line in hs:
        if name == "call-id":
            callid = line.split(b":", 1)[1].strip().decode("latin-1")
            break
    if method == "ACK":
        return method, callid, None
    status = b"486 Busy Here" if method == "INVITE" else b"200 OK"
    resp = [b"SIP/2.0 " + status]
    for name, line in hs:
        if name not in COPY:
            continue
        if name == "to" and b";tag=" not in line.lower():
            line += b";tag=torture-stub"
        resp.append(line)
    resp += [b"Server: torture-stub", b"Content-Length: 0", b"", b""]
    return method, callid, b"\r\n".join(resp)


def main():
    socks, raw, args = {}, None, sys.argv[1:]
    if args[:1] == ["--raw"]:
        raw, args = args[1], args[2:]
    for arg in args:
        label, addr = arg.split("=", 1)
        ip, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((ip, int(port)))
        socks[s] = label
    print("STUB-READY " + " ".join(args), flush=True)
    while True:
        ready, _, _ = select.select(list(socks), [], [])
        for s in ready:
            data, peer = s.recvfrom(70000)
            if raw is not None:
                with open("%s/%s.raw" % (raw, socks[s]), "ab") as f:
                    f.write(data + b"\n")
            try:
                method, callid, resp = answer(data)
            except Exception as e:	# a stub must survive what it is sent
                print("STUB-ERR side=%s %r" % (socks[s], e), flush=True)
                continue
            if method is None:
                continue
            print("STUB-RX side=%s method=%s callid=%s bytes=%d" %
                  (socks[s], method, callid, len(data)), flush=True)
            if resp is not None:
                s.sendto(resp, peer)


if __name__ == "__main__":
    main()

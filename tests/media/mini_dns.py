#!/usr/bin/env python3
"""mini_dns.py IP:PORT NAME=IPV4 [NAME=IPV4 ...]
   mini_dns.py IP:PORT --zone FILE
a tiny authoritative-only DNS server over UDP for the test endpoints.

baresip 1.0 (libre 1.1) has its own DNS client that reads only
/etc/resolv.conf (no /etc/hosts, no getaddrinfo), and tlstrunk's
Record-Route names its certificate name (sbc.test.example), which the cloud
endpoint must resolve to send ACK/BYE/re-INVITE back. So the cloud endpoint's
config says `dns_server IP:PORT` and this answers:
  A for a listed NAME        -> its address (TTL 5)
  any other type for a NAME  -> NOERROR, no answer (so SRV/NAPTR/AAAA fall back)
  anything else              -> NXDOMAIN
With --zone, the records come from FILE, read again whenever it changes
(tests change DNS under a running process), one per line:
  A    NAME IPV4 TTL
  SRV  NAME PRIORITY WEIGHT PORT TARGET TTL
Every query is logged to stdout. Runs until killed. Standard library only.
"""
import os
import socket
import struct
import sys


def parse_name(pkt, off):
    labels = []
    while True:
        n = pkt[off]
        if n == 0:
            return ".".join(labels).lower(), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(pkt[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_zone(path):
    """{name: [(type, ttl, rdata, text)]} from a zone file (see above)."""
    table = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            name = w[1].lower().rstrip(".")
            if w[0] == "A":
                rec = (1, int(w[3]), socket.inet_aton(w[2]), w[2])
            elif w[0] == "SRV":
                prio, weight, port, target = int(w[2]), int(w[3]), int(w[4]), w[5]
                rec = (33, int(w[6]), struct.pack("!HHH", prio, weight, port)
                       + encode_name(target), "%d %d %d %s" % (prio, weight, port, target))
            else:
                continue
            table.setdefault(name, []).append(rec)
    return table


def main(argv):
    if len(argv) < 1:
        print(__doc__, file=sys.stderr)
        return 2
    ip, _, port = argv[0].rpartition(":")
    zone = argv[2] if len(argv) == 3 and argv[1] == "--zone" else None
    table = {}
    for a in ([] if zone else argv[1:]):
        name, _, addr = a.partition("=")
        table.setdefault(name.lower().rstrip("."), []).append(
            (1, 5, socket.inet_aton(addr), addr))
    zone_mtime = None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    print("mini_dns: listening on %s:%s for %s" % (ip, port, ", ".join(sorted(table))),
          flush=True)
    while True:
        pkt, peer = s.recvfrom(4096)
        if zone:
            mtime = os.stat(zone).st_mtime_ns
            if mtime != zone_mtime:
                table, zone_mtime = read_zone(zone), mtime
        try:
            qid, flags, qd, _an, _ns, _ar = struct.unpack("!HHHHHH", pkt[:12])
            if flags & 0x8000 or qd != 1:
                continue
            name, off = parse_name(pkt, 12)
            qtype, qclass = struct.unpack("!HH", pkt[off:off + 4])
        except (ValueError, IndexError, struct.error):
            continue
        question = pkt[12:off + 4]
        rd = flags & 0x0100
        answers = b""
        ancount = 0
        shown = []
        if name in table:
            rcode = 0
            for rtype, ttl, rdata, text in table[name]:
                if rtype == qtype and qclass == 1:
                    answers += (b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, ttl, len(rdata))
                                + rdata)
                    ancount += 1
                    shown.append(text)
        else:
            rcode = 3
        hdr = struct.pack("!HHHHHH", qid, 0x8400 | rd | rcode, 1, ancount, 0, 0)
        s.sendto(hdr + question + answers, peer)
        print("mini_dns: %s type %d from %s:%d -> %s" % (
            name, qtype, peer[0], peer[1],
            "NXDOMAIN" if rcode else (", ".join(shown) if ancount else "no data")),
            flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)

#!/usr/bin/env python3
"""mini_dns.py IP:PORT NAME=IPV4 [NAME=IPV4 ...] - a tiny authoritative-only
DNS server over UDP for the test endpoints.

baresip 1.0 (libre 1.1) has its own DNS client that reads only
/etc/resolv.conf (no /etc/hosts, no getaddrinfo), and tlstrunk's
Record-Route names its certificate name (sbc.test.example), which the cloud
endpoint must resolve to send ACK/BYE/re-INVITE back. So the cloud endpoint's
config says `dns_server IP:PORT` and this answers:
  A for a listed NAME        -> its address (TTL 5)
  any other type for a NAME  -> NOERROR, no answer (so SRV/NAPTR/AAAA fall back)
  anything else              -> NXDOMAIN
Every query is logged to stdout. Runs until killed. Standard library only.
"""
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


def main(argv):
    if len(argv) < 1:
        print(__doc__, file=sys.stderr)
        return 2
    ip, _, port = argv[0].rpartition(":")
    table = {}
    for a in argv[1:]:
        name, _, addr = a.partition("=")
        table[name.lower().rstrip(".")] = socket.inet_aton(addr)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    print("mini_dns: listening on %s:%s for %s" % (ip, port, ", ".join(sorted(table))),
          flush=True)
    while True:
        pkt, peer = s.recvfrom(4096)
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
        if name in table:
            rcode = 0
            if qtype == 1 and qclass == 1:
                answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4)
                           + table[name])
                ancount = 1
        else:
            rcode = 3
        hdr = struct.pack("!HHHHHH", qid, 0x8400 | rd | rcode, 1, ancount, 0, 0)
        s.sendto(hdr + question + answers, peer)
        print("mini_dns: %s type %d from %s:%d -> %s" % (
            name, qtype, peer[0], peer[1],
            "NXDOMAIN" if rcode else (socket.inet_ntoa(table[name]) if ancount else "no data")),
            flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)

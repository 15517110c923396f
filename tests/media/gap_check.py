#!/usr/bin/env python3
"""gap_check.py PCAP --from IP:PORTS --to IP:PORTS --up T [--within S]

Media through a restart: packets from the relay (--from) to one endpoint
(--to), read from a capture.  T is when the new process was up (unix
seconds, float).  Prints one line: the first packet at or after T, how
long after T it came, and how many came after it.  Exit 0 when a packet
came within S seconds of T (default 1.0) and at least 25 followed (half
a second of 20 ms packets: the flow really resumed), 1 otherwise.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtp_check import parse_ep, in_ep, read_pcap  # noqa: E402


def main(argv):
    args = {"--within": "1.0"}
    it = iter(argv[2:])
    for a in it:
        args[a] = next(it, None)
    try:
        src, dst = parse_ep(args["--from"]), parse_ep(args["--to"])
        up, within = float(args["--up"]), float(args["--within"])
    except (KeyError, TypeError, ValueError):
        print(__doc__, file=sys.stderr)
        return 2
    first, after = None, 0
    for ts, sip, sport, dip, dport, _ in read_pcap(argv[1]):
        if ts < up or not in_ep(src, sip, sport) or not in_ep(dst, dip, dport):
            continue
        if first is None:
            first = ts
        after += 1
    if first is None:
        print("gap_check: %s -> %s: nothing after the restart" %
              (args["--from"], args["--to"]))
        return 1
    ok = first - up <= within and after >= 25
    print("gap_check: %s -> %s: first packet %.3f s after the new process "
          "was up, %d packets after it: %s" % (args["--from"], args["--to"],
          first - up, after, "OK" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

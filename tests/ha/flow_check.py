#!/usr/bin/env python3
"""flow_check.py PCAP --from IP:PORTS --to IP:PORTS [options]

Media flows in a capture, one per (source port, destination port): for the
failover test (tests/integration/58_failover_vip.sh), which captures each
node's bridge port separately, so that a packet in a node's capture was
sent by that node (or to it).

Options:
  --after T        only packets at or after T (unix seconds, float)
  --before T       only packets before T
  --min-packets N  a flow counts when it has at least N packets (default 25:
                   half a second of 20 ms packets; RTCP never gets there)
  --flows K        at least K flows must count (default 1)
  --within S       each counting flow's first packet came within S seconds
                   of --after
  --none           instead: no packet at all may match

Prints one line per flow (counting or not) and a verdict line; exit 0 when
the checks hold, 1 when not, 2 on usage.  Standard library only.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "media"))
from rtp_check import parse_ep, in_ep, read_pcap  # noqa: E402


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    opts = {"--min-packets": "25", "--flows": "1"}
    flags = set()
    it = iter(argv[2:])
    for a in it:
        if a == "--none":
            flags.add(a)
        else:
            opts[a] = next(it, None)
    try:
        src, dst = parse_ep(opts["--from"]), parse_ep(opts["--to"])
        after = float(opts["--after"]) if "--after" in opts else None
        before = float(opts["--before"]) if "--before" in opts else None
        within = float(opts["--within"]) if "--within" in opts else None
        minp, want = int(opts["--min-packets"]), int(opts["--flows"])
    except (KeyError, TypeError, ValueError):
        print(__doc__, file=sys.stderr)
        return 2
    flows = {}
    for ts, sip, sport, dip, dport, _ in read_pcap(argv[1]):
        if after is not None and ts < after:
            continue
        if before is not None and ts >= before:
            continue
        if not in_ep(src, sip, sport) or not in_ep(dst, dip, dport):
            continue
        f = flows.setdefault((sip, sport, dip, dport), [ts, ts, 0])
        f[1] = ts
        f[2] += 1
    what = "%s -> %s" % (opts["--from"], opts["--to"])
    if "--none" in flags:
        n = sum(f[2] for f in flows.values())
        print("flow_check: %s: %d packets: %s" % (what, n, "OK" if n == 0 else "FAIL"))
        return 0 if n == 0 else 1
    good, late = 0, []
    worst = None
    for (sip, sport, dip, dport), (first, last, n) in sorted(flows.items()):
        rel = first - after if after is not None else None
        counts = n >= minp
        line = "  %s:%d -> %s:%d: %d packets" % (sip, sport, dip, dport, n)
        if rel is not None:
            line += ", first %.3f s after T" % rel
        line += ", last at T%+.3f" % (last - after) if after is not None else ""
        print(line + ("" if counts else " (too few to count)"))
        if not counts:
            continue
        good += 1
        if rel is not None:
            worst = rel if worst is None else max(worst, rel)
        if within is not None and rel is not None and rel > within:
            late.append("%s:%d->%s:%d %.3f s" % (sip, sport, dip, dport, rel))
    ok = good >= want and not late
    print("flow_check: %s: %d flow(s) of >= %d packets (want %d)%s%s: %s" % (
        what, good, minp, want,
        "" if worst is None else ", latest first packet %.3f s after T" % worst,
        "" if not late else ", late: " + "; ".join(late),
        "OK" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

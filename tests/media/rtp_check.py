#!/usr/bin/env python3
"""rtp_check.py PCAP --cloud IP:PORTS [--pbx IP:PORTS] [--relay IP:PORTS]
                [--min-packets N] [--tones HZ,HZ] [--since T] [--until T]
                [--allow-ping]

Asserts that the media on the cloud leg of a capture is SRTP, never plain
RTP. PCAP is a classic libpcap file (tcpdump -w) taken on lo; IPv4/UDP only.
PORTS is PORT or LOW-HIGH; IP may be * (any address).

  cloud leg  every UDP packet from or to --cloud (the cloud's media ports)
  PBX leg    every UDP packet from or to --pbx that is not on the cloud leg
  relay      when given, the far end of every packet of both legs must be
             one of these ports (media crossed tlstrunk, it did not bypass it)

The cloud leg fails when
  * it carried fewer than --min-packets (default 50) RTP packets in either
    direction (so an empty capture cannot pass),
  * a packet is neither RTP nor RTCP (version 2),
  * an RTP packet with payload type 0 (PCMU) or 8 (PCMA) decodes to audio
    whose energy is mostly (>= 50%) at one of --tones (default 440,1000):
    plain G.711 of a test tone does, SRTP ciphertext (noise) never does,
  * an RTP payload seen on the PBX leg shows up (as a prefix) in a cloud-leg
    payload: the relay forwarded plain audio as is,
  * an RTCP packet parses as a complete plain compound packet (SRTCP has an
    encrypted body, an E-flag/index word and a tag: it does not). The one
    exception is baresip's own 16-byte RTCP APP "PING"/"PONG" NAT-pinhole
    packet, which baresip 1.0 sends in clear at every stream start (before
    its SRTCP copy): from the cloud endpoint it is counted separately; toward
    it only with --allow-ping (direct baresip-to-baresip calls, no relay).
With --pbx, the PBX leg must carry --min-packets per direction as well, and
the same tone detector must find the tones on it in each direction (>= 50%
of the G.711 packets): from the PBX, proof on the same run that the detector
does fire on plain RTP; toward the PBX, proof that what the relay decrypted
from the cloud leg is the cloud's audio.

--since/--until (epoch seconds, as date +%s.%N prints) restrict every count
to packets in that window (e.g. "audio flows after the re-INVITE").

Prints a report; exit status 0 when every check passed, 1 when one failed,
2 on a bad file or usage. Python standard library only.
"""
import math
import struct
import sys


def usage(msg=None):
    if msg:
        print("rtp_check: %s" % msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def parse_ep(spec):
    ip, _, ports = spec.rpartition(":")
    if not ip:
        usage("endpoint %r is not IP:PORTS" % spec)
    lo, _, hi = ports.partition("-")
    try:
        lo = int(lo)
        hi = int(hi) if hi else lo
    except ValueError:
        usage("bad port range in %r" % spec)
    return (ip, lo, hi)


def in_ep(ep, ip, port):
    return (ep is not None and ep[0] in ("*", ip) and ep[1] <= port <= ep[2])


def read_pcap(path):
    """Yield (ts, src_ip, sport, dst_ip, dport, payload) for IPv4 UDP."""
    try:
        f = open(path, "rb")
    except OSError as e:
        print("rtp_check: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)
    with f:
        gh = f.read(24)
        if len(gh) < 24:
            print("rtp_check: %s: no pcap header (empty capture?)" % path,
                  file=sys.stderr)
            sys.exit(2)
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            end = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            end = ">"
        else:
            print("rtp_check: %s: not a libpcap file (pcapng? use tcpdump -w)"
                  % path, file=sys.stderr)
            sys.exit(2)
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(end + "I", gh[20:24])[0]
        while True:
            ph = f.read(16)
            if len(ph) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(end + "IIII", ph)
            data = f.read(incl)
            if len(data) < incl:
                return  # truncated last record (capture killed mid-write)
            ts = sec + frac / (1e9 if nano else 1e6)
            if linktype == 1:            # Ethernet (lo on Linux)
                if len(data) < 14:
                    continue
                etype = struct.unpack("!H", data[12:14])[0]
                off = 14
                if etype == 0x8100:
                    etype = struct.unpack("!H", data[16:18])[0]
                    off = 18
                if etype != 0x0800:
                    continue
                ip = data[off:]
            elif linktype == 113:        # Linux cooked (-i any)
                if struct.unpack("!H", data[14:16])[0] != 0x0800:
                    continue
                ip = data[16:]
            elif linktype == 276:        # Linux cooked v2
                if struct.unpack("!H", data[0:2])[0] != 0x0800:
                    continue
                ip = data[20:]
            elif linktype == 0:          # BSD loopback
                ip = data[4:]
            elif linktype in (101, 228):  # raw IPv4
                ip = data
            else:
                print("rtp_check: unsupported link type %d" % linktype,
                      file=sys.stderr)
                sys.exit(2)
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 0x0F) * 4
            frag = struct.unpack("!H", ip[6:8])[0]
            if frag & 0x1FFF:
                continue  # non-first fragment
            src = "%d.%d.%d.%d" % tuple(ip[12:16])
            dst = "%d.%d.%d.%d" % tuple(ip[16:20])
            udp = ip[ihl:]
            if len(udp) < 8:
                continue
            sport, dport, ulen = struct.unpack("!HHH", udp[:6])
            payload = udp[8:ulen] if 8 <= ulen <= len(udp) else udp[8:]
            yield ts, src, sport, dst, dport, payload


# --- G.711 ---------------------------------------------------------------------

def _ulaw(b):
    b = ~b & 0xFF
    t = ((b & 0x0F) << 3) + 0x84
    t <<= (b & 0x70) >> 4
    return (0x84 - t) if (b & 0x80) else (t - 0x84)


def _alaw(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if (b & 0x80) else -t


ULAW = [_ulaw(i) / 32768.0 for i in range(256)]
ALAW = [_alaw(i) / 32768.0 for i in range(256)]


def tone_share(x, freq, rate=8000.0):
    energy = sum(v * v for v in x)
    if energy <= 0.0 or not x:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + coeff * s1 - s2
        s2 = s1
        s1 = s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return min(1.0, 2.0 * power / (len(x) * energy))


# --- RTP / RTCP ---------------------------------------------------------------

def classify(p):
    """'rtp', 'rtcp' or 'other' (RFC 5761 demultiplexing)."""
    if len(p) < 8 or p[0] >> 6 != 2:
        return "other"
    if 192 <= p[1] <= 223:
        return "rtcp"
    return "rtp" if len(p) >= 12 else "other"


def rtp_payload(p):
    """(payload type, payload bytes) or None when the header is broken."""
    cc = p[0] & 0x0F
    off = 12 + 4 * cc
    if p[0] & 0x10:  # header extension
        if len(p) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", p[off + 2:off + 4])[0]
    if off > len(p):
        return None
    return p[1] & 0x7F, p[off:]


def plain_rtcp(p):
    """True when p walks as a complete plain compound RTCP packet."""
    off = 0
    while off + 4 <= len(p):
        if p[off] >> 6 != 2 or not 192 <= p[off + 1] <= 223:
            return False
        off += 4 * (struct.unpack("!H", p[off + 2:off + 4])[0] + 1)
    return off == len(p)


def main(argv):
    if not argv or argv[0].startswith("-"):
        usage()
    path = argv[0]
    opts = {"--cloud": None, "--pbx": None, "--relay": None,
            "--min-packets": "50", "--tones": "440,1000",
            "--since": None, "--until": None, "--allow-ping": None}
    rest = argv[1:]
    allow_ping = False
    while rest:
        k = rest.pop(0)
        if k == "--allow-ping":
            allow_ping = True
            continue
        if k not in opts or not rest:
            usage("bad option %s" % k)
        opts[k] = rest.pop(0)
    if not opts["--cloud"]:
        usage("--cloud is required")
    cloud = parse_ep(opts["--cloud"])
    pbx = parse_ep(opts["--pbx"]) if opts["--pbx"] else None
    relay = parse_ep(opts["--relay"]) if opts["--relay"] else None
    try:
        min_pk = int(opts["--min-packets"])
        tones = [float(t) for t in opts["--tones"].split(",") if t]
        since = float(opts["--since"]) if opts["--since"] else None
        until = float(opts["--until"]) if opts["--until"] else None
    except ValueError:
        usage("bad number")

    legs = {}
    for name in ("cloud", "pbx"):
        legs[name] = {
            "rtp_in": 0, "rtp_out": 0,     # toward / from the endpoint
            "rtcp": 0, "plain_rtcp": 0, "peer_plain_rtcp": 0, "pinhole": 0, "other": 0, "g711": 0,
            "tone_like": 0, "g711_in": 0, "tone_in": 0, "leaked": 0, "bypass": 0, "lengths": {},
            "pts": {}, "peers": set(), "first": None, "last": None,
        }
    pbx_payloads = set()
    pbx_lens = set()
    cloud_rtp = []   # payloads kept for the leak check after the PBX leg is known
    total = 0

    for ts, sip, sport, dip, dport, pl in read_pcap(path):
        if since is not None and ts < since:
            continue
        if until is not None and ts > until:
            continue
        if in_ep(cloud, sip, sport) or in_ep(cloud, dip, dport):
            name, ep = "cloud", cloud
        elif pbx and (in_ep(pbx, sip, sport) or in_ep(pbx, dip, dport)):
            name, ep = "pbx", pbx
        else:
            continue
        total += 1
        leg = legs[name]
        inbound = in_ep(ep, dip, dport)
        far = (sip, sport) if inbound else (dip, dport)
        leg["peers"].add("%s:%d" % far)
        if relay and not in_ep(relay, far[0], far[1]):
            leg["bypass"] += 1
        leg["first"] = ts if leg["first"] is None else leg["first"]
        leg["last"] = ts
        kind = classify(pl)
        if kind == "other":
            leg["other"] += 1
            continue
        if kind == "rtcp":
            leg["rtcp"] += 1
            if (len(pl) == 16 and pl[1] == 204 and pl[8:16] == b"PINGPONG"
                    and (not inbound or allow_ping)):
                # baresip's NAT-pinhole RTCP APP packet, sent in clear at
                # every stream start by the endpoint itself (not audio).
                leg["pinhole"] += 1
            elif plain_rtcp(pl) and inbound:
                leg["plain_rtcp"] += 1
            elif plain_rtcp(pl):
                # The endpoint's own clear RTCP toward tlstrunk (baresip
                # sends an RTCP BYE in clear when it hangs up): not ours.
                leg["peer_plain_rtcp"] += 1
            continue
        leg["rtp_in" if inbound else "rtp_out"] += 1
        r = rtp_payload(pl)
        if r is None:
            leg["other"] += 1
            continue
        pt, body = r
        leg["pts"][pt] = leg["pts"].get(pt, 0) + 1
        leg["lengths"][len(body)] = leg["lengths"].get(len(body), 0) + 1
        if pt in (0, 8) and body:
            leg["g711"] += 1
            table = ULAW if pt == 0 else ALAW
            x = [table[b] for b in body]
            if inbound:
                leg["g711_in"] += 1
            if max(tone_share(x, t) for t in tones) >= 0.5:
                leg["tone_like"] += 1
                if inbound:
                    leg["tone_in"] += 1
        if name == "pbx":
            if len(body) >= 16:
                pbx_payloads.add(bytes(body))
                pbx_lens.add(len(body))
        else:
            cloud_rtp.append(bytes(body))

    c = legs["cloud"]
    for body in cloud_rtp:
        for n in pbx_lens:
            if len(body) >= n and body[:n] in pbx_payloads:
                c["leaked"] += 1
                break

    def fmt(leg):
        top = sorted(leg["lengths"].items(), key=lambda kv: -kv[1])[:3]
        return ("RTP to endpoint %d, from endpoint %d, RTCP %d (plain %d, "
                "baresip APP PING %d), "
                "not RTP/RTCP %d; G.711 %d of which tone-like %d (toward endpoint %d/%d); "
                "payload types %s; payload lengths %s; far ends %s"
                % (leg["rtp_in"], leg["rtp_out"], leg["rtcp"], leg["plain_rtcp"],
                   leg["pinhole"], leg["other"], leg["g711"], leg["tone_like"],
                   leg["tone_in"], leg["g711_in"],
                   ",".join("%d:%d" % kv for kv in sorted(leg["pts"].items())) or "-",
                   ",".join("%d:%d" % kv for kv in top) or "-",
                   ",".join(sorted(leg["peers"])[:6]) or "-"))

    window = ""
    if since is not None or until is not None:
        window = " (window %s .. %s)" % (opts["--since"] or "start",
                                          opts["--until"] or "end")
    print("rtp_check: %s: %d packets on the two legs%s" % (path, total, window))
    print("  cloud leg %s: %s" % (opts["--cloud"], fmt(c)))
    if pbx:
        print("  PBX leg   %s: %s" % (opts["--pbx"], fmt(legs["pbx"])))

    problems = []
    if c["rtp_in"] < min_pk or c["rtp_out"] < min_pk:
        problems.append("cloud leg carried too few RTP packets (%d to, %d from "
                        "the cloud endpoint; need %d each way)"
                        % (c["rtp_in"], c["rtp_out"], min_pk))
    if c["other"]:
        problems.append("%d cloud-leg packets are not RTP/RTCP" % c["other"])
    if c["tone_like"]:
        problems.append("%d cloud-leg RTP packets are plain G.711 of a test tone"
                        % c["tone_like"])
    if c["leaked"]:
        problems.append("%d cloud-leg RTP payloads repeat a PBX-leg payload "
                        "(plain audio relayed as is)" % c["leaked"])
    if c["plain_rtcp"]:
        problems.append("%d cloud-leg RTCP packets toward the endpoint are plain RTCP, not SRTCP"
                        % c["plain_rtcp"])
    if relay and c["bypass"]:
        problems.append("%d cloud-leg packets have a far end outside the relay "
                        "ports %s (media bypassed tlstrunk)"
                        % (c["bypass"], opts["--relay"]))
    if pbx:
        p = legs["pbx"]
        if p["rtp_in"] < min_pk or p["rtp_out"] < min_pk:
            problems.append("PBX leg carried too few RTP packets (%d to, %d "
                            "from the PBX; need %d each way)"
                            % (p["rtp_in"], p["rtp_out"], min_pk))
        else:
            g_in, t_in = p["g711_in"], p["tone_in"]
            g_out, t_out = p["g711"] - g_in, p["tone_like"] - t_in
            if g_out == 0 or t_out * 2 < g_out:
                problems.append("only %d of %d G.711 packets from the PBX hold "
                                "a test tone (the detector must fire on plain "
                                "RTP, or it proves nothing on the cloud leg)"
                                % (t_out, g_out))
            if g_in == 0 or t_in * 2 < g_in:
                problems.append("only %d of %d G.711 packets toward the PBX "
                                "hold a test tone (what the relay decrypted "
                                "from the cloud is not the cloud's audio)"
                                % (t_in, g_in))
        if relay and p["bypass"]:
            problems.append("%d PBX-leg packets have a far end outside the "
                            "relay ports %s" % (p["bypass"], opts["--relay"]))
    if problems:
        for pr in problems:
            print("  FAIL: %s" % pr)
        return 1
    print("  OK: the cloud leg is SRTP only")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

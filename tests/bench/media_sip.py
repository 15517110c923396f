#!/usr/bin/env python3
"""media_sip.py - set up N calls through tlstrunk for tests/bench/media_bench.sh.

Plays both SIP ends over UDP (standard library only):
  PBX UAC   --INVITE (RTP/AVP)-->  tlstrunk (PBX side, udp)
            tlstrunk --TLS--> Kamailio cloud stand-in --udp-->
  cloud UAS answers 200 OK with RTP/SAVP and an a=crypto line of its own
            (AES_CM_128_HMAC_SHA1_80, with the tag of tlstrunk's line).
The PBX UAC ACKs the 200 through tlstrunk's Record-Route.  Nothing is torn
down: the benchmark stops tlstrunk when it is done with the calls.

Call i's PBX endpoint is PBX_MEDIA_IP:port_base+2*(i%share) and its cloud
endpoint CLOUD_MEDIA_IP:port_base+2*(i%share) (share 0: one port per call).
What each call learned goes to --out, one line per call, in the format
media_load.c reads:
  idx pbx_ep_ip pbx_ep_port sut_pbx_ip sut_pbx_port cloud_ep_ip cloud_ep_port
      sut_cloud_ip sut_cloud_port sut_key_b64 our_key_b64
Exit status 0 when every call was set up, 1 otherwise (the file then holds
the calls that were).
"""
import argparse
import base64
import heapq
import os
import re
import select
import socket
import sys
import time

SUITE = "AES_CM_128_HMAC_SHA1_80"


def parse_msg(data):
    """(first line, {lower-name: [values]}, body) of a SIP message."""
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        if ":" not in ln:
            continue
        name, _, val = ln.partition(":")
        name = name.strip().lower()
        name = {"v": "via", "f": "from", "t": "to", "i": "call-id",
                "m": "contact", "l": "content-length",
                "c": "content-type"}.get(name, name)
        hdrs.setdefault(name, []).append(val.strip())
    return lines[0], hdrs, body


def split_list(values):
    """Comma-separated header values (Record-Route, Via) as a flat list."""
    out = []
    for v in values:
        depth, cur = 0, ""
        for ch in v:
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            if ch == "," and depth == 0:
                out.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
    return out


def sdp_media(body):
    """(connection address, audio port, proto, [crypto lines]) of an SDP."""
    addr, port, proto, cryptos = None, None, None, []
    in_audio = False
    for ln in body.replace("\r\n", "\n").split("\n"):
        if ln.startswith("c=") and (addr is None or in_audio):
            addr = ln.split()[-1].split("/")[0]
        elif ln.startswith("m="):
            f = ln[2:].split()
            in_audio = f[0] == "audio" and port is None
            if in_audio:
                port, proto = int(f[1]), f[2]
        elif ln.startswith("a=crypto:") and in_audio:
            cryptos.append(ln[len("a=crypto:"):].strip())
    return addr, port, proto, cryptos


class Call:
    __slots__ = ("i", "callid", "ftag", "invite", "sent_at", "tries",
                 "done", "pbx_leg", "cloud_leg", "sut_key", "our_key",
                 "uas_resp", "uas_dst", "uas_acked", "uas_tries", "acked",
                 "invite_t0", "setup_ms")

    def __init__(self, i):
        self.i = i
        self.tries = 0
        self.done = False
        self.pbx_leg = self.cloud_leg = None
        self.sut_key = self.our_key = None
        self.uas_resp = None
        self.uas_acked = False
        self.uas_tries = 0
        self.acked = False
        self.setup_ms = None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--sut", required=True, help="tlstrunk PBX side IP:PORT (udp)")
    ap.add_argument("--uac", required=True, help="PBX UAC bind IP:PORT")
    ap.add_argument("--uas", required=True, help="cloud UAS bind IP:PORT")
    ap.add_argument("--pbx-media-ip", required=True)
    ap.add_argument("--cloud-media-ip", required=True)
    ap.add_argument("--port-base", type=int, default=4000)
    ap.add_argument("--share", type=int, default=0)
    ap.add_argument("--rate", type=float, default=300, help="new calls per second")
    ap.add_argument("--window", type=int, default=100, help="INVITEs in flight")
    ap.add_argument("--number", default="+13175550100")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    sut_ip, sut_port = a.sut.rsplit(":", 1)
    sut = (sut_ip, int(sut_port))
    uac_ip, uac_port = a.uac.rsplit(":", 1)
    uas_ip, uas_port = a.uas.rsplit(":", 1)
    uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uac.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    uac.bind((uac_ip, int(uac_port)))
    uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uas.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    uas.bind((uas_ip, int(uas_port)))

    run = "%x%x" % (os.getpid(), int(time.time()))
    calls = [Call(i) for i in range(a.calls)]
    by_cid = {}
    timers = []          # (when, seq, kind, call index)
    tseq = 0

    def port_of(i):
        k = i % a.share if a.share > 0 else i
        return a.port_base + 2 * k

    def send_invite(c):
        sdp = ("v=0\r\no=pbx %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
               "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
               "a=sendrecv\r\n" % (c.i, a.pbx_media_ip, a.pbx_media_ip, port_of(c.i)))
        c.invite = ("INVITE sip:%s@%s:%d SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP %s:%s;branch=z9hG4bK-%s-%d;rport\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: \"PBX\" <sip:1000@%s:%s>;tag=%s\r\n"
                    "To: <sip:%s@%s:%d>\r\n"
                    "Call-ID: %s\r\n"
                    "CSeq: 1 INVITE\r\n"
                    "Contact: <sip:1000@%s:%s>\r\n"
                    "Content-Type: application/sdp\r\n"
                    "Content-Length: %d\r\n\r\n%s" % (
                        a.number, sut[0], sut[1], uac_ip, uac_port, run, c.i,
                        uac_ip, uac_port, c.ftag, a.number, sut[0], sut[1],
                        c.callid, uac_ip, uac_port, len(sdp), sdp)).encode()
        uac.sendto(c.invite, sut)

    def timer(delay, kind, i):
        nonlocal tseq
        tseq += 1
        heapq.heappush(timers, (time.monotonic() + delay, tseq, kind, i))

    def on_uac(data):
        first, h, body = parse_msg(data)
        if not first.startswith("SIP/2.0 "):
            return
        cid = (h.get("call-id") or [""])[0]
        c = by_cid.get(cid)
        if c is None:
            return
        status = int(first.split()[1])
        if status < 200:
            c.tries = max(c.tries, 100)   # provisional: stop retransmitting
            return
        if status >= 300:
            print("media_sip: call %d got %s" % (c.i, first), file=sys.stderr)
            c.done = True
            return
        if "INVITE" not in (h.get("cseq") or [""])[0]:
            return
        to = h["to"][0]
        contact = re.search(r"<([^>]*)>", h["contact"][0]).group(1) \
            if "contact" in h else "sip:%s:%d" % sut
        routes = list(reversed(split_list(h.get("record-route", []))))
        ack = ("ACK %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%s;branch=z9hG4bK-ack-%s-%d;rport\r\n"
               "%s"
               "Max-Forwards: 70\r\n"
               "From: \"PBX\" <sip:1000@%s:%s>;tag=%s\r\n"
               "To: %s\r\n"
               "Call-ID: %s\r\n"
               "CSeq: 1 ACK\r\n"
               "Content-Length: 0\r\n\r\n" % (
                   contact, uac_ip, uac_port, run, c.i,
                   "".join("Route: %s\r\n" % r for r in routes),
                   uac_ip, uac_port, c.ftag, to, c.callid)).encode()
        # tlstrunk's own Record-Route is the first hop on this topology.
        uac.sendto(ack, sut)
        if c.pbx_leg is None:
            addr, port, proto, _ = sdp_media(body)
            if port is None or proto != "RTP/AVP":
                print("media_sip: call %d: 200 without RTP/AVP audio" % c.i,
                      file=sys.stderr)
                c.done = True
                return
            c.pbx_leg = (addr, port)
            c.setup_ms = (time.monotonic() - c.invite_t0) * 1000
        c.acked = True

    def on_uas(data, src):
        first, h, body = parse_msg(data)
        if first.startswith("SIP/2.0"):
            return
        method = first.split()[0]
        cid = (h.get("call-id") or [""])[0]
        c = by_cid.get(cid)
        if c is None:
            m = re.match(r"bench-[0-9a-f]+-(\d+)@", cid)
            c = calls[int(m.group(1))] if m and int(m.group(1)) < len(calls) else None
        if c is None:
            return
        if method == "ACK":
            c.uas_acked = True
            return
        if method == "BYE":
            resp = ("SIP/2.0 200 OK\r\n%s%s%s%s%sContent-Length: 0\r\n\r\n" % (
                "".join("Via: %s\r\n" % v for v in h.get("via", [])),
                "From: %s\r\n" % h["from"][0], "To: %s\r\n" % h["to"][0],
                "Call-ID: %s\r\n" % cid, "CSeq: %s\r\n" % h["cseq"][0]))
            uas.sendto(resp.encode(), src)
            return
        if method != "INVITE":
            return
        if c.uas_resp is None:
            addr, port, proto, cryptos = sdp_media(body)
            tag, key = None, None
            for cr in cryptos:
                f = cr.split()
                if len(f) >= 3 and f[1] == SUITE and f[2].startswith("inline:"):
                    tag, key = f[0], f[2][len("inline:"):].split("|")[0]
                    break
            if proto != "RTP/SAVP" or key is None:
                print("media_sip: call %d: offer without RTP/SAVP + %s" % (c.i, SUITE),
                      file=sys.stderr)
                c.done = True
                return
            c.cloud_leg = (addr, port)
            c.sut_key = key
            c.our_key = base64.b64encode(os.urandom(30)).decode()
            sdp = ("v=0\r\no=cloud %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                   "a=crypto:%s %s inline:%s\r\na=ptime:20\r\na=sendrecv\r\n" % (
                       c.i, a.cloud_media_ip, a.cloud_media_ip, port_of(c.i), tag,
                       SUITE, c.our_key))
            c.uas_resp = ("SIP/2.0 200 OK\r\n%s%s%s%s%s%s"
                          "Contact: <sip:agent@%s:%s;transport=udp>\r\n"
                          "Content-Type: application/sdp\r\n"
                          "Content-Length: %d\r\n\r\n%s" % (
                              "".join("Via: %s\r\n" % v for v in h.get("via", [])),
                              "".join("Record-Route: %s\r\n" % v
                                      for v in h.get("record-route", [])),
                              "From: %s\r\n" % h["from"][0],
                              "To: %s;tag=uas%d\r\n" % (h["to"][0], c.i),
                              "Call-ID: %s\r\n" % cid,
                              "CSeq: %s\r\n" % h["cseq"][0],
                              uas_ip, uas_port, len(sdp), sdp)).encode()
            c.uas_dst = src
            timer(0.5, "uas", c.i)
        uas.sendto(c.uas_resp, src)

    nxt = 0
    t_start = time.monotonic()
    t_next_call = t_start
    deadline = t_start + a.timeout
    while True:
        now = time.monotonic()
        inflight = sum(1 for c in calls[:nxt] if not c.done and not c.acked)
        while (nxt < len(calls) and now >= t_next_call and inflight < a.window):
            c = calls[nxt]
            c.callid = "bench-%s-%d@%s" % (run, c.i, uac_ip)
            c.ftag = "f%d" % c.i
            by_cid[c.callid] = c
            c.invite_t0 = now
            send_invite(c)
            timer(0.5, "inv", c.i)
            nxt += 1
            inflight += 1
            t_next_call += 1.0 / a.rate
        finished = nxt == len(calls) and all(c.done or (c.acked and c.uas_acked)
                                             for c in calls)
        if finished or now > deadline:
            break
        while timers and timers[0][0] <= now:
            _, _, kind, i = heapq.heappop(timers)
            c = calls[i]
            if kind == "inv" and not c.acked and not c.done:
                c.tries += 1
                if c.tries < 7:
                    uac.sendto(c.invite, sut)
                    timer(0.5 * (2 ** min(c.tries, 3)), "inv", i)
                elif c.tries < 100:
                    print("media_sip: call %d: no answer to INVITE" % i, file=sys.stderr)
                    c.done = True
            elif kind == "uas" and not c.uas_acked:
                c.uas_tries += 1
                if c.uas_tries < 7:
                    uas.sendto(c.uas_resp, c.uas_dst)
                    timer(0.5 * (2 ** min(c.uas_tries, 3)), "uas", i)
        wait = 0.01
        if timers:
            wait = max(0, min(wait, timers[0][0] - now))
        if nxt < len(calls):
            wait = max(0, min(wait, t_next_call - now))
        r, _, _ = select.select([uac, uas], [], [], wait)
        for s in r:
            for _ in range(64):
                try:
                    data, src = s.recvfrom(65535, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if s is uac:
                    on_uac(data)
                else:
                    on_uas(data, src)

    good = [c for c in calls if c.acked and c.cloud_leg and c.pbx_leg]
    with open(a.out, "w") as f:
        for c in good:
            f.write("%d %s %d %s %d %s %d %s %d %s %s\n" % (
                c.i, a.pbx_media_ip, port_of(c.i), c.pbx_leg[0], c.pbx_leg[1],
                a.cloud_media_ip, port_of(c.i), c.cloud_leg[0], c.cloud_leg[1],
                c.sut_key, c.our_key))
    el = time.monotonic() - t_start
    setup = sorted(c.setup_ms for c in good if c.setup_ms is not None)
    print("media_sip: %d/%d calls set up in %.1f s%s" % (
        len(good), len(calls), el,
        ", setup p50 %.1f ms max %.1f ms" % (setup[len(setup) // 2], setup[-1])
        if setup else ""), file=sys.stderr)
    return 0 if len(good) == len(calls) else 1


if __name__ == "__main__":
    sys.exit(main())

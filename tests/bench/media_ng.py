#!/usr/bin/env python3
"""media_ng.py - set up N calls in rtpengine for tests/bench/media_bench.sh.

Drives rtpengine's ng control protocol (bencode over UDP, standard library
only) the way a SIP proxy would for the same job tlstrunk does:
  offer  with the PBX's plain SDP (RTP/AVP) and transport-protocol RTP/SAVP:
         rtpengine answers with the SDP for the cloud (RTP/SAVP, its
         address/port and its a=crypto lines);
  answer with the cloud's SDP (RTP/SAVP and our AES_CM_128_HMAC_SHA1_80 key,
         with the tag of rtpengine's line): rtpengine answers with the SDP
         for the PBX (plain RTP/AVP, its address/port).
Endpoints and the output file are as in media_sip.py (media_load.c's calls
file).  Exit status 0 when every call was set up.
"""
import argparse
import base64
import os
import socket
import sys
import time

from media_sip import sdp_media  # the same SDP reading as the SIP driver

SUITE = "AES_CM_128_HMAC_SHA1_80"


def benc(v):
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, str):
        return benc(v.encode())
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        e = b.index(b"e", i)
        return int(b[i + 1:e]), e + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n], colon + 1 + n


class Ng:
    def __init__(self, addr):
        self.addr = addr
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.connect(addr)
        self.n = 0
        self.pending = {}       # cookie -> (message, sent at, tries, callback)

    def send(self, msg, cb):
        self.n += 1
        cookie = b"%x_%d" % (os.getpid(), self.n)
        data = cookie + b" " + benc(msg)
        self.pending[cookie] = [data, time.monotonic(), 0, cb]
        self.s.send(data)

    def poll(self, timeout):
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(65535)
        except socket.timeout:
            data = None
        now = time.monotonic()
        if data:
            cookie, _, rest = data.partition(b" ")
            p = self.pending.pop(cookie, None)
            if p is not None:
                p[3](bdec(rest)[0])
        for cookie, p in list(self.pending.items()):
            if now - p[1] > 1.0:
                p[2] += 1
                if p[2] > 5:
                    self.pending.pop(cookie)
                    p[3]({"result": b"error", "error-reason": b"no reply"})
                else:
                    p[1] = now
                    self.s.send(p[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--ng", required=True, help="rtpengine ng IP:PORT")
    ap.add_argument("--pbx-media-ip", required=True)
    ap.add_argument("--cloud-media-ip", required=True)
    ap.add_argument("--port-base", type=int, default=4000)
    ap.add_argument("--share", type=int, default=0)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    host, port = a.ng.rsplit(":", 1)
    ng = Ng((host, int(port)))
    run = "%x%x" % (os.getpid(), int(time.time()))
    res = {}
    failed = []
    t0 = time.monotonic()

    def port_of(i):
        k = i % a.share if a.share > 0 else i
        return a.port_base + 2 * k

    def common(i):
        return {"call-id": "bench-%s-%d" % (run, i), "from-tag": "f%d" % i,
                "ICE": "remove", "replace": ["origin", "session-connection"]}

    def on_answer(i, r):
        if r.get("result") != b"ok":
            failed.append((i, "answer", r.get("error-reason")))
            return
        addr, port, proto, _ = sdp_media(r["sdp"].decode())
        if proto != "RTP/AVP":
            failed.append((i, "answer", "PBX side got %s" % proto))
            return
        res[i]["pbx_leg"] = (addr, port)

    def on_offer(i, r):
        if r.get("result") != b"ok":
            failed.append((i, "offer", r.get("error-reason")))
            return
        addr, port, proto, cryptos = sdp_media(r["sdp"].decode())
        tag = key = None
        for cr in cryptos:
            f = cr.split()
            if len(f) >= 3 and f[1] == SUITE and f[2].startswith("inline:"):
                tag, key = f[0], f[2][len("inline:"):].split("|")[0]
                break
        if proto != "RTP/SAVP" or key is None:
            failed.append((i, "offer", "cloud side got %s without %s" % (proto, SUITE)))
            return
        our = base64.b64encode(os.urandom(30)).decode()
        res[i] = {"cloud_leg": (addr, port), "sut_key": key, "our_key": our}
        sdp = ("v=0\r\no=cloud %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
               "m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
               "a=crypto:%s %s inline:%s\r\na=ptime:20\r\na=sendrecv\r\n" % (
                   i, a.cloud_media_ip, a.cloud_media_ip, port_of(i), tag, SUITE, our))
        m = common(i)
        m.update({"command": "answer", "to-tag": "t%d" % i, "sdp": sdp})
        ng.send(m, lambda r, i=i: on_answer(i, r))

    nxt = 0
    while True:
        while nxt < a.calls and len(ng.pending) < a.window:
            sdp = ("v=0\r\no=pbx %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n"
                   "a=sendrecv\r\n" % (nxt, a.pbx_media_ip, a.pbx_media_ip, port_of(nxt)))
            m = common(nxt)
            m.update({"command": "offer", "sdp": sdp, "transport-protocol": "RTP/SAVP"})
            ng.send(m, lambda r, i=nxt: on_offer(i, r))
            nxt += 1
        if nxt >= a.calls and not ng.pending:
            break
        ng.poll(0.05)

    good = sorted(i for i in res if "pbx_leg" in res[i])
    with open(a.out, "w") as f:
        for i in good:
            r = res[i]
            f.write("%d %s %d %s %d %s %d %s %d %s %s\n" % (
                i, a.pbx_media_ip, port_of(i), r["pbx_leg"][0], r["pbx_leg"][1],
                a.cloud_media_ip, port_of(i), r["cloud_leg"][0], r["cloud_leg"][1],
                r["sut_key"], r["our_key"]))
    for i, what, why in failed[:5]:
        print("media_ng: call %d: %s failed: %s" % (i, what, why), file=sys.stderr)
    print("media_ng: %d/%d calls set up in %.1f s" % (
        len(good), a.calls, time.monotonic() - t0), file=sys.stderr)
    return 0 if len(good) == a.calls else 1


if __name__ == "__main__":
    sys.exit(main())

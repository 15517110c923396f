#!/usr/bin/env python3
"""rekey_call.py - the two ends of tests/integration/95_media_rekey_dtmf.sh.

  rekey_call.py cloud --sip IP:PORT --media IP:PORT --out FILE.json
      The cloud's agent behind the Kamailio stand-in: a SIP UAS over UDP
      (Kamailio sends it tlstrunk's INVITE) with its own SRTP media
      (srtp_peer.py, AES_CM_128_HMAC_SHA1_80). It answers with key K1, then
      drives the call (seconds after the ACK; a slow re-INVITE on a busy
      machine pushes the rest back):
        0.8 s  RFC 4733 event 4 (SRTP, K1)
        1.6 s  re-INVITE #1 with a NEW key K2 (sendrecv). K1 is used until
               the 200 arrives (RFC 4568: the offerer sends with the new key
               once it has the answer); then K2, and for 0.6 s each tick
               also one stale packet under K1 (600 Hz, "k1-stale")
        2.9 s  event 10 (K2; at least 0.7 s after the rekey)
        3.4 s  re-INVITE #2, hold (a=sendonly), same key K2
        4.0 s  re-INVITE #3, resume (a=sendrecv), same key K2; then the
               exact SRTP bytes of the last K2 audio packet sent before #2
               are sent again (a replay: the replay state must have been
               kept, the key did not change)
        4.9 s  event 0 (K2)
        5.8 s  BYE
      Audio is PCMU 1000 Hz every 20 ms. What tlstrunk sends is decrypted
      with the key in tlstrunk's latest SDP (its offer, then its answer to
      each re-INVITE).
      With --reject-rekey (the PBX end refuses the rekey), a short call: the
      re-INVITE with K2 at 0.6 s; on its non-2xx final the cloud ACKs it,
      keeps K1 ("k1-after-refusal": the session is unchanged, RFC 3261
      14.1), plus one packet under the refused K2 every 10th tick (5 in all,
      "k2-refused", 600 Hz), for 1.2 s, then BYE.

  rekey_call.py pbx --sip IP:PORT --media IP:PORT --to SIP-URI --out FILE.json
      The PBX: a SIP UAC over UDP (INVITE to tlstrunk, RTP/AVP, PCMU and
      telephone-event), plain RTP, 440 Hz; RFC 4733 events 1, 11, 9 at 1.0,
      3.1 and 5.1 s after the 200; answers re-INVITEs (following the address
      in each offer), ends when the BYE arrives. With --reject-rekey: no
      events, and the first re-INVITE gets 488 Not Acceptable Here (sent
      again until its ACK, RFC 3261 timer G) and changes nothing.

  rekey_call.py check --cloud C.json --pbx P.json --pcap CAP.pcap
      Compares what each end sent with what the other end received, and
      checks the capture: see check() for the list. Exit 0 all good, 1 a
      check failed, 2 bad input.
  rekey_call.py check --reject-rekey --cloud C.json --pbx P.json
      The same for a --reject-rekey call: see check_refused().

Every packet sent and received is in the JSON (hex), with wall-clock times.
Standard library + `cryptography` (through srtp_peer.py) only.
"""
import argparse
import base64
import heapq
import json
import math
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srtp_peer import SrtpContext, SrtpError, make_inline, parse_crypto_attr, rtp_header_len  # noqa: E402

SUITE = "AES_CM_128_HMAC_SHA1_80"
TICK = 0.020

# --- event loop --------------------------------------------------------------------


class Loop:
    """select() over a few sockets plus a timer heap. Timer callbacks and
    socket handlers never block; the main flow blocks in run()."""

    def __init__(self):
        self.handlers = {}
        self.timers = []
        self.n = 0

    def add(self, sock, fn):
        sock.setblocking(False)
        self.handlers[sock] = fn

    def at(self, t, fn):
        self.n += 1
        heapq.heappush(self.timers, (t, self.n, fn))

    def run(self, pred=None, until=None):
        """Until pred() is true (returns True) or monotonic() >= until (False)."""
        while True:
            if pred is not None and pred():
                return True
            now = time.monotonic()
            if until is not None and now >= until:
                return False
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
            if pred is not None and pred():
                return True
            wait = 0.05
            if self.timers:
                wait = min(wait, self.timers[0][0] - now)
            if until is not None:
                wait = min(wait, until - now)
            r, _, _ = select.select(list(self.handlers), [], [], max(0.0, wait))
            for s in r:
                self.handlers[s](s)


def now_wall():
    return time.time()


# --- SIP ---------------------------------------------------------------------------

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type", "k": "supported", "s": "subject"}


class Msg:
    def __init__(self, raw):
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("no end of headers")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.first = lines[0]
        self.hdrs = []
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and self.hdrs:
                n, v = self.hdrs[-1]
                self.hdrs[-1] = (n, v + " " + ln.strip())
                continue
            n, _, v = ln.partition(":")
            n = n.strip().lower()
            self.hdrs.append((COMPACT.get(n, n), v.strip()))
        cl = self.get("content-length")
        self.body = body[:int(cl)] if cl and cl.isdigit() else body
        p = self.first.split(" ", 2)
        if p[0] == "SIP/2.0":
            self.status, self.method, self.uri = int(p[1]), None, None
        else:
            self.status, self.method, self.uri = None, p[0].upper(), p[1]

    def get(self, n):
        for k, v in self.hdrs:
            if k == n:
                return v
        return None

    def all(self, n):
        return [v for k, v in self.hdrs if k == n]

    def cseq(self):
        num, meth = self.get("cseq").split()
        return int(num), meth.upper()

    def sdp(self):
        ct = (self.get("content-type") or "").split(";")[0].strip().lower()
        if ct == "application/sdp" and self.body:
            return self.body.decode("utf-8", "replace")
        return None


def split_list(value):
    """Split a header value on commas outside <> and quotes."""
    out, cur, depth, quote = [], "", 0, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "<":
            depth += 1
        elif not quote and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def uri_of(nameaddr):
    if "<" in nameaddr:
        return nameaddr[nameaddr.index("<") + 1:nameaddr.index(">")]
    return nameaddr.split(";")[0].strip()


def tag_of(hdr):
    rest = hdr[hdr.index(">") + 1:] if ">" in hdr else hdr
    for p in rest.split(";")[1:]:
        k, _, v = p.partition("=")
        if k.strip().lower() == "tag":
            return v.strip()
    return None


def hostport(uri):
    """sip:[user@]host[:port][;params] -> (host, port)."""
    u = uri.split(":", 1)[1] if ":" in uri else uri
    u = u.split(";")[0].split("?")[0]
    u = u.rsplit("@", 1)[-1]
    host, _, port = u.partition(":")
    return host, int(port) if port else 5060


def build(first, headers, body=b""):
    lines = [first] + ["%s: %s" % hv for hv in headers]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def rand_token(n=10):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


# --- SDP ----------------------------------------------------------------------------


def parse_sdp(text):
    r = {"conn": None, "port": None, "proto": None, "fmts": [], "rtpmap": {},
         "crypto": [], "dir": "sendrecv", "te_pt": None, "audio": False}
    in_audio = False
    for ln in text.replace("\r\n", "\n").split("\n"):
        ln = ln.strip()
        if ln.startswith("m="):
            f = ln[2:].split()
            in_audio = f[0] == "audio" and not r["audio"]
            if in_audio:
                r["audio"] = True
                r["port"] = int(f[1].split("/")[0])
                r["proto"] = f[2]
                r["fmts"] = f[3:]
        elif ln.startswith("c=") and (in_audio or not r["audio"]):
            r["conn"] = ln.split()[-1].split("/")[0]
        elif in_audio and ln.startswith("a=rtpmap:"):
            pt, _, name = ln[len("a=rtpmap:"):].partition(" ")
            r["rtpmap"][int(pt)] = name.strip()
            if name.lower().startswith("telephone-event/8000"):
                r["te_pt"] = int(pt)
        elif in_audio and ln.startswith("a=crypto:"):
            r["crypto"].append(ln[len("a=crypto:"):])
        elif in_audio and ln[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
            r["dir"] = ln[2:]
    return r


def make_sdp(user, ver, ip, port, proto, te_pt, crypto=None, direction="sendrecv"):
    lines = ["v=0", "o=%s 4242 %d IN IP4 %s" % (user, ver, ip), "s=-",
             "c=IN IP4 %s" % ip, "t=0 0",
             "m=audio %d %s 0 %d" % (port, proto, te_pt),
             "a=rtpmap:0 PCMU/8000",
             "a=rtpmap:%d telephone-event/8000" % te_pt,
             "a=fmtp:%d 0-16" % te_pt, "a=ptime:20"]
    if crypto:
        lines.append("a=crypto:" + crypto)
    lines.append("a=" + direction)
    return ("\r\n".join(lines) + "\r\n").encode()


ANSWER_DIR = {"sendrecv": "sendrecv", "sendonly": "recvonly",
              "recvonly": "sendonly", "inactive": "inactive"}


# --- the user agent (one dialog, UDP) -----------------------------------------------


class UA:
    T1 = 0.5

    def __init__(self, loop, name, sip_addr, media_addr):
        self.loop, self.name = loop, name
        self.ip, self.port = sip_addr
        self.media_addr = media_addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(sip_addr)
        loop.add(self.sock, self._readable)
        self.contact = "<sip:%s@%s:%d>" % (name, self.ip, self.port)
        self.siplog = []
        self.responses = {}     # (cseq num, method) -> [Msg...] received
        self.acks = {}          # cseq num of an INVITE we answered 2xx -> ACK (bytes, dest)
        self.answered = {}      # (cseq, method) -> (response bytes, dest) for retransmissions
        self.acked = set()      # cseq numbers of INVITEs whose 2xx got its ACK
        # dialog
        self.call_id = self.local_hdr = self.remote_hdr = None
        self.remote_target = None
        self.route = []
        self.cseq = random.randint(100, 900)
        self.errors = []

    def log(self, d, m, raw=None):
        e = {"t": now_wall(), "dir": d, "first": m.first if m else raw.split(b"\r\n")[0].decode(),
             "cseq": (m.get("cseq") if m else None)}
        if m is not None and m.sdp():
            e["sdp"] = m.sdp()
        self.siplog.append(e)

    def send(self, data, dest):
        self.sock.sendto(data, dest)
        self.log("tx", Msg(data))

    def _readable(self, s):
        while True:
            try:
                data, src = s.recvfrom(65535)
            except BlockingIOError:
                return
            if not data.strip():
                continue        # keep-alive
            try:
                m = Msg(data)
            except ValueError:
                self.errors.append("unparsable SIP from %s:%d" % src)
                continue
            self.log("rx", m)
            if m.status is not None:
                self.on_response(m)
            else:
                self.on_request_raw(m, src)

    # server side
    def reply(self, req, src, status, reason, body=b"", to_tag=None):
        hdrs = [("Via", v) for v in req.all("via")]
        if req.method == "INVITE" and 100 < status < 300:
            hdrs += [("Record-Route", v) for v in req.all("record-route")]
        to = req.get("to")
        if status > 100 and to_tag and tag_of(to) is None:
            to += ";tag=" + to_tag
        hdrs += [("From", req.get("from")), ("To", to), ("Call-ID", req.get("call-id")),
                 ("CSeq", req.get("cseq"))]
        if req.method == "INVITE" and 100 < status < 300:
            hdrs.append(("Contact", self.contact))
        data = build("SIP/2.0 %d %s" % (status, reason), hdrs, body)
        self.send(data, src)
        self.answered[req.cseq()] = (data, src)
        if req.method == "INVITE" and status >= 200:
            self._retransmit_final(req.cseq()[0], data, src, self.T1)
        return data

    def _retransmit_final(self, num, data, dest, interval):
        """A final response to an INVITE goes out again until its ACK (2xx:
        RFC 3261 13.3.1.4; over UDP, a non-2xx too: timer G, 17.2.1)."""
        def again():
            if num in self.acked or interval > 16:
                return
            self.send(data, dest)
            self._retransmit_final(num, data, dest, min(interval * 2, 4.0))
        self.loop.at(time.monotonic() + interval, again)

    def on_request_raw(self, m, src):
        if m.method == "ACK":
            self.acked.add(m.cseq()[0])
            self.on_ack(m)
            return
        key = m.cseq()
        if key in self.answered:            # a retransmission
            data, dest = self.answered[key]
            self.sock.sendto(data, dest)
            return
        self.on_request(m, src)

    def on_request(self, m, src):
        if m.method in ("OPTIONS",):
            self.reply(m, src, 200, "OK")
        else:
            self.reply(m, src, 501, "Not Implemented")

    def on_ack(self, m):
        pass

    # client side
    def on_response(self, m):
        num, meth = m.cseq()
        self.responses.setdefault((num, meth), []).append(m)
        if meth == "INVITE" and m.status >= 200 and num in self.acks:
            data, dest = self.acks[num]     # final retransmitted: ACK again
            self.sock.sendto(data, dest)

    def next_hop(self):
        if self.route:
            return hostport(uri_of(self.route[0]))
        return hostport(self.remote_target)

    def in_dialog(self, method, num, body=b""):
        hdrs = [("Via", "SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s;rport" % (self.ip, self.port, rand_token())),
                ("Max-Forwards", "70")]
        hdrs += [("Route", r) for r in self.route]
        hdrs += [("From", self.local_hdr), ("To", self.remote_hdr), ("Call-ID", self.call_id),
                 ("CSeq", "%d %s" % (num, method))]
        if method == "INVITE":
            hdrs.append(("Contact", self.contact))
        return build("%s %s SIP/2.0" % (method, self.remote_target), hdrs, body)

    def transaction(self, data, method, num, dest, timeout=10.0):
        """Send a request, retransmit it (RFC 3261 timers A/E), return the
        final response (or None). An INVITE 2xx is ACKed here."""
        self.send(data, dest)
        state = {"interval": self.T1, "next": time.monotonic() + self.T1}
        key = (num, method)

        def final():
            return [r for r in self.responses.get(key, []) if r.status >= 200]

        def provisional():
            return any(r.status < 200 for r in self.responses.get(key, []))

        end = time.monotonic() + timeout
        while not final():
            if time.monotonic() >= end:
                return None
            if time.monotonic() >= state["next"] and not (method == "INVITE" and provisional()):
                self.sock.sendto(data, dest)
                state["interval"] = min(state["interval"] * 2, 4.0)
                state["next"] = time.monotonic() + state["interval"]
            self.loop.run(pred=lambda: bool(final()), until=min(end, state["next"]))
        resp = final()[0]
        if method == "INVITE" and resp.status < 300:
            if resp.get("contact"):
                self.remote_target = uri_of(resp.get("contact"))
            if self.remote_hdr and tag_of(self.remote_hdr) is None and tag_of(resp.get("to")):
                self.remote_hdr = resp.get("to")
            ack = self.in_dialog("ACK", num)
            adest = self.next_hop()
            self.acks[num] = (ack, adest)
            self.send(ack, adest)
        elif method == "INVITE":
            # A non-2xx final: the ACK belongs to the INVITE's transaction
            # (RFC 3261 17.1.1.3): its Request-URI, Via branch, Route set,
            # From and Call-ID, the To of the response, CSeq number + ACK.
            inv = Msg(data)
            hdrs = [("Via", inv.all("via")[0]), ("Max-Forwards", "70")]
            hdrs += [("Route", r) for r in inv.all("route")]
            hdrs += [("From", inv.get("from")), ("To", resp.get("to")), ("Call-ID", inv.get("call-id")),
                     ("CSeq", "%d ACK" % num)]
            ack = build("ACK %s SIP/2.0" % inv.uri, hdrs)
            self.acks[num] = (ack, dest)
            self.send(ack, dest)
        return resp


# --- RTP -----------------------------------------------------------------------------


def lin2ulaw(s):
    s = max(-32768, min(32767, int(s)))
    sign = 0x80 if s < 0 else 0
    if s < 0:
        s = -s
    s = min(s, 32635) + 0x84
    exp, mask = 7, 0x4000
    while not s & mask and exp > 0:
        exp -= 1
        mask >>= 1
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def tone(hz, ts, n=160, amp=8000):
    return bytes(lin2ulaw(amp * math.sin(2 * math.pi * hz * (ts + i) / 8000.0)) for i in range(n))


class RtpSource:
    """One RTP stream: PCMU audio every tick, RFC 4733 events in between."""

    EVENT_TICKS = 5         # 100 ms of tone: durations 160 .. 800
    END_REPEATS = 3         # the final (E) packet goes out three times

    def __init__(self, hz, te_pt):
        self.hz, self.te_pt = hz, te_pt
        self.ssrc = random.randint(1, 0xFFFFFFFE)
        self.seq = random.randint(1000, 20000)      # no wrap: ROC 0 all call
        self.ts = random.randint(0, 0x7FFFFFFF)
        self.event = None

    def header(self, pt, marker, ts):
        h = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq & 0xFFFF,
                        ts & 0xFFFFFFFF, self.ssrc)
        self.seq += 1
        return h

    def queue_event(self, code):
        self.event = {"code": code, "step": 0, "ts": None}

    def tick(self):
        """The packets of this tick: [(kind, plain)]."""
        out = []
        ev = self.event
        if ev is not None:
            if ev["ts"] is None:
                ev["ts"] = self.ts
            step = ev["step"]
            dur = 160 * min(step + 1, self.EVENT_TICKS)
            end = step + 1 >= self.EVENT_TICKS
            payload = struct.pack("!BBH", ev["code"], (0x80 if end else 0) | 10, dur)
            out.append(("dtmf", self.header(self.te_pt, step == 0, ev["ts"]) + payload))
            ev["step"] += 1
            if ev["step"] >= self.EVENT_TICKS + self.END_REPEATS - 1:
                self.event = None
        else:
            out.append(("audio", self.header(0, False, self.ts) + tone(self.hz, self.ts)))
        self.ts += 160
        return out

    def extra_audio(self, hz):
        """One more audio packet in this tick (same timestamp), another tone."""
        return self.header(0, False, self.ts - 160) + tone(hz, self.ts - 160)


class Media:
    def __init__(self, loop, addr, hz, te_pt):
        self.loop = loop
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(addr)
        loop.add(self.sock, self._readable)
        self.src = RtpSource(hz, te_pt)
        self.dest = None
        self.sent, self.recv = [], []
        self.running = False
        self.t0 = None
        self.n = 0

    def start(self):
        self.running = True
        self.t0 = time.monotonic()
        self.n = 0
        self.loop.at(self.t0, self._tick)

    def stop(self):
        self.running = False

    def _tick(self):
        if not self.running:
            return
        if self.dest is not None:
            for kind, plain in self.src.tick():
                self.emit(kind, plain)
        self.n += 1
        self.loop.at(self.t0 + self.n * TICK, self._tick)

    def emit(self, kind, plain):          # plain RTP (the PBX)
        self.sock.sendto(plain, self.dest)
        self.sent.append({"t": now_wall(), "kind": kind, "plain": plain.hex()})

    def _readable(self, s):
        while True:
            try:
                data, src = s.recvfrom(4096)
            except BlockingIOError:
                return
            self.on_packet(data, src)

    def on_packet(self, data, src):
        self.recv.append({"t": now_wall(), "src": "%s:%d" % src, "plain": data.hex()})


class SrtpMedia(Media):
    """The cloud's media: SRTP out under self.tx, SRTP in under the key
    tlstrunk announced last (older keys are tried only to say which key a
    packet was under)."""

    def __init__(self, *a):
        Media.__init__(self, *a)
        self.tx = self.tx_label = None
        self.stale = None           # (ctx, label, until monotonic)
        self.probe = None           # [ctx, label, every n-th tick, how many more]
        self.rx_keys = []           # [(label, inline, ctx)], newest last
        self.last_audio = None

    def set_rx(self, inline, key):
        if self.rx_keys and self.rx_keys[-1][1] == inline:
            return self.rx_keys[-1][0], False
        label = "t%d" % (len(self.rx_keys) + 1)
        self.rx_keys.append((label, inline, SrtpContext.from_inline(key, SUITE)))
        return label, True

    def emit(self, kind, plain):
        wire = self.tx.protect(plain)
        self.sock.sendto(wire, self.dest)
        rec = {"t": now_wall(), "kind": kind, "key": self.tx_label, "plain": plain.hex(), "wire": wire.hex()}
        self.sent.append(rec)
        if kind == "audio":
            self.last_audio = rec
        if self.stale is not None and kind == "audio":
            ctx, label, until = self.stale
            if time.monotonic() < until:
                p = self.src.extra_audio(600)
                w = ctx.protect(p)
                self.sock.sendto(w, self.dest)
                self.sent.append({"t": now_wall(), "kind": "audio", "key": label + "-stale",
                                  "plain": p.hex(), "wire": w.hex()})
            else:
                self.stale = None
        if self.probe is not None and kind == "audio" and self.n % self.probe[2] == 0:
            ctx, label, _, left = self.probe
            p = self.src.extra_audio(600)
            w = ctx.protect(p)
            self.sock.sendto(w, self.dest)
            self.sent.append({"t": now_wall(), "kind": "audio", "key": label,
                              "plain": p.hex(), "wire": w.hex()})
            self.probe[3] -= 1
            if self.probe[3] <= 0:
                self.probe = None

    def replay(self, rec):
        self.sent.append(dict(rec, t=now_wall(), key=rec["key"] + "-replay"))
        self.sock.sendto(bytes.fromhex(rec["wire"]), self.dest)

    def on_packet(self, data, src):
        rec = {"t": now_wall(), "src": "%s:%d" % src, "wire": data.hex(), "plain": None,
               "key": None, "err": None}
        for i, (label, _, ctx) in enumerate(reversed(self.rx_keys)):
            try:
                rec["plain"] = ctx.unprotect(data).hex()
                rec["key"] = label
                break
            except SrtpError as e:
                if i == 0:
                    rec["err"] = e.why
        self.recv.append(rec)


# --- the cloud ---------------------------------------------------------------------


def hp(s):
    ip, _, port = s.rpartition(":")
    return ip, int(port)


def write_out(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def die(out, obj, msg):
    obj["fatal"] = msg
    print("%s: FATAL: %s" % (obj.get("role"), msg), file=sys.stderr)
    write_out(out, obj)
    sys.exit(1)


class CloudUA(UA):
    def __init__(self, *a):
        UA.__init__(self, *a)
        self.invite = self.invite_src = None
        self.bye = False

    def on_request(self, m, src):
        if m.method == "INVITE" and self.invite is None and not tag_of(m.get("to")):
            self.invite, self.invite_src = m, src
            self.local_tag = rand_token()
            self.reply(m, src, 100, "Trying")
            return
        if m.method == "BYE":
            self.bye = True
            self.reply(m, src, 200, "OK")
            return
        UA.on_request(self, m, src)


def run_cloud(a):
    loop = Loop()
    ua = CloudUA(loop, "agent", hp(a.sip), hp(a.media))
    out = {"role": "cloud", "events": [], "media_addr": a.media}

    def ev(what, **kw):
        kw.update(t=now_wall(), what=what)
        out["events"].append(kw)
        print("cloud: %s %s" % (what, {k: v for k, v in kw.items() if k not in ("t", "what")}),
              file=sys.stderr)

    def dump():
        out["sip"] = ua.siplog
        out["sip_errors"] = ua.errors
        if media is not None:
            out["sent"], out["recv"] = media.sent, media.recv
            out["rx_keys"] = [(lbl, inl) for lbl, inl, _ in media.rx_keys]
            out["ssrc"] = media.src.ssrc
        write_out(a.out, out)

    media = None
    if not loop.run(pred=lambda: ua.invite is not None, until=time.monotonic() + a.wait):
        die(a.out, out, "no INVITE arrived within %d s" % a.wait)
    inv = ua.invite
    offer = parse_sdp(inv.sdp() or "")
    out["offer"] = offer
    if offer["te_pt"] is None:
        die(a.out, out, "tlstrunk's offer has no telephone-event/8000: %r" % offer)
    cands = [parse_crypto_attr(c) for c in offer["crypto"]]
    mine = [c for c in cands if c and c["suite"] == SUITE]
    if offer["proto"] != "RTP/SAVP" or not mine:
        die(a.out, out, "tlstrunk's offer is not RTP/SAVP with an %s line: %r" % (SUITE, offer))
    tag = mine[0]["tag"]
    media = SrtpMedia(loop, hp(a.media), 1000, offer["te_pt"])
    media.dest = (offer["conn"], offer["port"])
    lbl, _ = media.set_rx(mine[0]["inline"], mine[0]["key"])
    ev("offer", relay="%s:%d" % media.dest, tlstrunk_key=lbl, tag=tag, te_pt=offer["te_pt"])
    k1 = os.urandom(30)
    out["own_keys"] = {"k1": make_inline(k1)}
    media.tx, media.tx_label = SrtpContext.from_inline(k1, SUITE), "k1"

    # Dialog state (UAS side: route set = Record-Route in order).
    ua.call_id = inv.get("call-id")
    ua.local_hdr = inv.get("to") + ";tag=" + ua.local_tag
    ua.remote_hdr = inv.get("from")
    ua.remote_target = uri_of(inv.get("contact"))
    ua.route = [r for v in inv.all("record-route") for r in split_list(v)]
    mip, mport = hp(a.media)
    ver = [1]

    def cloud_sdp(key, direction):
        return make_sdp("cloud", ver[0], mip, mport, "RTP/SAVP", offer["te_pt"],
                        "%d %s inline:%s" % (tag, SUITE, make_inline(key)), direction)

    ua.reply(inv, ua.invite_src, 200, "OK", cloud_sdp(k1, "sendrecv"), to_tag=ua.local_tag)
    if not loop.run(pred=lambda: inv.cseq()[0] in ua.acked, until=time.monotonic() + 10):
        die(a.out, out, "no ACK for the 200")
    ev("acked")
    media.start()
    t0 = media.t0
    out["t0"] = now_wall()

    def at_least(rel, gap):
        """Run until t0 + rel, and at least gap seconds from now (a slow
        re-INVITE on a busy machine shifts the rest of the timeline)."""
        loop.run(until=max(t0 + rel, time.monotonic() + gap))

    def dtmf(code):
        media.src.queue_event(code)
        ev("dtmf", code=code)

    def reinvite(key, direction, label):
        ver[0] += 1
        ua.cseq += 1
        num = ua.cseq
        data = ua.in_dialog("INVITE", num, cloud_sdp(key, direction))
        ev("reinvite", n=label, cseq=num, dir=direction)
        resp = ua.transaction(data, "INVITE", num, ua.next_hop())
        if resp is None or resp.status != 200:
            dump()
            die(a.out, out, "re-INVITE %s: %s" % (label, resp.first if resp else "no final response"))
        ans = parse_sdp(resp.sdp() or "")
        crypto = [parse_crypto_attr(c) for c in ans["crypto"]]
        info = {"n": label, "proto": ans["proto"], "ncrypto": len(ans["crypto"]),
                "dir": ans["dir"], "conn": ans["conn"], "port": ans["port"]}
        if ans["proto"] != "RTP/SAVP" or not crypto or crypto[0] is None:
            ev("answer", **info)
            dump()
            die(a.out, out, "tlstrunk's answer to re-INVITE %s is not RTP/SAVP with a=crypto: %r"
                % (label, ans))
        c = crypto[0]
        info.update(tag=c["tag"], suite=c["suite"], mki=c["mki"])
        if ans["conn"] and ans["port"]:
            media.dest = (ans["conn"], ans["port"])
        lbl, changed = media.set_rx(c["inline"], c["key"])
        info.update(tlstrunk_key=lbl, changed=changed)
        out.setdefault("answers", []).append(info)
        ev("answer", **info)
        return resp

    def bye():
        media.stop()
        ua.cseq += 1
        ev("bye")
        resp = ua.transaction(ua.in_dialog("BYE", ua.cseq), "BYE", ua.cseq, ua.next_hop())
        ev("bye_done", status=resp.status if resp else None)
        loop.run(until=time.monotonic() + 0.4)
        dump()
        if resp is None or resp.status != 200:
            die(a.out, out, "BYE: %s" % (resp.first if resp else "no final response"))
        return 0

    if a.reject_rekey:
        # The PBX refuses the rekey: the session stays as it was (RFC 3261
        # 14.1), so K1 goes on; a few packets under the refused K2 too.
        at_least(0.6, 0)
        k2 = os.urandom(30)
        out["own_keys"]["k2"] = make_inline(k2)
        media.tx_label = "k1-pending"
        ver[0] += 1
        ua.cseq += 1
        num = ua.cseq
        ev("reinvite", n="rekey", cseq=num, dir="sendrecv")
        resp = ua.transaction(ua.in_dialog("INVITE", num, cloud_sdp(k2, "sendrecv")), "INVITE", num,
                              ua.next_hop())
        out["refused"] = {"n": "rekey", "status": resp.status if resp else None,
                          "first": resp.first if resp else None, "sdp": resp.sdp() if resp else None}
        if resp is None or resp.status < 300:
            dump()
            die(a.out, out, "re-INVITE rekey, which the PBX refuses: %s"
                % (resp.first if resp else "no final response"))
        media.tx_label = "k1-after-refusal"
        media.probe = [SrtpContext.from_inline(k2, SUITE), "k2-refused", 10, 5]
        ev("refused", n="rekey", status=resp.status)
        at_least(0, 1.2)
        return bye()

    at_least(0.8, 0)
    dtmf(4)
    at_least(1.6, 0.3)
    k2 = os.urandom(30)
    out["own_keys"]["k2"] = make_inline(k2)
    media.tx_label = "k1-pending"           # still K1 until the answer
    reinvite(k2, "sendrecv", "rekey")
    k1ctx = media.tx
    media.tx, media.tx_label = SrtpContext.from_inline(k2, SUITE), "k2"
    media.stale = (k1ctx, "k1", time.monotonic() + 0.6)
    ev("rekey_done")

    at_least(2.9, 0.7)          # after the stale K1 packets
    dtmf(10)
    at_least(3.4, 0.3)
    replay_src = media.last_audio
    reinvite(k2, "sendonly", "hold")
    at_least(4.0, 0.2)
    reinvite(k2, "sendrecv", "resume")
    media.replay(replay_src)
    ev("replayed", seq=struct.unpack("!H", bytes.fromhex(replay_src["plain"])[2:4])[0])

    at_least(4.9, 0.1)
    dtmf(0)
    at_least(5.8, 0.6)
    return bye()


# --- the PBX -----------------------------------------------------------------------


class PbxUA(UA):
    def __init__(self, *a):
        UA.__init__(self, *a)
        self.media = None
        self.bye = False
        self.sdp_ver = 1
        self.reinvites = []
        self.reject_rekey = False

    def on_request(self, m, src):
        if m.method == "INVITE" and tag_of(m.get("to")):
            off = parse_sdp(m.sdp() or "")
            ri = {"t": now_wall(), "proto": off["proto"], "dir": off["dir"], "ncrypto": len(off["crypto"]),
                  "te_pt": off["te_pt"], "cseq": m.cseq()[0], "status": 200}
            self.reinvites.append(ri)
            if self.reject_rekey and len(self.reinvites) == 1:
                ri["status"] = 488          # the session stays as it was
                self.reply(m, src, 488, "Not Acceptable Here")
                return
            if off["conn"] and off["port"]:
                self.media.dest = (off["conn"], off["port"])
            self.sdp_ver += 1
            ip, port = self.media_addr
            body = make_sdp("pbx", self.sdp_ver, ip, port, "RTP/AVP", off["te_pt"] or 101,
                            None, ANSWER_DIR.get(off["dir"], "sendrecv"))
            self.reply(m, src, 200, "OK", body, to_tag=tag_of(m.get("to")))
            return
        if m.method == "BYE":
            self.bye = True
            self.media.stop()
            self.reply(m, src, 200, "OK")
            return
        UA.on_request(self, m, src)


def run_pbx(a):
    loop = Loop()
    ua = PbxUA(loop, "pbx", hp(a.sip), hp(a.media))
    ua.reject_rekey = a.reject_rekey
    out = {"role": "pbx", "events": [], "media_addr": a.media}
    te_pt = 101
    media = Media(loop, hp(a.media), 440, te_pt)
    ua.media = media

    def ev(what, **kw):
        kw.update(t=now_wall(), what=what)
        out["events"].append(kw)
        print("pbx: %s %s" % (what, {k: v for k, v in kw.items() if k not in ("t", "what")}),
              file=sys.stderr)

    def dump():
        out["sip"], out["sip_errors"] = ua.siplog, ua.errors
        out["sent"], out["recv"], out["ssrc"] = media.sent, media.recv, media.src.ssrc
        out["reinvites"] = ua.reinvites
        out["acked"] = sorted(ua.acked)
        out["call_id"] = ua.call_id
        write_out(a.out, out)

    ip, port = hp(a.media)
    ua.call_id = "%s@%s" % (rand_token(16), ua.ip)
    ua.local_hdr = "<sip:1000@%s:%d>;tag=%s" % (ua.ip, ua.port, rand_token())
    ua.remote_hdr = "<%s>" % a.to
    ua.remote_target = a.to
    num = ua.cseq = 1
    body = make_sdp("pbx", 1, ip, port, "RTP/AVP", te_pt)
    data = build("INVITE %s SIP/2.0" % a.to, [
        ("Via", "SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s;rport" % (ua.ip, ua.port, rand_token())),
        ("Max-Forwards", "70"), ("From", ua.local_hdr), ("To", ua.remote_hdr),
        ("Call-ID", ua.call_id), ("CSeq", "1 INVITE"), ("Contact", ua.contact),
        ("Subject", "95_media_rekey_dtmf")], body)
    resp = None

    def final():
        return [r for r in ua.responses.get((1, "INVITE"), []) if r.status >= 200]

    # The ACK needs the route set, which only the 2xx gives: not through
    # transaction(), whose ACK uses the dialog as it stands.
    ua.send(data, hostport(a.to))
    nxt, interval, end = time.monotonic() + 0.5, 0.5, time.monotonic() + a.wait
    while not final() and time.monotonic() < end:
        if time.monotonic() >= nxt and not ua.responses.get((1, "INVITE")):
            ua.sock.sendto(data, hostport(a.to))
            interval = min(interval * 2, 4.0)
            nxt = time.monotonic() + interval
        loop.run(pred=lambda: bool(final()), until=min(end, nxt))
    if not final():
        dump()
        die(a.out, out, "no final response to the INVITE")
    resp = final()[0]
    if resp.status != 200:
        dump()
        die(a.out, out, "INVITE answered %s" % resp.first)
    ua.remote_hdr = resp.get("to")
    ua.remote_target = uri_of(resp.get("contact"))
    ua.route = list(reversed([r for v in resp.all("record-route") for r in split_list(v)]))
    ack = ua.in_dialog("ACK", num)
    ua.acks[num] = (ack, ua.next_hop())
    ua.send(ack, ua.next_hop())
    ans = parse_sdp(resp.sdp() or "")
    out["answer"] = ans
    if not ans["conn"] or not ans["port"]:
        dump()
        die(a.out, out, "the 200 has no usable SDP: %r" % ans)
    if ans["te_pt"] is not None:
        media.src.te_pt = ans["te_pt"]
    media.dest = (ans["conn"], ans["port"])
    ev("established", relay="%s:%d" % media.dest, te_pt=ans["te_pt"])
    media.start()
    t0 = media.t0
    out["t0"] = now_wall()
    for rel, code in () if a.reject_rekey else ((1.0, 1), (3.1, 11), (5.1, 9)):
        loop.at(t0 + rel, lambda code=code: (media.src.queue_event(code), ev("dtmf", code=code)))
    if not loop.run(pred=lambda: ua.bye, until=t0 + a.wait):
        dump()
        die(a.out, out, "no BYE within %d s" % a.wait)
    ev("bye")
    loop.run(until=time.monotonic() + 0.4)
    dump()
    return 0


# --- the checks ----------------------------------------------------------------------


def rtp_fields(p):
    return {"pt": p[1] & 0x7F, "m": p[1] >> 7, "seq": struct.unpack("!H", p[2:4])[0],
            "ts": struct.unpack("!I", p[4:8])[0], "ssrc": struct.unpack("!I", p[8:12])[0]}


def events_of(packets, te_pt):
    """RFC 4733 packets (plain bytes, in order) -> [(ts, code, [(E, vol, dur), ...])]."""
    evs = {}
    order = []
    for p in packets:
        f = rtp_fields(p)
        if f["pt"] != te_pt:
            continue
        h = rtp_header_len(p)
        code, ev, dur = struct.unpack("!BBH", p[h:h + 4])
        if f["ts"] not in evs:
            evs[f["ts"]] = (code, [])
            order.append(f["ts"])
        evs[f["ts"]][1].append((ev >> 7, ev & 0x3F, dur, f["m"]))
    return [(ts, evs[ts][0], evs[ts][1]) for ts in order]


def ev_brief(evs):
    return [(c, len(p), p[-1]) for _, c, p in evs]


class Verdict:
    """The assertions of one check: FAIL lines and ok lines."""

    def __init__(self):
        self.problems, self.notes = [], []

    def need(self, cond, fail_msg, ok_msg=None):
        """One assertion: its FAIL line, or (when given) its ok line."""
        if not cond:
            self.problems.append(fail_msg)
        elif ok_msg:
            self.notes.append(ok_msg)
        return cond

    def report(self):
        for n in self.notes:
            print("  ok  %s" % n)
        for p in self.problems:
            print("  FAIL: %s" % p)
        return 1 if self.problems else 0

    def load(self, a):
        """Both ends' records; what either end reported as broken is a
        problem already."""
        with open(a.cloud) as f:
            C = json.load(f)
        with open(a.pbx) as f:
            P = json.load(f)
        for who, d in (("cloud", C), ("pbx", P)):
            if d.get("fatal"):
                self.problems.append("%s end: %s" % (who, d["fatal"]))
            for e in d.get("sip_errors", []):
                self.problems.append("%s end: %s" % (who, e))
        return C, P


def check(a):
    v = Verdict()
    try:
        C, P = v.load(a)
    except (OSError, ValueError) as e:
        print("rekey_call check: %s" % e)
        return 2
    problems, notes, need, report = v.problems, v.notes, v.need, v.report
    if problems:
        return report()

    # -- signalling, as each end received it --
    off, ans = C["offer"], P["answer"]
    te_c, te_p = off["te_pt"], ans["te_pt"]
    answers = C.get("answers", [])
    ri = P.get("reinvites", [])
    need(off["proto"] == "RTP/SAVP" and any(SUITE in c for c in off["crypto"]),
         "the cloud was offered %s with %d crypto lines" % (off["proto"], len(off["crypto"])))
    need(ans["proto"] == "RTP/AVP" and not ans["crypto"],
         "the PBX got an answer %s with %d crypto lines" % (ans["proto"], len(ans["crypto"])))
    need(te_c is not None and te_p is not None,
         "telephone-event missing (offer to the cloud: PT %s, answer to the PBX: PT %s)" % (te_c, te_p))
    need([x["n"] for x in answers] == ["rekey", "hold", "resume"],
         "the cloud got answers to %s, expected rekey, hold, resume" % [x["n"] for x in answers])
    for x in answers:
        need(x["proto"] == "RTP/SAVP" and x["ncrypto"] == 1 and x["suite"] == SUITE and x["tag"] == 1
             and not x["mki"],
             "tlstrunk's answer to re-INVITE %s: %s with %d crypto line(s), suite %s tag %s mki %s "
             "(want RTP/SAVP, exactly one %s line, tag 1, no MKI)"
             % (x["n"], x["proto"], x["ncrypto"], x.get("suite"), x.get("tag"), x.get("mki"), SUITE))
    need(any(x["n"] == "hold" and x["dir"] == "recvonly" for x in answers),
         "the hold answer to the cloud is not a=recvonly: %s" % [(x["n"], x["dir"]) for x in answers])
    need(len(ri) == 3 and all(r["proto"] == "RTP/AVP" and r["ncrypto"] == 0 for r in ri)
         and [r["dir"] for r in ri] == ["sendrecv", "sendonly", "sendrecv"]
         and all(r["te_pt"] is not None for r in ri),
         "the PBX got re-INVITEs %s (want 3, RTP/AVP, no crypto, telephone-event, "
         "sendrecv/sendonly/sendrecv)" % [(r["proto"], r["ncrypto"], r["dir"], r["te_pt"]) for r in ri],
         "SDP: the cloud was offered RTP/SAVP + a=crypto, the PBX answered RTP/AVP; the %d cloud "
         "re-INVITEs reached the PBX as RTP/AVP without crypto; tlstrunk answered each with one %s "
         "line (its key: %s)"
         % (len(ri), SUITE, ", ".join("%s=%s%s" % (x["n"], x["tlstrunk_key"], " (new)" if x["changed"] else "")
                                      for x in answers)))

    ev = {e["what"] + (":" + e["n"] if "n" in e else ""): e["t"] for e in C["events"]}
    t_re1, t_rekey = ev.get("reinvite:rekey"), ev.get("rekey_done")
    t_ans = {n: ev.get("answer:" + n) for n in ("rekey", "hold", "resume")}
    if not need(None not in (t_re1, t_rekey, ev.get("replayed")) and None not in t_ans.values(),
                "cloud timeline incomplete: %s" % ev):
        return report()

    # -- cloud -> PBX (SRTP that tlstrunk decrypted) --
    pbx_rx = {}
    for r in P["recv"]:
        pbx_rx.setdefault(r["plain"], []).append(r["t"])
    sent_plain = set(x["plain"] for x in C["sent"])
    unknown = [r for r in P["recv"] if r["plain"] not in sent_plain]
    need(not unknown, "the PBX received %d packets that the cloud never sent (first: %s)"
         % (len(unknown), unknown[0]["plain"][:64] if unknown else ""))
    srcs = sorted(set(r["src"] for r in P["recv"]))
    need(srcs == ["%s:%d" % (ans["conn"], ans["port"])],
         "the PBX received media from %s, not (only) from tlstrunk's relay %s:%s"
         % (srcs, ans["conn"], ans["port"]))

    def delivered(sel):
        s = [x for x in C["sent"] if sel(x)]
        return s, [x for x in s if x["plain"] in pbx_rx]

    s, d = delivered(lambda x: x["key"] == "k1" and x["kind"] == "audio" and x["t"] < t_re1)
    need(len(s) >= 40 and len(d) >= 0.9 * len(s),
         "before the rekey: %d of %d K1 audio packets from the cloud reached the PBX" % (len(d), len(s)),
         "cloud->PBX before the rekey: %d/%d K1 packets delivered" % (len(d), len(s)))
    s, d = delivered(lambda x: x["key"] == "k2" and x["kind"] == "audio")
    s2, d2 = delivered(lambda x: x["key"] == "k2" and x["kind"] == "audio" and x["t"] > t_ans["resume"])
    need(len(s) >= 100 and len(d) >= 0.9 * len(s),
         "after the rekey: %d of %d audio packets under the NEW key K2 reached the PBX "
         "(tlstrunk did not follow the cloud's new key?)" % (len(d), len(s)))
    need(len(s2) >= 30 and len(d2) >= 0.9 * len(s2),
         "after the same-key hold/resume: %d of %d K2 packets reached the PBX" % (len(d2), len(s2)),
         "cloud->PBX after the rekey: %d/%d new-key K2 packets delivered (%d/%d after the "
         "hold/resume)" % (len(d), len(s), len(d2), len(s2)))
    s, d = delivered(lambda x: x["key"] == "k1-stale")
    need(len(s) >= 10, "only %d stale K1 packets were sent after the rekey" % len(s))
    need(not d, "%d of %d packets the cloud sent under the OLD key K1 after the rekey reached the PBX "
         "(tlstrunk still accepts the replaced key)" % (len(d), len(s)),
         "cloud->PBX: 0/%d old-key K1 packets sent after the rekey delivered" % len(s))
    s, d = delivered(lambda x: x["key"] == "k1-pending")
    notes.append("cloud->PBX: %d/%d K1 packets sent while re-INVITE #1 was pending delivered "
                 "(not asserted)" % (len(d), len(s)))
    rp = [x for x in C["sent"] if x["key"].endswith("-replay")]
    if need(len(rp) == 1, "expected one replayed packet, found %d" % len(rp)):
        # Every plaintext the cloud sends is unique (sequence number), so a
        # second copy at the PBX can only be the replay.
        times = pbx_rx.get(rp[0]["plain"], [])
        after = [t for t in times if t >= rp[0]["t"]]
        need(not after and len(times) <= 1,
             "the packet the cloud replayed after the same-key re-INVITEs reached the PBX %d time(s), "
             "%d after the replay (tlstrunk restarted the stream's replay state although the key "
             "did not change)" % (len(times), len(after)),
             "cloud->PBX: a replay of a K2 packet sent before the hold/resume re-INVITEs was "
             "dropped (the original was delivered %d time(s), before)" % len(times))

    # -- RFC 4733 cloud -> PBX --
    def te_packets(recs, pt, field="plain"):
        return [bytes.fromhex(r[field]) for r in recs
                if r[field] and len(r[field]) >= 24 and int(r[field][2:4], 16) & 0x7F == pt]

    ev_s = events_of(te_packets([x for x in C["sent"] if x["kind"] == "dtmf"], te_c), te_c)
    ev_r = events_of(te_packets(P["recv"], te_c), te_c)
    need(len(ev_s) == 3 and ev_s == ev_r and all(p[-1][0] == 1 and p[-1][2] == 800 for _, _, p in ev_r),
         "RFC 4733 cloud->PBX: the cloud sent %s, the PBX received %s (event, packets, "
         "final (E, volume, duration, marker))" % (ev_brief(ev_s), ev_brief(ev_r)),
         "RFC 4733 cloud->PBX: events %s, %d packets, arrived as plain RTP PT %d identical to what the "
         "cloud sent (code, E bit, volume, duration, marker, timestamp)"
         % ([c for _, c, _ in ev_r], sum(len(p) for _, _, p in ev_r), te_c))

    # -- PBX -> cloud (tlstrunk's SRTP) --
    fails = [r for r in C["recv"] if r["plain"] is None]
    need(not fails, "the cloud failed to decrypt %d of %d packets from tlstrunk (%s)"
         % (len(fails), len(C["recv"]), sorted(set(str(r["err"]) for r in fails))))
    key_of = {x["n"]: x["tlstrunk_key"] for x in answers}
    wrong = [r for r in C["recv"] if r["plain"] and t_ans["rekey"] + 0.2 < r["t"] < t_ans["hold"]
             and r["key"] != key_of["rekey"]]
    wrong += [r for r in C["recv"] if r["plain"] and r["t"] > t_ans["resume"] + 0.2
              and r["key"] != key_of["resume"]]
    need(not wrong, "%d packets from tlstrunk after a re-INVITE did not decrypt with the key in its "
         "answer to that re-INVITE" % len(wrong))
    psent = set(x["plain"] for x in P["sent"])
    crx = [r for r in C["recv"] if r["plain"]]
    foreign = [r for r in crx if r["plain"] not in psent]
    need(not foreign, "the cloud decrypted %d packets that the PBX never sent" % len(foreign))
    got = set(r["plain"] for r in crx)
    s = [x for x in P["sent"] if x["kind"] == "audio" and x["t"] > t_rekey + 0.1]
    d = [x for x in s if x["plain"] in got]
    s_all = [x for x in P["sent"] if x["kind"] == "audio"]
    d_all = [x for x in s_all if x["plain"] in got]
    need(len(s) >= 100 and len(d) >= 0.9 * len(s),
         "PBX->cloud after the rekey: %d of %d packets reached the cloud" % (len(d), len(s)),
         "PBX->cloud: %d/%d audio packets decrypted by the cloud (%d/%d after the rekey), each with "
         "the key of tlstrunk's latest SDP, equal to what the PBX sent" % (len(d_all), len(s_all), len(d), len(s)))

    # -- RFC 4733 PBX -> cloud --
    ev_s = events_of(te_packets([x for x in P["sent"] if x["kind"] == "dtmf"], te_p), te_p)
    ev_r = events_of(te_packets(crx, te_p), te_p)
    need(len(ev_s) == 3 and ev_s == ev_r,
         "RFC 4733 PBX->cloud: the PBX sent %s, the cloud decrypted %s (event, packets, "
         "final (E, volume, duration, marker))" % (ev_brief(ev_s), ev_brief(ev_r)),
         "RFC 4733 PBX->cloud: events %s, %d packets, decrypted from SRTP identical to what the PBX sent"
         % ([c for _, c, _ in ev_r], sum(len(p) for _, _, p in ev_r)))

    # -- the capture: toward the cloud's media address only SRTP under tlstrunk's keys --
    if a.pcap:
        from rtp_check import read_pcap
        cip, cport = hp(C["media_addr"])
        ctxs = [SrtpContext.from_inline(base64.b64decode(inl), SUITE) for _, inl in C["rx_keys"]]
        relay = (off["conn"], off["port"])
        plain_set = set(bytes.fromhex(x) for x in psent)
        n_to = n_from = plain = bypass = 0
        bad = []
        for _ts, sip, sport, dip, dport, pl in read_pcap(a.pcap):
            if sip == cip and sport in (cport, cport + 1):
                n_from += 1
            if dip != cip:
                continue
            n_to += 1
            if (sip, sport) not in (relay, (relay[0], relay[1] + 1)):
                bypass += 1
            if pl in plain_set:
                plain += 1
            if not any(c.authenticates(pl) for c in ctxs):
                bad.append("%s:%d->%s:%d %d bytes" % (sip, sport, dip, dport, len(pl)))
        # The capture must be complete for "nothing plain" to mean anything:
        # it holds at least what the cloud's sockets saw and sent.
        need(n_to >= max(100, len(C["recv"])) and n_from >= max(100, len(C["sent"])),
             "the capture holds %d packets toward and %d from the cloud's media %s:%d; the cloud "
             "received %d and sent %d" % (n_to, n_from, cip, cport, len(C["recv"]), len(C["sent"])))
        need(plain == 0, "%d packets toward the cloud's media address are plain RTP the PBX sent" % plain)
        need(not bad, "%d of %d packets toward the cloud's media address (%s) are not SRTP under "
             "tlstrunk's announced key(s) (first: %s)" % (len(bad), n_to, cip, bad[0] if bad else ""))
        need(bypass == 0, "%d packets reached the cloud's media address from outside tlstrunk's relay "
             "port %s:%d" % (bypass, relay[0], relay[1]),
             "capture: %d packets toward the cloud's media %s:%d, all from the relay, all SRTP that "
             "authenticates under tlstrunk's key, none plain" % (n_to, cip, cport))
    return report()


def check_refused(a):
    """The --reject-rekey call: the PBX refused the cloud's rekey re-INVITE
    with 488, so the session, the cloud's key K1 included, stays as it was
    (RFC 3261 14.1); the offered key K2 must never come in use."""
    v = Verdict()
    try:
        C, P = v.load(a)
    except (OSError, ValueError) as e:
        print("rekey_call check: %s" % e)
        return 2
    problems, notes, need, report = v.problems, v.notes, v.need, v.report
    if problems:
        return report()

    # -- signalling --
    off, ans = C["offer"], P["answer"]
    ri, ref = P.get("reinvites", []), C.get("refused") or {}
    need(off["proto"] == "RTP/SAVP" and any(SUITE in c for c in off["crypto"])
         and ans["proto"] == "RTP/AVP" and not ans["crypto"],
         "the cloud was offered %s with %d crypto lines, the PBX got an answer %s with %d"
         % (off["proto"], len(off["crypto"]), ans["proto"], len(ans["crypto"])))
    need(len(ri) == 1 and ri[0]["proto"] == "RTP/AVP" and ri[0]["ncrypto"] == 0 and ri[0]["status"] == 488,
         "the PBX got re-INVITEs %s (want exactly one, RTP/AVP without crypto, which it refused with 488)"
         % [(r["proto"], r["ncrypto"], r["status"]) for r in ri])
    need(len(ri) == 1 and ri[0]["cseq"] in P.get("acked", []),
         "the PBX's 488 to the rekey re-INVITE got no ACK (CSeq %s, ACKed: %s)"
         % (ri[0]["cseq"] if ri else None, P.get("acked")))
    need(ref.get("status") == 488,
         "the cloud's rekey re-INVITE, refused by the PBX with 488, ended at the cloud with %s"
         % (ref.get("first") or "no final response"),
         "SDP: the cloud's rekey re-INVITE (new key K2) reached the PBX as RTP/AVP without crypto; "
         "the PBX refused it, the cloud got %r, and the 488 was ACKed" % ref.get("first"))
    need(not C.get("answers") and len(C.get("rx_keys", [])) == 1,
         "after the refused rekey tlstrunk announced %d key(s) to the cloud, answers %s (want its "
         "first key only)" % (len(C.get("rx_keys", [])), C.get("answers")),
         "tlstrunk kept the key of its first answer (no other SDP toward the cloud)")

    ev = {e["what"] + (":" + e["n"] if "n" in e else ""): e for e in C["events"]}
    t_re, t_ref = ev.get("reinvite:rekey", {}).get("t"), ev.get("refused:rekey", {}).get("t")
    if not need(None not in (t_re, t_ref), "cloud timeline incomplete: %s" % sorted(ev)):
        return report()

    # -- cloud -> PBX --
    pbx_rx = {}
    for r in P["recv"]:
        pbx_rx.setdefault(r["plain"], []).append(r["t"])
    sent_plain = set(x["plain"] for x in C["sent"])
    unknown = [r for r in P["recv"] if r["plain"] not in sent_plain]
    need(not unknown, "the PBX received %d packets that the cloud never sent" % len(unknown))
    srcs = sorted(set(r["src"] for r in P["recv"]))
    need(srcs == ["%s:%d" % (ans["conn"], ans["port"])],
         "the PBX received media from %s, not (only) from tlstrunk's relay %s:%s"
         % (srcs, ans["conn"], ans["port"]))

    def delivered(key):
        s = [x for x in C["sent"] if x["key"] == key]
        return s, [x for x in s if x["plain"] in pbx_rx]

    s, d = delivered("k1")
    need(len(s) >= 20 and len(d) >= 0.9 * len(s),
         "before the rekey re-INVITE: %d of %d K1 packets from the cloud reached the PBX" % (len(d), len(s)))
    s0, d0 = s, d
    s, d = delivered("k1-after-refusal")
    need(len(s) >= 40 and len(d) >= 0.9 * len(s),
         "after the PBX refused the rekey: %d of %d packets the cloud sent under its unchanged key K1 "
         "reached the PBX (tlstrunk switched to the refused key K2?)" % (len(d), len(s)),
         "cloud->PBX: %d/%d K1 packets before the re-INVITE and %d/%d sent under K1 after the "
         "refusal delivered, byte for byte" % (len(d0), len(s0), len(d), len(s)))
    s, d = delivered("k2-refused")
    k2 = [x for x in C["sent"] if x["key"] == "k2"]
    need(len(s) >= 3 and not d and not k2,
         "%d of %d packets under the refused key K2 reached the PBX (%d plain K2 packets sent)"
         % (len(d), len(s), len(k2)),
         "cloud->PBX: 0/%d packets under the refused key K2 delivered (K2 never in use)" % len(s))
    s, d = delivered("k1-pending")
    notes.append("cloud->PBX: %d/%d K1 packets sent while the re-INVITE was pending delivered "
                 "(not asserted)" % (len(d), len(s)))

    # -- PBX -> cloud --
    fails = [r for r in C["recv"] if r["plain"] is None]
    need(not fails, "the cloud failed to decrypt %d of %d packets from tlstrunk (%s)"
         % (len(fails), len(C["recv"]), sorted(set(str(r["err"]) for r in fails))))
    psent = set(x["plain"] for x in P["sent"])
    got = set(r["plain"] for r in C["recv"] if r["plain"])
    need(not (got - psent), "the cloud decrypted %d packets that the PBX never sent" % len(got - psent))
    s = [x for x in P["sent"] if x["kind"] == "audio" and x["t"] > t_ref + 0.1]
    d = [x for x in s if x["plain"] in got]
    need(len(s) >= 40 and len(d) >= 0.9 * len(s),
         "PBX->cloud after the refused rekey: %d of %d packets reached the cloud" % (len(d), len(s)),
         "PBX->cloud: %d/%d audio packets after the refusal decrypted by the cloud with tlstrunk's "
         "first key, equal to what the PBX sent" % (len(d), len(s)))

    # -- the end --
    bye = ev.get("bye_done", {}).get("status")
    need(bye == 200 and any(e["what"] == "bye" for e in P["events"]),
         "the call did not end normally: the cloud's BYE got %s, the PBX %s it"
         % (bye, "got" if any(e["what"] == "bye" for e in P["events"]) else "did not get"),
         "the call ended normally (the cloud's BYE: 200, the PBX got it)")
    return report()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cloud")
    c.add_argument("--sip", required=True)
    c.add_argument("--media", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--wait", type=int, default=30)
    c.add_argument("--reject-rekey", action="store_true")
    p = sub.add_parser("pbx")
    p.add_argument("--sip", required=True)
    p.add_argument("--media", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--wait", type=int, default=30)
    p.add_argument("--reject-rekey", action="store_true")
    k = sub.add_parser("check")
    k.add_argument("--cloud", required=True)
    k.add_argument("--pbx", required=True)
    k.add_argument("--pcap")
    k.add_argument("--reject-rekey", action="store_true")
    a = ap.parse_args()
    if a.cmd == "cloud":
        return run_cloud(a)
    if a.cmd == "pbx":
        return run_pbx(a)
    if a.reject_rekey:
        return check_refused(a)
    return check(a)


if __name__ == "__main__":
    sys.exit(main())

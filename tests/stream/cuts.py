#!/usr/bin/env python3
"""cuts.py - SIP peers that cut the byte stream, for
tests/integration/15_stream_cuts.sh ("framing, from outside").

Every message a stream peer here writes goes out in one of these ways
(--modes, per call):

    whole   one write per message
    mss     pieces of 1448 bytes (a TCP MSS on Ethernet), 15 ms apart so
            that the receiver reads each one on its own
    rand    random pieces of 1..200 bytes, 20..80 ms apart
    b2b     several messages in one write: the BYE of one call and the
            INVITE of the next (UACs), 100+180+200 (the cloud server)
    b2bmss  as b2b, the joined bytes then cut into 1448-byte pieces (a cut
            falls inside the second message)

Over TLS every write is one SSL_write, so one piece is one TLS record.

Sub-commands (each prints one line per call / per message it received, and
flushes it at once; a UAC exits 0 only when every call completed):

  pbx-uac     --dst IP:PORT --modes M,.. --sizes N,.. [--reply-mode M]
              the PBX over TCP: per mode and size one call (a connection of
              its own; the calls of one mode run at once), INVITE with an
              SDP body of N bytes (N=0: no body, the offer comes in the 200
              and the ACK carries the answer), 100/180/200, ACK, BYE/200.
              b2b*: the calls of the mode run one after another on one
              connection, each INVITE written together with the BYE before.
              --serial: the calls of a mode one after another, not at once.
              --reply-mode asks the cloud server (cloud-srv) to cut its
              responses so (header X-Cut-Reply), the SDP of its 200 the
              same size as the INVITE's.
  cloud-uac   --dst IP:PORT --ca PEM --sni NAME [--src IP] --modes --sizes
              the cloud over TLS to tlstrunk's listener, the same calls.
  uas         --bind IP:PORT --side cloud|pbx
              a UDP UAS (the agent behind Kamailio, or the PBX): 100, 180,
              200 with an SDP answer (or offer), BYE -> 200.
  cloud-srv   --bind IP:PORT --cert PEM --key KEY [--ciphers LIST]
              the cloud proxy itself over TLS (tlstrunk connects to it):
              OPTIONS -> 200, INVITE -> 100, 180, 200, BYE -> 200, CRLFCRLF
              -> CRLF; every response cut as the INVITE's X-Cut-Reply says
              (rand when it says nothing).

SDP bodies are padded to their size with "a=x-pad:I:CCC..." lines (I the
line's index, C a pattern derived from it) and the message carries
"X-Cut-Pads: K" (the number of pad lines); whoever receives an SDP checks
that every pad line arrived intact and that there are K of them, and logs
pads=GOT/WANT padok=yes|no.  tlstrunk's SDP rewriting keeps unknown a= lines.

Lines logged:
  CALL side=pbx|cloud mode=M size=N callid=ID statuses=100,180,200 ok=yes|no
       [why=...]                                     (the UACs)
  RX side=S method=M callid=ID bodylen=N pads=G/W padok=yes|no  (UAS/server)
  ANS side=S status=200 callid=ID pads=G/W padok=...  (a UAC checking a 200's SDP)
Python 3 standard library only.
"""
import argparse
import base64
import random
import re
import socket
import ssl
import sys
import threading
import time

MSS = 1448
KEY = base64.b64encode(bytes(range(1, 31))).decode()	# fixed test key
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type"}
OUT_LOCK = threading.Lock()


def out(line):
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# ---- messages -----------------------------------------------------------

class Msg:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.start = lines[0]
        self.hdrs = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.hdrs:
                n, v = self.hdrs[-1]
                self.hdrs[-1] = (n, v + " " + line.strip())
                continue
            n, _, v = line.partition(":")
            n = n.strip().lower()
            self.hdrs.append((COMPACT.get(n, n), v.strip()))
        self.is_resp = self.start.startswith("SIP/2.0 ")
        if self.is_resp:
            self.status = int(self.start.split(" ")[1])
            self.method = None
        else:
            self.status = None
            self.method = self.start.split(" ", 1)[0]

    def all(self, name):
        return [v for n, v in self.hdrs if n == name]

    def get(self, name, default=""):
        vals = self.all(name)
        return vals[0] if vals else default

    @property
    def callid(self):
        return self.get("call-id", "-")

    @property
    def cseq(self):
        n, _, m = self.get("cseq").partition(" ")
        return (int(n or 0), m.strip())

    def uri_list(self, name):
        """Every <uri> (or bare URI) of every instance of header name."""
        res = []
        for v in self.all(name):
            for part in re.findall(r'<[^>]*>|[^,]+', v):
                part = part.strip()
                if part:
                    res.append(part if part.startswith("<") else "<%s>" % part)
        return res


def build(start, hdrs, body=b""):
    lines = [start] + ["%s: %s" % (n, v) for n, v in hdrs]
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Stream:
    """SIP framing on a (TLS) socket: Content-Length delimits the body."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.crlf_pings = 0

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out")
        if not d:
            raise EOFError("peer closed the connection")
        self.buf += d

    def read(self, deadline):
        while True:
            # CRLF keepalives between messages (RFC 5626).
            while self.buf[:2] == b"\r\n":
                if self.buf[:4] == b"\r\n\r\n":
                    self.crlf_pings += 1
                    self.buf = self.buf[4:]
                else:
                    self.buf = self.buf[2:]
            if self.buf[:1] == b"\r" and len(self.buf) < 2:
                self._fill(deadline)
                continue
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = self.buf[:i]
                m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", head)
                clen = int(m.group(1)) if m else 0
                end = i + 4 + clen
                if len(self.buf) >= end:
                    raw, self.buf = self.buf[:end], self.buf[end:]
                    return Msg(raw)
            self._fill(deadline)


def pieces(data, mode, rng):
    """(piece, pause before the next one) for one write in mode."""
    if mode in ("whole", "b2b"):
        return [(data, 0)]
    if mode in ("mss", "b2bmss"):
        return [(data[i:i + MSS], 0.015) for i in range(0, len(data), MSS)]
    if mode == "rand":
        res, i = [], 0
        while i < len(data):
            n = rng.randint(1, 200)
            res.append((data[i:i + n], rng.uniform(0.02, 0.08)))
            i += n
        return res
    raise ValueError("unknown mode " + mode)


def send_cut(sock, data, mode, rng, lock=None):
    ps = pieces(data, mode, rng)
    for k, (p, pause) in enumerate(ps):
        if lock is not None:
            with lock:
                sock.sendall(p)
        else:
            sock.sendall(p)
        if pause and k + 1 < len(ps):
            time.sleep(pause)
    return len(ps)


# ---- SDP ----------------------------------------------------------------

def pad_line(i, n):
    """Pad line number i, n bytes long including its CRLF."""
    head = "a=x-pad:%d:" % i
    alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
    k = max(0, n - len(head) - 2)
    fill = "".join(alpha[(i + j) % len(alpha)] for j in range(k))
    return head + fill + "\r\n"


def sdp(side, size, ip, port, crypto_tag=None):
    """(body bytes, pad lines) of about size bytes (exactly when size is
    above the base); side cloud: RTP/SAVP with one SDES key."""
    proto = "RTP/AVP" if side == "pbx" else "RTP/SAVP"
    base = ["v=0", "o=%s 1 1 IN IP4 %s" % (side, ip), "s=-",
            "c=IN IP4 %s" % ip, "t=0 0",
            "m=audio %d %s 0 101" % (port, proto),
            "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15", "a=sendrecv"]
    if side == "cloud":
        base.append("a=crypto:%s AES_CM_128_HMAC_SHA1_80 inline:%s" %
                    (crypto_tag or "1", KEY))
    text = "".join(l + "\r\n" for l in base)
    npads = 0
    while len(text) < size:
        left = size - len(text)
        n = min(100, left)
        if n < 20:	# too short for a line of its own: grow the last
            if npads == 0:
                break
            last = text.rfind("a=x-pad:")
            n = len(text) - last + left
            text = text[:last]
            npads -= 1
        text += pad_line(npads, n)
        npads += 1
    return text.encode(), npads


def check_pads(msg):
    """(got, want, ok) for the pad lines of msg's body."""
    body = msg.body.decode("latin-1")
    want = msg.get("x-cut-pads", "0")
    want = int(want) if want.isdigit() else -1
    got, ok = 0, True
    for line in body.split("\r\n"):
        if line.startswith("a=x-pad:"):
            m = re.match(r"a=x-pad:([0-9]+):(.*)$", line)
            if not m:
                ok = False
                continue
            i = int(m.group(1))
            if pad_line(i, len(line) + 2) != line + "\r\n" or i != got:
                ok = False
            got += 1
    if body and not body.endswith("\r\n"):
        ok = False
    return got, want, ok and got == want


def crypto_tag(body):
    m = re.search(rb"a=crypto:([0-9]+) AES_CM_128_HMAC_SHA1_80 ", body)
    return m.group(1).decode() if m else None


# ---- UAC (PBX over TCP, cloud over TLS) ----------------------------------

class Conn:
    """One stream to tlstrunk; keeps what it read that nobody wanted yet."""

    def __init__(self, sock, tp):
        self.sock, self.tp = sock, tp
        self.stream = Stream(sock)
        self.inbox = []
        self.wlock = threading.Lock()
        self.lhost, self.lport = sock.getsockname()[:2]

    def wait(self, pred, secs):
        deadline = time.monotonic() + secs
        while True:
            for m in self.inbox:
                if pred(m):
                    self.inbox.remove(m)
                    return m
            m = self.stream.read(deadline)
            if not m.is_resp:
                # A request we do not expect (in-dialog from tlstrunk):
                # keep it for the record, answer nothing.
                out("UNEXPECTED side=%s %s callid=%s" % (self.tp, m.start, m.callid))
                continue
            self.inbox.append(m)


class Call:
    def __init__(self, side, conn, mode, size, n, args):
        self.side, self.conn, self.mode, self.size = side, conn, mode, size
        self.args = args
        uniq = "%s-%s-%d-%d-%d" % (side, mode, size, n, random.getrandbits(24))
        self.callid = "cut-%s@%s" % (uniq, conn.lhost)
        self.tag = "t-" + uniq
        self.branch = "z9hG4bK-" + uniq
        self.statuses = []
        self.rng = random.Random(uniq)
        self.reply_mode = args.reply_mode if side == "pbx" else None
        self.ok200 = None

    def via(self, n):
        return ("Via", "SIP/2.0/%s %s:%d;branch=%s-%d;rport" %
                (self.conn.tp, self.conn.lhost, self.conn.lport, self.branch, n))

    def common(self):
        if self.side == "pbx":
            frm = "<sip:1000@%s>;tag=%s" % (self.conn.lhost, self.tag)
            to = "<sip:+13175550100@%s>" % self.args.dst_host
            contact = "<sip:1000@%s:%d;transport=tcp>" % (self.conn.lhost, self.conn.lport)
        else:
            frm = "<sip:+13175550199@lb01.voice.use1.pure.cloud>;tag=%s" % self.tag
            to = "<sip:1000@%s>" % self.args.sni
            contact = "<sip:cloud@%s:%d;transport=tls>" % (self.conn.lhost, self.conn.lport)
        return frm, to, contact

    def invite(self):
        frm, to, contact = self.common()
        if self.side == "pbx":
            ruri = "sip:+13175550100@%s;transport=tcp" % self.args.dst
        else:
            ruri = "sip:1000@%s:%s;transport=tls" % (self.args.sni, self.args.dst_port)
        body, npads = (b"", 0)
        if self.size > 0:
            body, npads = sdp(self.side, self.size, self.conn.lhost, 40000)
        hdrs = [self.via(1), ("Max-Forwards", "70"), ("From", frm), ("To", to),
                ("Call-ID", self.callid), ("CSeq", "1 INVITE"), ("Contact", contact),
                ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"),
                ("X-Cut-Pads", str(npads))]
        if self.reply_mode:
            hdrs += [("X-Cut-Reply", self.reply_mode), ("X-Cut-Reply-Size", str(self.size))]
        if body:
            hdrs.append(("Content-Type", "application/sdp"))
        return build("INVITE %s SIP/2.0" % ruri, hdrs, body)

    def in_dialog(self, method, n):
        frm, _, contact = self.common()
        ok = self.ok200
        routes = list(reversed(ok.uri_list("record-route")))
        target = ok.uri_list("contact")[0].strip("<>")
        hdrs = [self.via(n), ("Max-Forwards", "70")]
        hdrs += [("Route", r) for r in routes]
        hdrs += [("From", frm), ("To", ok.get("to")), ("Call-ID", self.callid),
                 ("CSeq", "%d %s" % (1 if method == "ACK" else 2, method)),
                 ("Contact", contact)]
        body = b""
        if method == "ACK" and self.size == 0 and ok.body:
            # Late offer: the 200 carried the offer, the ACK the answer.
            body, npads = sdp(self.side, 0, self.conn.lhost, 40002, crypto_tag(ok.body))
            hdrs += [("X-Cut-Pads", "0"), ("Content-Type", "application/sdp")]
        return build("%s %s SIP/2.0" % (method, target), hdrs, body)

    def wait_invite_final(self):
        def mine(m):
            return m.callid == self.callid and m.cseq == (1, "INVITE")
        while True:
            m = self.conn.wait(mine, self.args.timeout)
            if m.status in self.statuses and m.status >= 200:
                continue	# a retransmitted final
            self.statuses.append(m.status)
            if m.status >= 200:
                return m

    def check_answer(self, m):
        if self.side == "pbx" and self.reply_mode and m.body:
            got, want, ok = check_pads(m)
            out("ANS side=pbx status=%d callid=%s bodylen=%d pads=%d/%d padok=%s" %
                (m.status, self.callid, len(m.body), got, want, "yes" if ok else "no"))
            if not ok:
                raise RuntimeError("the 200's SDP at the PBX lost pad lines (%d/%d)" % (got, want))
        if m.status == 200 and self.size == 0 and not m.body:
            raise RuntimeError("late offer: the 200 has no SDP offer")

    def wait_bye_ok(self):
        def mine(m):
            return m.callid == self.callid and m.cseq == (2, "BYE") and m.status >= 200
        m = self.conn.wait(mine, self.args.timeout)
        self.statuses.append(m.status)
        return m

    def report(self, ok, why=""):
        out("CALL side=%s mode=%s%s size=%d callid=%s statuses=%s ok=%s%s" %
            (self.side, self.mode, "/" + self.reply_mode if self.reply_mode else "",
             self.size, self.callid, ",".join(map(str, self.statuses)) or "-",
             "yes" if ok else "no", " why=" + why.replace(" ", "_") if why else ""))
        return ok


def run_single(call):
    """One call on a connection of its own, every message cut by mode."""
    c = call.conn
    try:
        send_cut(c.sock, call.invite(), call.mode, call.rng)
        m = call.wait_invite_final()
        if m.status != 200:
            return call.report(False, "final %d" % m.status)
        call.ok200 = m
        call.check_answer(m)
        send_cut(c.sock, call.in_dialog("ACK", 1), call.mode, call.rng)
        send_cut(c.sock, call.in_dialog("BYE", 2), call.mode, call.rng)
        m = call.wait_bye_ok()
        if m.status != 200:
            return call.report(False, "BYE answered %d" % m.status)
        return call.report(True)
    except Exception as e:
        return call.report(False, "%s: %s" % (type(e).__name__, e))


def run_b2b(calls):
    """The calls one after another on one connection; each INVITE goes out in
    the same write as the BYE before it."""
    pending = b""	# the previous call's BYE
    prev = None
    ok = True
    for call in calls:
        c = call.conn
        try:
            send_cut(c.sock, pending + call.invite(), call.mode, call.rng)
            pending = b""
            if prev is not None:
                m = prev.wait_bye_ok()
                ok &= prev.report(m.status == 200, "" if m.status == 200 else "BYE answered %d" % m.status)
                prev = None
            m = call.wait_invite_final()
            if m.status != 200:
                ok &= call.report(False, "final %d" % m.status)
                continue
            call.ok200 = m
            call.check_answer(m)
            send_cut(c.sock, call.in_dialog("ACK", 1), call.mode, call.rng)
            pending = call.in_dialog("BYE", 2)
            prev = call
        except Exception as e:
            ok &= call.report(False, "%s: %s" % (type(e).__name__, e))
            if prev is not None and prev is not call:
                prev.report(False, "no answer to its BYE before the failure")
            return False
    if prev is not None:
        try:
            send_cut(prev.conn.sock, pending, prev.mode, prev.rng)
            m = prev.wait_bye_ok()
            ok &= prev.report(m.status == 200, "" if m.status == 200 else "BYE answered %d" % m.status)
        except Exception as e:
            ok &= prev.report(False, "%s: %s" % (type(e).__name__, e))
    return ok


def uac_main(args, side):
    args.dst_host, args.dst_port = args.dst.rsplit(":", 1)
    sizes = [int(s) for s in args.sizes.split(",")]

    def connect():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if args.src:
            s.bind((args.src, 0))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(args.timeout)
        s.connect((args.dst_host, int(args.dst_port)))
        if side == "pbx":
            return Conn(s, "TCP")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(args.ca)
        return Conn(ctx.wrap_socket(s, server_hostname=args.sni), "TLS")

    results = []
    for mode in args.modes.split(","):
        if mode.startswith("b2b"):
            conn = connect()
            calls = [Call(side, conn, mode, size, n, args) for n, size in enumerate(sizes)]
            results.append(run_b2b(calls))
            conn.sock.close()
            continue
        threads, res = [], {}
        for n, size in enumerate(sizes):
            call = Call(side, connect(), mode, size, n, args)
            if args.serial:
                res[n] = run_single(call)
                call.conn.sock.close()
                continue
            t = threading.Thread(target=lambda c=call, k=n: res.__setitem__(k, run_single(c)))
            t.start()
            threads.append((t, call))
        for t, call in threads:
            t.join()
            call.conn.sock.close()
        results += res.values()
    return 0 if all(results) else 1


# ---- UDP UAS (the agent behind Kamailio, or the PBX) ----------------------

def answer_hdrs(req, status, reason, totag, contact=None):
    hdrs = [("Via", v) for v in req.all("via")]
    if status > 100:
        hdrs += [("Record-Route", v) for v in req.all("record-route")]
    hdrs.append(("From", req.get("from")))
    to = req.get("to")
    if status > 100 and ";tag=" not in to:
        to += ";tag=" + totag
    hdrs += [("To", to), ("Call-ID", req.callid), ("CSeq", req.get("cseq"))]
    if contact:
        hdrs.append(("Contact", contact))
    return hdrs


def log_rx(side, m):
    got, want, ok = check_pads(m)
    out("RX side=%s method=%s callid=%s bodylen=%d pads=%d/%d padok=%s" %
        (side, m.method, m.callid, len(m.body), got, want, "yes" if ok else "no"))


def sdp_reply(side, req, size):
    """(body, pads) answering req's offer, or an offer when it has none."""
    ip = "127.0.0.3" if side == "cloud" else "127.0.0.1"
    return sdp(side, size, ip, 41000, crypto_tag(req.body) if req.body else None)


def uas_main(args):
    ip, port = args.bind.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    contact = "<sip:%s@%s:%s>" % ("agent" if args.side == "cloud" else "pbx", ip, port)
    out("UAS-READY %s" % args.bind)
    while True:
        data, peer = s.recvfrom(70000)
        try:
            m = Msg(data)
        except Exception as e:
            out("UAS-ERR %r" % e)
            continue
        if m.is_resp:
            continue
        log_rx(args.side, m)
        if m.method == "ACK":
            continue
        totag = "uas-%d" % (hash(m.callid) & 0xffffff)
        if m.method == "INVITE":
            s.sendto(build("SIP/2.0 100 Trying", answer_hdrs(m, 100, "", totag)), peer)
            s.sendto(build("SIP/2.0 180 Ringing", answer_hdrs(m, 180, "", totag, contact)), peer)
            body, npads = sdp_reply(args.side, m, 0)
            hdrs = answer_hdrs(m, 200, "", totag, contact)
            hdrs += [("X-Cut-Pads", str(npads)), ("Content-Type", "application/sdp")]
            s.sendto(build("SIP/2.0 200 OK", hdrs, body), peer)
        else:
            s.sendto(build("SIP/2.0 200 OK", answer_hdrs(m, 200, "", totag)), peer)


# ---- the cloud proxy itself (TLS server tlstrunk connects to) -------------

def srv_conn(args, sock, peer):
    st = Stream(sock)
    wlock = threading.Lock()
    rng = random.Random(peer[1])
    name = "%s:%d" % peer
    contact = "<sip:agent@%s;transport=tls>" % args.name
    out("SRV-CONN from=%s" % name)
    while True:
        try:
            m = st.read(time.monotonic() + 3600)
        except Exception as e:
            out("SRV-CLOSED from=%s why=%s" % (name, e))
            return
        while st.crlf_pings:
            st.crlf_pings -= 1
            with wlock:
                sock.sendall(b"\r\n")
        if m.is_resp:
            continue
        log_rx("cloud-srv", m)
        if m.method == "ACK":
            continue
        mode = m.get("x-cut-reply", "rand")
        size = m.get("x-cut-reply-size", "0")
        size = int(size) if size.isdigit() else 0
        totag = "srv-%d" % (hash(m.callid) & 0xffffff)
        try:
            if m.method == "INVITE":
                body, npads = sdp_reply("cloud", m, size)
                hdrs = answer_hdrs(m, 200, "", totag, contact)
                hdrs += [("X-Cut-Pads", str(npads)), ("Content-Type", "application/sdp")]
                msgs = [build("SIP/2.0 100 Trying", answer_hdrs(m, 100, "", totag)),
                        build("SIP/2.0 180 Ringing", answer_hdrs(m, 180, "", totag, contact)),
                        build("SIP/2.0 200 OK", hdrs, body)]
            else:
                msgs = [build("SIP/2.0 200 OK", answer_hdrs(m, 200, "", totag))]
            if mode.startswith("b2b"):
                msgs = [b"".join(msgs)]
            n = sum(send_cut(sock, x, mode, rng, wlock) for x in msgs)
            out("SRV-TX method=%s callid=%s mode=%s writes=%d" % (m.method, m.callid, mode, n))
        except Exception as e:
            out("SRV-CLOSED from=%s why=%s" % (name, e))
            return


def srv_main(args):
    ip, port = args.bind.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    ctx.set_ecdh_curve("secp384r1")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, int(port)))
    ls.listen(16)
    out("SRV-READY %s" % args.bind)
    while True:
        s, peer = ls.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.settimeout(10)
            ts = ctx.wrap_socket(s, server_side=True)
        except Exception as e:
            out("SRV-HANDSHAKE-FAILED from=%s:%d why=%s" % (peer[0], peer[1], e))
            s.close()
            continue
        threading.Thread(target=srv_conn, args=(args, ts, peer), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("pbx-uac", "cloud-uac"):
        p = sub.add_parser(name)
        p.add_argument("--dst", required=True)
        p.add_argument("--src")
        p.add_argument("--modes", default="whole")
        p.add_argument("--sizes", default="300")
        p.add_argument("--reply-mode")
        p.add_argument("--serial", action="store_true")
        p.add_argument("--ca")
        p.add_argument("--sni", default="sbc.test.example")
        p.add_argument("--timeout", type=float, default=8)
    p = sub.add_parser("uas")
    p.add_argument("--bind", required=True)
    p.add_argument("--side", choices=("cloud", "pbx"), required=True)
    p = sub.add_parser("cloud-srv")
    p.add_argument("--bind", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ciphers")
    p.add_argument("--name", default="lb01.voice.use1.pure.cloud:5061")
    args = ap.parse_args()
    if args.cmd == "pbx-uac":
        return uac_main(args, "pbx")
    if args.cmd == "cloud-uac":
        return uac_main(args, "cloud")
    if args.cmd == "uas":
        return uas_main(args)
    return srv_main(args)


if __name__ == "__main__":
    sys.exit(main())

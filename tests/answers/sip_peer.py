#!/usr/bin/env python3
"""sip_peer.py - raw SIP peers for tests/integration/18_sip_answers.sh.

Standard library only (socket, ssl, selectors). Two commands:

  req     one client transaction toward tlstrunk, as a PBX (udp, tcp) or as
          the cloud (tls, verified against a CA and a name). Prints what the
          peer received, one line each:
              SENT <bytes>                  the request as sent
              RESP <code> <reason>          every response to it, in order
              SERVER <value>                Server header of the final one
              FINAL <code> <reason>         the final response, or
              FINAL none <why>              timeout | closed | reset | senderr ...
              AFTER <code> <reason>         with --then-options: the answer to
                                            an OPTIONS sent afterwards on the
                                            same socket/connection (or
                                            AFTER none <why>)
          A final response >= 300 to an INVITE is ACKed (same branch), as a
          real UAC does. --size pads the request with X-Pad headers to exactly
          that many bytes.

  listen  the PBX stand-in for calls from the cloud: UDP and TCP on one
          address. Each request it receives is logged as one line
              RX <udp|tcp> <bytes> <method> <call-id> via=<top Via>
          and answered 603 Decline (an ACK is only logged).

Exit status 0 unless the arguments or the local set-up are wrong: what the
far end did is the output, and the calling test judges it.
"""

import argparse
import io
import os
import re
import selectors
import socket
import ssl
import sys
import time


# ---- messages ---------------------------------------------------------------

def header_end(buf):
    i = buf.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


def content_length(head):
    m = re.search(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.I | re.M)
    return int(m.group(1)) if m else 0


class Stream:
    """SIP framing on a byte stream (RFC 3261 18.3): header end + Content-Length."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            self.buf = self.buf.lstrip(b"\r\n")  # keepalive CRLFs
            end = header_end(self.buf)
            if end < 0:
                break
            n = end + content_length(self.buf[:end])
            if len(self.buf) < n:
                break
            out.append(self.buf[:n])
            self.buf = self.buf[n:]
        return out


def hdr(msg, *names):
    """First value of a header (any of names, case-insensitive), or ''."""
    head = msg[:header_end(msg) if header_end(msg) > 0 else len(msg)]
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() in names:
            return v.strip()
    return ""


def all_hdrs(msg, *names):
    head = msg[:header_end(msg) if header_end(msg) > 0 else len(msg)]
    out = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() in names:
            out.append(line)
    return out


def start_line(msg):
    return msg.split(b"\r\n", 1)[0].decode("latin-1")


def status_of(msg):
    """(code, reason) of a response, None for a request."""
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", start_line(msg))
    return (int(m.group(1)), m.group(2)) if m else None


def build_request(method, ruri, via, callid, cseq, from_uri, to_uri, totag,
                  routes, size=0, extra=()):
    lines = [
        "%s %s SIP/2.0" % (method, ruri),
        "Via: %s" % via,
        "Max-Forwards: 70",
        "From: <%s>;tag=peer-%d" % (from_uri, os.getpid()),
        "To: <%s>%s" % (to_uri, ";tag=" + totag if totag else ""),
        "Call-ID: %s" % callid,
        "CSeq: %d %s" % (cseq, method),
    ]
    if routes:
        lines.append("Route: " + ", ".join(routes))
    if method in ("INVITE",):
        lines.append("Contact: <%s>" % from_uri)
    lines.extend(extra)
    tail = "Content-Length: 0\r\n\r\n"
    base = "\r\n".join(lines) + "\r\n"
    rem = size - len(base) - len(tail) if size else 0
    pad = ""
    if size:
        if rem < 10 and rem != 0:
            sys.exit("--size %d too small (base %d bytes)" % (size, len(base) + len(tail)))
        if rem > 0:
            n = (rem + 1023) // 1024
            for i in range(n):
                ln = rem // n + (1 if i < rem % n else 0)
                pad += "X-Pad: " + "p" * (ln - 9) + "\r\n"
    msg = (base + pad + tail).encode("latin-1")
    if size:
        assert len(msg) == size, (len(msg), size)
    return msg


# ---- transports -----------------------------------------------------------------

class Peer:
    """One socket (udp) or connection (tcp, tls) to tlstrunk."""

    def __init__(self, tp, dst, src_ip, cafile, sni):
        self.tp = tp
        self.dst = dst
        self.stream = Stream()
        self.stream_pending = []
        fam = socket.AF_INET
        if tp == "udp":
            self.s = socket.socket(fam, socket.SOCK_DGRAM)
            self.s.bind((src_ip, 0))
        else:
            raw = socket.socket(fam, socket.SOCK_STREAM)
            raw.bind((src_ip, 0))
            raw.settimeout(5)
            raw.connect(dst)
            if tp == "tls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.load_verify_locations(cafile)
                ctx.check_hostname = True
                ctx.verify_mode = ssl.CERT_REQUIRED
                raw = ctx.wrap_socket(raw, server_hostname=sni)
            self.s = raw
        self.local = self.s.getsockname()

    def send(self, data):
        if self.tp == "udp":
            return self.s.sendto(data, self.dst)
        self.s.sendall(data)
        return len(data)

    def recv(self, deadline):
        """The next message, or a string saying why none came."""
        while True:
            if self.stream_pending:
                return self.stream_pending.pop(0)
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.s.settimeout(left)
            try:
                if self.tp == "udp":
                    data, _ = self.s.recvfrom(70000)
                    return data
                data = self.s.recv(70000)
            except (socket.timeout, TimeoutError):
                return "timeout"
            except ConnectionResetError:
                return "reset"
            except ssl.SSLError as e:
                return "tls-error " + e.__class__.__name__
            except OSError as e:
                return "error " + (e.strerror or str(e))
            if not data:
                return "closed"
            self.stream_pending.extend(self.stream.feed(data))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def via_for(peer, branch):
    proto = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}[peer.tp]
    host, port = peer.local[0], peer.local[1]
    return "SIP/2.0/%s %s:%d;branch=%s;rport" % (proto, host, port, branch)


def transaction(peer, req, method, timeout, out, label):
    """Send req, collect its responses until a final one. Returns (final msg
    or None, why). Prints RESP lines."""
    try:
        n = peer.send(req)
    except OSError as e:
        print("%sSENT none %s" % (label, e.strerror or e), file=out)
        return None, "senderr-" + (e.strerror or str(e)).replace(" ", "-")
    print("%sSENT %d" % (label, n), file=out)
    branch = re.search(rb"branch=([^;\r\n ]+)", req).group(1)
    deadline = time.monotonic() + timeout
    while True:
        m = peer.recv(deadline)
        if isinstance(m, str):
            return None, m
        st = status_of(m)
        if st is None:
            continue  # a request toward us: not what we wait for
        if branch not in hdr(m, "via", "v").encode("latin-1"):
            continue  # a response to something else
        if method not in hdr(m, "cseq").upper():
            continue
        print("%sRESP %d %s" % (label, st[0], st[1]), file=out)
        if st[0] >= 200:
            return m, ""


def cmd_req(a):
    host, port = a.dst.rsplit(":", 1)
    dst = (host, int(port))
    out = sys.stdout
    try:
        peer = Peer(a.tp, dst, a.src_ip, a.ca, a.sni)
    except ssl.SSLError as e:
        print("FINAL none tls-handshake-failed %s" % e, file=out)
        return 0
    except OSError as e:
        print("FINAL none connect-failed %s" % (e.strerror or e), file=out)
        return 0
    tag = "%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    branch = "z9hG4bK-peer-%s" % tag
    from_uri = a.from_uri or "sip:peer@%s:%d" % peer.local
    to_uri = a.to_uri or a.ruri
    req = build_request(a.method, a.ruri, via_for(peer, branch), a.callid, 1,
                        from_uri, to_uri, a.totag, a.route, a.size)
    final, why = transaction(peer, req, a.method, a.timeout, out, "")
    if final is None:
        print("FINAL none %s" % why, file=out)
    else:
        code, reason = status_of(final)
        srv = hdr(final, "server")
        if srv:
            print("SERVER %s" % srv, file=out)
        print("FINAL %d %s" % (code, reason), file=out)
        if a.dump:
            with open(a.dump, "wb") as f:
                f.write(final)
        if a.method == "INVITE" and code >= 300:
            # ACK for a non-2xx: same branch, the To of the response.
            ack = "\r\n".join([
                "ACK %s SIP/2.0" % a.ruri,
                "Via: %s" % via_for(peer, branch),
                "Max-Forwards: 70",
                "From: <%s>;tag=peer-%d" % (from_uri, os.getpid()),
                "To: %s" % hdr(final, "to", "t"),
                "Call-ID: %s" % a.callid,
                "CSeq: 1 ACK",
            ] + (["Route: " + ", ".join(a.route)] if a.route else []) +
                ["Content-Length: 0", "", ""]).encode("latin-1")
            try:
                peer.send(ack)
            except OSError:
                pass
    if a.then_options:
        ob = "z9hG4bK-peer-opt-%s" % tag
        opt = build_request("OPTIONS", a.then_options, via_for(peer, ob),
                            a.callid + "-after", 1, from_uri, a.then_options,
                            None, [])
        f2, why2 = transaction(peer, opt, "OPTIONS", a.timeout, io.StringIO(), "")
        if f2 is None:
            print("AFTER none %s" % why2, file=out)
        else:
            print("AFTER %d %s" % status_of(f2), file=out)
    peer.close()
    return 0


# ---- the PBX stand-in -------------------------------------------------------------

def answer(msg, code, reason):
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    lines += all_hdrs(msg, "via", "v")
    lines += all_hdrs(msg, "from", "f")
    to = all_hdrs(msg, "to", "t")
    if to:
        lines.append(to[0] + ("" if "tag=" in to[0] else ";tag=pbx-standin"))
    lines += all_hdrs(msg, "call-id", "i")
    lines += all_hdrs(msg, "cseq")
    lines += ["Server: pbx-standin", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def cmd_listen(a):
    host, port = a.listen.rsplit(":", 1)
    addr = (host, int(port))
    sel = selectors.DefaultSelector()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind(addr)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(addr)
    t.listen(16)
    sel.register(u, selectors.EVENT_READ, "udp")
    sel.register(t, selectors.EVENT_READ, "accept")
    streams = {}

    def handle(tp, m, reply):
        if status_of(m) is not None:
            return
        method = start_line(m).split(" ", 1)[0]
        print("RX %s %d %s %s via=%s" % (tp, len(m), method, hdr(m, "call-id", "i"),
                                         hdr(m, "via", "v")), flush=True)
        if method != "ACK":
            reply(answer(m, 603, "Decline"))

    while True:
        for key, _ in sel.select():
            kind = key.data
            if kind == "udp":
                data, src = u.recvfrom(70000)
                if data.strip(b"\r\n"):
                    handle("udp", data, lambda r, src=src: u.sendto(r, src))
            elif kind == "accept":
                c, _ = t.accept()
                streams[c] = Stream()
                sel.register(c, selectors.EVENT_READ, "tcp")
            else:
                c = key.fileobj
                try:
                    data = c.recv(70000)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c)
                    c.close()
                    streams.pop(c, None)
                    continue
                for m in streams[c].feed(data):
                    handle("tcp", m, lambda r, c=c: c.sendall(r))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("req")
    r.add_argument("--tp", choices=("udp", "tcp", "tls"), required=True)
    r.add_argument("--dst", required=True, help="host:port of tlstrunk")
    r.add_argument("--src-ip", default="127.0.0.1")
    r.add_argument("--ca", help="CA file (tls)")
    r.add_argument("--sni", help="server name to verify (tls)")
    r.add_argument("--method", required=True)
    r.add_argument("--ruri", required=True)
    r.add_argument("--callid", required=True)
    r.add_argument("--from-uri")
    r.add_argument("--to-uri")
    r.add_argument("--totag", help="To tag: an in-dialog request")
    r.add_argument("--route", action="append", default=[], help="Route entry, e.g. <sip:h:p;lr>")
    r.add_argument("--size", type=int, default=0, help="pad to exactly this many bytes")
    r.add_argument("--timeout", type=float, default=4.0)
    r.add_argument("--then-options", metavar="URI",
                   help="then an OPTIONS to URI on the same socket/connection")
    r.add_argument("--dump", help="write the final response here")
    r.set_defaults(fn=cmd_req)
    li = sub.add_parser("listen")
    li.add_argument("--listen", required=True, help="ip:port, udp and tcp")
    li.set_defaults(fn=cmd_listen)
    a = p.parse_args()
    sys.exit(a.fn(a))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""sipsend.py - send one torture case to tlstrunk and report what came back.

    sipsend.py --tp udp|tcp|tls --dst IP:PORT --side pbx|cloud --id ID
               --case FILE [--ca PEM --sni NAME] [--wait SECONDS] [--out FILE]

A case file (tests/torture/cases/*.sip) is SIP message text with LF line
ends; lines starting with '#' at the top are comments and directives (the
test script reads those).  Every LF is sent as CRLF.  The first empty line
ends the header; what follows is the body.  Placeholders:

    @CALLID@  @BRANCH@  @TAG@  unique per case and transport (from --id)
    @TP@ / @TPL@     UDP|TCP|TLS / udp|tcp|tls (the transport we use)
    @LOCAL@          our own IP:port (the socket the case is sent from)
    @TARGET@         tlstrunk's address as a Request-URI host part for the
                     side: 127.0.0.1:15060 (pbx) or
                     sbc.test.example:15061;transport=tls (cloud)
    @SDP@            a valid SDP offer for the side: RTP/AVP from the PBX,
                     RTP/SAVP with one SDES key from the cloud
    @PROTO@ @CRYPTO@ the m= protocol and the a=crypto line (empty for the
                     PBX) of that offer, for hand-made SDP bodies
    @NUL@            one NUL byte
    @PAD:N:C@        N times the character C
    @CL@             the body's length in bytes (computed last)

After sending, responses are read until a final one arrives, the peer
closes the connection or --wait seconds pass.  A final response >= 300 to
an INVITE is ACKed (as a UAC must; tlstrunk would retransmit it over UDP
otherwise).  One summary line on stdout:

    sent=N statuses=100,486 final=486 closed=no far=yes
    senderr=REASON                                  (nothing could be sent)

closed is eof, reset or no; final is - when none came; far=yes when the
final response is the far end's (tests/torture/stub.py: Server: torture-stub).  --out keeps the raw
responses.  Python 3 standard library only.
"""
import argparse
import base64
import re
import select
import socket
import ssl
import sys
import time

# A fixed SDES key (30 bytes: 16 key + 14 salt), not a secret.
KEY = base64.b64encode(bytes(range(1, 31))).decode()


def sdp(side):
    proto = "RTP/AVP" if side == "pbx" else "RTP/SAVP"
    lines = ["v=0", "o=torture 1 1 IN IP4 127.0.0.1", "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 %s 0" % proto,
             "a=rtpmap:0 PCMU/8000"]
    if side == "cloud":
        lines.append(crypto(side))
    return "\r\n".join(lines)	# the case file's own line end ends it


def crypto(side):
    return "" if side == "pbx" else "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + KEY


def build(text, args, local):
    """The message bytes for a case file's text."""
    lines = text.replace("\r", "").split("\n")
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    if args.side == "pbx":	# a line that is only an empty @CRYPTO@ goes
        lines = [l for l in lines if l != "@CRYPTO@"]
    text = "\n".join(lines)
    if "\n\n" in text:
        head, body = text.split("\n\n", 1)
        sep = "\r\n\r\n"
    else:
        head, body, sep = text, "", ""
    head = head.replace("\n", "\r\n")
    body = body.replace("\n", "\r\n")
    uniq = re.sub(r"[^A-Za-z0-9.-]", "-", args.id)
    target = ("127.0.0.1:15060" if args.side == "pbx"
              else "sbc.test.example:15061;transport=tls")
    vals = {
        "CALLID": "torture-%s@127.0.0.1" % uniq,
        "BRANCH": "z9hG4bK-%s" % uniq,
        "TAG": "t-%s" % uniq,
        "TP": args.tp.upper(), "TPL": args.tp,
        "LOCAL": local, "TARGET": target,
        "SDP": sdp(args.side), "PROTO": "RTP/AVP" if args.side == "pbx" else "RTP/SAVP",
        "CRYPTO": crypto(args.side), "NUL": "\0",
    }

    def sub(m):
        key = m.group(1)
        if key.startswith("PAD:"):
            _, n, c = key.split(":", 2)
            return c * int(n)
        if key == "CL":
            return m.group(0)	# after the body is final
        return vals[key]
    pat = re.compile(r"@([A-Z]+|PAD:[0-9]+:.)@")
    head, body = pat.sub(sub, head), pat.sub(sub, body)
    bbody = body.encode("latin-1")
    head = head.replace("@CL@", str(len(bbody)))
    return head.encode("latin-1") + sep.encode() + bbody


def first_line(msg):
    return msg.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1", "replace")


def header(msg, names):
    """Raw values of the header fields called any of names (folding joined)."""
    head = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)[0]
    out = []
    for line in re.split(rb"\r?\n", head)[1:]:
        if line[:1] in (b" ", b"\t") and out and out[-1][0]:
            out[-1][1] += b" " + line.strip()
            continue
        name, _, val = line.partition(b":")
        out.append([name.strip().lower() in names, val.strip()])
    return [v for hit, v in out if hit]


def ack_for(req, resp):
    """The ACK for a non-2xx final response to our INVITE (RFC 3261 17.1.1.3)."""
    ruri = first_line(req).split(" ")[1].encode("latin-1")
    cseq = header(resp, (b"cseq",))[0].split()[0]
    lines = [b"ACK " + ruri + b" SIP/2.0"]
    lines += [b"Via: " + v for v in header(resp, (b"via", b"v"))[:1]]
    lines += [b"From: " + v for v in header(resp, (b"from", b"f"))]
    lines += [b"To: " + v for v in header(resp, (b"to", b"t"))]
    lines += [b"Call-ID: " + v for v in header(resp, (b"call-id", b"i"))]
    lines += [b"CSeq: " + cseq + b" ACK", b"Max-Forwards: 70",
              b"Content-Length: 0", b"", b""]
    return b"\r\n".join(lines)


class Stream:
    """SIP framing on a byte stream (Content-Length; 0 when absent)."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            self.buf = self.buf.lstrip(b"\r\n")
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return out
            head = self.buf[:end]
            cl = header(head + b"\r\n\r\n", (b"content-length", b"l"))
            n = int(cl[0]) if cl and cl[0].isdigit() else 0
            if len(self.buf) < end + 4 + n:
                return out
            out.append(self.buf[:end + 4 + n])
            self.buf = self.buf[end + 4 + n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tp", required=True, choices=("udp", "tcp", "tls"))
    ap.add_argument("--dst", required=True)
    ap.add_argument("--side", required=True, choices=("pbx", "cloud"))
    ap.add_argument("--id", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--sni")
    ap.add_argument("--wait", type=float, default=2.0)
    ap.add_argument("--out")
    args = ap.parse_args()
    ip, port = args.dst.rsplit(":", 1)
    dst = (ip, int(port))
    with open(args.case, encoding="latin-1") as f:
        text = f.read()

    try:
        if args.tp == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
        else:
            s = socket.create_connection(dst, timeout=5,
                                         source_address=("127.0.0.1", 0))
            if args.tp == "tls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.load_verify_locations(args.ca)
                ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                s = ctx.wrap_socket(s, server_hostname=args.sni)
            s.settimeout(None)
        local = "127.0.0.1:%d" % s.getsockname()[1]
        req = build(text, args, local)
        if args.tp == "udp":
            n = s.sendto(req, dst)
        else:
            s.sendall(req)
            n = len(req)
    except OSError as e:
        print("senderr=%s" % (getattr(e, "strerror", None) or e).__str__().replace(" ", "_"))
        return 0

    statuses, final, closed, raw, far = [], "-", "no", [], "no"
    stream = Stream()
    end = time.monotonic() + args.wait
    is_invite = first_line(req).startswith("INVITE ")
    while final == "-" and closed == "no":
        left = end - time.monotonic()
        if left <= 0:
            break
        if args.tp == "tls" and s.pending():
            ready = True
        else:
            ready = select.select([s], [], [], left)[0]
        if not ready:
            break
        try:
            data = s.recv(70000)
        except ssl.SSLError:
            closed = "reset"
            break
        except OSError as e:
            if args.tp == "udp":
                continue	# ICMP echo of an earlier datagram
            closed = "reset"
            break
        if not data and args.tp != "udp":
            closed = "eof"
            break
        msgs = [data] if args.tp == "udp" else stream.feed(data)
        for m in msgs:
            raw.append(m)
            if not m.startswith(b"SIP/2.0 "):
                continue	# a request (a keepalive answer is framed away)
            code = int(first_line(m).split(" ")[1])
            statuses.append(str(code))
            if code >= 200 and final == "-":
                final = str(code)
                if b"torture-stub" in header(m, (b"server",)):
                    far = "yes"
                if is_invite and code >= 300:
                    ack = ack_for(req, m)
                    if args.tp == "udp":
                        s.sendto(ack, dst)
                    else:
                        s.sendall(ack)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(b"==== sent ====\n" + req + b"\n")
            for m in raw:
                f.write(b"==== received ====\n" + m + b"\n")
    print("sent=%d statuses=%s final=%s closed=%s far=%s" %
          (n, ",".join(statuses) or "-", final, closed, far))
    return 0


if __name__ == "__main__":
    sys.exit(main())

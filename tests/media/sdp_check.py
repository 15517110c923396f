#!/usr/bin/env python3
"""sdp_check.py LOG [selection] [expectations] - check the SDP of the SIP
messages a baresip instance received, from its SIP trace (baresip -s writes
every message it sends or receives to stdout as
    ESC[36;1m#\\n<TRANSPORT> <src ip:port> -> <dst ip:port>\\n<message>ESC[;m).

Selection (all given ones must match; at least one message must be selected):
  --from IP:PORT      message source (PORT may be * for any)
  --to IP:PORT        message destination (PORT may be *)
  --msg INVITE|200    an INVITE request, or a 2xx response to an INVITE
  --initial           only dialog-creating messages (INVITE without To tag,
                      or the 200 to such an INVITE: CSeq of the first INVITE)
  --reinvite          only re-INVITEs (INVITE with a To tag) / their 200s
  --transport T       UDP, TCP or TLS
Expectations, checked on every selected message that has an SDP body:
  --proto P           the audio m= line's transport, e.g. RTP/SAVP or RTP/AVP
  --crypto N | N-M    number of a=crypto lines in the audio section
  --suites A,B        every a=crypto suite is one of these
  --conn IP           the connection address (media or session level)
  --ports LO-HI       the audio port is in this range
  --min N             at least N messages selected (default 1)

Prints one line per selected message; exit 0 when all expectations hold,
1 when one does not (or nothing was selected), 2 on usage errors.
Python standard library only.
"""
import base64
import re
import sys

HDR_RE = re.compile(r"^(UDP|TCP|TLS|WS|WSS) (\S+) -> (\S+)$")


def usage(msg=None):
    if msg:
        print("sdp_check: %s" % msg, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def messages(text):
    """Yield (transport, src, dst, message text) from a baresip -s log."""
    for block in text.split("\x1b[36;1m#")[1:]:
        block = block.split("\x1b[;m", 1)[0].replace("\r\n", "\n")
        lines = block.lstrip("\n").split("\n")
        if not lines:
            continue
        m = HDR_RE.match(lines[0].strip())
        if not m:
            continue
        yield m.group(1), m.group(2), m.group(3), "\n".join(lines[1:])


def addr_match(pattern, addr):
    if pattern is None:
        return True
    pip, _, pport = pattern.rpartition(":")
    aip, _, aport = addr.rpartition(":")
    return pip == aip and (pport == "*" or pport == aport)


def header(msg, name, compact=None):
    head = msg.split("\n\n", 1)[0]
    for line in head.split("\n")[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k == name.lower() or (compact and k == compact):
            return v.strip()
    return None


def sdp_audio(body):
    """(proto, port, conn, [crypto lines], direction) of the first audio m=."""
    session_c = None
    media_c = None
    proto = port = None
    cryptos = []
    direction = "sendrecv"
    in_audio = seen_audio = False
    for line in body.split("\n"):
        line = line.strip()
        if line.startswith("m="):
            if seen_audio:
                break
            parts = line[2:].split()
            in_audio = bool(parts) and parts[0] == "audio"
            if in_audio:
                seen_audio = True
                port = int(parts[1].split("/")[0]) if len(parts) > 1 else None
                proto = parts[2] if len(parts) > 2 else None
            continue
        if line.startswith("c="):
            ip = line.split()[-1].split("/")[0]
            if in_audio:
                media_c = ip
            elif not seen_audio:
                session_c = ip
        elif in_audio and line.startswith("a=crypto:"):
            cryptos.append(line)
        elif in_audio and line in ("a=sendonly", "a=recvonly", "a=inactive",
                                   "a=sendrecv"):
            direction = line[2:]
    if not seen_audio:
        return None
    return proto, port, media_c or session_c, cryptos, direction


CRYPTO_RE = re.compile(r"^a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)(\|\S+)*(\s.*)?$")
KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
           "AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
           "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44}


def main(argv):
    if not argv or argv[0].startswith("-"):
        usage()
    path = argv[0]
    o = {"--from": None, "--to": None, "--msg": None, "--transport": None,
         "--proto": None, "--crypto": None, "--suites": None, "--conn": None,
         "--ports": None, "--min": "1"}
    flags = {"--initial": False, "--reinvite": False}
    rest = argv[1:]
    while rest:
        k = rest.pop(0)
        if k in flags:
            flags[k] = True
            continue
        if k not in o or not rest:
            usage("bad option %s" % k)
        o[k] = rest.pop(0)
    if o["--msg"] not in (None, "INVITE", "200"):
        usage("--msg is INVITE or 200")
    cmin = cmax = None
    if o["--crypto"] is not None:
        a, _, b = o["--crypto"].partition("-")
        cmin, cmax = int(a), int(b or a)
    plo = phi = None
    if o["--ports"]:
        a, _, b = o["--ports"].partition("-")
        plo, phi = int(a), int(b or a)
    suites = o["--suites"].split(",") if o["--suites"] else None

    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print("sdp_check: %s" % e, file=sys.stderr)
        return 2

    # CSeq numbers of dialog-creating INVITEs, per Call-ID.
    first_cseq = {}
    for _tp, _s, _d, msg in messages(text):
        start = msg.split("\n", 1)[0]
        if start.startswith("INVITE "):
            to = header(msg, "To", "t") or ""
            if ";tag=" not in to:
                first_cseq.setdefault(header(msg, "Call-ID", "i"),
                                      (header(msg, "CSeq") or "").split()[0:1])

    selected = 0
    problems = []
    for tp, src, dst, msg in messages(text):
        if o["--transport"] and tp != o["--transport"].upper():
            continue
        if not (addr_match(o["--from"], src) and addr_match(o["--to"], dst)):
            continue
        start = msg.split("\n", 1)[0]
        cseq = (header(msg, "CSeq") or "").split()
        is_inv = start.startswith("INVITE ")
        is_200 = (start.startswith("SIP/2.0 2") and len(cseq) == 2
                  and cseq[1] == "INVITE")
        if o["--msg"] == "INVITE" and not is_inv:
            continue
        if o["--msg"] == "200" and not is_200:
            continue
        if not (is_inv or is_200):
            continue
        callid = header(msg, "Call-ID", "i")
        initial = cseq[0:1] == first_cseq.get(callid)
        if flags["--initial"] and not initial:
            continue
        if flags["--reinvite"] and initial:
            continue
        parts = msg.split("\n\n", 1)
        body = parts[1] if len(parts) > 1 else ""
        audio = sdp_audio(body) if body.strip() else None
        what = "%s %s -> %s %s" % (tp, src, dst, start.strip())
        if audio is None:
            if is_inv or is_200:
                # An INVITE without SDP (late offer) is allowed; say so.
                print("sdp_check: %s: no audio SDP" % what)
            continue
        selected += 1
        proto, port, conn, cryptos, direction = audio
        print("sdp_check: %s: m=audio %s %s, c=%s, %s, %d crypto line(s)%s"
              % (what, port, proto, conn, direction, len(cryptos),
                 "".join("\n    " + c for c in cryptos)))
        if o["--proto"] and proto != o["--proto"]:
            problems.append("%s: transport %s, expected %s" % (what, proto, o["--proto"]))
        if cmin is not None and not cmin <= len(cryptos) <= cmax:
            problems.append("%s: %d a=crypto lines, expected %s"
                            % (what, len(cryptos), o["--crypto"]))
        for c in cryptos:
            m = CRYPTO_RE.match(c)
            if not m:
                problems.append("%s: malformed %r" % (what, c))
                continue
            suite = m.group(2)
            if suites and suite not in suites:
                problems.append("%s: suite %s not in %s" % (what, suite, ",".join(suites)))
            try:
                key = base64.b64decode(m.group(3), validate=True)
            except ValueError:
                problems.append("%s: key of %r is not base64" % (what, c))
                continue
            if suite in KEY_LEN and len(key) != KEY_LEN[suite]:
                problems.append("%s: %s key+salt is %d bytes, expected %d"
                                % (what, suite, len(key), KEY_LEN[suite]))
        if o["--conn"] and conn != o["--conn"]:
            problems.append("%s: connection address %s, expected %s"
                            % (what, conn, o["--conn"]))
        if plo is not None and (port is None or not plo <= port <= phi):
            problems.append("%s: audio port %s outside %s" % (what, port, o["--ports"]))
    if selected < int(o["--min"]):
        problems.append("%d matching message(s) with audio SDP in %s, expected at least %s"
                        % (selected, path, o["--min"]))
    for p in problems:
        print("sdp_check: FAIL: %s" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""seeds.py - write the seed corpora of the fuzz targets.

    tests/fuzz/seeds.py [CORPUS_DIR]     (default: tests/fuzz/corpus)

  sip/     every <send> of tests/sipp/*.xml rendered to plain text (sipp's
           keywords replaced by fixed values), and whole calls in the
           record format of fuzz_sip.c: both directions, provisional and
           final answers that match tlstrunk's own branches
           (z9hG4bKttf0f0f0f0<n>), ACK/BYE along the Record-Route,
           CANCEL, re-INVITE, failures, OPTIONS, time passing.
  stream/  byte streams for fuzz_stream.c (3 header bytes, then the
           stream): pipelined messages, CRLF keepalives, splits, bodies,
           huge headers, over TCP and TLS.
  config/  config/tlstrunk.ini.example, the integration tests' config,
           and broken variants, naming the fuzz PKI (/tmp/tlstrunk-fuzz-pki).
  callrec/ call records as proxy/state/callrec.c writes them (fuzz_callrec.c):
           full, minimal, one-way media, odd Call-IDs, every suite, and a
           few damaged ones.

Files are named by content: rerunning adds nothing twice.  Seeds made by
hand (e.g. regression inputs from findings) live beside these and are
never touched.
"""
import base64
import hashlib
import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")

PKI = "/tmp/tlstrunk-fuzz-pki"
FACE = "127.77.0.1"             # tlstrunk toward the PBX (FZ_PBX_FACE)
PBX = "127.77.0.1:5090"         # the PBX as the seeds name it
SBC = "sbc.fuzz.example"
LB1 = "lb01.fuzz.example"
OUR_TLS_VIA = "SIP/2.0/TLS %s:5061;branch=z9hG4bKttf0f0f0f0%%x;alias" % SBC
OUR_PBX_VIA = "SIP/2.0/UDP %s:5060;branch=z9hG4bKttf0f0f0f0%%x;rport" % FACE
RR_SBC = "<sip:%s:5061;transport=tls;lr;r2=on>" % SBC
RR_FACE = "<sip:%s:5060;lr;r2=on>" % FACE
RR_LB1 = "<sip:%s:5062;transport=tls;lr>" % LB1


def write(sub, data, name=None):
    d = os.path.join(OUT, sub)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    h = hashlib.sha1(data).hexdigest()[:12]
    path = os.path.join(d, "%s-%s" % (name, h) if name else h)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def sip(start, headers, body=""):
    """A message with CRLFs and a right Content-Length."""
    lines = [start] + [h for h in headers if h]
    lines.append("Content-Length: %d" % len(body.encode("latin-1")))
    return "\r\n".join(lines) + "\r\n\r\n" + body


def sdp(ip, port, savp=False, direction="sendrecv", version=1):
    s = ["v=0", "o=- 4242 %d IN IP4 %s" % (version, ip), "s=-",
         "c=IN IP4 %s" % ip, "t=0 0"]
    if savp:
        s += ["m=audio %d RTP/SAVP 0 101" % port,
              "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
              "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
              "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
              "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"]
    else:
        s += ["m=audio %d RTP/AVP 0 101" % port]
    s += ["a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
          "a=fmtp:101 0-15", "a=ptime:20", "a=" + direction]
    return "\r\n".join(s) + "\r\n"


def records(*recs):
    return "".join("#!%s\n%s" % r if isinstance(r, tuple) else "#!%s\n" % r
                   for r in recs)

# --- sip: calls -------------------------------------------------------------


def pbx_request(method, cid, cseq, branch, ruri=None, tag_to=None,
                route=None, body="", extra=()):
    ruri = ruri or "sip:+13175550100@%s:5060" % FACE
    return sip("%s %s SIP/2.0" % (method, ruri), [
        "Via: SIP/2.0/UDP %s;branch=%s;rport" % (PBX, branch),
        "Max-Forwards: 70",
        "Route: " + route if route else None,
        'From: "PBX" <sip:1000@%s>;tag=pbx1' % PBX,
        "To: <sip:+13175550100@%s:5060>%s" % (FACE, ";tag=" + tag_to if tag_to else ""),
        "Call-ID: %s" % cid,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:1000@%s>" % PBX,
        "Content-Type: application/sdp" if body else None,
    ] + list(extra), body)


def cloud_response(code, phrase, req_method, cid, cseq, n, pbx_branch,
                   body="", rr=None, totag="cl1"):
    return sip("SIP/2.0 %d %s" % (code, phrase), [
        "Via: " + OUR_TLS_VIA % n,
        "Via: SIP/2.0/UDP %s;branch=%s;rport=5090" % (PBX, pbx_branch),
        "Record-Route: " + rr if rr else None,
        'From: "PBX" <sip:1000@%s>;tag=pbx1' % PBX,
        "To: <sip:+13175550100@%s:5060>%s" % (FACE, ";tag=" + totag if code > 100 else ""),
        "Call-ID: %s" % cid,
        "CSeq: %d %s" % (cseq, req_method),
        "Contact: <sip:+13175550100@%s:5062;transport=tls>" % LB1 if code > 100 and code < 300 else None,
        "Content-Type: application/sdp" if body else None,
    ], body)


def pbx_call_seeds():
    cid = "fz-pbx-call-1"
    inv = pbx_request("INVITE", cid, 1, "z9hG4bK-p1", body=sdp(PBX.split(":")[0], 40000))
    rr = ", ".join([RR_LB1, RR_SBC, RR_FACE])
    route = ", ".join([RR_FACE, RR_SBC, RR_LB1])
    dialog_ruri = "sip:+13175550100@%s:5062;transport=tls" % LB1
    ack = pbx_request("ACK", cid, 1, "z9hG4bK-p2", ruri=dialog_ruri, tag_to="cl1", route=route)
    bye = pbx_request("BYE", cid, 2, "z9hG4bK-p3", ruri=dialog_ruri, tag_to="cl1", route=route)
    reinv = pbx_request("INVITE", cid, 3, "z9hG4bK-p4", ruri=dialog_ruri, tag_to="cl1",
                        route=route, body=sdp(PBX.split(":")[0], 40000, direction="sendonly", version=2))
    r100 = cloud_response(100, "Trying", "INVITE", cid, 1, 1, "z9hG4bK-p1")
    r183 = cloud_response(183, "Session Progress", "INVITE", cid, 1, 1, "z9hG4bK-p1",
                          body=sdp("198.51.100.7", 16000, savp=True), rr=rr)
    r200 = cloud_response(200, "OK", "INVITE", cid, 1, 1, "z9hG4bK-p1",
                          body=sdp("198.51.100.7", 16000, savp=True), rr=rr)
    r200avp = cloud_response(200, "OK", "INVITE", cid, 1, 1, "z9hG4bK-p1",
                             body=sdp("198.51.100.7", 16000), rr=rr)
    r486 = cloud_response(486, "Busy Here", "INVITE", cid, 1, 1, "z9hG4bK-p1")
    r487 = cloud_response(487, "Request Terminated", "INVITE", cid, 1, 1, "z9hG4bK-p1")
    bye200 = cloud_response(200, "OK", "BYE", cid, 2, 2, "z9hG4bK-p3")
    reinv200 = cloud_response(200, "OK", "INVITE", cid, 3, 2, "z9hG4bK-p4",
                              body=sdp("198.51.100.7", 16000, savp=True, direction="recvonly", version=2), rr=rr)
    cancel = pbx_request("CANCEL", cid, 1, "z9hG4bK-p1")
    ack_err = pbx_request("ACK", cid, 1, "z9hG4bK-p1", tag_to="cl1")

    write("sip", records(("P", inv)), "pbx-invite")
    write("sip", records(("P", inv), ("D", r100), ("D", r183), ("D", r200),
                         ("P", ack), "W5", ("P", bye), ("D", bye200), "W40"),
          "pbx-call")
    write("sip", records(("P", inv), ("C", r200), ("P", ack), ("P", reinv),
                         ("C", reinv200), ("P", bye), ("C", bye200)), "pbx-reinvite")
    write("sip", records(("P", inv), ("D", r183), ("P", cancel), ("D", r487),
                         "W1", "W32"), "pbx-cancel")
    write("sip", records(("P", inv), ("P", cancel), "W1", ("D", r183), ("D", r487)),
          "pbx-cancel-early")
    write("sip", records(("P", inv), ("D", r486), ("P", ack_err), "W5", "W32"), "pbx-busy")
    write("sip", records(("P", inv), ("D", r200avp), ("P", ack)), "pbx-answer-avp")
    write("sip", records(("P", inv), ("P", inv), "W1", "W2", "W4", ("D", r200), ("D", r200),
                         "W61"), "pbx-retrans-timeout")
    write("sip", records(("P", inv), "W4", "W32", "W180"), "pbx-no-answer")
    write("sip", records(("T", inv.replace("SIP/2.0/UDP", "SIP/2.0/TCP")), ("D", r100),
                         ("D", r200)), "pbx-tcp")
    write("sip", records(("X", inv)), "pbx-refused-source")


def cloud_request(method, cid, cseq, branch, ruri=None, tag_to=None,
                  route=None, body="", rr=True, extra=()):
    ruri = ruri or "sip:+13175550100@%s:5061;transport=tls" % SBC
    return sip("%s %s SIP/2.0" % (method, ruri), [
        "Via: SIP/2.0/TLS %s:5062;branch=%s" % (LB1, branch),
        "Max-Forwards: 69",
        "Route: " + route if route else None,
        "Record-Route: " + RR_LB1 if rr else None,
        "From: <sip:+13175559999@%s>;tag=cl9" % LB1,
        "To: <sip:+13175550100@%s>%s" % (SBC, ";tag=" + tag_to if tag_to else ""),
        "Call-ID: %s" % cid,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:+13175559999@%s:5062;transport=tls>" % LB1,
        "Content-Type: application/sdp" if body else None,
    ] + list(extra), body)


def pbx_response(code, phrase, req_method, cid, cseq, n, cloud_branch,
                 body="", rr=None):
    return sip("SIP/2.0 %d %s" % (code, phrase), [
        "Via: " + OUR_PBX_VIA % n,
        "Via: SIP/2.0/TLS %s:5062;branch=%s" % (LB1, cloud_branch),
        "Record-Route: " + rr if rr else None,
        "From: <sip:+13175559999@%s>;tag=cl9" % LB1,
        "To: <sip:+13175550100@%s>%s" % (SBC, ";tag=pbx7" if code > 100 else ""),
        "Call-ID: %s" % cid,
        "CSeq: %d %s" % (cseq, req_method),
        "Contact: <sip:1000@%s>" % PBX if code < 300 else None,
        "Content-Type: application/sdp" if body else None,
    ], body)


def cloud_call_seeds():
    cid = "fz-cloud-call-1"
    inv = cloud_request("INVITE", cid, 1, "z9hG4bK-c1", body=sdp("198.51.100.7", 16000, savp=True))
    rr = ", ".join([RR_FACE, RR_SBC, RR_LB1])
    route = ", ".join([RR_SBC, RR_FACE])
    ruri = "sip:1000@%s" % PBX
    ack = cloud_request("ACK", cid, 1, "z9hG4bK-c2", ruri=ruri, tag_to="pbx7", route=route, rr=False)
    bye = cloud_request("BYE", cid, 2, "z9hG4bK-c3", ruri=ruri, tag_to="pbx7", route=route, rr=False)
    r180 = pbx_response(180, "Ringing", "INVITE", cid, 1, 1, "z9hG4bK-c1", rr=rr)
    r200 = pbx_response(200, "OK", "INVITE", cid, 1, 1, "z9hG4bK-c1",
                        body=sdp(PBX.split(":")[0], 40000), rr=rr)
    r603 = pbx_response(603, "Decline", "INVITE", cid, 1, 1, "z9hG4bK-c1")
    bye200 = pbx_response(200, "OK", "BYE", cid, 2, 2, "z9hG4bK-c3")
    pbxbye = pbx_request("BYE", cid, 2, "z9hG4bK-p9", ruri="sip:+13175559999@%s:5062;transport=tls" % LB1,
                         tag_to="cl9", route=", ".join([RR_FACE, RR_SBC, RR_LB1]))
    write("sip", records(("C", inv)), "cloud-invite")
    write("sip", records(("C", inv), ("P", r180), ("P", r200), ("C", ack), "W5",
                         ("C", bye), ("P", bye200)), "cloud-call")
    write("sip", records(("D", inv), ("P", r200), ("D", ack), "W61", "W5"), "cloud-media-timeout")
    write("sip", records(("C", inv), ("P", r603), ("C", ack.replace("z9hG4bK-c2", "z9hG4bK-c1")),
                         "W32"), "cloud-decline")
    write("sip", records(("C", inv), ("P", r200), ("C", ack), ("P", pbxbye)), "cloud-call-pbx-bye")
    write("sip", records(("C", inv), ("C", cloud_request("CANCEL", cid, 1, "z9hG4bK-c1", rr=False)),
                         ("P", pbx_response(487, "Request Terminated", "INVITE", cid, 1, 1, "z9hG4bK-c1"))),
          "cloud-cancel")
    opts = cloud_request("OPTIONS", "fz-opt-1", 1, "z9hG4bK-o1", ruri="sip:%s:5061;transport=tls" % SBC,
                         rr=False)
    write("sip", records(("C", opts)), "cloud-options")
    ping200 = sip("SIP/2.0 200 OK", [
        "Via: SIP/2.0/TLS %s:5061;branch=z9hG4bKttf0f0f0f0h1;alias" % SBC,
        "From: <sip:tlstrunk@%s>;tag=ttf0f0f0f00" % SBC,
        "To: <sip:%s:5062;transport=tls>;tag=x" % LB1,
        "Call-ID: tlstrunk-ping-f0f0f0f0-0@%s" % SBC, "CSeq: 1 OPTIONS"])
    write("sip", records("W1", ("D", ping200), "W30", "W5"), "cloud-ping-answer")
    write("sip", records(("P", pbx_request("OPTIONS", "fz-opt-2", 1, "z9hG4bK-o2",
                                           ruri="sip:%s:5060" % FACE))), "pbx-options")
    write("sip", records(("P", pbx_request("REGISTER", "fz-reg-1", 1, "z9hG4bK-r1",
                                           ruri="sip:%s:5060" % FACE))), "pbx-register")
    write("sip", records(("P", pbx_request("MESSAGE", "fz-msg-1", 1, "z9hG4bK-m1"))), "pbx-message")
    write("sip", records(("C", cloud_request("INFO", "fz-info-1", 5, "z9hG4bK-i1", tag_to="x",
                                             ruri=ruri, route=route))), "cloud-info")

# --- sip: the sipp scenarios ------------------------------------------------


SIPP_VALUES = {
    "service": "+13175550100", "remote_port": "5060", "local_port": "5090",
    "transport": "UDP", "call_number": "1", "pid": "4242", "cseq": "1",
    "media_ip_type": "4", "local_ip_type": "4", "media_port": "40000",
    "rtp_port": "40000", "branch": "z9hG4bK-sipp-1",
}


def render_sipp(path, from_cloud):
    text = open(path, encoding="utf-8").read()
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return []
    local_ip = LB1 if from_cloud else PBX.split(":")[0]
    remote_ip = SBC if from_cloud else FACE
    vals = dict(SIPP_VALUES, local_ip=local_ip, remote_ip=remote_ip,
                media_ip="198.51.100.7" if from_cloud else local_ip,
                call_id="fz-sipp-%s" % os.path.basename(path))
    if from_cloud:
        vals.update(local_port="5062", remote_port="5061", transport="TLS")
    # UAS answers: our Via on top, then that of the request's sender.
    vals["last_Via:"] = ("Via: " + OUR_TLS_VIA % 1 + "\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-u1;rport=5090" % PBX
                         if from_cloud else
                         "Via: " + OUR_PBX_VIA % 1 + "\r\nVia: SIP/2.0/TLS %s:5062;branch=z9hG4bK-u2" % LB1)
    vals["last_From:"] = "From: <sip:+13175559999@%s>;tag=x1" % LB1
    vals["last_To:"] = "To: <sip:+13175550100@%s>;tag=y1" % FACE
    vals["last_Call-ID:"] = "Call-ID: fz-sipp-last"
    vals["last_CSeq:"] = "CSeq: 1 INVITE"
    vals["last_Record-Route:"] = "Record-Route: " + ", ".join([RR_FACE, RR_SBC, RR_LB1])
    vals["routes"] = "Route: " + (", ".join([RR_SBC, RR_FACE]) if from_cloud else
                                  ", ".join([RR_FACE, RR_SBC, RR_LB1]))
    vals["next_url"] = ("sip:1000@%s" % PBX if from_cloud else
                        "sip:+13175550100@%s:5062;transport=tls" % LB1)
    out = []
    for send in root.iter("send"):
        body = (send.text or "").strip("\n")
        lines = [ln.strip() for ln in body.split("\n")]
        while lines and lines[0] == "":
            lines.pop(0)
        msg = "\r\n".join(lines)

        def sub(m):
            k = m.group(1)
            if k in vals:
                return vals[k]
            if k.startswith("last_"):
                return ""
            return m.group(0)
        msg = re.sub(r"\[([A-Za-z_:.\-]+)\]", sub, msg)
        head, _, payload = msg.partition("\r\n\r\n")
        head = "\r\n".join(ln for ln in head.split("\r\n") if ln != "")
        payload = payload.strip("\r\n")
        payload = payload + "\r\n" if payload else ""
        head = head.replace("[len]", str(len(payload)))
        out.append(head + "\r\n\r\n" + payload)
    return out


def sipp_seeds():
    d = os.path.join(ROOT, "tests", "sipp")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".xml"):
            continue
        from_cloud = f.startswith("cloud_")
        msgs = render_sipp(os.path.join(d, f), from_cloud)
        if not msgs:
            continue
        name = "sipp-" + f[:-4]
        kind = "C" if from_cloud else "P"
        if "_uas" in f:
            # Answers to tlstrunk: preceded by the request they answer.
            first = (pbx_call_first() if from_cloud else cloud_call_first())
            write("sip", records(first, *[("D" if from_cloud else "P", m) for m in msgs]), name)
        else:
            write("sip", msgs[0], name + "-first")
            write("sip", records(*[(kind, m) for m in msgs]), name)


def pbx_call_first():
    return ("P", pbx_request("INVITE", "fz-sipp-uas", 1, "z9hG4bK-u1",
                             body=sdp(PBX.split(":")[0], 40000)))


def cloud_call_first():
    return ("C", cloud_request("INVITE", "fz-sipp-uas", 1, "z9hG4bK-u2",
                               body=sdp("198.51.100.7", 16000, savp=True)))

# --- sip: odd messages --------------------------------------------------------


def odd_seeds():
    base = pbx_request("INVITE", "fz-odd", 1, "z9hG4bK-odd", body=sdp(PBX.split(":")[0], 40000))
    odd = {
        "folded": base.replace("Subject", "X").replace("Max-Forwards: 70",
                                                        "Max-Forwards:\r\n 70"),
        "escaped-uri": base.replace("sip:+13175550100@", "sip:%2B1317%35550100@", 1),
        "no-callid": base.replace("Call-ID: fz-odd\r\n", ""),
        "bad-cl": base.replace("Content-Length: ", "Content-Length: 9"),
        "mf0": base.replace("Max-Forwards: 70", "Max-Forwards: 0"),
        "tel": base.replace("sip:+13175550100@%s:5060" % FACE, "tel:+13175550100", 1),
        "unknown-method": base.replace("INVITE", "FOOBAR"),
        "nul": base.replace("Call-ID: fz-odd", "Call-ID: fz\x00odd"),
        "multipart": sip("INVITE sip:+13175550100@%s:5060 SIP/2.0" % FACE, [
            "Via: SIP/2.0/UDP %s;branch=z9hG4bK-mp;rport" % PBX, "Max-Forwards: 70",
            "From: <sip:1000@%s>;tag=a" % PBX, "To: <sip:+13175550100@%s>" % FACE,
            "Call-ID: fz-mp", "CSeq: 1 INVITE", "Contact: <sip:1000@%s>" % PBX,
            "Content-Type: multipart/mixed;boundary=xx"],
            "--xx\r\nContent-Type: application/sdp\r\n\r\n" + sdp("127.77.0.1", 40000) +
            "--xx\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--xx--\r\n"),
        "ipv6": base.replace("c=IN IP4 127.77.0.1", "c=IN IP6 ::1"),
        "many-vias": base.replace("Max-Forwards", "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n" * 20 +
                                  "Max-Forwards"),
        "long-header": base.replace("Max-Forwards: 70", "Max-Forwards: 70\r\nX-Long: " + "a" * 3000),
        "compact": base.replace("Via:", "v:").replace("From:", "f:").replace("To:", "t:")
                       .replace("Call-ID:", "i:").replace("Content-Type:", "c:"),
    }
    for k, v in odd.items():
        write("sip", v, "odd-" + k)

# --- stream ------------------------------------------------------------------------


def stream_seeds():
    inv = pbx_request("INVITE", "fz-stream-1", 1, "z9hG4bK-s1", body=sdp("127.77.0.1", 40000))
    opt = pbx_request("OPTIONS", "fz-stream-2", 1, "z9hG4bK-s2", ruri="sip:%s:5060" % FACE)
    tcp_inv = inv.replace("SIP/2.0/UDP", "SIP/2.0/TCP")
    cinv = cloud_request("INVITE", "fz-stream-3", 1, "z9hG4bK-s3", body=sdp("198.51.100.7", 16000, savp=True))
    copt = cloud_request("OPTIONS", "fz-stream-4", 1, "z9hG4bK-s4", ruri="sip:%s:5061;transport=tls" % SBC)

    def hdr(tls=0, size=0, fin=0, noread=0, chunk_bits=0, seed_lo=0, pauses=0):
        b0 = tls | (size << 1) | (fin << 3) | (noread << 4) | (pauses << 5)
        return bytes([b0, chunk_bits, seed_lo])

    def enc(s):
        return s.encode("latin-1")
    write("stream", hdr() + enc(tcp_inv), "tcp-invite")
    write("stream", hdr() + enc(opt + opt + tcp_inv), "tcp-pipelined")
    write("stream", hdr(chunk_bits=0x13, seed_lo=7) + enc(opt + tcp_inv), "tcp-split")
    write("stream", hdr(chunk_bits=0x20, seed_lo=1) + enc(tcp_inv), "tcp-bytewise")
    write("stream", hdr() + enc("\r\n\r\n" + opt + "\r\n\r\n\r\n" + opt + "\r\n"), "tcp-crlf")
    write("stream", hdr(fin=1) + enc(opt + tcp_inv[:100]), "tcp-truncated-fin")
    big = opt.replace("Max-Forwards: 70", "Max-Forwards: 70\r\nX-Huge: " + "h" * 70000)
    write("stream", hdr() + enc(big), "tcp-huge-header")
    write("stream", hdr(size=1) + enc(opt + big[:3000]), "tcp-over-1k")
    write("stream", hdr(size=2, chunk_bits=0x0a, seed_lo=3) + enc(tcp_inv + tcp_inv), "tcp-4k-split")
    write("stream", hdr() + enc(opt.replace("Content-Length: 0", "Content-Length: 20")) + b"0123456789",
          "tcp-short-body")
    write("stream", hdr() + enc(opt.replace("Content-Length: 0\r\n", "")), "tcp-no-cl")
    write("stream", hdr(noread=1) + enc(opt * 40), "tcp-noread")
    write("stream", hdr(tls=1) + enc(cinv), "tls-invite")
    write("stream", hdr(tls=1, chunk_bits=0x05, seed_lo=9) + enc(copt + "\r\n\r\n" + cinv), "tls-split")
    write("stream", hdr(tls=1, fin=1) + enc(copt + copt[:50]), "tls-close-notify")
    write("stream", hdr(tls=1, size=3) + enc(copt.replace("Max-Forwards", "X-Pad: " + "p" * 20000 +
                                                          "\r\nMax-Forwards")), "tls-over-16k")
    write("stream", hdr() + b"\x16\x03\x01\x00\x05hello", "tcp-tls-bytes")
    # A body that straddles reads, with pauses: the issue 14 bug.
    pad = "".join("a=x-pad:%d abcdefghijklmnopqrstuvwxyz\r\n" % i for i in range(60))
    fat = pbx_request("INVITE", "fz-stream-5", 1, "z9hG4bK-s5",
                      body=sdp("127.77.0.1", 40002) + pad).replace("SIP/2.0/UDP", "SIP/2.0/TCP")
    write("stream", hdr(chunk_bits=0x09, seed_lo=5, pauses=1) + enc(fat + opt), "tcp-body-pauses")
    write("stream", hdr(tls=1, chunk_bits=0x08, seed_lo=11, pauses=1) + enc(copt + cinv), "tls-pauses")
    write("stream", hdr(tls=1) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "tls-http")

# --- config ------------------------------------------------------------------------


def config_seeds():
    example = open(os.path.join(ROOT, "config", "tlstrunk.ini.example"), encoding="utf-8").read()
    write("config", example, "example")
    ex = (example.replace("/etc/tlstrunk/tls/chain.pem", PKI + "/sbc.pem")
          .replace("/etc/tlstrunk/tls/key.pem", PKI + "/sbc.key")
          .replace("advertised_name = sbc.example.com", "advertised_name = sbc.fuzz.example")
          .replace("ca_file =\n", "ca_file = %s/ca.pem\n" % PKI, 1))
    write("config", ex, "example-pki")
    tests = """[general]
log_level = debug
admin_listen =

[pbx]
listen = 127.0.0.1:15060
transports = udp,tcp
address = 127.0.0.1:5090
allow = 127.0.0.1/32
advertised_address = 127.0.0.1

[cloud]
hosts = lb01.voice.use1.pure.cloud
port = 5061
tgrp = TestTrunk
trunk_context = use1.test.example
ca_file = {pki}/ca.pem
resolve = lb01.voice.use1.pure.cloud=127.0.0.2

[tls_server]
listen = 127.0.0.1:15061
cert_file = {pki}/sbc.pem
key_file = {pki}/sbc.key
advertised_name = sbc.fuzz.example
""".format(pki=PKI)
    write("config", tests, "tests")
    variants = {
        "tls13": tests.replace("[tls_server]", "tls_max_version = 1.3\ngroups = secp384r1,X25519\n"
                               "ciphers = ECDHE-RSA-AES128-GCM-SHA256\n\n[tls_server]"),
        "mutual": tests + "mutual = on\nclient_ca_file = %s/ca.pem\n" % PKI,
        "mutual-no-ca": tests + "mutual = on\n",
        "crl": tests.replace("resolve =", "crl_file = %s/ca.pem\nresolve =" % PKI),
        "region": tests.replace("hosts = lb01.voice.use1.pure.cloud", "region = euw2"),
        "no-region": tests.replace("hosts = lb01.voice.use1.pure.cloud\n", ""),
        "ipv6": tests.replace("127.0.0.1:15060", "[::1]:15060").replace("allow = 127.0.0.1/32",
                                                                       "allow = ::1/128, 10.0.0.0/8"),
        "bad-port": tests.replace("15060", "99999"),
        "bad-allow": tests.replace("127.0.0.1/32", "127.0.0.1/33"),
        "weak-cipher": tests.replace("[tls_server]", "ciphers = DES-CBC3-SHA\n\n[tls_server]"),
        "unknown-key": tests.replace("[pbx]", "[pbx]\nfoo = bar"),
        "unknown-section": tests + "[nosuch]\nx = 1\n",
        "dup-key": tests.replace("port = 5061", "port = 5061\nport = 5062"),
        "media": tests + "[media]\npublic_address = 203.0.113.10\nport_min = 20001\nport_max = 20000\n"
                         "srtp_suites = AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_32\ntimeout = 0\n",
        "limits": tests + "[limits]\nmax_message_size = 1\nmax_connections = 0\nidle_timeout = 86401\n",
        "trace": tests + "[trace]\nhep_collector = 127.0.0.1:9060\nhep_id = 7\n"
                         "tls_keylog = /tmp/x\nsrtp_keylog =\n",
        "long-line": tests.replace("tgrp = TestTrunk", "tgrp = " + "T" * 5000),
        "no-newline": tests.rstrip("\n"),
        "crlf": tests.replace("\n", "\r\n"),
        "comments": tests.replace("[pbx]", "; comment\n# other\n[pbx] ; trailing"),
        "syntax": tests.replace("[pbx]", "[pbx\nnovalue"),
        "empty-values": re.sub(r"= .*", "=", tests),
        "resolve-many": tests.replace("resolve = lb01.voice.use1.pure.cloud=127.0.0.2",
                                      "resolve = " + ", ".join("h%d.example=10.0.0.%d" % (i, i)
                                                               for i in range(40))),
        "address-tcp": tests.replace("address = 127.0.0.1:5090", "address = 127.0.0.1:5090;transport=tcp"),
        "balance": tests.replace("[tls_server]", "balance = call-id-hash\noptions_interval = 1\n"
                                 "failover_timeout = 0\n\n[tls_server]"),
    }
    for k, v in variants.items():
        write("config", v, k)


def callrec_key(tag, suite, nbytes, extra=""):
    key = base64.b64encode(bytes((i * 7 + tag) & 0xff for i in range(nbytes))).decode()
    return "%d %s inline:%s%s" % (tag, suite, key, extra)


def callrec(media=None, **dialog):
    """A record in callrec.c's order; media: a dict of the media lines."""
    lines = [("v", "1"), ("node", "node-a"), ("written", "1765000000123")]
    d = {"callid": "a84b4c76e66710@pbx.example.com", "caller_side": "0",
         "confirmed": "1", "caller": "<sip:alice@pbx.example.com>;tag=1928301774",
         "callee": "<sip:+15551234567@cloud.example>;tag=a6c85cf",
         "caller_target": "<sip:alice@192.168.10.20:5060>",
         "callee_target": "<sip:lb01.cloud.example:5061;transport=tls>",
         "route_to_caller": "<sip:192.168.10.1:5060;lr;r2=on>",
         "route_to_callee": "<sip:lb01.cloud.example:5061;transport=tls;lr>",
         "proxy": "lb01.cloud.example", "cseq.pbx": "2", "cseq.cloud": "1",
         "started": "1764999990000", "src_ip": "192.168.10.20"}
    d.update(dialog)
    for k in ("callid", "caller_side", "confirmed", "caller", "callee", "caller_target",
              "callee_target", "route_to_caller", "route_to_callee", "proxy",
              "cseq.pbx", "cseq.cloud", "started", "src_ip"):
        if d.get(k) is not None:
            lines.append((k, d[k]))
    lines.append(("media", "1" if media is not None else "0"))
    if media is not None:
        m = {"pbx_port": "20000", "cloud_port": "20002", "ai": "0", "have_tx": "1",
             "have_rx": "1",
             "tx_key": callrec_key(1, "AES_CM_128_HMAC_SHA1_80", 30),
             "rx_key": callrec_key(2, "AES_256_CM_HMAC_SHA1_80", 46, "|1048576|1066:4 WSH=128")}
        for side, ip in (("pbx", "192.168.10.20"), ("cloud", "2001:db8::7")):
            m.update({"peer.%s.ip" % side: ip, "peer.%s.port" % side: "4000",
                      "peer.%s.rtcp_port" % side: "4001", "peer.%s.rtcp_mux" % side: "0"})
        for dr in ("tx", "rx"):
            m.update({dr + ".have_rtp": "1", dr + ".have_rtcp": "1", dr + ".ssrc": "3735928559",
                      dr + ".roc": "2", dr + ".seq": "65535", dr + ".rtcp_ssrc": "3735928559",
                      dr + ".rtcp_count": "17"})
        m["idle_ms"] = "20"
        m.update(media)
        for k in ("pbx_port", "cloud_port", "ai", "have_tx", "have_rx", "tx_key", "rx_key",
                  "peer.pbx.ip", "peer.pbx.port", "peer.pbx.rtcp_port", "peer.pbx.rtcp_mux",
                  "peer.cloud.ip", "peer.cloud.port", "peer.cloud.rtcp_port",
                  "peer.cloud.rtcp_mux"):
            if m.get(k) is not None:
                lines.append((k, m[k]))
        for dr in ("tx", "rx"):
            for f in ("have_rtp", "have_rtcp", "ssrc", "roc", "seq", "rtcp_ssrc", "rtcp_count"):
                lines.append((dr + "." + f, m[dr + "." + f]))
        lines.append(("idle_ms", m["idle_ms"]))
    return "".join("%s=%s\n" % kv for kv in lines)


def callrec_seeds():
    full = callrec({})
    write("callrec", full, "full")
    write("callrec", callrec(None), "no-media")
    write("callrec", "v=1\nnode=b\nwritten=0\ncallid=x\ncaller_side=0\nconfirmed=0\n"
          "cseq.pbx=0\ncseq.cloud=0\nstarted=0\nmedia=0\n", "minimal")
    write("callrec", callrec({"have_tx": "0", "tx_key": None,
                              "rx_key": callrec_key(9, "AEAD_AES_128_GCM", 28)}), "rx-only")
    write("callrec", callrec({"have_rx": "0", "rx_key": None,
                              "tx_key": callrec_key(3, "AEAD_AES_256_GCM", 44, "|2^31")}), "tx-only")
    write("callrec", callrec({"tx_key": callrec_key(4, "AES_CM_128_HMAC_SHA1_32", 30),
                              "rx_key": callrec_key(5, "AES_256_CM_HMAC_SHA1_32", 46),
                              "peer.cloud.ip": "", "peer.cloud.port": "0"}), "short-tags")
    write("callrec", callrec(None, callid="odd id 100%25=done caf%C3%A9 %09tab",
                             caller="%22A%22 <sip:a@b>;tag=%E2%82%AC", proxy="", src_ip="?"),
          "escaped")
    write("callrec", full.replace("v=1\n", "v=2\n"), "version-2")
    write("callrec", full[:len(full) - 5], "truncated")
    write("callrec", full.replace("pbx_port=20000", "pbx_port=20001"), "odd-port")


def main():
    callrec_seeds()
    pbx_call_seeds()
    cloud_call_seeds()
    sipp_seeds()
    odd_seeds()
    stream_seeds()
    config_seeds()


if __name__ == "__main__":
    main()

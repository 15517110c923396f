#!/usr/bin/env python3
"""media_guard.py - the packet side of tests/integration/97_media_guard.sh:
tlstrunk's media relay forwards only what it should, seen from outside.

One call is up (PBX sipp UAC -> tlstrunk -> Kamailio -> cloud sipp UAS,
cloud_uas_media.xml, whose answer puts the cloud's SRTP at LISTEN,
127.0.0.3:6500). This script reads the relay ports and the SDES keys from
the two sipp message logs, binds LISTEN itself (it is the cloud's media
end), and goes through these phases, scraping /metrics (strictly parsed by
tests/cloud4/promparse.py) before and after each:

  A  N plain RTP packets to the PBX-side relay port from BAD_SRC (not in
     [pbx] allow): dropped_total{reason="source"} +N, nothing reaches
     LISTEN, media_packets_total{leg="cloud",direction="out"} unchanged.
  B  N plain RTP packets from 127.0.0.1 (allowed; the PBX leg latches
     onto this socket): LISTEN receives exactly N datagrams, all from the
     cloud-side relay port named in the INVITE, each RTP length + the
     suite's tag (10 bytes for _80), same RTP header, no plaintext marker
     in them, and each decrypts (srtp_peer.py) with the key tlstrunk
     offered to the cloud back to the packet sent. cloud/out +N, bytes
     +N*(len+tag); dropped source unchanged.
  C  K SRTP packets protected with the cloud's key (from the UAS's 200)
     from LISTEN to the cloud-side relay port: the PBX socket gets exactly
     those K RTP packets (the path back to the PBX is live: the next phase
     is not vacuous). pbx/out +K, srtp failures unchanged.
  D  M forged SRTP packets from LISTEN (valid RTP header, same SSRC, new
     sequence numbers, random payload and random tag), M such packets from
     THIRD_SRC, and the K packets of C again (replays) from LISTEN:
     tlstrunk_srtp_failures_total +(2M+K) exactly, pbx/out packets and
     bytes unchanged, the PBX socket receives nothing, dropped source
     unchanged. (relay.c: the cloud side has no source filter; a packet
     from an unexpected address goes through unprotect like any other and
     is counted as an SRTP failure, not as a source drop.)
  E  K more valid SRTP packets from LISTEN reach the PBX (the forgeries
     did not spoil the stream), and K more RTP packets from the PBX all
     reach LISTEN and none THIRD_SRC (no latching onto a forger).
  F  2N RTP packets from the PBX in one burst (no pause: relay.c reads
     such a socket in batches), a 3012-byte datagram before it (after a
     pause: read alone) and one inside it: LISTEN receives exactly the 2N
     packets as SRTP, nothing of the oversized ones (the relay takes at
     most 2048 bytes; a longer datagram is dropped, never cut and sent).
  G  the PBX's socket closes; one valid SRTP packet from LISTEN makes
     tlstrunk send to the closed port (ICMP port unreachable); a new
     socket on the same address and port then sends K RTP packets: LISTEN
     receives K, and K valid SRTP packets from LISTEN reach the new socket
     (the relay's sockets did not go deaf over the ICMP error).
Throughout: nothing ever arrives at the BAD_SRC or THIRD_SRC sockets.

Prints one "ok: ..." or "FAIL: ..." line per check and, last, the counts
the call's log lines must show:
  COUNTS pbx_in=.. pbx_out=.. cloud_in=.. cloud_out=.. srtp_failures=..
Exit 0 when every check held, 1 otherwise, 2 on a usage/set-up problem.
Needs python3 and python3-cryptography (srtp_peer.py).
"""
import argparse
import os
import re
import select
import socket
import struct
import sys
import time
import urllib.request

sys.dont_write_bytecode = True     # leave no __pycache__ in the tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cloud4"))
import promparse  # noqa: E402
import srtp_peer  # noqa: E402

SEP = re.compile(r"^-{20,} ", re.M)
MARKER = b"MEDIAGUARD-PLAINTEXT"
PT_PCMU = 0

BAD = []


def ok(msg):
    print("ok: " + msg, flush=True)


def bad(msg):
    print("FAIL: " + msg, flush=True)
    BAD.append(msg)


def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(2)


# --- sipp message logs --------------------------------------------------------------

def messages(path):
    """(direction, text) of every message in a sipp -trace_msg log;
    direction is 'received' or 'sent'."""
    with open(path, encoding="utf-8", errors="replace") as f:
        data = f.read()
    out = []
    for block in SEP.split(data)[1:]:
        lines = block.split("\n")
        if len(lines) < 3:
            continue
        head = lines[1]
        d = "received" if " received" in head else "sent" if " sent" in head else None
        if d is None:
            continue
        out.append((d, "\n".join(lines[3:]).replace("\r", "")))
    return out


def header(msg, name):
    m = re.search(r"^%s:\s*(.*)$" % re.escape(name), msg, re.M | re.I)
    return m.group(1).strip() if m else ""


def find(path, direction, start_re):
    """The first message in the log going DIRECTION whose first line
    matches START_RE and whose CSeq is an INVITE, with an SDP body."""
    for d, msg in messages(path):
        first = msg.split("\n", 1)[0]
        if d == direction and re.match(start_re, first) and \
                header(msg, "CSeq").endswith("INVITE") and "\n\n" in msg:
            body = msg.split("\n\n", 1)[1]
            if "m=audio" in body:
                return msg, body
    return None, None


def sdp_media(body):
    """(address, port, {tag: crypto dict}) of the first audio stream."""
    addr = port = None
    cryptos = {}
    for line in body.split("\n"):
        line = line.strip()
        if line.startswith("c=IN IP4 ") and addr is None:
            addr = line.split()[2]
        elif line.startswith("m=audio ") and port is None:
            port = int(line.split()[1])
        elif line.startswith("a=crypto:"):
            c = srtp_peer.parse_crypto_attr(line[len("a=crypto:"):])
            if c:
                cryptos[c["tag"]] = c
    return addr, port, cryptos


# --- /metrics ---------------------------------------------------------------------------

class Metrics:
    def __init__(self, url):
        self.url = url

    def scrape(self, tag):
        try:
            with urllib.request.urlopen(self.url, timeout=3) as r:
                text = r.read().decode("utf-8")
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            die("%s: GET %s failed: %r" % (tag, self.url, e))
        _, samples, errs = promparse.parse(text)
        if errs:
            die("%s: /metrics is not valid text format: %s" % (tag, "; ".join(errs[:3])))
        return Snap(tag, samples)

    def wait(self, tag, cond, secs=4.0):
        """Scrape until cond(snap) holds (or secs pass); the last snap."""
        end = time.monotonic() + secs
        while True:
            s = self.scrape(tag)
            if cond(s) or time.monotonic() > end:
                return s
            time.sleep(0.05)


class Snap:
    def __init__(self, tag, samples):
        self.tag, self.samples = tag, samples

    def v(self, name, **labels):
        tot, seen = 0, False
        for n, l, val, _f, _ln in self.samples:
            if n == name and all(l.get(k) == w for k, w in labels.items()):
                tot += val
                seen = True
        if not seen:
            die("%s: /metrics has no %s%s" % (self.tag, name, labels or ""))
        return int(tot)

    def pkts(self, leg, d):
        return self.v("tlstrunk_media_packets_total", leg=leg, direction=d)

    def bytes(self, leg, d):
        return self.v("tlstrunk_media_bytes_total", leg=leg, direction=d)

    def src_drops(self):
        return self.v("tlstrunk_media_dropped_total", reason="source")

    def srtp_fail(self):
        return self.v("tlstrunk_srtp_failures_total")


def delta(a, b, what, want, fn):
    got = fn(b) - fn(a)
    if got == want:
        ok("%s: %s +%d (%d -> %d)" % (b.tag, what, got, fn(a), fn(b)))
    else:
        bad("%s: %s changed by %+d (%d -> %d), expected %+d" % (b.tag, what, got, fn(a), fn(b), want))


# --- packets -------------------------------------------------------------------------------

def rtp(seq, ts, ssrc, payload, pt=PT_PCMU):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def plain_payload(i):
    p = (MARKER + b"-%04d-" % i) * 8
    return p[:160]


def udp(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((ip, port))
    s.setblocking(False)
    return s


def send_all(sock, to, pkts):
    for p in pkts:
        sock.sendto(p, to)
        time.sleep(0.002)


def drain(sock, secs):
    """Every datagram that arrives on sock within secs: [(data, addr)]."""
    got = []
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return got
        r, _, _ = select.select([sock], [], [], left)
        if r:
            while True:
                try:
                    got.append(sock.recvfrom(65536))
                except BlockingIOError:
                    break


def collect(sock, want, secs):
    """Datagrams until `want` have come (then 0.3 s more for extras), or secs."""
    got = []
    end = time.monotonic() + secs
    while len(got) < want and time.monotonic() < end:
        got += drain(sock, min(0.05, max(0.0, end - time.monotonic())))
    return got + drain(sock, 0.3)


# --- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--pbx-log", required=True, help="the PBX sipp's message log")
    ap.add_argument("--uas-log", required=True, help="the cloud UAS sipp's message log")
    ap.add_argument("--listen", default="127.0.0.3:6500")
    ap.add_argument("--pbx-src", default="127.0.0.1")
    ap.add_argument("--bad-src", default="127.0.0.9")
    ap.add_argument("--third-src", default="127.0.0.4")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("-m", type=int, default=20)
    ap.add_argument("-k", type=int, default=5)
    a = ap.parse_args()
    N, M, K = a.n, a.m, a.k
    lip, lport = a.listen.rsplit(":", 1)
    lport = int(lport)

    # --- where and with which keys ---
    _, pbx_sdp = find(a.pbx_log, "received", r"SIP/2\.0 200 ")
    if pbx_sdp is None:
        die("no 200 OK with SDP for the INVITE in %s" % a.pbx_log)
    pbx_relay_ip, pbx_relay_port, pbx_cr = sdp_media(pbx_sdp)
    if not pbx_relay_ip or not pbx_relay_port or pbx_cr:
        die("the PBX's 200 SDP is not a plain RTP answer with c= and m=: %r" % pbx_sdp)
    _, offer = find(a.uas_log, "received", r"INVITE ")
    _, answer = find(a.uas_log, "sent", r"SIP/2\.0 200 ")
    if offer is None or answer is None:
        die("no INVITE received / 200 sent with SDP in %s" % a.uas_log)
    cl_ip, cl_port, offered = sdp_media(offer)
    ans_ip, ans_port, answered = sdp_media(answer)
    if (ans_ip, ans_port) != (lip, lport) or len(answered) != 1:
        die("the cloud UAS's answer is not %s:%d with one crypto line: %r" % (lip, lport, answer))
    atag, acr = next(iter(answered.items()))
    if atag not in offered or offered[atag]["suite"] != acr["suite"]:
        die("the answer's crypto tag %d (%s) is not one of tlstrunk's offer: %r" % (atag, acr["suite"], offered))
    suite = acr["suite"]
    taglen = srtp_peer.SUITES[suite][2]
    ok("PBX-side relay %s:%d (PBX's 200), cloud-side relay %s:%d (INVITE at the cloud), "
       "suite %s (tag %d bytes), cloud media %s:%d"
       % (pbx_relay_ip, pbx_relay_port, cl_ip, cl_port, suite, taglen, lip, lport))
    pbx_relay = (pbx_relay_ip, pbx_relay_port)
    cloud_relay = (cl_ip, cl_port)
    # What tlstrunk sends to the cloud is under the key it offered (tag
    # chosen by the answer); what the cloud sends, under the answer's key.
    rx_ours = srtp_peer.SrtpContext.from_inline(offered[atag]["key"], suite)
    tx_cloud = srtp_peer.SrtpContext.from_inline(acr["key"], suite)

    listen = udp(lip, lport)
    bad_sock = udp(a.bad_src)
    pbx_sock = udp(a.pbx_src)
    third = udp(a.third_src)
    met = Metrics(a.metrics)
    t_start = time.monotonic()
    pbx_ssrc, cloud_ssrc = 0x50B0C0D0, 0xC10D0001
    exp = dict(pbx_in=0, pbx_out=0, cloud_in=0, cloud_out=0, srtp_failures=0)

    # --- A: from a source outside [pbx] allow ---
    s0 = met.scrape("start")
    pa = [rtp(1000 + i, 160 * i, pbx_ssrc, plain_payload(i)) for i in range(N)]
    send_all(bad_sock, pbx_relay, pa)
    exp["pbx_in"] += N
    s1 = met.wait("A", lambda s: s.src_drops() - s0.src_drops() >= N)
    got = drain(listen, 0.4)
    delta(s0, s1, '(%d RTP from %s) dropped_total{reason="source"}' % (N, a.bad_src), N, Snap.src_drops)
    delta(s0, s1, "cloud/out packets", 0, lambda s: s.pkts("cloud", "out"))
    if got:
        bad("A: the cloud's media address received %d packet(s) after %d RTP packets from %s "
            "(not in [pbx] allow), expected none; first from %s" % (len(got), N, a.bad_src, got[0][1]))
    else:
        ok("A: the cloud's media address received nothing of the %d packets from %s" % (N, a.bad_src))

    # --- B: from the PBX network ---
    pb = [rtp(2000 + i, 160 * (N + i), pbx_ssrc, plain_payload(N + i)) for i in range(N)]
    send_all(pbx_sock, pbx_relay, pb)
    exp["pbx_in"] += N
    exp["cloud_out"] += N
    got = collect(listen, N, 4.0)
    s2 = met.wait("B", lambda s: s.pkts("cloud", "out") - s1.pkts("cloud", "out") >= N, 2.0)
    problems = []
    sent = {p[2:4]: p for p in pb}
    seen = set()
    for data, src in got:
        if src != cloud_relay:
            problems.append("a packet from %s:%d, not the cloud-side relay port %s:%d"
                            % (src[0], src[1], cloud_relay[0], cloud_relay[1]))
            continue
        orig = sent.get(data[2:4])
        if orig is None:
            problems.append("a packet with an unknown sequence number %d" % struct.unpack("!H", data[2:4]))
            continue
        if MARKER in data or orig[12:44] in data:
            problems.append("seq %d carries the plaintext payload" % struct.unpack("!H", data[2:4]))
        if len(data) != len(orig) + taglen:
            problems.append("seq %d is %d bytes, expected %d (RTP %d + %d-byte tag)"
                            % (struct.unpack("!H", data[2:4])[0], len(data), len(orig) + taglen, len(orig), taglen))
        if data[:12] != orig[:12]:
            problems.append("seq %d: the RTP header changed" % struct.unpack("!H", data[2:4]))
        try:
            if rx_ours.unprotect(data) != orig:
                problems.append("seq %d decrypts to something else" % struct.unpack("!H", data[2:4]))
        except srtp_peer.SrtpError as e:
            problems.append("seq %d does not unprotect with the key tlstrunk offered (%s)"
                            % (struct.unpack("!H", data[2:4])[0], e.why))
        if data[2:4] in seen:
            problems.append("seq %d arrived twice" % struct.unpack("!H", data[2:4]))
        seen.add(data[2:4])
    if len(got) != N:
        problems.insert(0, "%d packets arrived, expected exactly %d" % (len(got), N))
    if problems:
        bad("B: %d RTP packets from %s: %s" % (N, a.pbx_src, "; ".join(problems[:4])))
    else:
        ok("B: the cloud's media address received exactly %d packets from %s:%d for the %d from %s, "
           "each SRTP (RTP + %d-byte tag, header kept, no plaintext, decrypts to what was sent)"
           % (N, cloud_relay[0], cloud_relay[1], N, a.pbx_src, taglen))
    delta(s1, s2, "cloud/out packets", N, lambda s: s.pkts("cloud", "out"))
    delta(s1, s2, "cloud/out bytes", sum(len(p) + taglen for p in pb), lambda s: s.bytes("cloud", "out"))
    delta(s1, s2, 'dropped_total{reason="source"}', 0, Snap.src_drops)

    # --- C: the cloud's real SRTP reaches the PBX (the path is live) ---
    cplain = [rtp(3000 + i, 160 * i, cloud_ssrc, bytes([0x55 + i]) * 160) for i in range(K)]
    csrtp = [tx_cloud.protect(p) for p in cplain]
    send_all(listen, cloud_relay, csrtp)
    exp["cloud_in"] += K
    exp["pbx_out"] += K
    got = collect(pbx_sock, K, 4.0)
    s3 = met.wait("C", lambda s: s.pkts("pbx", "out") - s2.pkts("pbx", "out") >= K, 2.0)
    if sorted(d for d, _ in got) == sorted(cplain) and all(src == pbx_relay for _, src in got):
        ok("C: %d valid SRTP packets from %s:%d reached the PBX socket as the RTP protected, from %s:%d"
           % (K, lip, lport, pbx_relay[0], pbx_relay[1]))
    else:
        bad("C: %d valid SRTP packets from the cloud: the PBX socket received %d packet(s) (%s), "
            "expected exactly the %d RTP packets from %s:%d"
            % (K, len(got), ", ".join("%d bytes from %s:%d" % (len(d), s[0], s[1]) for d, s in got[:3]),
               K, pbx_relay[0], pbx_relay[1]))
    delta(s2, s3, "pbx/out packets", K, lambda s: s.pkts("pbx", "out"))
    delta(s2, s3, "srtp_failures_total", 0, Snap.srtp_fail)

    # --- D: forged and replayed SRTP ---
    rnd = os.urandom
    forged_cloud = [rtp(3000 + K + i, 160 * (K + i), cloud_ssrc, rnd(160) + rnd(taglen)) for i in range(M)]
    forged_third = [rtp(3000 + K + M + i, 160 * (K + M + i), cloud_ssrc, rnd(160) + rnd(taglen)) for i in range(M)]
    send_all(listen, cloud_relay, forged_cloud)
    send_all(listen, cloud_relay, csrtp)          # replays of C
    send_all(third, cloud_relay, forged_third)    # last: E checks nobody latched it
    nfail = 2 * M + K
    exp["cloud_in"] += nfail
    exp["srtp_failures"] += nfail
    met.wait("D", lambda s: s.srtp_fail() - s3.srtp_fail() >= nfail)
    got = drain(pbx_sock, 0.4)
    got_third = drain(third, 0.1)
    s4b = met.scrape("D")
    delta(s3, s4b, "(%d forged from %s:%d, %d forged from %s, %d replays) srtp_failures_total"
          % (M, lip, lport, M, a.third_src, K), nfail, Snap.srtp_fail)
    delta(s3, s4b, "pbx/out packets", 0, lambda s: s.pkts("pbx", "out"))
    delta(s3, s4b, "pbx/out bytes", 0, lambda s: s.bytes("pbx", "out"))
    delta(s3, s4b, 'dropped_total{reason="source"} (the cloud side has no source filter: '
          'a forgery from %s is an SRTP failure)' % a.third_src, 0, Snap.src_drops)
    if got:
        bad("D: the PBX socket received %d packet(s) after forged/replayed SRTP, expected none "
            "(first: %d bytes from %s:%d)" % (len(got), len(got[0][0]), got[0][1][0], got[0][1][1]))
    else:
        ok("D: the PBX socket received nothing of the %d forged/replayed packets" % nfail)
    if got_third:
        bad("D: %s received %d packet(s) from tlstrunk" % (a.third_src, len(got_third)))

    # --- E: the cloud leg did not latch onto the forger (checked before any
    # valid cloud packet could move it back), and the stream still works ---
    pe = [rtp(2000 + N + i, 160 * (2 * N + i), pbx_ssrc, plain_payload(2 * N + i)) for i in range(K)]
    send_all(pbx_sock, pbx_relay, pe)
    exp["pbx_in"] += K
    exp["cloud_out"] += K
    got = collect(listen, K, 4.0)
    got_third = drain(third, 0.1)
    okpk = [d for d, s in got if s == cloud_relay and MARKER not in d and len(d) == 172 + taglen]
    if len(okpk) == K and len(got) == K and not got_third:
        ok("E: %d more PBX packets all reached %s:%d as SRTP, none went to %s (no latching onto the forger)"
           % (K, lip, lport, a.third_src))
    else:
        bad("E: %d PBX packets right after the forgeries from %s: %s:%d received %d (%d as expected), "
            "%s received %d%s"
            % (K, a.third_src, lip, lport, len(got), len(okpk), a.third_src, len(got_third),
               " (the cloud leg latched onto an unauthenticated source)" if got_third else ""))
    cplain2 = [rtp(3000 + K + 2 * M + i, 160 * (K + 2 * M + i), cloud_ssrc, bytes([0xA0 + i]) * 160)
               for i in range(K)]
    send_all(listen, cloud_relay, [tx_cloud.protect(p) for p in cplain2])
    exp["cloud_in"] += K
    exp["pbx_out"] += K
    got = collect(pbx_sock, K, 4.0)
    if sorted(d for d, _ in got) == sorted(cplain2):
        ok("E: %d new valid SRTP packets from the cloud still reach the PBX" % K)
    else:
        bad("E: after the forgeries %d new valid SRTP packets from the cloud: the PBX socket received %d"
            % (K, len(got)))
    s5 = met.wait("E", lambda s: s.pkts("pbx", "out") - s3.pkts("pbx", "out") >= K, 2.0)
    delta(s4b, s5, "srtp_failures_total", 0, Snap.srtp_fail)
    delta(s0, s5, "total srtp_failures_total", nfail, Snap.srtp_fail)
    delta(s0, s5, 'total dropped_total{reason="source"}', N, Snap.src_drops)

    # --- F: a burst, and datagrams longer than the relay takes (2048) ---
    # relay.c reads a socket read < 2 ms before in batches (recvmmsg), an
    # idle one with a single recvfrom: the oversized datagram after a pause
    # goes the single way, the one inside the burst most likely the batch
    # way. Both must be dropped whole (not cut and relayed), and every
    # packet of the burst relayed once.
    time.sleep(0.05)
    big = rtp(4000, 0, pbx_ssrc, b"\x00" * 3000)
    pbx_sock.sendto(big, pbx_relay)
    time.sleep(0.01)
    pf = [rtp(4001 + i, 160 * i, pbx_ssrc, plain_payload(3 * N + i)) for i in range(2 * N)]
    for i, p in enumerate(pf):
        pbx_sock.sendto(p, pbx_relay)
        if i == N:
            pbx_sock.sendto(big, pbx_relay)
    exp["pbx_in"] += 2 * N
    exp["cloud_out"] += 2 * N
    got = collect(listen, 2 * N, 4.0)
    seqs = sorted(struct.unpack("!H", d[2:4])[0] for d, s in got)
    good = [d for d, s in got if s == cloud_relay and len(d) == 172 + taglen and MARKER not in d]
    if seqs == list(range(4001, 4001 + 2 * N)) and len(good) == 2 * N:
        ok("F: a burst of %d RTP packets with two 3012-byte datagrams among them: the cloud received "
           "exactly the %d packets as SRTP, nothing of the oversized ones" % (2 * N, 2 * N))
    else:
        bad("F: a burst of %d RTP packets and two oversized datagrams: the cloud received %d "
            "(%d as expected; seqs %s...)" % (2 * N, len(got), len(good), seqs[:6]))

    # --- G: the PBX's port closes (ICMP port unreachable) and comes back ---
    # What a PBX restart looks like: tlstrunk's packets to it meet a closed
    # port (ICMP port unreachable), then the PBX is back on the same port.
    # The relay's sockets must not go deaf over the ICMP error (a socket in
    # error makes libuv stop watching it; relay.c watches it again).
    pbx_addr = pbx_sock.getsockname()
    pbx_sock.close()
    cg = rtp(3000 + 2 * K + 2 * M, 160 * (2 * K + 2 * M), cloud_ssrc, b"\x77" * 160)
    listen.sendto(tx_cloud.protect(cg), cloud_relay)   # to a closed port: ICMP
    exp["cloud_in"] += 1
    exp["pbx_out"] += 1
    time.sleep(0.3)
    pbx_sock = udp(pbx_addr[0], pbx_addr[1])
    pg = [rtp(5000 + i, 160 * i, pbx_ssrc, plain_payload(5 * N + i)) for i in range(K)]
    send_all(pbx_sock, pbx_relay, pg)
    exp["pbx_in"] += K
    exp["cloud_out"] += K
    got = collect(listen, K, 3.0)
    cg2 = [rtp(3001 + 2 * K + 2 * M + i, 160 * (2 * K + 2 * M + 1 + i), cloud_ssrc, bytes([0x30 + i]) * 160)
           for i in range(K)]
    send_all(listen, cloud_relay, [tx_cloud.protect(p) for p in cg2])
    exp["cloud_in"] += K
    exp["pbx_out"] += K
    back = collect(pbx_sock, K, 3.0)
    if len(got) == K and sorted(d for d, _ in back) == sorted(cg2):
        ok("G: after an ICMP port unreachable from the PBX's port, the PBX on that port again: its %d "
           "packets reached the cloud and the cloud's %d reached it" % (K, K))
    else:
        bad("G: after an ICMP port unreachable from the PBX's port %s:%d, the PBX on that port again: "
            "the cloud received %d of its %d packets, it received %d of the cloud's %d (the relay "
            "stopped reading the socket in error?)" % (pbx_addr[0], pbx_addr[1], len(got), K, len(back), K))

    stray = drain(bad_sock, 0.1)
    if stray:
        bad("%s (outside [pbx] allow) received %d packet(s) from tlstrunk: the PBX leg latched onto it"
            % (a.bad_src, len(stray)))
    else:
        ok("%s received nothing from tlstrunk" % a.bad_src)
    ok("all phases took %.1f s" % (time.monotonic() - t_start))
    print("COUNTS " + " ".join("%s=%d" % kv for kv in exp.items()), flush=True)
    return 1 if BAD else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""media_endpoints.py - the packet side of tests/integration/99_media_endpoints.sh:
media as independent endpoints really send it, through tlstrunk's relay.

One call is up as in 97_media_guard.sh (PBX sipp UAC -> tlstrunk -> Kamailio
-> cloud sipp UAS, cloud_uas_media.xml: the cloud's SRTP at LISTEN,
127.0.0.3:6500). Relay ports and SDES keys come from the sipp message logs
(media_guard.py's readers); /metrics is scraped (strictly parsed) around
each phase:

  S  STUN keep-alives (20-byte Binding requests, RFC 5389, first byte 0;
     RFC 7983 demultiplexing) - K to each of the four relay ports: the
     PBX-side RTP and RTCP ports from the PBX's sockets, the cloud-side RTP
     and RTCP ports from the cloud's (LISTEN and LISTEN+1). None is
     forwarded (nothing arrives at the cloud or the PBX),
     dropped_total{reason="stun"} +4K, tlstrunk_srtp_failures_total +0,
     dropped malformed +0. Then media still flows both ways (the legs did
     not move: a keep-alive is not latched onto).
  D  An RFC 4733 event from the PBX as a softphone sends it: 4 update
     packets (marker on the first), then the end packet (E bit) THREE
     times with ONE sequence number, then a voice packet. LISTEN receives
     every one, the end packet three times: three byte-identical SRTP
     packets (the same index, the same plaintext: nothing leaks), each
     of which decrypts ALONE to the end packet sent (srtp_peer.py, a fresh
     receiver per copy: the endpoint that lost the other two), while one
     receiver that got them all takes the first and drops the other two
     as replays. Then the end packet's sequence number with ANOTHER
     payload (a two-time pad if protected): LISTEN receives nothing,
     dropped_total{reason="reused_index"} +1.
  R  The cloud's SRTP: K valid packets reach the PBX; the same K again
     (replays) do not, dropped_total{reason="replay"} +K; J forged ones
     (random tag) do not, dropped_total{reason="auth"} +J;
     tlstrunk_srtp_failures_total +K+J (+1 for D's reused index).
  M  Really malformed datagrams (first byte 0x50, a TURN channel's range
     that is not ours; 5 bytes of version-2 RTP), J to the PBX-side and J
     to the cloud-side RTP port: dropped_total{reason="malformed"} +4J,
     srtp failures +0 (the shell then checks the log: one "malformed
     packet" line per leg, none for STUN above debug).

Prints "ok: ..." / "FAIL: ..." per check, and last:
  COUNTS srtp_failures=.. stun=.. malformed=..
Exit 0 when every check held, 1 otherwise, 2 on a set-up problem.
"""
import argparse
import os
import struct
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import media_guard as mg  # noqa: E402
import srtp_peer  # noqa: E402

ok, bad, die = mg.ok, mg.bad, mg.die
PT_TE = 101


def dropped(reason):
    """A /metrics reader of tlstrunk_media_dropped_total{reason}; a binary
    without that reason reads as -1 (a FAIL below, not a crash)."""
    def fn(s):
        for n, lab, val, _f, _ln in s.samples:
            if n == "tlstrunk_media_dropped_total" and lab.get("reason") == reason:
                return int(val)
        return -1
    return fn


def stun_binding(i):
    """A STUN Binding request (RFC 5389): type 0x0001, length 0, magic
    cookie, 12-byte transaction id."""
    return struct.pack("!HHI", 0x0001, 0, 0x2112A442) + struct.pack("!III", 0x5354554E, 0x4B41, i)


def te_payload(code, end, dur, vol=10):
    return struct.pack("!BBH", code, (0x80 if end else 0) | vol, dur)


def send_spaced(sock, to, pkts, gap=0.02):
    for p in pkts:
        sock.sendto(p, to)
        time.sleep(gap)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--pbx-log", required=True)
    ap.add_argument("--uas-log", required=True)
    ap.add_argument("--listen", default="127.0.0.3:6500")
    ap.add_argument("--pbx-src", default="127.0.0.1")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("-j", type=int, default=3)
    a = ap.parse_args()
    K, J = a.k, a.j
    lip, lport = a.listen.rsplit(":", 1)
    lport = int(lport)

    # --- where and with which keys (as media_guard.py) ---
    _, pbx_sdp = mg.find(a.pbx_log, "received", r"SIP/2\.0 200 ")
    if pbx_sdp is None:
        die("no 200 OK with SDP for the INVITE in %s" % a.pbx_log)
    pbx_ip, pbx_port, _ = mg.sdp_media(pbx_sdp)
    _, offer = mg.find(a.uas_log, "received", r"INVITE ")
    _, answer = mg.find(a.uas_log, "sent", r"SIP/2\.0 200 ")
    if offer is None or answer is None:
        die("no INVITE received / 200 sent with SDP in %s" % a.uas_log)
    cl_ip, cl_port, offered = mg.sdp_media(offer)
    _, _, answered = mg.sdp_media(answer)
    if len(answered) != 1:
        die("the cloud UAS's answer has %d crypto lines" % len(answered))
    atag, acr = next(iter(answered.items()))
    if atag not in offered:
        die("the answer's crypto tag %d is not in tlstrunk's offer" % atag)
    suite = acr["suite"]
    rx_key, tx_key = offered[atag]["key"], acr["key"]
    pbx_rtp, pbx_rtcp = (pbx_ip, pbx_port), (pbx_ip, pbx_port + 1)
    cl_rtp, cl_rtcp = (cl_ip, cl_port), (cl_ip, cl_port + 1)
    ok("relay: PBX side %s:%d, cloud side %s:%d (%s); cloud media %s:%d"
       % (pbx_ip, pbx_port, cl_ip, cl_port, suite, lip, lport))

    listen = mg.udp(lip, lport)
    listen_rtcp = mg.udp(lip, lport + 1)
    pbx = mg.udp(a.pbx_src)
    pbx_rtcp_sock = mg.udp(a.pbx_src)
    rx = srtp_peer.SrtpContext.from_inline(rx_key, suite)      # the cloud's receiver
    tx = srtp_peer.SrtpContext.from_inline(tx_key, suite)      # the cloud's sender
    met = mg.Metrics(a.metrics)
    pbx_ssrc, cloud_ssrc = 0x0E1D0001, 0xC10D0099
    pseq, cseq, ts = 7000, 9000, 0
    exp = dict(srtp_failures=0, stun=0, malformed=0)

    def pbx_rtp_pkt(payload, pt=0, marker=False, seq=None, t=None):
        nonlocal pseq, ts
        if seq is None:
            seq, pseq = pseq, pseq + 1
        return mg.rtp(seq, ts if t is None else t, pbx_ssrc, payload, (0x80 if marker else 0) | pt)

    def cloud_pkts(n, fill):
        nonlocal cseq
        out = []
        for i in range(n):
            out.append(mg.rtp(cseq, 160 * cseq, cloud_ssrc, bytes([(fill + i) & 0xFF]) * 160))
            cseq += 1
        return out

    def flows(tag):
        """One PBX packet reaches the cloud (decrypting), K cloud packets the PBX."""
        p = pbx_rtp_pkt(b"\x11" * 160)
        pbx.sendto(p, pbx_rtp)
        got = mg.collect(listen, 1, 3.0)
        plain = [rx.unprotect(d) for d, s in got if s == cl_rtp]
        cp = cloud_pkts(K, 0x40)
        mg.send_all(listen, cl_rtp, [tx.protect(x) for x in cp])
        back = mg.collect(pbx, K, 3.0)
        if plain == [p] and sorted(d for d, _ in back) == sorted(cp):
            ok("%s: media flows both ways (1 PBX packet at the cloud, decrypted; %d cloud packets at the PBX)"
               % (tag, K))
        else:
            bad("%s: media does not flow: the cloud got %d packet(s) (%d decrypting to what the PBX sent), "
                "the PBX %d of the cloud's %d" % (tag, len(got), plain.count(p), len(back), K))

    # --- set-up: both legs live (and latched) ---
    s0 = met.scrape("start")
    flows("set-up")

    # --- S: STUN keep-alives on all four ports ---
    s1 = met.scrape("S-before")
    stun = [stun_binding(i) for i in range(K)]
    send_spaced(pbx, pbx_rtp, stun, 0.002)
    send_spaced(pbx_rtcp_sock, pbx_rtcp, stun, 0.002)
    send_spaced(listen, cl_rtp, stun, 0.002)
    send_spaced(listen_rtcp, cl_rtcp, stun, 0.002)
    exp["stun"] += 4 * K
    s2 = met.wait("S", lambda s: dropped("stun")(s) - dropped("stun")(s1) >= 4 * K)
    leak = mg.drain(listen, 0.3) + mg.drain(listen_rtcp, 0.05) + mg.drain(pbx, 0.05) + \
        mg.drain(pbx_rtcp_sock, 0.05)
    mg.delta(s1, s2, "(%d STUN Binding requests to each of the 4 relay ports) srtp_failures_total"
             % K, 0, mg.Snap.srtp_fail)
    mg.delta(s1, s2, 'dropped_total{reason="stun"}', 4 * K, dropped("stun"))
    mg.delta(s1, s2, 'dropped_total{reason="malformed"}', 0, dropped("malformed"))
    mg.delta(s1, s2, "cloud/out packets", 0, lambda s: s.pkts("cloud", "out"))
    mg.delta(s1, s2, "pbx/out packets", 0, lambda s: s.pkts("pbx", "out"))
    if leak:
        bad("S: %d packet(s) came out of the relay after the STUN keep-alives (first %d bytes from %s:%d)"
            % (len(leak), len(leak[0][0]), leak[0][1][0], leak[0][1][1]))
    else:
        ok("S: nothing came out of the relay for the %d STUN keep-alives" % (4 * K))
    flows("S")

    # --- D: an RFC 4733 event, the end packet three times with one seq ---
    s3 = met.scrape("D-before")
    t_ev = ts = ts + 160 * 50
    upd = [pbx_rtp_pkt(te_payload(7, False, 160 * (i + 1)), PT_TE, marker=(i == 0), t=t_ev) for i in range(4)]
    end_seq = pseq
    end = pbx_rtp_pkt(te_payload(7, True, 800), PT_TE, t=t_ev)
    after = pbx_rtp_pkt(b"\x22" * 160, t=t_ev + 800)
    sent = upd + [end, end, end, after]
    send_spaced(pbx, pbx_rtp, sent)
    got = mg.collect(listen, len(sent), 4.0)
    wires = [d for d, s in got if s == cl_rtp]
    ends = [d for d in wires if d[2:4] == struct.pack("!H", end_seq)]
    problems = []
    if len(got) != len(sent) or len(wires) != len(sent):
        problems.append("%d packets arrived (%d from the relay port), expected %d" % (len(got), len(wires), len(sent)))
    if len(ends) != 3:
        problems.append("the end packet (seq %d, sent 3 times) arrived %d time(s)" % (end_seq, len(ends)))
    elif not (ends[0] == ends[1] == ends[2]):
        problems.append("the 3 copies of the end packet differ on the wire (a new encryption of one index?)")
    alone = 0
    for i, w in enumerate(ends):
        try:
            if srtp_peer.SrtpContext.from_inline(rx_key, suite).unprotect(w) == end:
                alone += 1
            else:
                problems.append("end copy %d decrypts to something else" % (i + 1))
        except srtp_peer.SrtpError as e:
            problems.append("end copy %d does not decrypt alone (%s)" % (i + 1, e.why))
    # one receiver through the whole stream, in arrival order
    dec, replays, other = [], 0, []
    for w in wires:
        try:
            dec.append(rx.unprotect(w))
        except srtp_peer.SrtpError as e:
            if e.why == "replay" and w in ends:
                replays += 1
            else:
                other.append(e.why)
    if dec != upd + [end, after]:
        problems.append("one receiver decrypted %d packets, not the %d distinct ones sent, in order"
                        % (len(dec), len(upd) + 2))
    if replays != 2 or other:
        problems.append("one receiver: %d end copies refused as replays (want 2), other errors %s" % (replays, other))
    if problems:
        bad("D: RFC 4733 event, end packet x3 with seq %d: %s" % (end_seq, "; ".join(problems[:4])))
    else:
        ok("D: RFC 4733 event: %d updates, the end packet 3 times with seq %d, a voice packet: the cloud got all "
           "%d, the 3 end copies byte-identical SRTP, each decrypting alone (%d/3) to the end packet sent; "
           "one receiver decrypted the %d distinct packets and took the 2 copies as replays"
           % (len(upd), end_seq, len(sent), alone, len(upd) + 2))
    s4 = met.wait("D", lambda s: s.pkts("cloud", "out") - s3.pkts("cloud", "out") >= len(sent), 2.0)
    mg.delta(s3, s4, "cloud/out packets (end packet counted 3 times)", len(sent), lambda s: s.pkts("cloud", "out"))
    mg.delta(s3, s4, "srtp_failures_total", 0, mg.Snap.srtp_fail)
    # the end packet's index with another payload: must never be sent
    other_end = mg.rtp(end_seq, t_ev, pbx_ssrc, te_payload(7, True, 960), PT_TE)
    pbx.sendto(other_end, pbx_rtp)
    exp["srtp_failures"] += 1
    s5 = met.wait("D2", lambda s: dropped("reused_index")(s) - dropped("reused_index")(s4) >= 1)
    got = mg.drain(listen, 0.3)
    if got:
        bad("D: seq %d again with another payload (a two-time pad): %d packet(s) reached the cloud"
            % (end_seq, len(got)))
    else:
        ok("D: seq %d again with another payload: nothing reached the cloud" % end_seq)
    mg.delta(s4, s5, 'dropped_total{reason="reused_index"}', 1, dropped("reused_index"))
    mg.delta(s4, s5, "srtp_failures_total", 1, mg.Snap.srtp_fail)

    # --- R: replays and forgeries from the cloud stay dropped ---
    cp = cloud_pkts(K, 0x60)
    cw = [tx.protect(x) for x in cp]
    mg.send_all(listen, cl_rtp, cw)
    got = mg.collect(pbx, K, 3.0)
    s6 = met.wait("R1", lambda s: s.pkts("pbx", "out") - s5.pkts("pbx", "out") >= K, 2.0)
    if sorted(d for d, _ in got) != sorted(cp):
        bad("R: %d valid SRTP packets from the cloud: the PBX got %d" % (K, len(got)))
    mg.send_all(listen, cl_rtp, cw)                 # replays
    forged = [mg.rtp(cseq + i, 0, cloud_ssrc, os.urandom(160) + os.urandom(10)) for i in range(J)]
    mg.send_all(listen, cl_rtp, forged)
    exp["srtp_failures"] += K + J
    s7 = met.wait("R2", lambda s: s.srtp_fail() - s6.srtp_fail() >= K + J)
    got = mg.drain(pbx, 0.3)
    if got:
        bad("R: the PBX received %d packet(s) of the %d replays and %d forgeries" % (len(got), K, J))
    else:
        ok("R: the PBX received nothing of the %d replayed and %d forged SRTP packets" % (K, J))
    mg.delta(s6, s7, 'dropped_total{reason="replay"}', K, dropped("replay"))
    mg.delta(s6, s7, 'dropped_total{reason="auth"}', J, dropped("auth"))
    mg.delta(s6, s7, "srtp_failures_total", K + J, mg.Snap.srtp_fail)
    mg.delta(s6, s7, "pbx/out packets", 0, lambda s: s.pkts("pbx", "out"))

    # --- M: really malformed datagrams, both legs ---
    junk = [b"\x50" + os.urandom(30), b"\x80\x00\x00\x01\x02"]
    s8 = met.scrape("M-before")
    for _ in range(J):
        for j in junk:
            pbx.sendto(j, pbx_rtp)
            listen.sendto(j, cl_rtp)
    exp["malformed"] += 4 * J
    s9 = met.wait("M", lambda s: dropped("malformed")(s) - dropped("malformed")(s8) >= 4 * J)
    leak = mg.drain(listen, 0.3) + mg.drain(pbx, 0.05)
    mg.delta(s8, s9, '(%d junk datagrams to each leg) dropped_total{reason="malformed"}' % (2 * J), 4 * J,
             dropped("malformed"))
    mg.delta(s8, s9, "srtp_failures_total", 0, mg.Snap.srtp_fail)
    if leak:
        bad("M: %d packet(s) came out of the relay for the junk" % len(leak))
    flows("M")

    s10 = met.scrape("end")
    mg.delta(s0, s10, "total srtp_failures_total", exp["srtp_failures"], mg.Snap.srtp_fail)
    mg.delta(s0, s10, 'total dropped_total{reason="stun"}', exp["stun"], dropped("stun"))
    print("COUNTS " + " ".join("%s=%d" % kv for kv in exp.items()), flush=True)
    return 1 if mg.BAD else 0


if __name__ == "__main__":
    sys.exit(main())

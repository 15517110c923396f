#!/usr/bin/env python3
"""wrap_call.py - the two ends of tests/integration/93_restart_rollover.sh:
a call whose RTP sequence numbers wrap (the SRTP rollover counter goes
from 0 to 1) around a kill -9 and restart of tlstrunk.

  wrap_call.py cloud --sip IP:PORT --media IP:PORT --out FILE.json
                     [--before N] [--near S] [--bye-file F] [--wait S]
      The cloud's agent behind the Kamailio stand-in: a SIP UAS over UDP
      (rekey_call.py's UA), answers tlstrunk's RTP/SAVP offer with its own
      AES_CM_128_HMAC_SHA1_80 key and sends SRTP (srtp_peer.py) every
      20 ms; decrypts what tlstrunk sends with the key of tlstrunk's offer,
      one receiver context for the whole call (RFC 3711 appendix A index
      estimate, 64-packet replay window): a packet under a wrong rollover
      counter fails authentication, an index seen before is a replay, and
      either is recorded as such.
  wrap_call.py pbx --sip IP:PORT --media IP:PORT --to URI --out FILE.json
                   [--before N] [--near S] [--bye-file F] [--wait S]
      The PBX: a SIP UAC over UDP (INVITE to tlstrunk, RTP/AVP PCMU), plain
      RTP every 20 ms, records what it receives.

  Both ends: the first packet's sequence number is 65536 - N (--before,
  default 250: the wrap comes 5 s into the media), so the extended
  sequence number (ROC << 16 | SEQ, RFC 3711 3.3.1) runs from 65536 - N
  up.  Each payload (160 bytes) says what it is: "WRP" + the role letter
  (p/c), a packet counter (32 bits), the sender's extended sequence
  number (64 bits), the send time in ms (64 bits), then 0xFF.  Events on
  stderr, for the test to time its kill and restart by:
      "<role>: near_wrap ..."  the packet --near seconds (default 1.0)
                               before the wrap was sent
      "<role>: wrapped ..."    the packet with sequence number 0 (ROC 1)
                               was sent
  The end whose --bye-file appears sends BYE (and must get 200); the other
  end must receive it.  --wait: seconds for the whole call.

  wrap_call.py check --cloud C.json --pbx P.json --kill T --up T
                     --case outage|after [--rec-kill F] [--rec-up F]
      T: unix times of the kill -9 and of the new process being up.
      outage: both ends wrapped while tlstrunk was down; after: both wrap
      after the restart.  --rec-kill / --rec-up: tlstrunk's Redis record
      of the call just before the kill / after the restart and the wrap
      (tx.* is toward the cloud, rx.* from it).  See check() for what is
      asserted.  Exit 0 all good, 1 a check failed, 2 bad input.

Standard library + `cryptography` (through srtp_peer.py) only.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srtp_peer import SrtpContext, SrtpError, make_inline, parse_crypto_attr  # noqa: E402
from rekey_call import (SUITE, TICK, CloudUA, Loop, PbxUA, Verdict, build, die, hostport,  # noqa: E402
                        hp, make_sdp, now_wall, parse_sdp, rand_token, split_list, uri_of,
                        write_out)

RATE = int(round(1 / TICK))     # packets a second
WRAP = 0x10000
MAGIC = b"WRP"
PAYLOAD_LEN = 160
TE_PT = 101


class WrapSource:
    """One RTP stream whose sequence numbers wrap `before` packets in."""

    def __init__(self, role, before):
        self.role = role.encode("ascii")[:1]
        self.ssrc = random.randint(1, 0xFFFFFFFE)
        self.ext = WRAP - before
        self.first_ext = self.ext
        self.ts = random.randint(0, 0x7FFFFFFF)
        self.n = 0

    def next(self):
        """(counter, extended sequence number, plain RTP packet)."""
        n, ext = self.n, self.ext
        hdr = struct.pack("!BBHII", 0x80, 0, ext & 0xFFFF, self.ts & 0xFFFFFFFF, self.ssrc)
        body = MAGIC + self.role + struct.pack("!IQQ", n, ext, int(time.time() * 1000))
        self.n, self.ext, self.ts = n + 1, ext + 1, self.ts + 160
        return n, ext, hdr + body + b"\xff" * (PAYLOAD_LEN - len(body))


def payload_fields(plain):
    """A WrapSource packet (bytes) -> dict(role, n, ext, ms, seq) or None."""
    if len(plain) < 12 + 24 or plain[12:15] != MAGIC:
        return None
    n, ext, ms = struct.unpack("!IQQ", plain[16:36])
    return {"role": plain[15:16].decode("ascii", "replace"), "n": n, "ext": ext, "ms": ms,
            "seq": struct.unpack("!H", plain[2:4])[0]}


class WrapMedia:
    """Send a WrapSource every 20 ms (SRTP under tx when set), record what
    arrives (decrypted under rx when set)."""

    def __init__(self, loop, addr, role, before, near, ev):
        self.loop, self.ev = loop, ev
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(addr)
        loop.add(self.sock, self._readable)
        self.src = WrapSource(role, before)
        self.near_ext = WRAP - int(round(near * RATE))
        self.tx = self.rx = None
        self.dest = None
        self.sent, self.recv = [], []
        self.running = False
        self.t0 = None
        self.k = 0

    def start(self):
        self.running = True
        self.t0 = time.monotonic()
        self.loop.at(self.t0, self._tick)

    def stop(self):
        self.running = False

    def _tick(self):
        if not self.running:
            return
        n, ext, plain = self.src.next()
        wire = self.tx.protect(plain, roc=ext >> 16) if self.tx is not None else plain
        rec = {"t": now_wall(), "n": n, "ext": ext, "plain": plain.hex()}
        try:
            self.sock.sendto(wire, self.dest)
        except OSError as e:         # not expected on loopback; recorded
            rec["err"] = e.strerror
        self.sent.append(rec)
        if ext == self.near_ext:
            self.ev("near_wrap", seq=ext & 0xFFFF, n=n)
        if ext == WRAP:
            self.ev("wrapped", seq=0, roc=1, n=n)
        self.k += 1
        self.loop.at(self.t0 + self.k * TICK, self._tick)

    def _readable(self, s):
        while True:
            try:
                data, src = s.recvfrom(4096)
            except BlockingIOError:
                return
            rec = {"t": now_wall(), "src": "%s:%d" % src, "len": len(data), "plain": None}
            if self.rx is None:
                rec["plain"] = data.hex()
            else:
                try:
                    rec["plain"] = self.rx.unprotect(data).hex()
                    rec["idx"] = self.rx.last_index
                except SrtpError as e:
                    rec["err"] = e.why
                    rec["wire"] = data.hex()
            self.recv.append(rec)


def end_events(role, out):
    def ev(what, **kw):
        kw.update(t=now_wall(), what=what)
        out["events"].append(kw)
        print("%s: %s %s" % (role, what, {k: v for k, v in kw.items() if k not in ("t", "what")}),
              file=sys.stderr)
    return ev


def wait_bye(loop, ua, media, a, ev, out, t_end):
    """Until the BYE comes, or --bye-file appears and ours is answered."""
    def want_bye():
        return bool(a.bye_file) and os.path.exists(a.bye_file)
    if not loop.run(pred=lambda: ua.bye or want_bye(), until=t_end):
        return "the call was not ended within %d s" % a.wait
    media.stop()
    if ua.bye:
        ev("bye_received")
        loop.run(until=time.monotonic() + 0.3)
        return None
    ua.cseq += 1
    ev("bye")
    resp = ua.transaction(ua.in_dialog("BYE", ua.cseq), "BYE", ua.cseq, ua.next_hop())
    ev("bye_done", status=resp.status if resp else None)
    loop.run(until=time.monotonic() + 0.3)
    if resp is None or resp.status != 200:
        return "BYE: %s" % (resp.first if resp else "no final response")
    return None


def dump_media(out, ua, media):
    out["sip"], out["sip_errors"], out["call_id"] = ua.siplog, ua.errors, ua.call_id
    if media is not None:
        out["sent"], out["recv"] = media.sent, media.recv
        out["ssrc"], out["first_ext"] = media.src.ssrc, media.src.first_ext


def run_cloud(a):
    loop = Loop()
    ua = CloudUA(loop, "agent", hp(a.sip), hp(a.media))
    out = {"role": "cloud", "events": [], "media_addr": a.media}
    ev = end_events("cloud", out)
    media = None
    t_end = time.monotonic() + a.wait
    if not loop.run(pred=lambda: ua.invite is not None, until=t_end):
        die(a.out, out, "no INVITE arrived within %d s" % a.wait)
    inv = ua.invite
    offer = parse_sdp(inv.sdp() or "")
    out["offer"] = offer
    mine = [c for c in (parse_crypto_attr(x) for x in offer["crypto"]) if c and c["suite"] == SUITE]
    if offer["proto"] != "RTP/SAVP" or not mine or not offer["conn"] or not offer["port"]:
        die(a.out, out, "tlstrunk's offer is not RTP/SAVP with an %s line: %r" % (SUITE, offer))
    media = WrapMedia(loop, hp(a.media), "c", a.before, a.near, ev)
    media.dest = (offer["conn"], offer["port"])
    media.rx = SrtpContext.from_inline(mine[0]["key"], SUITE)
    key = os.urandom(30)
    media.tx = SrtpContext.from_inline(key, SUITE)
    out["tlstrunk_key"], out["own_key"] = mine[0]["inline"], make_inline(key)

    ua.call_id = inv.get("call-id")
    ua.local_hdr = inv.get("to") + ";tag=" + ua.local_tag
    ua.remote_hdr = inv.get("from")
    ua.remote_target = uri_of(inv.get("contact"))
    ua.route = [r for v in inv.all("record-route") for r in split_list(v)]
    mip, mport = hp(a.media)
    body = make_sdp("cloud", 1, mip, mport, "RTP/SAVP", offer["te_pt"] or TE_PT,
                    "%d %s inline:%s" % (mine[0]["tag"], SUITE, make_inline(key)))
    ua.reply(inv, ua.invite_src, 200, "OK", body, to_tag=ua.local_tag)
    if not loop.run(pred=lambda: inv.cseq()[0] in ua.acked, until=time.monotonic() + 10):
        dump_media(out, ua, media)
        die(a.out, out, "no ACK for the 200")
    media.start()
    ev("acked", relay="%s:%d" % media.dest, ssrc=media.src.ssrc, first_seq=media.src.first_ext)
    err = wait_bye(loop, ua, media, a, ev, out, t_end)
    dump_media(out, ua, media)
    if err:
        die(a.out, out, err)
    write_out(a.out, out)
    return 0


def run_pbx(a):
    loop = Loop()
    ua = PbxUA(loop, "pbx", hp(a.sip), hp(a.media))
    out = {"role": "pbx", "events": [], "media_addr": a.media}
    ev = end_events("pbx", out)
    media = WrapMedia(loop, hp(a.media), "p", a.before, a.near, ev)
    ua.media = media
    t_end = time.monotonic() + a.wait
    ip, port = hp(a.media)
    ua.call_id = "%s@%s" % (rand_token(16), ua.ip)
    ua.local_hdr = "<sip:1000@%s:%d>;tag=%s" % (ua.ip, ua.port, rand_token())
    ua.remote_hdr = "<%s>" % a.to
    ua.remote_target = a.to
    ua.cseq = 1
    data = build("INVITE %s SIP/2.0" % a.to, [
        ("Via", "SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s;rport" % (ua.ip, ua.port, rand_token())),
        ("Max-Forwards", "70"), ("From", ua.local_hdr), ("To", ua.remote_hdr),
        ("Call-ID", ua.call_id), ("CSeq", "1 INVITE"), ("Contact", ua.contact),
        ("Subject", "93_restart_rollover")], make_sdp("pbx", 1, ip, port, "RTP/AVP", TE_PT))

    def final():
        return [r for r in ua.responses.get((1, "INVITE"), []) if r.status >= 200]

    # As rekey_call.py: the ACK needs the route set of the 2xx.
    ua.send(data, hostport(a.to))
    nxt, interval, end = time.monotonic() + 0.5, 0.5, time.monotonic() + 15
    while not final() and time.monotonic() < end:
        if time.monotonic() >= nxt and not ua.responses.get((1, "INVITE")):
            ua.sock.sendto(data, hostport(a.to))
            interval = min(interval * 2, 4.0)
            nxt = time.monotonic() + interval
        loop.run(pred=lambda: bool(final()), until=min(end, nxt))
    if not final() or final()[0].status != 200:
        dump_media(out, ua, media)
        die(a.out, out, "INVITE: %s" % (final()[0].first if final() else "no final response"))
    resp = final()[0]
    ua.remote_hdr = resp.get("to")
    ua.remote_target = uri_of(resp.get("contact"))
    ua.route = list(reversed([r for v in resp.all("record-route") for r in split_list(v)]))
    ack = ua.in_dialog("ACK", 1)
    ua.acks[1] = (ack, ua.next_hop())
    ua.send(ack, ua.next_hop())
    ans = parse_sdp(resp.sdp() or "")
    out["answer"] = ans
    if not ans["conn"] or not ans["port"]:
        dump_media(out, ua, media)
        die(a.out, out, "the 200 has no usable SDP: %r" % ans)
    media.dest = (ans["conn"], ans["port"])
    media.start()
    ev("established", relay="%s:%d" % media.dest, ssrc=media.src.ssrc, first_seq=media.src.first_ext)
    err = wait_bye(loop, ua, media, a, ev, out, t_end)
    dump_media(out, ua, media)
    if err:
        die(a.out, out, err)
    write_out(a.out, out)
    return 0


# --- the checks ----------------------------------------------------------------------


def read_record(path):
    """tlstrunk's Redis record (name=value lines) -> dict, or None."""
    if not path:
        return None
    rec = {}
    with open(path) as f:
        for ln in f:
            k, sep, v = ln.rstrip("\n").partition("=")
            if sep:
                rec[k] = v
    return rec


def numbers(v, n0, line):
    """line as an ok line when no check failed since v had n0 problems,
    else printed at once as the failing part's numbers."""
    if len(v.problems) == n0:
        v.notes.append(line)
    else:
        print("  --  %s" % line)


def direction(name, S, R, t_kill, t_up, case, v):
    """One direction of the call: S what the sender sent, R what the other
    end received (decrypted when it is the cloud).  Returns a summary."""
    need, n0 = v.need, len(v.problems)
    by_plain = {x["plain"]: x for x in S}
    got = [r for r in R if r.get("plain")]
    unknown = [r for r in got if r["plain"] not in by_plain]
    need(not unknown, "%s: %d packets arrived that the sender never sent (first: %s)"
         % (name, len(unknown), unknown[0]["plain"][:80] if unknown else ""))
    got = [r for r in got if r["plain"] in by_plain]
    ns = [by_plain[r["plain"]]["n"] for r in got]
    bad_order = [(x, y) for x, y in zip(ns, ns[1:]) if y <= x]
    need(not bad_order, "%s: packets out of order or twice (counter %s then %s; %d such pairs)"
         % (name, bad_order[0][0] if bad_order else "", bad_order[0][1] if bad_order else "",
            len(bad_order)))
    if got and "idx" in got[0]:
        wrong = [(r["idx"], by_plain[r["plain"]]["ext"]) for r in got if r.get("idx") != by_plain[r["plain"]]["ext"]]
        need(not wrong, "%s: %d packets decrypted under another index than the sender's (first: "
             "ROC/SEQ %s, sent as %s)" % (name, len(wrong), wrong[0][0] if wrong else "",
                                         wrong[0][1] if wrong else ""))
    rx_n = set(ns)
    before = [x for x in S if x["t"] < t_kill]
    during = [x for x in S if t_kill <= x["t"] < t_up]
    after = [x for x in S if x["t"] >= t_up]
    d_before = [x for x in before if x["n"] in rx_n]
    d_during = [x for x in during if x["n"] in rx_n]
    d_after = [x for x in after if x["n"] in rx_n]
    r_after = [r for r in got if r["t"] >= t_up]
    wraps = [x for x in S if x["ext"] == WRAP]
    t_wrap = wraps[0]["t"] if wraps else None
    s = {"before": (len(d_before), len(before)), "during": (len(d_during), len(during)),
         "after": (len(d_after), len(after)), "t_wrap": t_wrap}
    need(len(before) >= 25 and len(d_before) >= 0.9 * len(before),
         "%s before the kill: %d of %d packets delivered (the call was not working before "
         "the restart)" % (name, len(d_before), len(before)))
    if case == "outage":
        need(t_wrap is not None and t_kill < t_wrap < t_up,
             "%s: the sequence number did not wrap while tlstrunk was down (wrap at %s, kill %.3f, "
             "up %.3f): the test did not test the outage case" % (name, t_wrap, t_kill, t_up))
        need(all(x["ext"] < WRAP for x in before),
             "%s: packets with ROC 1 were sent before the kill" % name)
    else:
        need(t_wrap is not None and t_wrap > t_up,
             "%s: the sequence number wrapped at %s, not after the restart (up %.3f)"
             % (name, t_wrap, t_up))
    roc1 = [x for x in d_after if x["ext"] >= WRAP]
    roc0 = [x for x in d_after if x["ext"] < WRAP]
    need(len(after) >= 100 and len(d_after) >= 0.9 * len(after),
         "%s after the restart: %d of %d packets the sender sent reached the other end"
         % (name, len(d_after), len(after)))
    need(len(roc1) >= 50, "%s after the restart: only %d packets with ROC 1 delivered"
         % (name, len(roc1)))
    if case == "after":
        need(len(roc0) >= 10, "%s after the restart: only %d packets with ROC 0 delivered before the "
             "wrap" % (name, len(roc0)))
    first = None
    if r_after:
        r0 = r_after[0]
        x0 = by_plain[r0["plain"]]
        first = {"ms": (r0["t"] - t_up) * 1000, "seq": x0["ext"] & 0xFFFF, "roc": x0["ext"] >> 16,
                 "sent_ms": (x0["t"] - t_up) * 1000}
        need(r0["t"] - t_up <= 1.0, "%s: the first packet after the restart came %.0f ms after the "
             "new process was up (want within 1 s)" % (name, first["ms"]))
    else:
        need(False, "%s: nothing arrived after the restart" % name)
    s["first"] = first
    s["roc"] = (len(roc0), len(roc1))
    # "during": sent between the kill and the test seeing the new process
    # listen; the few delivered are the new process's first, before that.
    numbers(v, n0, "%s: before the kill %d/%d delivered, sent during the outage %d (%d delivered), "
                 "after the restart %d/%d delivered (%d with ROC 0, %d with ROC 1), first %s ms after "
                 "the new process was up (sent %s ms after; seq %s, ROC %s), in order, byte for byte"
                 % (name, len(d_before), len(before), len(during), len(d_during), len(d_after),
                    len(after), len(roc0), len(roc1),
                    "%.0f" % first["ms"] if first else "-", "%.0f" % first["sent_ms"] if first else "-",
                    first["seq"] if first else "-", first["roc"] if first else "-"))
    return s


def check(a):
    v = Verdict()
    try:
        C, P = v.load(a)
        rk, ru = read_record(a.rec_kill), read_record(a.rec_up)
    except (OSError, ValueError) as e:
        print("wrap_call check: %s" % e)
        return 2
    problems, need, report = v.problems, v.need, v.report
    if problems:
        return report()
    t_kill, t_up = a.kill, a.up

    off, ans = C["offer"], P["answer"]
    need(off["proto"] == "RTP/SAVP" and any(SUITE in c for c in off["crypto"])
         and ans["proto"] == "RTP/AVP" and not ans["crypto"],
         "SDP: the cloud was offered %s with %d crypto lines, the PBX answered %s with %d"
         % (off["proto"], len(off["crypto"]), ans["proto"], len(ans["crypto"])))
    for who, d in (("cloud", C), ("pbx", P)):
        errs = [x for x in d["sent"] if x.get("err")]
        need(not errs, "the %s end could not send %d packets (%s)" % (who, len(errs),
                                                                      errs[0]["err"] if errs else ""))

    # -- the cloud's receiver: nothing failed, ever --
    fails = [r for r in C["recv"] if r.get("err")]
    why = {}
    for r in fails:
        why[r["err"]] = why.get(r["err"], 0) + 1
    rec_after = [r for r in C["recv"] if r["t"] >= t_up]
    ok_after = [r for r in rec_after if r.get("plain")]
    need(not fails, "the cloud failed to decrypt %d of %d SRTP packets from tlstrunk over the call "
         "(%s; %d of them after the restart): a wrong rollover counter fails authentication, an "
         "index sent twice is a replay" % (len(fails), len(C["recv"]), ", ".join(
             "%s %d" % kv for kv in sorted(why.items())), len([r for r in fails if r["t"] >= t_up])))
    need(len(rec_after) >= 100 and len(ok_after) >= 0.9 * len(rec_after),
         "after the restart tlstrunk sent the cloud %d packets, %d of them decrypted (want at least "
         "100 packets, 90 %% decrypted)" % (len(rec_after), len(ok_after)),
         "cloud receiver: %d/%d SRTP packets from tlstrunk decrypted after the restart, %d over the "
         "call, failures: auth %d, replay %d, malformed %d"
         % (len(ok_after), len(rec_after), len(C["recv"]), why.get("auth", 0), why.get("replay", 0),
            why.get("malformed", 0)))
    srcs = sorted(set(r["src"] for r in P["recv"]) | set(r["src"] for r in C["recv"]))
    relays = ["%s:%d" % (off["conn"], off["port"]), "%s:%d" % (ans["conn"], ans["port"])]
    need(all(s in relays for s in srcs), "media arrived from %s, not only from tlstrunk's relay %s"
         % (srcs, relays))

    up = direction("PBX->cloud", P["sent"], C["recv"], t_kill, t_up, a.case, v)
    down = direction("cloud->PBX", C["sent"], P["recv"], t_kill, t_up, a.case, v)

    # -- tlstrunk's own record: ROC 0 stored at the kill, 1 after the wrap --
    if rk is not None:
        n0 = len(problems)
        for d, ssrc in (("tx", P["ssrc"]), ("rx", C["ssrc"])):
            need(rk.get(d + ".have_rtp") == "1" and rk.get(d + ".ssrc") == str(ssrc)
                 and rk.get(d + ".roc") == "0",
                 "the record at the kill: %s.have_rtp=%s ssrc=%s roc=%s (want 1, %d, 0)"
                 % (d, rk.get(d + ".have_rtp"), rk.get(d + ".ssrc"), rk.get(d + ".roc"), ssrc))
        numbers(v, n0, "record at the kill: tx (toward the cloud) ROC %s seq %s, rx (from the cloud) "
                     "ROC %s seq %s" % (rk.get("tx.roc"), rk.get("tx.seq"), rk.get("rx.roc"), rk.get("rx.seq")))
    if ru is not None:
        n0 = len(problems)
        for d, ssrc in (("tx", P["ssrc"]), ("rx", C["ssrc"])):
            need(ru.get(d + ".ssrc") == str(ssrc) and ru.get(d + ".roc") == "1",
                 "the record after the restart and the wrap: %s.ssrc=%s roc=%s (want %d, 1)"
                 % (d, ru.get(d + ".ssrc"), ru.get(d + ".roc"), ssrc))
        numbers(v, n0, "record after the restart: tx ROC %s seq %s, rx ROC %s seq %s"
                     % (ru.get("tx.roc"), ru.get("tx.seq"), ru.get("rx.roc"), ru.get("rx.seq")))

    # -- the end --
    ends = {}
    for who, d in (("cloud", C), ("pbx", P)):
        for e in d["events"]:
            ends.setdefault(who, {})[e["what"]] = e
    byer = [w for w in ends if "bye_done" in ends[w]]
    other = [w for w in ends if "bye_received" in ends[w]]
    need(len(byer) == 1 and ends[byer[0]]["bye_done"].get("status") == 200 and len(other) == 1
         and other[0] != byer[0],
         "the BYE did not complete: sent by %s (%s), received by %s"
         % (byer, [ends[w]["bye_done"].get("status") for w in byer], other),
         "BYE from the %s after the restart: 200, the %s got it"
         % (byer[0] if byer else "?", other[0] if other else "?"))
    # One summary line for the test's log: the numbers.
    print("NUMBERS case=%s outage_ms=%.0f pbx_to_cloud=%d/%d,%d/%d(roc0/1 %d/%d) "
          "cloud_to_pbx=%d/%d,%d/%d(roc0/1 %d/%d) first_ms=%s/%s cloud_failures=%d"
          % (a.case, (t_up - t_kill) * 1000, up["before"][0], up["before"][1], up["after"][0],
             up["after"][1], up["roc"][0], up["roc"][1], down["before"][0], down["before"][1],
             down["after"][0], down["after"][1], down["roc"][0], down["roc"][1],
             "%.0f" % up["first"]["ms"] if up["first"] else "-",
             "%.0f" % down["first"]["ms"] if down["first"] else "-", len(fails)))
    return report()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for role in ("cloud", "pbx"):
        p = sub.add_parser(role)
        p.add_argument("--sip", required=True)
        p.add_argument("--media", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--before", type=int, default=250)
        p.add_argument("--near", type=float, default=1.0)
        p.add_argument("--bye-file")
        p.add_argument("--wait", type=int, default=40)
        if role == "pbx":
            p.add_argument("--to", required=True)
    k = sub.add_parser("check")
    k.add_argument("--cloud", required=True)
    k.add_argument("--pbx", required=True)
    k.add_argument("--kill", type=float, required=True)
    k.add_argument("--up", type=float, required=True)
    k.add_argument("--case", choices=("outage", "after"), required=True)
    k.add_argument("--rec-kill")
    k.add_argument("--rec-up")
    a = ap.parse_args()
    if a.cmd == "cloud":
        return run_cloud(a)
    if a.cmd == "pbx":
        return run_pbx(a)
    return check(a)


if __name__ == "__main__":
    sys.exit(main())

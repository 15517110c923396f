#!/usr/bin/env bash
# 96_media_refusals.sh - "anything that cannot be secured is refused, never
# passed plain" (issue 3), from the peers' point of view. sipp peers, the
# Kamailio cloud stand-in (tests/lib.sh), tlstrunk with [media] (relay
# 127.0.0.1:30000-30999, tests/media/media_lib.sh) and a tcpdump capture of
# every media port on lo.
#
#   a)  cloud UAS answers 200 with plain RTP/AVP (cloud_uas_200_avp.xml)
#   b)  cloud UAS answers 200 RTP/SAVP, a=crypto of a suite we did not offer
#       (AES_256_CM_HMAC_SHA1_80, tag of our AES_CM_128_HMAC_SHA1_80 line)
#       (cloud_uas_200_badsuite.xml)
#       a, b: the PBX (pbx_uac_488.xml) gets 488 and nothing else; the cloud
#       UAS gets ACK then BYE (Kamailio saw both from tlstrunk over TLS, ACK
#       first) and its 200 for the BYE goes back to tlstrunk over TLS.
#   a2) the bridge is already live: the cloud sends SRTP early media (183,
#       valid a=crypto), the PBX plays RTP (sipp play_pcap_audio, g711a.pcap)
#       into the relay, then the cloud's 200 is plain RTP/AVP on another port
#       (cloud_uas_183_srtp_200_avp.xml + pbx_uac_early_488.xml): as a/b,
#       and on the wire: until 0.25 s after the plain 200 left Kamailio the
#       cloud got SRTP only (>= 10 packets, from relay ports, no PBX payload),
#       after that nothing, and the plain port never anything.
#   c)  cloud UAS answers 183 with plain RTP/AVP (cloud_uas_183_avp.xml):
#       the PBX gets 488 (no 183), the cloud gets tlstrunk's CANCEL over
#       TLS, answers 200/CANCEL + 487, and tlstrunk ACKs the 487.
#   d1) the cloud calls (cloud_uac_avp.xml, via Kamailio) with RTP/AVP,
#   d2) and with RTP/SAVP but only F8_128_HMAC_SHA1_80 (cloud_uac_badsuite.xml):
#       the cloud sipp gets tlstrunk's 488 (Kamailio received it over TLS
#       and matched it to its transaction: the top Via is Kamailio's, it is
#       not routed back into Kamailio by a wrong Via list), the PBX UAS
#       (pbx_uas.xml on 5090) receives nothing at all.
#   e)  the PBX sends a malformed SDP ("v=0", "m=audio garbage";
#       pbx_uac_bad_sdp.xml): 400 or 488, tlstrunk logs "malformed SDP",
#       the cloud (Kamailio) sees nothing of that call.
# In a, b, c the PBX gets no SDP to send RTP to (sipp cannot play without
# one), so a small sender stands in for the PBX's RTP: from the port the
# PBX offered, into the PBX-side relay port tlstrunk logs at debug level,
# 50 packets/s for 3 s, across the refusal. The capture must show those
# packets entering the relay (else the check proves nothing) and no UDP
# packet at all toward the cloud UAS's media port (nor any packet from a
# relay port toward the cloud's media address).
# After every case the call's relay ports (tlstrunk's debug line "media:
# relay pbx IP:P cloud IP:Q") must be closed within 3 s: back in the pool.
# Every check prints "CASE: ok: ..." or "CASE: FAIL: ..."; the test goes on
# after a failed check and ends with one FAIL line listing them all.
#
# Needs: sipp (sip-tester, for /usr/share/sip-tester/g711a.pcap), kamailio,
# tcpdump, python3. Run: TLSTRUNK_BIN=build/tlstrunk tests/integration/96_media_refusals.sh
# shellcheck disable=SC2119  # start_kamailio takes no arguments here
set -eEuo pipefail
: "${SIPP_TIMEOUT:=15}"
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/media/media_lib.sh
. "$LIB_DIR/media/media_lib.sh"

CLOUD_RTP=${BS_CLOUD_RTP%-*}          # cloud sipp media port (-mp), 31000
CLOUD_PLAIN_RTP=$((CLOUD_RTP + 10))   # the plain port of case a2's 200
PBX_SIPP_RTP=${BS_PBX_RTP%-*}         # PBX sipp -mp (binds it and +2), 32000
PBX_SENDER_RTP=$((PBX_SIPP_RTP + 20)) # the stand-in PBX RTP sender, 32020
RELAY_LO=${MEDIA_RELAY_PORTS%-*}
RELAY_HI=${MEDIA_RELAY_PORTS#*-}
PCAP_AUDIO=/usr/share/sip-tester/g711a.pcap
DNIS=+13175550100

# say CASE TEXT: one assertion that held. bad CASE TEXT: one that did not;
# the test goes on with the next check and fails at the end, listing all.
BAD=()
say() { echo "  $1: ok: $2"; }
bad() { echo "  $1: FAIL: $2"; BAD+=("$1: $2"); }

first_callid() { { grep -m1 -Ei '^(Call-ID|i):' "$1" 2>/dev/null || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }

# received MSGLOG: the status lines a sipp instance received, one per line.
received() {
	awk '/^--------------------/{getline h; rx=(h ~ / received /); next}
	     rx && /^SIP\/2\.0 [0-9]+/{sub(/\r$/, ""); print; rx=0}' "$1" 2>/dev/null || true
}

# relay_ports CALLID: the relay ports tlstrunk opened for the call (its
# debug line "media: relay pbx IP:P cloud IP:Q"), RTP and RTCP; empty if none.
relay_ports() {
	grep -aF "[$1] media: relay pbx " "$TLSTRUNK_LOG" | head -1 |
		sed -nE 's/.*relay pbx [^ ]*:([0-9]+) cloud [^ ]*:([0-9]+).*/\1 \2/p' |
		awk '{print $1, $1 + 1, $2, $2 + 1}' || true
}

# bound_by_tlstrunk PORT...: those of the ports tlstrunk still has a UDP socket on.
bound_by_tlstrunk() {
	local have p
	have=$(ss -Hlnup 2>/dev/null | grep -F "pid=$TLSTRUNK_PID," | awk '{print $4}' | sed 's/.*://' || true)
	for p in "$@"; do
		grep -qx "$p" <<<"$have" && printf '%s ' "$p"
	done
	return 0
}

# relays_closed CASE CALLID: within 3 s of the refusal the call's relay
# ports are closed (back in the pool).
relays_closed() {
	local c=$1 cid=$2 ports left ended
	# shellcheck disable=SC2207
	ports=($(relay_ports "$cid"))
	if [ ${#ports[@]} = 0 ]; then
		say "$c" "no relay was opened for the call"
		return 0
	fi
	for _ in $(seq 1 30); do
		left=$(bound_by_tlstrunk "${ports[@]}")
		[ -z "$left" ] && break
		sleep 0.1
	done
	ended=$(grep -aF "[$cid] media: call ended" "$TLSTRUNK_LOG" | sed 's/.*media: /media: /' | head -1 || true)
	if [ -n "$left" ]; then
		bad "$c" "3 s after the refusal tlstrunk still holds the call's relay ports ${left}(the refused call's media was not ended: no 'media: call ended' line for $cid; it is held until the media timeout)"
	else
		say "$c" "relay ports ${ports[*]} released ($ended)"
	fi
}

# assert_ack_bye CASE CALLID: tlstrunk's ACK and BYE for the refused 200
# reached the cloud over TLS, ACK first, and the cloud UAS's 200 for the BYE
# went back to tlstrunk over TLS.
assert_ack_bye() {
	local c=$1 cid=$2 ack bye ok=1
	ack=$(cloud_rx | grep ' method=ACK ' | grep -F "callid=$cid " | head -1 || true)
	bye=$(cloud_rx | grep ' method=BYE ' | grep -F "callid=$cid " | head -1 || true)
	if [ -z "$ack" ] || [ -z "$bye" ]; then
		bad "$c" "the cloud (Kamailio) received ${ack:+the ACK but }no ${ack:-ACK}${ack:+BYE}${bye:+ (but a BYE)} for the refused 200 (Call-ID $cid)"
		return 0
	fi
	[ "$(field "$ack" proto)" = tls ] || { ok=0; bad "$c" "the ACK reached the cloud over $(field "$ack" proto), expected tls"; }
	[ "$(field "$bye" proto)" = tls ] || { ok=0; bad "$c" "the BYE reached the cloud over $(field "$bye" proto), expected tls"; }
	awk -v a="$(field "$ack" t)" -v b="$(field "$bye" t)" 'BEGIN{exit !(a <= b)}' ||
		{ ok=0; bad "$c" "the BYE (t=$(field "$bye" t)) reached the cloud before the ACK (t=$(field "$ack" t))"; }
	grep -a 'CLOUD-TX-REPLY status=200 method=BYE ' "$WORK/kamailio.log" | grep -F "callid=$cid" |
		grep -q ' proto=tls ' || { ok=0; bad "$c" "the cloud UAS's 200 for the BYE did not go back to tlstrunk over TLS"; }
	[ "$ok" = 1 ] && say "$c" "the cloud received ACK then BYE from tlstrunk over TLS ($(field "$bye" tlsver) $(field "$bye" cipher)); the UAS answered the BYE 200, back over TLS"
	return 0
}

# assert_pbx_got CASE MSGLOG STATUS: the PBX sipp received STATUS and no 2xx.
assert_pbx_got() {
	local c=$1 log=$2 want=$3 got
	got=$(received "$log" | awk '{print $2}' | tr '\n' ' ')
	if ! grep -Eq "(^| )$want( |$)" <<<"$got"; then
		bad "$c" "the PBX never received $want (it received: ${got:-nothing})"
	elif grep -Eq '(^| )(18[0-9]|2[0-9][0-9])( |$)' <<<"$got" && [ "$c" != a2 ]; then
		bad "$c" "the PBX received a 18x/2xx of a call that cannot be secured (it received: $got)"
	elif grep -Eq '(^| )2[0-9][0-9]( |$)' <<<"$got"; then
		bad "$c" "a 2xx reached the PBX (it received: $got)"
	else
		say "$c" "the PBX received ${got% } and nothing else (no plain 18x/2xx)"
	fi
}

# rtp_sender: the stand-in for the PBX's RTP. Waits for the next
# "media: relay pbx IP:PORT" line after line OFFSET of tlstrunk's log and
# sends 20 ms PCMU frames of a 440 Hz tone there from 127.0.0.1:SRCPORT
# for SECONDS. Prints what it did.
# shellcheck disable=SC2016
RTP_SENDER='
import math, re, socket, struct, sys, time
log, offset, sport, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def ulaw(x):
    s = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 132
    e = 7
    while e > 0 and not x & (0x4000 >> (7 - e)):
        e -= 1
    return ~(s | (e << 4) | ((x >> (e + 3)) & 15)) & 0xFF
dst = None
deadline = time.time() + 15
while dst is None and time.time() < deadline:
    with open(log, errors="replace") as f:
        for i, line in enumerate(f):
            m = re.search(r"media: relay pbx ([0-9.]+):([0-9]+)", line)
            if i >= offset and m:
                dst = (m.group(1), int(m.group(2)))
                break
    time.sleep(0.02)
if dst is None:
    print("rtp_sender: no relay opened"); sys.exit(1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", sport))
n, seq, ts, t0 = 0, 1000, 0, time.time()
while time.time() - t0 < secs:
    pl = bytes(ulaw(int(12000 * math.sin(2 * math.pi * 440 * (ts + k) / 8000))) for k in range(160))
    try:
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts, 0x5EED1234) + pl, dst)
        n += 1
    except OSError:
        pass
    seq += 1; ts += 160
    time.sleep(max(0, t0 + n * 0.02 - time.time()))
print("rtp_sender: sent %d packets to the relay at %s:%d" % (n, dst[0], dst[1]))
'

# wire_check: the capture, read with tests/media/rtp_check.py's reader.
#   nosdp PCAP PBX_SRC_PORT CLOUD_PORT...  (a, b, c)
#   early PCAP PBX_SRC_PORT T_200 SRTP_PORT PLAIN_PORT  (a2; T_200: when the
#         plain 200 left Kamailio toward tlstrunk; 0.25 s of grace after it)
# Prints the counts; exit 1 with a FAIL: line when a check fails.
# shellcheck disable=SC2016
WIRE_CHECK='
import sys
sys.path.insert(0, sys.argv[1])
from rtp_check import read_pcap
relay_lo, relay_hi, cloud_ip = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
mode, pcap, pbx_port = sys.argv[5], sys.argv[6], int(sys.argv[7])
rest = sys.argv[8:]
pk = list(read_pcap(pcap))
relay = lambda p: relay_lo <= p <= relay_hi
pbx_in = [p for p in pk if p[2] == pbx_port and relay(p[4])]
bad = []
def fail(msg):
    bad.append(msg)
if mode == "nosdp":
    cports = set(int(x) for x in rest)
    to_cloud = [p for p in pk if p[4] in cports]
    relay_out = [p for p in pk if relay(p[2]) and p[3] == cloud_ip]
    print("    capture: %d packets PBX->relay, %d toward the cloud media port(s) %s, %d from relay ports to %s"
          % (len(pbx_in), len(to_cloud), ",".join(rest), len(relay_out), cloud_ip))
    if len(pbx_in) < 50:
        fail("only %d RTP packets from the PBX side entered the relay: the check would prove nothing" % len(pbx_in))
    if to_cloud:
        p = to_cloud[0]
        fail("%d UDP packets reached the cloud media port, first %s:%d -> %s:%d (%d bytes)"
             % (len(to_cloud), p[1], p[2], p[3], p[4], len(p[5])))
    if relay_out:
        p = relay_out[0]
        fail("%d packets left relay ports toward the cloud %s, first %s:%d -> %s:%d" % (len(relay_out), cloud_ip, p[1], p[2], p[3], p[4]))
else:
    t_ref, srtp_port, plain_port = float(rest[0]), int(rest[1]), int(rest[2])  # t_ref: the plain 200 left the cloud
    grace = 0.25
    pbx_pl = set(bytes(p[5][12:44]) for p in pbx_in if len(p[5]) > 44)
    to_srtp = [p for p in pk if p[4] in (srtp_port, srtp_port + 1)]
    before = [p for p in to_srtp if p[0] <= t_ref + grace]
    after = [p for p in to_srtp if p[0] > t_ref + grace]
    plain = [p for p in pk if p[4] in (plain_port, plain_port + 1)]
    not_relay = [p for p in before if not relay(p[2])]
    copied = [p for p in before if bytes(p[5][12:44]) in pbx_pl]
    pbx_after = [p for p in pbx_in if p[0] > t_ref + grace]
    print("    capture: PBX->relay %d (%d after the refusal); to the SRTP port %d before, %d after the refusal; to the plain port %d; PBX payloads copied %d"
          % (len(pbx_in), len(pbx_after), len(before), len(after), len(plain), len(copied)))
    if len(pbx_in) - len(pbx_after) < 10 or len(pbx_after) < 20:
        fail("the PBX sent %d packets before and %d after the refusal: too few to judge" % (len(pbx_in) - len(pbx_after), len(pbx_after)))
    if len(before) < 10:
        fail("only %d packets reached the cloud during SRTP early media: the bridge was not relaying, the check would prove nothing" % len(before))
    if not_relay:
        fail("%d packets reached the cloud from outside the relay ports" % len(not_relay))
    if copied:
        fail("%d packets toward the cloud carried the PBX payload in clear" % len(copied))
    if after:
        p = after[0]
        fail("%d packets reached the cloud SRTP port more than %.2f s after the refusal (first at +%.3f s, from %s:%d)"
             % (len(after), grace, p[0] - t_ref, p[1], p[2]))
    if plain:
        p = plain[0]
        fail("%d packets reached the plain port %d the cloud answered with (first from %s:%d)" % (len(plain), plain_port, p[1], p[2]))
for b in bad:
    print("    FAIL: " + b)
sys.exit(1 if bad else 0)
'

wire_check() {
	local c=$1 out rc=0; shift
	out=$("$PYTHON" -c "$WIRE_CHECK" "$MEDIA_DIR" "$RELAY_LO" "$RELAY_HI" "$UAS_IP" "$@" 2>&1) || rc=$?
	grep -v 'FAIL:' <<<"$out" || true
	if [ "$rc" = 0 ]; then
		return 0
	fi
	grep 'FAIL:' <<<"$out" | sed 's/^ *FAIL: //' | while read -r line; do echo "  $c: FAIL: $line"; done
	BAD+=("$c: $(grep 'FAIL:' <<<"$out" | sed 's/^ *FAIL: //' | paste -sd ';' - || echo "$out")")
	return 1
}

# --- a, b, c: refused answers, the PBX gets no SDP ---------------------------------

# refused_call CASE UAS_SCENARIO: one PBX call with the RTP sender running
# and the capture on; sets REFUSAL_CALLID.
refused_call() {
	local c=$1 scen=$2 rc off sender uas cid
	echo "case $c: cloud UAS $scen"
	capture_start "media-$c" "$(media_bpf)"
	sipp_start "uas-$c" "$scen" "$UAS_IP" "$UAS_PORT" -mp "$CLOUD_RTP" -m 1
	uas=$SIPP_PID
	off=$(wc -l <"$TLSTRUNK_LOG")
	spawn "$WORK/rtp-$c.log" "$PYTHON" -u -c "$RTP_SENDER" "$TLSTRUNK_LOG" "$off" "$PBX_SENDER_RTP" 3
	sender=$SPAWNED_PID
	rc=0
	sipp_run "pbx-$c" pbx_uac_488.xml -i "$PBX_IP" -p 5070 -mp "$PBX_SIPP_RTP" \
		-key rtp_port "$PBX_SENDER_RTP" -s "$DNIS" -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
	cid=$(first_callid "$WORK/sipp-pbx-$c.msg.log")
	[ "$rc" = 0 ] || bad "$c" "the PBX sipp (pbx_uac_488.xml) failed, exit $rc: it wants a 488 and nothing else"
	assert_pbx_got "$c" "$WORK/sipp-pbx-$c.msg.log" 488
	rc=0
	sipp_wait "$uas" 15 || rc=$?
	if [ "$rc" = 0 ]; then
		say "$c" "the cloud UAS completed $scen"
	else
		bad "$c" "the cloud UAS ($scen) did not complete (exit $rc): it stopped after $(grep -aE '^(SIP/2.0 [0-9]+|[A-Z]+ sip:)' "$WORK/sipp-uas-$c.msg.log" | tail -1 | tr -d '\r' || true)"
	fi
	rc=0
	sipp_wait "$sender" 10 || rc=$?
	[ "$rc" = 0 ] || bad "$c" "the RTP sender failed: $(cat "$WORK/rtp-$c.log")"
	capture_stop
	echo "    $(cat "$WORK/rtp-$c.log")"
	REFUSAL_CALLID=$cid
}

# no_media_to_cloud CASE: the capture's verdict for a, b, c.
no_media_to_cloud() {
	if wire_check "$1" nosdp "$CAP_FILE" "$PBX_SENDER_RTP" "$CLOUD_RTP" $((CLOUD_RTP + 1)); then
		say "$1" "the PBX's RTP entered the relay; no UDP packet reached the cloud UAS media port $UAS_IP:$CLOUD_RTP(+1)"
	fi
}

test_init
media_require
[ -f "$PCAP_AUDIO" ] || fail "$PCAP_AUDIO missing (package sip-tester)"
start_kamailio
start_media_tlstrunk

# a) 200 with plain RTP/AVP.
refused_call a cloud_uas_200_avp.xml
assert_ack_bye a "$REFUSAL_CALLID"
no_media_to_cloud a
relays_closed a "$REFUSAL_CALLID"

# b) 200 RTP/SAVP with a suite we did not offer.
refused_call b cloud_uas_200_badsuite.xml
assert_ack_bye b "$REFUSAL_CALLID"
no_media_to_cloud b
relays_closed b "$REFUSAL_CALLID"

# a2) SRTP early media, then a plain 200: the live relay must stop.
echo "case a2: cloud UAS cloud_uas_183_srtp_200_avp.xml (SRTP 183, then plain 200)"
capture_start media-a2 "$(media_bpf)"
sipp_start uas-a2 cloud_uas_183_srtp_200_avp.xml "$UAS_IP" "$UAS_PORT" -mp "$CLOUD_RTP" \
	-key plain_rtp "$CLOUD_PLAIN_RTP" -m 1
uas=$SIPP_PID
rc=0
sipp_run pbx-a2 pbx_uac_early_488.xml -i "$PBX_IP" -p 5070 -mp "$PBX_SIPP_RTP" -s "$DNIS" -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
cid=$(first_callid "$WORK/sipp-pbx-a2.msg.log")
[ "$rc" = 0 ] || bad a2 "the PBX sipp (pbx_uac_early_488.xml) failed, exit $rc: it wants the 183, then a 488 and nothing else"
assert_pbx_got a2 "$WORK/sipp-pbx-a2.msg.log" 488
rc=0
sipp_wait "$uas" 15 || rc=$?
if [ "$rc" = 0 ]; then
	say a2 "the cloud UAS completed cloud_uas_183_srtp_200_avp.xml"
else
	bad a2 "the cloud UAS did not complete (exit $rc)"
fi
capture_stop
assert_ack_bye a2 "$cid"
# The moment the relay must stop: the plain 200 left Kamailio toward tlstrunk.
t200=$(grep -a 'CLOUD-TX-REPLY status=200 method=INVITE ' "$WORK/kamailio.log" | grep -F "callid=$cid" |
	grep ' proto=tls ' | head -1 | sed -nE 's/.* t=([0-9.]+).*/\1/p' || true)
if [ -z "$t200" ]; then
	bad a2 "the cloud's plain 200 never left Kamailio toward tlstrunk: nothing to judge on the wire"
else
	if wire_check a2 early "$CAP_FILE" "$PBX_SIPP_RTP" "$t200" "$CLOUD_RTP" "$CLOUD_PLAIN_RTP"; then
		say a2 "SRTP only (no PBX payload) toward $UAS_IP:$CLOUD_RTP while the 183 held, nothing there after the refusal, nothing ever to the plain port $CLOUD_PLAIN_RTP"
	fi
fi
relays_closed a2 "$cid"

# c) 183 with plain RTP/AVP.
refused_call c cloud_uas_183_avp.xml
cid=$REFUSAL_CALLID
can=$(cloud_rx | grep ' method=CANCEL ' | grep -F "callid=$cid " | head -1 || true)
if [ -z "$can" ]; then
	bad c "the cloud (Kamailio) received no CANCEL for Call-ID $cid"
elif [ "$(field "$can" proto)" != tls ]; then
	bad c "the CANCEL reached the cloud over $(field "$can" proto), expected tls"
else
	say c "the cloud received tlstrunk's CANCEL over TLS"
fi
if grep -a 'CLOUD-TX-REPLY status=487 ' "$WORK/kamailio.log" | grep -F "callid=$cid" | grep -q ' proto=tls '; then
	say c "the cloud's 487 went back to tlstrunk over TLS"
	ack=
	for _ in $(seq 1 30); do
		ack=$(cloud_rx | grep ' method=ACK ' | grep -F "callid=$cid " | head -1 || true)
		[ -n "$ack" ] && break
		sleep 0.1
	done
	if [ -n "$ack" ]; then
		say c "tlstrunk ACKed the cloud's 487 over $(field "$ack" proto)"
	else
		bad c "tlstrunk never ACKed the cloud's 487 (RFC 3261 17.1.1.3; Kamailio received no ACK for Call-ID $cid within 3 s)"
	fi
else
	bad c "the cloud sent no 487 to tlstrunk over TLS"
fi
no_media_to_cloud c
relays_closed c "$cid"

# d) offers from the cloud that cannot be secured.
cloud_refused() {
	local c=$1 scen=$2 rc pbx cid got self
	echo "case $c: cloud UAC $scen"
	sipp_start "pbxuas-$c" pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT" -m 1
	pbx=$SIPP_PID
	rc=0
	sipp_run "cloud-$c" "$scen" -i "$UAS_IP" -p 5070 -mp "$CLOUD_RTP" -s 1000 -m 1 \
		"$CLOUD_IP:$CLOUD_UDP_PORT" || rc=$?
	cid=$(first_callid "$WORK/sipp-cloud-$c.msg.log")
	got=$(received "$WORK/sipp-cloud-$c.msg.log" | awk '{print $2}' | tr '\n' ' ')
	if [ "$rc" = 0 ]; then
		say "$c" "the cloud UAC received ${got% } (and ACKed the 488)"
	else
		bad "$c" "the cloud sipp ($scen) failed, exit $rc: it wants a 488 and nothing else (it received: ${got:-nothing})"
	fi
	if grep -a 'CLOUD-RX-REPLY status=488 ' "$WORK/kamailio.log" | grep -F "callid=$cid" | grep -q ' proto=tls src=127.0.0.1:'; then
		say "$c" "the 488 came from tlstrunk over TLS"
	else
		bad "$c" "the 488 was not tlstrunk's (Kamailio received no 488 over TLS from tlstrunk for Call-ID $cid)"
	fi
	# A response's top Via must be the cloud proxy's own (RFC 3261 18.1.2:
	# else it discards it). Kamailio is lenient: it routes such a reply by
	# its Via list, which here sends it back into itself before the UAC.
	self=$(grep -a 'CLOUD-TX-REPLY status=488 ' "$WORK/kamailio.log" | grep -F "callid=$cid" |
		grep -F " dst=$CLOUD_IP:$CLOUD_TLS_PORT " | head -1 || true)
	if [ -n "$self" ]; then
		bad "$c" "tlstrunk's 488 did not carry the cloud proxy's Via on top: Kamailio routed it by Via back to itself ($CLOUD_IP:$CLOUD_TLS_PORT) before the UAC; a strict proxy would discard it"
	else
		say "$c" "Kamailio matched tlstrunk's 488 to its transaction (top Via its own) and relayed it straight to the UAC"
	fi
	sleep 1   # time for anything that would wrongly go to the PBX
	if [ -s "$WORK/sipp-pbxuas-$c.msg.log" ]; then
		bad "$c" "the PBX received something: $(grep -aE '^[A-Z]+ sip:|^SIP/2.0' "$WORK/sipp-pbxuas-$c.msg.log" | head -3 | tr -d '\r' | tr '\n' ' ' || true)"
	elif ! kill -0 "$pbx" 2>/dev/null; then
		bad "$c" "the PBX UAS exited: it must have received something (see $WORK/sipp-pbxuas-$c.log)"
	else
		say "$c" "the PBX UAS on $PBX_IP:$PBX_UAS_PORT received nothing"
	fi
	kill_group "$pbx"
	relays_closed "$c" "$cid"
}
cloud_refused d1 cloud_uac_avp.xml
cloud_refused d2 cloud_uac_badsuite.xml

# e) malformed SDP from the PBX.
echo "case e: PBX INVITE with a malformed SDP"
rc=0
sipp_run pbx-e pbx_uac_bad_sdp.xml -i "$PBX_IP" -p 5070 -mp "$PBX_SIPP_RTP" -s "$DNIS" -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
cid=$(first_callid "$WORK/sipp-pbx-e.msg.log")
got=$(received "$WORK/sipp-pbx-e.msg.log" | awk '{print $2}' | tr '\n' ' ')
if [ "$rc" = 0 ]; then
	say e "the PBX received ${got% } (and ACKed it)"
else
	bad e "the PBX sipp failed, exit $rc: it wants a 400 or 488 (it received: ${got:-nothing})"
fi
sleep 0.5
seen=$(cloud_rx | grep -F "callid=$cid " || true)
if [ -z "$seen" ]; then
	say e "the cloud (Kamailio) received nothing for Call-ID $cid"
else
	bad e "the malformed call reached the cloud: $(head -1 <<<"$seen" | cut -c1-160)"
fi
if grep -aF "[$cid]" "$TLSTRUNK_LOG" | grep -q 'malformed SDP'; then
	say e "tlstrunk logged: $(grep -aF "[$cid]" "$TLSTRUNK_LOG" | grep -m1 'malformed SDP' | sed 's/.*\] //')"
else
	bad e "tlstrunk logged no 'malformed SDP' line for Call-ID $cid"
fi
relays_closed e "$cid"

if [ ${#BAD[@]} != 0 ]; then
	fail "${#BAD[@]} refusal check(s) failed: $(printf '%s | ' "${BAD[@]}" | sed 's/ | $//')"
fi
pass "refusals: 200 plain / 200 unoffered suite / plain 200 after SRTP early media -> 488 + ACK/BYE over TLS; plain 183 -> 488 + CANCEL; cloud offers RTP/AVP / F8 only -> 488, PBX untouched; malformed SDP -> 488/400, cloud untouched; nothing reached the cloud's media ports; relay ports released"

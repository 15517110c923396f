#!/usr/bin/env bash
# 74_max_forwards.sh - Max-Forwards (RFC 3261 16.3 step 2, 16.6 step 3):
#   mf=0  tlstrunk answers 483 itself (Server: tlstrunk, no 100 Trying
#         before it) and the cloud receives nothing for that Call-ID;
#   mf=1  tlstrunk forwards it with Max-Forwards 0: the cloud (Kamailio,
#         mf_process_maxfwd_header) receives the INVITE and refuses it with
#         its own 483, which the PBX gets;
#   mf=5  the call completes; the cloud received Max-Forwards 4, seen as 3
#         by the UAS behind it (Kamailio takes one more off).
# The mf=1 case pins the value at the cloud itself (Kamailio refuses
# exactly 0), the mf=5 case pins the decrement at one hop. mf=1 runs last:
# it ends with tlstrunk's hop-by-hop ACK on the shared TLS connection, and
# this test is about Max-Forwards, not about what follows such an ACK.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

first_callid() { { grep -m1 -Ei '^(Call-ID|i):' "$1" 2>/dev/null || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }

# resp_block LOG CODE: the first response CODE in a sipp message log.
resp_block() {
	awk -v re="^SIP/2.0 $2 " '
		/^--------------------/ { if (f) exit; next }
		!f && $0 ~ re { f = 1 }
		f { print }' "$1" | tr -d '\r'
}

test_init
start_kamailio
start_tlstrunk

# --- mf=0: refused by tlstrunk ---------------------------------------------------
rc=0
sipp_run mf0 pbx_uac_483.xml -key mf 0 -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "Max-Forwards 0: the PBX did not get 483 (sipp exit $rc; see sipp-mf0.msg.log)"
cid0=$(first_callid "$WORK/sipp-mf0.msg.log")
r483=$(resp_block "$WORK/sipp-mf0.msg.log" 483)
grep -q '^Server: tlstrunk' <<<"$r483" || fail "Max-Forwards 0: the 483 is not tlstrunk's own: $(tr '\n' '|' <<<"$r483")"
if grep -q '^SIP/2.0 100 ' "$WORK/sipp-mf0.msg.log"; then
	fail "Max-Forwards 0: tlstrunk sent 100 Trying before the 483 (it took the request on)"
fi

# --- mf=5: a call, 4 at the cloud ----------------------------------------------------------
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run mf5 pbx_uac_mf.xml -key mf 5 -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "Max-Forwards 5: the call did not complete (sipp exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"
grep -q '^Max-Forwards: 5' "$WORK/sipp-mf5.msg.log" || fail "the PBX INVITE did not carry Max-Forwards 5"
cid5=$(first_callid "$WORK/sipp-mf5.msg.log")
inv5=$(cloud_rx | grep ' method=INVITE ' | grep -F "callid=$cid5 " || true)
[ -n "$inv5" ] || fail "Max-Forwards 5: the cloud saw no INVITE"
# The INVITE as the UAS behind the cloud got it (first message in its log).
uas_inv=$(awk '/^INVITE sip:/{f=1} f&&/^--------------------/{exit} f{print}' "$WORK/sipp-cloud-uas.msg.log" | tr -d '\r')
mf_uas=$({ grep -Ei '^(Max-Forwards):' <<<"$uas_inv" || true; } | sed -E 's/^[^:]*:[[:space:]]*//')
[ "$mf_uas" = 3 ] || fail "Max-Forwards 5: the UAS behind the cloud saw Max-Forwards '$mf_uas', expected 3 (tlstrunk 5->4, Kamailio 4->3)"


# --- mf=1: forwarded with 0, the cloud refuses it ---------------------------------------
rc=0
sipp_run mf1 pbx_uac_483.xml -key mf 1 -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "Max-Forwards 1: the PBX did not get a 483 (sipp exit $rc; see sipp-mf1.msg.log)"
cid1=$(first_callid "$WORK/sipp-mf1.msg.log")
inv1=$(cloud_rx | grep ' method=INVITE ' | grep -F "callid=$cid1 " || true)
[ -n "$inv1" ] || fail "Max-Forwards 1: the cloud did not receive the INVITE (tlstrunk refused a request it may forward)"
[ "$(field "$inv1" proto)" = tls ] || fail "Max-Forwards 1: INVITE reached the cloud over $(field "$inv1" proto)"
# Kamailio answers it statelessly (sl_send_reply: no CLOUD-TX line), so
# the proof is the 483 the PBX got: Kamailio's, passed on by tlstrunk.
r483=$(resp_block "$WORK/sipp-mf1.msg.log" 483)
grep -q '^Server: kamailio' <<<"$r483" ||
	fail "Max-Forwards 1: the 483 at the PBX is not the cloud's (so the cloud got Max-Forwards > 0): $(tr '\n' '|' <<<"$r483")"

# Nothing at all reached the cloud for the mf=0 Call-ID (no INVITE, no ACK).
if cloud_rx | grep -qF "callid=$cid0 "; then
	fail "Max-Forwards 0: the cloud received $(cloud_rx | grep -F "callid=$cid0 " | sed -E 's/ ruri=.*//' | tr '\n' ' ')"
fi

pass "mf=0: tlstrunk's 483, nothing at the cloud; mf=1: cloud got the INVITE with 0 and answered 483; mf=5: call completed, 4 at the cloud (3 behind it)"

#!/usr/bin/env bash
# 65_proxy_dies_mid_invite.sh - the cloud proxy carrying a new INVITE dies
# after it said "100 Trying" and before any other answer (the case 62 meets
# by chance when the kill lands inside a call set-up). Two Kamailio proxies
# (lb01, lb02), tlstrunk failover_timeout 2; the cloud UAS waits 3 s after
# its 100 before ringing/answering (sipp -d 3000).
# The call goes to lb01 (round-robin starts there); lb01 relays it and sends
# its own 100; 1 s later lb01 is killed (SIGKILL). Asserted: the PBX is not
# left hanging until Timer C (180 s): it gets a final response for its
# INVITE within failover_timeout + 3 s of lb01's death, and if it is a 200
# the call completes through lb02 (no 100-only limbo; a 5xx is acceptable as
# "fails fast", a 200 is the better outcome - the PASS line says which).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

LIMIT=5     # failover_timeout 2 + 3

test_init
start_kam4 1
start_kam4 2
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2"
ini_set "$CFG" cloud failover_timeout 2
ini_set "$CFG" cloud options_interval 2
ini_set "$CFG" cloud options_interval_down 1
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "no TLS connection to lb01"
wait_tls_up 2 10 || fail "no TLS connection to lb02"
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -d 3000

sipp4_bg call pbx_uac_talk.xml 40 -i "$PBX_IP" -p 5070 -s +13175550100 -d 300 -m 1 "$PBX_IP:$SBC_PBX_PORT"
CALL_PID=$SIPP_PID
wait_grep "$(lb_log 1)" 'CLOUD-RX-REPLY status=100 method=INVITE ' 5 ||
	fail "set-up: the INVITE did not reach the UAS through lb01 (round-robin should start at lb01)"
sleep 1
CALLID=$(grep -a -m1 -i '^Call-ID:' "$WORK/sipp-call.msg.log" | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r')
grep -aq "^SIP/2.0 [2-6][0-9][0-9] " "$WORK/sipp-call.msg.log" && fail "set-up: the PBX already had a final response before the kill"
KILL_T=$(now)
kill_kam4 1 KILL

rc=0
sipp_wait "$CALL_PID" 30 || rc=$?
read -r STATUS WAITED <<<"$("$PY" - "$WORK/sipp-call.msg.log" "$CLOUD4_DIR" "$KILL_T" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import calls as C
c = list(C.uac_calls(sys.argv[1]).values())[0]
if c["invite_status"] is None:
    print("none -")
else:
    print(c["invite_status"], "%.2f" % (c["t_answer"] - float(sys.argv[3])))
EOF
)"
if [ "$STATUS" = none ]; then
	fail "the PBX got no final response for its INVITE (only 100) in the 12 s its sipp waited after lb01 died mid-INVITE: tlstrunk leaves the call to Timer C (180 s) instead of failing over or answering ($(grep -a "$CALLID" "$TLSTRUNK_LOG" | grep -v debug | tail -2 | cut -c12- | tr '\n' ' ' || true))"
fi
moved=
if ! awk -v w="$WAITED" -v l="$LIMIT" 'BEGIN { exit !(w <= l) }'; then
	# Slower than LIMIT is fine only if tlstrunk moved the INVITE to lb02
	# at once: the final answer is then lb02's (here the UAS behind both
	# proxies already holds this Call-ID, so lb02 can only time out).
	inv2=$(grep -a "CLOUD-RX method=INVITE .*callid=$CALLID " "$(lb_log 2)" | head -1 || true)
	[ -n "$inv2" ] || fail "the PBX got its final response ($STATUS) $WAITED s after lb01 died, expected within $LIMIT s, and the INVITE never went to lb02"
	t2=$(sed -E 's/.* t=([0-9.]+).*/\1/' <<<"$inv2")
	awk -v a="$t2" -v k="$KILL_T" 'BEGIN { exit !(a - k <= 1.5) }' ||
		fail "tlstrunk moved the INVITE to lb02 only $(awk -v a="$t2" -v k="$KILL_T" 'BEGIN{printf "%.2f", a-k}') s after lb01 died"
	moved=" (moved to lb02 $(awk -v a="$t2" -v k="$KILL_T" 'BEGIN{printf "%.2f", a-k}') s after the death; lb02's own answer $STATUS came later)"
fi
if [ "$STATUS" = 200 ]; then
	[ "$rc" = 0 ] || fail "the call was answered 200 after failover but did not complete (sipp exit $rc)"
	grep -aq "CLOUD-RX method=BYE .*callid=$CALLID " "$(lb_log 2)" || fail "answered 200, but the BYE did not go through lb02"
	outcome="answered 200 through lb02, BYE 200"
else
	outcome="refused with $STATUS (fast failure)"
fi
pass "lb01 died after its 100 for a new INVITE: the PBX got a final response $WAITED s later: $outcome$moved"

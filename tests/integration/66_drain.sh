#!/usr/bin/env bash
# 66_drain.sh - SIGTERM drains (issue 4: "stop taking new calls (503 to new
# INVITEs), let active calls run to a configurable drain timeout, then exit 0").
# One Kamailio cloud (lb01), tlstrunk with [cloud] drain_timeout = 20.
#   a) A cloud->PBX call first, so Kamailio holds a TLS connection to
#      tlstrunk. Then a PBX->cloud call with 6 s of talk; once it is
#      established (ACK at the cloud) tlstrunk gets SIGTERM. While it drains:
#        - a new PBX INVITE gets 503 (and nothing reaches the cloud for it),
#        - a new cloud INVITE (over Kamailio's existing TLS connection) gets
#          503 from tlstrunk (Kamailio's CLOUD-RX-REPLY line) and never
#          reaches the PBX,
#        - tlstrunk is still running when those answers came.
#      The call in progress completes: its BYE is answered 200 end to end
#      (the PBX sipp exits 0, the cloud UAS got the BYE). tlstrunk then exits
#      by itself with status 0 within 3 s of the call's end, long before
#      drain_timeout.
#   b) drain_timeout = 2 and a call of 15 s: after SIGTERM tlstrunk exits 0
#      within drain_timeout + 3 s although the call is still up.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

first_callid() { grep -m1 -ai '^Call-ID:' "$1" | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }

test_init
start_kam4 1
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1"
ini_set "$CFG" cloud drain_timeout 20
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "tlstrunk opened no TLS connection to lb01"
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"
uas4_start pbx-uas pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT"
KLOG=$(lb_log 1)

# --- a) ------------------------------------------------------------------------------
# Warm-up from the cloud side: Kamailio opens its TLS connection to tlstrunk.
rc=0
sipp4_run warmup cloud_uac.xml 20 -i "$UAS_IP" -p 5070 -s 1000 -m 1 "$(lb_ip 1):$CLOUD_UDP_PORT" || rc=$?
[ "$rc" = 0 ] || fail "a: warm-up call from the cloud failed (sipp exit $rc) before any SIGTERM"

sipp4_bg a-call pbx_uac_talk.xml 40 -i "$PBX_IP" -p 5070 -s +13175550100 -d 6000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
CALL_PID=$SIPP_PID
wait_grep "$WORK/sipp-a-call.msg.log" '^ACK ' 10 || fail "a: the long call was not established (no ACK from the PBX)"
LONG_CALLID=$(first_callid "$WORK/sipp-a-call.msg.log")
wait_grep "$KLOG" "CLOUD-RX method=ACK .*callid=$LONG_CALLID " 3 || fail "a: the long call's ACK did not reach the cloud"
TERM_T=$(now)
kill -TERM "$TLSTRUNK_PID"
sleep 0.3
if ! kill -0 "$TLSTRUNK_PID" 2>/dev/null; then
	reap_tlstrunk 1
	fail "a: tlstrunk exited at once on SIGTERM (status $TLSTRUNK_RC) with a call in progress: no drain"
fi

# A new call from the PBX: 503.
rc=0
sipp4_run a-new-pbx pbx_uac_503.xml 15 -i "$PBX_IP" -p 5072 -s +13175550101 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
if [ "$rc" != 0 ]; then
	got=$(grep -a '^SIP/2.0 [2-6]' "$WORK/sipp-a-new-pbx.msg.log" 2>/dev/null | head -1 | tr -d '\r' || true)
	fail "a: a new PBX INVITE after SIGTERM did not get 503 (sipp exit $rc, got '${got:-no final response}')"
fi
NEW_PBX_CALLID=$(first_callid "$WORK/sipp-a-new-pbx.msg.log")
grep -aq "CLOUD-RX method=INVITE .*callid=$NEW_PBX_CALLID " "$KLOG" &&
	fail "a: the PBX INVITE placed while draining reached the cloud"

# A new call from the cloud: 503 from tlstrunk.
rc=0
sipp4_run a-new-cloud cloud_uac_refused.xml 15 -i "$UAS_IP" -p 5072 -s 1001 -m 1 "$(lb_ip 1):$CLOUD_UDP_PORT" || rc=$?
NEW_CLOUD_CALLID=$(first_callid "$WORK/sipp-a-new-cloud.msg.log")
from_sbc=$(grep -a "CLOUD-RX-REPLY status=[0-9]* method=INVITE .*proto=tls .*callid=$NEW_CLOUD_CALLID " "$KLOG" |
	grep -v 'status=1[0-9][0-9] ' | head -1 | sed -E 's/.*status=([0-9]+).*/\1/' || true)
[ "$from_sbc" = 503 ] ||
	fail "a: a new cloud INVITE after SIGTERM: tlstrunk's final response was '${from_sbc:-none}', expected 503 (cloud sipp exit $rc)"
[ "$rc" = 0 ] || fail "a: the cloud UAC did not get the refusal (sipp exit $rc)"
grep -aq "$NEW_CLOUD_CALLID" "$WORK/sipp-pbx-uas.msg.log" &&
	fail "a: the cloud INVITE placed while draining reached the PBX"
REFUSED_T=$(now)
kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "a: tlstrunk exited before the call in progress ended (SIGTERM stopped it at once?)"

# The call in progress completes.
rc=0
sipp_wait "$CALL_PID" 30 || rc=$?
CALL_END_T=$(now)
[ "$rc" = 0 ] || fail "a: the call in progress did not complete after SIGTERM (PBX sipp exit $rc; last response it got: $(grep -a '^SIP/2.0' "$WORK/sipp-a-call.msg.log" | tail -1 | tr -d '\r' || true))"
grep -aq "CLOUD-RX method=BYE .*callid=$LONG_CALLID " "$KLOG" || fail "a: the BYE of the call in progress never reached the cloud"
awk -v a="$REFUSED_T" -v b="$CALL_END_T" 'BEGIN { exit !(a < b) }' ||
	fail "a: test timing: the 503 checks ended after the long call (cannot tell drain from stop)"

# tlstrunk exits by itself, status 0, soon after the last call ended.
reap_tlstrunk 5
[ "$TLSTRUNK_RC" != running ] || fail "a: tlstrunk still running 5 s after its last call ended (drain_timeout is 20 s)"
[ "$TLSTRUNK_RC" = 0 ] || fail "a: tlstrunk exited with status $TLSTRUNK_RC after draining, expected 0"
after_end=$(awk -v a="$TLSTRUNK_EXIT_T" -v b="$CALL_END_T" 'BEGIN { printf "%.1f", a - b }')
after_term=$(awk -v a="$TLSTRUNK_EXIT_T" -v b="$TERM_T" 'BEGIN { printf "%.1f", a - b }')
awk -v d="$after_term" 'BEGIN { exit !(d < 20) }' || fail "a: tlstrunk needed $after_term s after SIGTERM, drain_timeout is 20"
log "a) drained: exit 0, $after_term s after SIGTERM, $after_end s after the call ended"

# --- b) drain_timeout ends a call that outlasts it ----------------------------------------
cp "$TLSTRUNK_LOG" "$WORK/tlstrunk-a.log"
ini_set "$CFG" cloud drain_timeout 2
start_tlstrunk "$CFG"
wait_tls_up 1 10 || fail "b: tlstrunk opened no TLS connection to lb01"
sipp4_bg b-call pbx_uac_talk.xml 40 -i "$PBX_IP" -p 5074 -s +13175550102 -d 15000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
wait_grep "$WORK/sipp-b-call.msg.log" '^ACK ' 10 || fail "b: the long call was not established"
TERM_T=$(now)
kill -TERM "$TLSTRUNK_PID"
reap_tlstrunk 8
[ "$TLSTRUNK_RC" != running ] || fail "b: tlstrunk still running 8 s after SIGTERM with drain_timeout 2 and a call up"
b_after=$(awk -v a="$TLSTRUNK_EXIT_T" -v b="$TERM_T" 'BEGIN { printf "%.1f", a - b }')
[ "$TLSTRUNK_RC" = 0 ] || fail "b: tlstrunk exited with status $TLSTRUNK_RC at drain_timeout, expected 0"
awk -v d="$b_after" 'BEGIN { exit !(d >= 1.5) }' ||
	fail "b: tlstrunk exited $b_after s after SIGTERM with a call up: it did not wait for drain_timeout (2 s)"

pass "a) after SIGTERM: new PBX INVITE 503, new cloud INVITE 503 from tlstrunk, call in progress completed (BYE 200 end to end), exit 0 $after_end s after it ended ($after_term s after SIGTERM, drain_timeout 20); b) drain_timeout 2 with a call up: exit 0 after $b_after s"

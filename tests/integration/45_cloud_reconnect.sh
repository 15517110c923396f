#!/usr/bin/env bash
# 45_cloud_reconnect.sh - the cloud proxy restarts in the middle of a call:
# its TLS connection to tlstrunk drops.  The PBX's BYE must still reach the
# cloud, over TLS, on a connection tlstrunk re-establishes itself (with the
# certificate checked again), and the call must end cleanly on both sides.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID

# The call: INVITE ... ACK, then 4 s of talk before the PBX hangs up.
sipp_start pbx-uac pbx_uac_long.xml "$PBX_IP" 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT"
PBX_PID=$SIPP_PID
wait_grep "$WORK/kamailio.log" 'CLOUD-RX method=ACK ' 10 ||
	fail "the call was not established (no ACK at the cloud)"

# The cloud goes away and comes back: every TLS connection is gone.
before=$WORK/kamailio-before-restart.log
stop_kamailio
cp "$WORK/kamailio.log" "$before"
start_kamailio
wait_grep "$WORK/tlstrunk.log" 'closed: peer closed' 5 ||
	fail "tlstrunk did not notice the lost TLS connection"

rc=0
sipp_wait "$PBX_PID" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC failed (exit $rc): the BYE after the restart got no 200"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc): it never got the BYE"

bye=$(cloud_rx | grep ' method=BYE ' || true)
[ -n "$bye" ] || fail "the restarted cloud saw no BYE"
[ "$(field "$bye" proto)" = tls ] || fail "the BYE reached the cloud over $(field "$bye" proto), expected tls"
[ "$(field "$bye" tlsver)" = TLSv1.2 ] || fail "the new connection is $(field "$bye" tlsver), expected TLSv1.2"
grep -a 'CLOUD-RX method=INVITE ' "$before" | grep -q ' proto=tls ' ||
	fail "the INVITE did not reach the first cloud instance over TLS"
conns=$(grep -c ' up: TLSv1.2 ' "$WORK/tlstrunk.log" || true)
[ "$conns" -ge 2 ] || fail "tlstrunk opened $conns TLS connection(s), expected a new one after the restart"

pass "cloud restarted mid-call; BYE reached it over a new TLS 1.2 connection ($conns handshakes in all) and the call ended on both sides"

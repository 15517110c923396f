#!/usr/bin/env bash
# 30_connection_reuse.sh - ten calls in a row from the PBX: tlstrunk must keep
# one TLS connection to the cloud proxy and carry every request on it (the
# cloud sees a single connection id for all INVITEs, ACKs and BYEs).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

CALLS=10

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m "$CALLS"
UAS_PID=$SIPP_PID

rc=0
# -l 1: one call at a time, so the calls are strictly sequential.
sipp_run pbx-uac pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 \
	-m "$CALLS" -l 1 -r 5 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC failed (exit $rc): not all $CALLS calls completed"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"

reqs=$(cloud_rx | grep -E ' method=(INVITE|ACK|BYE) ' || true)
n_inv=$(grep -c ' method=INVITE ' <<<"$reqs" || true)
n_bye=$(grep -c ' method=BYE ' <<<"$reqs" || true)
[ "$n_inv" = "$CALLS" ] || fail "Kamailio saw $n_inv INVITEs, expected $CALLS"
[ "$n_bye" = "$CALLS" ] || fail "Kamailio saw $n_bye BYEs, expected $CALLS"
if grep -qv ' proto=tls ' <<<"$reqs"; then
	fail "some requests reached the cloud without TLS"
fi
conids=$(sed -E 's/.* conid=([^ ]*).*/\1/' <<<"$reqs" | sort -u)
n_conn=$(wc -l <<<"$conids")
[ "$n_conn" = 1 ] || fail "requests used $n_conn TLS connections (conids: $(tr '\n' ' ' <<<"$conids")), expected 1"
srcs=$(sed -E 's/.* src=([^ ]*).*/\1/' <<<"$reqs" | sort -u | tr '\n' ' ')

pass "$CALLS calls, $(wc -l <<<"$reqs") requests, all on TLS connection $conids (from $srcs)"

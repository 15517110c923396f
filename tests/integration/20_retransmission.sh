#!/usr/bin/env bash
# 20_retransmission.sh - the PBX sends the same INVITE twice (same branch,
# Call-ID and CSeq, ~300 ms apart, as a UDP retransmission): tlstrunk must
# absorb the copy, so the cloud sees exactly one INVITE for the Call-ID.
# The cloud UAS holds its 180/200 for 1.5 s (-d) so that the copy arrives
# while the INVITE transaction is still Proceeding.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

test_init
start_kamailio
start_tlstrunk
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1 -d 1500
UAS_PID=$SIPP_PID

rc=0
# -nr: see the scenario; without it sipp answers tlstrunk's repeated 100
# with yet another INVITE copy, in a tight loop.
sipp_run pbx-uac pbx_uac_retrans.xml -nr -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC (retransmitting) failed (exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"

# The PBX really did send two INVITEs (sipp's message log has both).
sent=$(grep -c '^INVITE sip:' "$WORK/sipp-pbx-uac.msg.log" || true)
[ "$sent" = 2 ] || fail "the PBX sent $sent INVITE(s); the scenario sends exactly 2"

callid=$(cloud_rx | grep ' method=INVITE ' | head -1 | sed -E 's/.* callid=([^ ]*).*/\1/')
[ -n "$callid" ] || fail "Kamailio saw no INVITE"
n=$(cloud_rx | grep ' method=INVITE ' | grep -cF "callid=$callid " || true)
[ "$n" = 1 ] || fail "Kamailio saw $n INVITEs for Call-ID $callid; the retransmission leaked"
all=$(cloud_rx | grep -c ' method=INVITE ' || true)
[ "$all" = 1 ] || fail "Kamailio saw $all INVITEs in total, expected 1"

pass "PBX sent $sent INVITE copies, cloud saw exactly 1 (Call-ID $callid)"

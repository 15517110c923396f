#!/usr/bin/env bash
# 20_retransmission.sh - the PBX sends the same INVITE twice (same branch,
# Call-ID and CSeq, ~300 ms apart, as a UDP retransmission): tlstrunk must
# absorb the copy, so the cloud sees exactly one INVITE for the Call-ID.
# The cloud UAS holds its 180/200 for 1.5 s (-d) so that the copy arrives
# while the INVITE transaction is still Proceeding.
# A second call sends its INVITE again after the 200 and ACK (a copy that
# crossed the 200), then a CANCEL for it: the copy must be absorbed and
# the CANCEL answered 200 without reaching the cloud (RFC 6026 Accepted:
# tlstrunk keeps only the answered INVITE's key by then).  Its BYE is then
# sent twice: the copy gets the same 200 from tlstrunk, not from the cloud.
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

sipp_start cloud-uas2 cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run pbx-uac2 pbx_uac_after_2xx.xml -nr -i "$PBX_IP" -p 5071 -s +13175550101 -m 1 \
	"$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "PBX sipp UAC (copy and CANCEL after the 200) failed (exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "second cloud sipp UAS failed (exit $rc)"
sent2=$(grep -c '^INVITE sip:' "$WORK/sipp-pbx-uac2.msg.log" || true)
[ "$sent2" = 2 ] || fail "the second PBX call sent $sent2 INVITE(s); its scenario sends 2"
grep -q '^CSeq: 1 CANCEL' "$WORK/sipp-pbx-uac2.msg.log" || fail "the PBX sent no CANCEL"
all=$(cloud_rx | grep -c ' method=INVITE ' || true)
[ "$all" = 2 ] || fail "Kamailio saw $all INVITEs for two calls; the copy after the 200 leaked"
n=$(cloud_rx | grep -c ' method=CANCEL ' || true)
[ "$n" = 0 ] || fail "Kamailio saw $n CANCEL(s); a CANCEL after the 200 must stop at tlstrunk"
byes=$(grep -c '^BYE sip:' "$WORK/sipp-pbx-uac2.msg.log" || true)
[ "$byes" = 2 ] || fail "the second PBX call sent $byes BYE(s); its scenario sends 2"
n=$(cloud_rx | grep -c ' method=BYE ' || true)
[ "$n" = 2 ] || fail "Kamailio saw $n BYEs for two calls; the repeated BYE must be answered by tlstrunk"

pass "PBX sent $sent INVITE copies, cloud saw exactly 1 (Call-ID $callid); after the 200: the copy absorbed, the CANCEL answered 200 and not passed on, a repeated BYE answered 200 again by tlstrunk"

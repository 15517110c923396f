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

# one_call NAME SCENARIO PORT NUMBER [UAS OPTIONS...]: a cloud UAS for one
# call, the PBX UAC NAME through tlstrunk; both must succeed, and the PBX
# must really have sent its INVITE twice (sipp's message log has both).
# -nr: see the scenarios; without it sipp answers tlstrunk's repeated 100
# with yet another INVITE copy, in a tight loop.
one_call() {
	local name=$1 scen=$2 port=$3 num=$4 rc=0 uas sent
	shift 4
	sipp_start "cloud-$name" cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1 "$@"
	uas=$SIPP_PID
	sipp_run "$name" "$scen" -nr -i "$PBX_IP" -p "$port" -s "$num" -m 1 \
		"$PBX_IP:$SBC_PBX_PORT" || rc=$?
	[ "$rc" = 0 ] || fail "PBX sipp UAC $scen failed (exit $rc)"
	sipp_wait "$uas" || rc=$?
	[ "$rc" = 0 ] || fail "cloud sipp UAS for $scen failed (exit $rc)"
	sent=$(grep -c '^INVITE sip:' "$WORK/sipp-$name.msg.log" || true)
	[ "$sent" = 2 ] || fail "$scen: the PBX sent $sent INVITE(s); the scenario sends exactly 2"
}

test_init
start_kamailio
start_tlstrunk
one_call pbx-uac pbx_uac_retrans.xml 5070 +13175550100 -d 1500

callid=$(cloud_rx | grep ' method=INVITE ' | head -1 | sed -E 's/.* callid=([^ ]*).*/\1/')
[ -n "$callid" ] || fail "Kamailio saw no INVITE"
n=$(cloud_rx | grep ' method=INVITE ' | grep -cF "callid=$callid " || true)
[ "$n" = 1 ] || fail "Kamailio saw $n INVITEs for Call-ID $callid; the retransmission leaked"
all=$(cloud_rx | grep -c ' method=INVITE ' || true)
[ "$all" = 1 ] || fail "Kamailio saw $all INVITEs in total, expected 1"

one_call pbx-uac2 pbx_uac_after_2xx.xml 5071 +13175550101
grep -q '^CSeq: 1 CANCEL' "$WORK/sipp-pbx-uac2.msg.log" || fail "the PBX sent no CANCEL"
all=$(cloud_rx | grep -c ' method=INVITE ' || true)
[ "$all" = 2 ] || fail "Kamailio saw $all INVITEs for two calls; the copy after the 200 leaked"
n=$(cloud_rx | grep -c ' method=CANCEL ' || true)
[ "$n" = 0 ] || fail "Kamailio saw $n CANCEL(s); a CANCEL after the 200 must stop at tlstrunk"
byes=$(grep -c '^BYE sip:' "$WORK/sipp-pbx-uac2.msg.log" || true)
[ "$byes" = 2 ] || fail "the second PBX call sent $byes BYE(s); its scenario sends 2"
n=$(cloud_rx | grep -c ' method=BYE ' || true)
[ "$n" = 2 ] || fail "Kamailio saw $n BYEs for two calls; the repeated BYE must be answered by tlstrunk"

pass "PBX sent 2 INVITE copies, cloud saw exactly 1 (Call-ID $callid); after the 200: the copy absorbed, the CANCEL answered 200 and not passed on, a repeated BYE answered 200 again by tlstrunk"

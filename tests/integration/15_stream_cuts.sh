#!/usr/bin/env bash
# 15_stream_cuts.sh - framing, from outside: SIP over TCP and TLS whose
# messages arrive in pieces (issue 14, 1: a message whose body did not come
# in the same read as its header got no answer at all). The peers are
# tests/stream/cuts.py; how they cut the stream (modes whole, mss = 1448-byte
# pieces, rand = 1..200-byte pieces 20-80 ms apart, b2b = two messages in
# one write, b2bmss = those joined bytes cut at 1448) is described there.
# INVITE bodies are SDP of 0 (late offer: the offer in the 200, the answer in
# the ACK), 300, 2048 and 8192 bytes, padded with a=x-pad lines that the
# receiving peer checks one by one (tlstrunk's SDP rewriting keeps them).
#   a) PBX -> tlstrunk over TCP (Kamailio as the cloud, a UDP UAS behind it):
#      every call of every mode completes at the PBX (200 to the INVITE, 200
#      to the BYE), and the UAS behind the cloud got each INVITE with all its
#      pad lines, the ACK and the BYE.
#   b) the cloud -> tlstrunk's TLS listener, each piece one TLS record; the
#      PBX (UDP UAS at 127.0.0.1:5090) got the INVITEs whole, the ACKs and
#      BYEs, and every call completes at the cloud.
#   c) the cloud proxy itself is a python TLS server (the cloud certificate)
#      that writes its RESPONSES in pieces on tlstrunk's own outbound
#      connection (100/180/200 cut, or in one write; its answers to
#      tlstrunk's OPTIONS pings cut as well); the PBX's calls complete and
#      the 200's SDP reaches the PBX with all its pad lines, and tlstrunk
#      kept its one connection to the server throughout. The PBX writes
#      whole messages here, one call after another.
# Statuses asserted at the caller: 100 first (tlstrunk's own Trying, at
# once), 180 (in a, only when Kamailio passed one on), 200, then 200 to the
# BYE. Wall time about 25 s; on a framer that loses a body arriving after
# its header, calls time out (8 s per response) and the test fails in a.
# STREAM_CUTS_PHASES="a b c" picks phases (e.g. "c" alone).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
CUTS=$LIB_DIR/stream/cuts.py
SIZES=0,300,2048,8192
# STREAM_CUTS_PHASES: the phases to run (default all: "a b c").
: "${STREAM_CUTS_PHASES:=a b c}"
phase() { [[ " $STREAM_CUTS_PHASES " == *" $1 "* ]]; }

# check_calls PHASE LOG RC NMODES STATUSES: the CALL lines of a UAC run
# (tests/stream/cuts.py); fails unless there is one per mode and size, every
# one says ok=yes and its statuses (INVITE's, then the BYE's) match the
# regex STATUSES: 100 Trying first (tlstrunk's own, at once), a 200 to the
# INVITE, a 200 to the BYE.
check_calls() {
	local phase=$1 logf=$2 rc=$3 nmodes=$4 re=$5 want n bad
	want=$((nmodes * $(tr ',' '\n' <<<"$SIZES" | wc -l)))
	sed 's/^/    /' "$logf" >&2
	bad=$(grep '^CALL ' "$logf" | grep -v ' ok=yes' || true)
	[ -z "$bad" ] || fail "$phase: calls failed at the caller:
$bad"
	n=$(grep -c '^CALL .* ok=yes' "$logf" || true)
	[ "$n" = "$want" ] || fail "$phase: $n calls completed, expected $want (caller exit $rc)"
	[ "$rc" = 0 ] || fail "$phase: caller exited $rc"
	bad=$(grep '^CALL ' "$logf" | grep -Ev " statuses=$re " || true)
	[ -z "$bad" ] || fail "$phase: calls completed with other responses than $re:
$bad"
}

# check_far PHASE LOG SIDE CALLER_LOG: the far peer (SIDE in its RX lines)
# got, for every call of the caller, one INVITE with every pad line intact,
# an ACK and a BYE.
check_far() {
	local phase=$1 far=$2 side=$3 callers=$4 cid m lines
	for cid in $(sed -n 's/^CALL .* callid=\([^ ]*\) .*/\1/p' "$callers"); do
		for m in INVITE ACK BYE; do
			lines=$(grep -F "RX side=$side method=$m callid=$cid " "$far" || true)
			[ -n "$lines" ] || fail "$phase: the far end ($side) never got the $m of $cid"
			grep -q ' padok=yes' <<<"$lines" ||
				fail "$phase: the $m of $cid reached the far end ($side) damaged: $lines"
		done
	done
}

test_init
require_tlstrunk

# --- a) PBX over TCP, cut ----------------------------------------------------
start_kamailio
start_tlstrunk
if phase a; then
	require_free_port udp "$UAS_IP" "$UAS_PORT"
	spawn "$WORK/uas-cloud.log" "$PYTHON" -u "$CUTS" uas --bind "$UAS_IP:$UAS_PORT" --side cloud
	wait_port udp "$UAS_IP" "$UAS_PORT" 5 "$SPAWNED_PID" || fail "the cloud UAS did not start"

	log "a) PBX -> tlstrunk over TCP, modes mss rand b2b b2bmss, bodies $SIZES"
	rc=0
	"$PYTHON" "$CUTS" pbx-uac --dst "$PBX_IP:$SBC_PBX_PORT" --modes mss,rand,b2b,b2bmss \
		--sizes "$SIZES" >"$WORK/a-pbx.out" 2>&1 || rc=$?
	# Kamailio may drop the 180 (its UDP workers can take the 200 first): optional.
	check_calls a "$WORK/a-pbx.out" "$rc" 4 '100,(180,)?200,200'
	check_far a "$WORK/uas-cloud.log" cloud "$WORK/a-pbx.out"
fi

# --- b) the cloud over TLS, cut into records -------------------------------------
if phase b; then
	require_free_port udp "$PBX_IP" "$PBX_UAS_PORT"
	spawn "$WORK/uas-pbx.log" "$PYTHON" -u "$CUTS" uas --bind "$PBX_IP:$PBX_UAS_PORT" --side pbx
	wait_port udp "$PBX_IP" "$PBX_UAS_PORT" 5 "$SPAWNED_PID" || fail "the PBX UAS did not start"

	log "b) cloud -> tlstrunk over TLS, modes mss rand b2b b2bmss, bodies $SIZES"
	rc=0
	"$PYTHON" "$CUTS" cloud-uac --dst "$SBC_TLS_IP:$SBC_TLS_PORT" --src "$CLOUD_IP" \
		--ca "$PKI/ca.pem" --sni "$SBC_NAME" --modes mss,rand,b2b,b2bmss \
		--sizes "$SIZES" >"$WORK/b-cloud.out" 2>&1 || rc=$?
	check_calls b "$WORK/b-cloud.out" "$rc" 4 '100,180,200,200'
	check_far b "$WORK/uas-pbx.log" pbx "$WORK/b-cloud.out"
fi

# --- c) the cloud's responses cut on tlstrunk's own connection -------------------
if phase c; then
	stop_tlstrunk || fail "tlstrunk did not exit cleanly after phases a and b"
	stop_kamailio
	require_free_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT"
	spawn "$WORK/cloud-srv.log" "$PYTHON" -u "$CUTS" cloud-srv --bind "$CLOUD_IP:$CLOUD_TLS_PORT" \
		--cert "$PKI/cloud.pem" --key "$PKI/cloud.key" --ciphers "$CLOUD_CIPHERS"
	wait_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT" 5 "$SPAWNED_PID" || fail "the cloud TLS server did not start"
	start_tlstrunk "$WORK/tlstrunk.ini" "$WORK/tlstrunk-c.log"
	# tlstrunk's health check (OPTIONS) answered in pieces: the proxy is up.
	wait_grep "$WORK/cloud-srv.log" '^SRV-TX method=OPTIONS ' 10 ||
		fail "c: tlstrunk sent the cloud server no OPTIONS ping"

	# The PBX writes whole messages here: only the responses are cut. The
	# calls go one after another: they share tlstrunk's one connection to the
	# cloud, where the server writes one cut message at a time, and a call
	# queued behind an 8 KB answer cut in 1..200-byte pieces would get its 100
	# Trying after tlstrunk's 4 s of patience with the proxy.
	for rmode in rand mss b2b b2bmss; do
		log "c) cloud responses cut: $rmode, bodies $SIZES"
		rc=0
		"$PYTHON" "$CUTS" pbx-uac --dst "$PBX_IP:$SBC_PBX_PORT" --modes whole --serial \
			--reply-mode "$rmode" --sizes "$SIZES" >"$WORK/c-$rmode.out" 2>&1 || rc=$?
		# The 180 is required: in b2b it shares its write with the 100 and the 200.
		check_calls "c/$rmode" "$WORK/c-$rmode.out" "$rc" 1 '100,180,200,200'
		check_far "c/$rmode" "$WORK/cloud-srv.log" cloud-srv "$WORK/c-$rmode.out"
		n=$(grep -c '^ANS side=pbx status=200 .* padok=yes' "$WORK/c-$rmode.out" || true)
		[ "$n" = 4 ] || fail "c/$rmode: $n of the 4 200s reached the PBX with their whole SDP"
	done
	# The cut responses (and the cut answers to its pings) never made tlstrunk
	# drop its connection to the cloud: the server saw one, never closed.
	n=$(grep -c '^SRV-CONN ' "$WORK/cloud-srv.log" || true)
	[ "$n" = 1 ] || fail "c: tlstrunk connected to the cloud server $n times, expected once: $(grep '^SRV-CLOSED' "$WORK/cloud-srv.log" | head -3)"
fi

pass "a) 16 PBX calls over TCP cut (mss, rand, b2b, b2bmss; bodies $SIZES), b) 16 cloud calls over TLS cut into records, c) 16 calls with the cloud's responses cut: all completed, every message whole at the far end"

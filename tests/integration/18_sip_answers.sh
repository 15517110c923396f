#!/usr/bin/env bash
# 18_sip_answers.sh - the answers tlstrunk gives itself (RFC 3261), checked
# from the peers' side: a raw SIP peer (tests/answers/sip_peer.py: the PBX
# over UDP or TCP, the cloud over TLS verified against the test CA as
# sbc.test.example), sipp calls, Kamailio as the cloud and a PBX stand-in
# (sip_peer.py listen, udp+tcp 127.0.0.1:5090, answers 603).
#
# Phase 1, the standard configuration:
#   481  an in-dialog BYE addressed to tlstrunk itself, no Route: from the PBX
#        (UDP, TCP) and from the cloud (TLS)              -> 481 Call/Transaction
#        Does Not Exist, and nothing reaches the other side
#   482a a Route set that still names tlstrunk once its own two entries are
#        gone (from the PBX; from the cloud with the third entry tlstrunk's
#        PBX port over TCP)                               -> 482 Loop Detected,
#        and no TCP connection from tlstrunk to itself is left open
#   513a INVITEs from the PBX over TCP of 20,000 and 64,000 bytes: over
#        [cloud] max_message_size (16384)                 -> 513 Message Too Large,
#        not forwarded; an OPTIONS on the same TCP connection gets 200; a
#        normal call afterwards completes on the same TLS connection to the
#        cloud (Kamailio's conid and source port) as the call before
#   513b an INVITE of 65,400 bytes from the cloud toward the UDP PBX (new
#        call) and one of 65,480 bytes in a dialog (Request-URI the PBX over
#        UDP): over a datagram once tlstrunk's headers are on -> 513
# Phase 2, [pbx] address = tlstrunk's own PBX listener, [limits]
# max_message_size = 40000:
#   482b a call from the cloud goes to tlstrunk itself over UDP and comes back
#        with tlstrunk's own Via                      -> the cloud gets 482,
#        Kamailio receives nothing for that Call-ID
#   own  a call from the PBX addressed to tlstrunk's own address still goes
#        to the cloud and completes
#   513c a 50,000-byte datagram and a 45,000-byte TCP message from the PBX ->
#        513; the TCP connection still answers an OPTIONS with 200
# Phase 3, [pbx] address = ...;transport=tcp:
#   513b the same 65,400-byte INVITE reaches the PBX over TCP, Via SIP/2.0/TCP;
#        the in-dialog one (Request-URI over UDP) goes over TCP as well; the
#        stand-in's 603 comes back to the cloud.
# Every check runs and prints its result; the test fails at the end when any
# of them failed (so a run against an older build lists all its answers).
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

PEER=$REPO_ROOT/tests/answers/sip_peer.py
PBX_ADDR=$PBX_IP:$SBC_PBX_PORT
TLS_ADDR=$SBC_TLS_IP:$SBC_TLS_PORT
OWN_PBX_URI="sip:$PBX_IP:$SBC_PBX_PORT"
OWN_TLS_URI="sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls"
R_PBX="<sip:$PBX_IP:$SBC_PBX_PORT;lr>"
R_PBX_TCP="<sip:$PBX_IP:$SBC_PBX_PORT;transport=tcp;lr>"
R_TLS="<sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls;lr>"
STANDIN_PORT=$PBX_UAS_PORT
OK=()
BAD=()

# verdict NAME GOOD(0|1) GOT WANT
verdict() {
	if [ "$2" = 1 ]; then
		log "ok   $1: $3"
		OK+=("$1: $3")
	else
		log "FAIL $1: got '$3', want '$4'"
		BAD+=("$1: got '$3' (want '$4')")
	fi
}

# peer ARGS...: one sip_peer.py req run; its output.
peer() { python3 "$PEER" req --ca "$PKI/ca.pem" --sni "$SBC_NAME" "$@" 2>&1 || true; }
# what KIND OUTPUT: the FINAL / AFTER value of a peer run.
what() { { grep -m1 "^$1 " <<<"$2" || echo "$1 (peer printed nothing: $(tr '\n' ' ' <<<"$2" | cut -c1-200))"; } | cut -d' ' -f2-; }
provisionals() { { grep '^RESP 1' <<<"$1" || true; } | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }

# expect_final NAME OUTPUT "CODE REASON" [AFTER]: the peer got exactly that
# final response (and, with AFTER, that answer to the OPTIONS after it).
expect_final() {
	local name=$1 out=$2 want=$3 want_after=${4:-} got good=0 prov
	got=$(what FINAL "$out")
	prov=$(provisionals "$out")
	[ "$got" = "$want" ] && good=1
	if [ -n "$want_after" ]; then
		local after
		after=$(what AFTER "$out")
		[ "$after" = "$want_after" ] || good=0
		got="$got${prov:+ (after $prov)}; OPTIONS after it on the same connection: $after"
		want="$want; OPTIONS after it: $want_after"
	else
		got="$got${prov:+ (after $prov)}"
	fi
	verdict "$name" "$good" "$got" "$want"
}

# cloud_saw CALLID: what Kamailio received for CALLID (methods), or nothing.
cloud_saw() { cloud_rx | grep -F "callid=$1 " | sed -E 's/.* method=([A-Z]+) .*/\1/' | tr '\n' ' ' | sed 's/ $//'; }
# standin_saw CALLID: the stand-in PBX's RX lines for CALLID.
standin_saw() { grep -F " $1 via=" "$WORK/pbx-standin.log" || true; }

# expect_cloud_nothing NAME CALLID...: Kamailio received nothing for them.
expect_cloud_nothing() {
	local name=$1 c seen=""; shift
	for c in "$@"; do
		[ -z "$(cloud_saw "$c")" ] || seen+="$c: $(cloud_saw "$c"); "
	done
	verdict "$name" "$([ -z "$seen" ] && echo 1 || echo 0)" "${seen:-nothing}" "nothing"
}

# pbx_call NAME: one sipp call from the PBX (UDP) to tlstrunk's own address
# (sip:+13175550100@127.0.0.1:15060) with the cloud sipp UAS behind Kamailio.
# Sets CALL_OK (1/0), CALL_CONID and CALL_SRC (Kamailio's view of its INVITE).
pbx_call() {
	local name=$1 rc=0 uas cid inv
	CALL_OK=0 CALL_CONID=- CALL_SRC=-
	sipp_start "cloud-uas-$name" cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
	uas=$SIPP_PID
	sipp_run "pbx-$name" pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_ADDR" || rc=$?
	if [ "$rc" = 0 ]; then sipp_wait "$uas" || rc=$?; else kill_group "$uas"; fi
	cid=$({ grep -m1 -Ei '^(Call-ID|i):' "$WORK/sipp-pbx-$name.msg.log" 2>/dev/null || true; } |
		sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r')
	inv=$(cloud_rx | grep ' method=INVITE ' | grep -F "callid=$cid " | head -1 || true)
	[ -n "$inv" ] && CALL_CONID=$(field "$inv" conid) CALL_SRC=$(field "$inv" src)
	[ "$rc" = 0 ] && [ -n "$inv" ] && CALL_OK=1
	CALL_RC=$rc
}

# restart_with CONFIG: tlstrunk again, with CONFIG.
restart_with() {
	stop_tlstrunk || BAD+=("tlstrunk did not exit cleanly before $(basename "$1")")
	start_tlstrunk "$1" "$WORK/tlstrunk-$(basename "$1" .ini).log"
}

test_init
T0=$SECONDS
ID=$$
start_kamailio
require_free_port udp "$PBX_IP" "$STANDIN_PORT"
require_free_port tcp "$PBX_IP" "$STANDIN_PORT"
spawn "$WORK/pbx-standin.log" python3 -u "$PEER" listen --listen "$PBX_IP:$STANDIN_PORT"
wait_port tcp "$PBX_IP" "$STANDIN_PORT" 5 "$SPAWNED_PID" || fail "the PBX stand-in did not start"

write_tlstrunk_config "$WORK/p1.ini"
start_tlstrunk "$WORK/p1.ini" "$WORK/tlstrunk-p1.log"

# ============ phase 1: the standard configuration ============
pbx_call first
verdict "call before (PBX->cloud, R-URI tlstrunk's own address)" "$CALL_OK" \
	"sipp exit $CALL_RC, conid $CALL_CONID from $CALL_SRC" "completed"
CONID1=$CALL_CONID SRC1=$CALL_SRC

# --- 481 ---
c481u=ans-481-udp-$ID@$PBX_IP c481t=ans-481-tcp-$ID@$PBX_IP c481s=ans-481-tls-$ID@$CLOUD_NAME
out=$(peer --tp udp --dst "$PBX_ADDR" --method BYE --ruri "sip:x@$PBX_IP:$SBC_PBX_PORT" \
	--callid "$c481u" --totag far-481u)
expect_final "481 PBX/UDP in-dialog BYE to sip:x@$PBX_ADDR" "$out" "481 Call/Transaction Does Not Exist"
out=$(peer --tp tcp --dst "$PBX_ADDR" --method BYE --ruri "sip:x@$PBX_IP:$SBC_PBX_PORT;transport=tcp" \
	--callid "$c481t" --totag far-481t)
expect_final "481 PBX/TCP in-dialog BYE to sip:x@$PBX_ADDR;transport=tcp" "$out" "481 Call/Transaction Does Not Exist"
out=$(peer --tp tls --dst "$TLS_ADDR" --method BYE --ruri "$OWN_TLS_URI" \
	--callid "$c481s" --totag far-481s)
expect_final "481 cloud/TLS in-dialog BYE to $OWN_TLS_URI" "$out" "481 Call/Transaction Does Not Exist"

# --- 482 (a): a Route set that leads back ---
c482p=ans-482a-pbx-$ID@$PBX_IP c482c=ans-482a-cloud-$ID@$CLOUD_NAME
out=$(peer --tp udp --dst "$PBX_ADDR" --method BYE --ruri "sip:+13175550100@$CLOUD_NAME:$CLOUD_TLS_PORT;transport=tls" \
	--callid "$c482p" --totag far-482p --route "$R_PBX" --route "$R_TLS" --route "$R_PBX")
expect_final "482a PBX/UDP BYE, Route: own PBX, own TLS, own PBX" "$out" "482 Loop Detected"
# From the cloud, the third entry is tlstrunk's PBX listener over TCP: a
# next hop tlstrunk may reach (127.0.0.1 is in [pbx] allow), i.e. itself.
out=$(peer --tp tls --dst "$TLS_ADDR" --method BYE --ruri "sip:1000@$PBX_IP:$STANDIN_PORT" \
	--callid "$c482c" --totag far-482c --route "$R_TLS" --route "$R_PBX" --route "$R_PBX_TCP")
expect_final "482a cloud/TLS BYE, Route: own TLS, own PBX, own PBX;transport=tcp" "$out" "482 Loop Detected"
# Nobody else keeps a TCP connection to the PBX port open now (the peers
# above closed theirs): one still established is tlstrunk's to itself.
sleep 0.3
self=$(ss -Htn state established "( dport = :$SBC_PBX_PORT )" | awk '{ print $3 "->" $4 }' | tr '\n' ' ')
verdict "482a no TCP connection to tlstrunk's own PBX port" "$([ -z "$self" ] && echo 1 || echo 0)" \
	"${self:-none}" "none"

# --- 513 (a): too large for the cloud, from a TCP PBX ---
c513a20=ans-513a-20k-$ID@$PBX_IP c513a64=ans-513a-64k-$ID@$PBX_IP
out=$(peer --tp tcp --dst "$PBX_ADDR" --method INVITE --ruri "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT;transport=tcp" \
	--callid "$c513a20" --size 20000 --then-options "$OWN_PBX_URI;transport=tcp")
expect_final "513a PBX/TCP INVITE 20,000 bytes" "$out" "513 Message Too Large" "200 OK"
out=$(peer --tp tcp --dst "$PBX_ADDR" --method INVITE --ruri "sip:+13175550100@$PBX_IP:$SBC_PBX_PORT;transport=tcp" \
	--callid "$c513a64" --size 64000 --then-options "$OWN_PBX_URI;transport=tcp")
expect_final "513a PBX/TCP INVITE 64,000 bytes" "$out" "513 Message Too Large" "200 OK"

# The shared TLS connection to the cloud survived both.
pbx_call second
good=0
[ "$CALL_OK" = 1 ] && [ "$CALL_CONID" = "$CONID1" ] && [ "$CALL_SRC" = "$SRC1" ] && good=1
verdict "513a call after: completes on the same TLS connection" "$good" \
	"sipp exit $CALL_RC, conid $CALL_CONID from $CALL_SRC" "completed, conid $CONID1 from $SRC1"

# --- 513 (b): too large for a datagram toward a UDP PBX ---
c513bu=ans-513b-udp-$ID@$CLOUD_NAME c513bd=ans-513b-udp-dlg-$ID@$CLOUD_NAME
out=$(peer --tp tls --dst "$TLS_ADDR" --method INVITE --ruri "sip:1000@$SBC_NAME:$SBC_TLS_PORT;transport=tls" \
	--callid "$c513bu" --size 65400)
expect_final "513b cloud/TLS INVITE 65,400 bytes, new call, PBX over UDP" "$out" "513 Message Too Large"
out=$(peer --tp tls --dst "$TLS_ADDR" --method INVITE --ruri "sip:1000@$PBX_IP:$STANDIN_PORT" \
	--callid "$c513bd" --totag far-513bd --size 65480)
expect_final "513b cloud/TLS in-dialog INVITE 65,480 bytes, R-URI PBX over UDP" "$out" "513 Message Too Large"

expect_cloud_nothing "phase 1: Kamailio received none of the refused requests" \
	"$c481u" "$c481t" "$c481s" "$c482p" "$c482c" "$c513a20" "$c513a64" "$c513bu" "$c513bd"
# A message over its read buffer never makes a CLOUD-RX line: Kamailio
# drops it, and the connection, with "Buffer overrun".
overrun=$(grep -ac 'Buffer overrun' "$WORK/kamailio.log" || true)
verdict "513a Kamailio read no oversized message" "$([ "$overrun" = 0 ] && echo 1 || echo 0)" \
	"$overrun 'Buffer overrun' errors" "0 'Buffer overrun' errors"
seen=""
for c in "$c481s" "$c482c" "$c513bu" "$c513bd"; do seen+=$(standin_saw "$c"); done
verdict "phase 1: the PBX received none of the cloud's refused requests" \
	"$([ -z "$seen" ] && echo 1 || echo 0)" "${seen:-nothing}" "nothing"

# ============ phase 2: [pbx] address = tlstrunk itself; [limits] 40000 ============
write_tlstrunk_config "$WORK/p2.ini"
sed -i "s|^address = .*|address = $PBX_IP:$SBC_PBX_PORT|" "$WORK/p2.ini"
printf '\n[limits]\nmax_message_size = 40000\n' >>"$WORK/p2.ini"
restart_with "$WORK/p2.ini"

c482b=ans-482b-loop-$ID@$CLOUD_NAME
out=$(peer --tp tls --dst "$TLS_ADDR" --method INVITE --ruri "sip:+13175550100@$SBC_NAME:$SBC_TLS_PORT;transport=tls" \
	--callid "$c482b")
expect_final "482b cloud/TLS INVITE delivered by tlstrunk to itself (real loop)" "$out" "482 Loop Detected"
expect_cloud_nothing "482b Kamailio received nothing of the looped call" "$c482b"

pbx_call own
verdict "own: PBX call to tlstrunk's own address (address = itself) goes to the cloud" "$CALL_OK" \
	"sipp exit $CALL_RC, conid $CALL_CONID" "completed through the cloud"

c513cu=ans-513c-udp-$ID@$PBX_IP c513ct=ans-513c-tcp-$ID@$PBX_IP
out=$(peer --tp udp --dst "$PBX_ADDR" --method OPTIONS --ruri "$OWN_PBX_URI" --callid "$c513cu" --size 50000)
expect_final "513c PBX/UDP OPTIONS 50,000 bytes ([limits] 40000)" "$out" "513 Message Too Large"
out=$(peer --tp tcp --dst "$PBX_ADDR" --method OPTIONS --ruri "$OWN_PBX_URI;transport=tcp" --callid "$c513ct" \
	--size 45000 --then-options "$OWN_PBX_URI;transport=tcp")
expect_final "513c PBX/TCP OPTIONS 45,000 bytes ([limits] 40000)" "$out" "513 Message Too Large" "200 OK"

# ============ phase 3: [pbx] address over TCP ============
write_tlstrunk_config "$WORK/p3.ini"
sed -i "s|^address = .*|address = $PBX_IP:$STANDIN_PORT;transport=tcp|" "$WORK/p3.ini"
restart_with "$WORK/p3.ini"

c513bt=ans-513b-tcp-$ID@$CLOUD_NAME c513btd=ans-513b-tcp-dlg-$ID@$CLOUD_NAME
# check_standin NAME CALLID OUT: the stand-in got it over TCP with tlstrunk's
# TCP Via on top, and its 603 came back to the cloud.
check_standin() {
	local name=$1 cid=$2 out=$3 rx good=0 fin
	rx=$(standin_saw "$cid" | { grep -m1 ' INVITE ' || true; })
	fin=$(what FINAL "$out")
	if grep -q "^RX tcp " <<<"$rx" &&
	   grep -Eq " via=SIP/2.0/TCP $PBX_IP:$SBC_PBX_PORT;" <<<"$rx" &&
	   [ "$fin" = "603 Decline" ]; then
		good=1
	fi
	verdict "$name" "$good" "PBX got: ${rx:-nothing}; cloud got: $fin" \
		"RX tcp ... via=SIP/2.0/TCP $PBX_IP:$SBC_PBX_PORT;...; cloud got: 603 Decline"
}
out=$(peer --tp tls --dst "$TLS_ADDR" --method INVITE --ruri "sip:1000@$SBC_NAME:$SBC_TLS_PORT;transport=tls" \
	--callid "$c513bt" --size 65400)
check_standin "513b cloud/TLS INVITE 65,400 bytes, new call, PBX over TCP" "$c513bt" "$out"
out=$(peer --tp tls --dst "$TLS_ADDR" --method INVITE --ruri "sip:1000@$PBX_IP:$STANDIN_PORT" \
	--callid "$c513btd" --totag far-513btd --size 65480)
check_standin "513b cloud/TLS in-dialog INVITE 65,480 bytes, R-URI over UDP, PBX configured TCP" "$c513btd" "$out"

alive=1
kill -0 "$TLSTRUNK_PID" 2>/dev/null || alive=0
verdict "tlstrunk still running" "$alive" "$([ $alive = 1 ] && echo running || echo dead)" "running"

log "${#OK[@]} checks passed, ${#BAD[@]} failed, $((SECONDS - T0)) s"
if [ ${#BAD[@]} -gt 0 ]; then
	fail "${#BAD[@]} of $((${#OK[@]} + ${#BAD[@]})) checks failed: $(printf '%s | ' "${BAD[@]}")"
fi
pass "${#OK[@]} checks in $((SECONDS - T0)) s: $(printf '%s | ' "${OK[@]}")"

#!/usr/bin/env bash
# 62_balance_hash.sh - [cloud] balance = call-id-hash, seen from the cloud
# proxies: four Kamailio instances lb01..lb04 (tests/cloud4), tlstrunk with
# hosts = lb01..lb04, options_interval 1 / down 1.  Which proxy carried a
# call is what that proxy's own log says (its CLOUD-RX INVITE line).
#   a) 12 Call-IDs, each a call (INVITE) and then two out-of-dialog
#      OPTIONS for a number with the same Call-ID (chosen like a new call;
#      a second INVITE with one Call-ID would be a retransmission to the
#      cloud's UAS): all three reach the same proxy, and the 12 are spread
#      over at least two proxies (round robin moves every request on).
#   b) the proxy that carried the first Call-ID (X) is stopped and tlstrunk
#      marks it down: X's next two requests go to one other proxy, the same
#      both times (the next in a fixed order), and every Call-ID whose
#      proxy is still up stays where it was.
#   c) that proxy comes back and is marked up: X returns to it.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

NIDS=12

# call_with CID LABEL: one PBX call whose Call-ID is CID.
call_with() {
	local rc=0
	sipp4_run "$2" pbx_uac_talk.xml 20 -i "$PBX_IP" -p 5070 -s +13175550100 \
		-cid_str "$1" -d 100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
	[ "$rc" = 0 ] || fail "$2: the call with Call-ID $1 did not complete (sipp exit $rc)"
}

# options_with CID LABEL: an out-of-dialog OPTIONS for a number (so it goes
# to the cloud, chosen like a new call) with Call-ID CID; the cloud proxy
# answers it. A second call with one Call-ID would be a retransmission to
# the cloud's UAS; a request of another kind is not.
OPT_SEQ=0
options_with() {
	local rc=0
	OPT_SEQ=$((OPT_SEQ + 1))
	"$PY" - "$1" "$OPT_SEQ" "$PBX_IP" "$SBC_PBX_PORT" <<'PY' || rc=$?
import socket, sys, time
cid, seq, ip, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 0))
me = s.getsockname()[1]
msg = ("OPTIONS sip:+13175550100@%s:%d SIP/2.0\r\n"
       "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-opt-%d-%d;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:1000@%s>;tag=opt%d\r\n"
       "To: <sip:+13175550100@%s>\r\nCall-ID: %s\r\nCSeq: %d OPTIONS\r\n"
       "Content-Length: 0\r\n\r\n") % (ip, port, ip, me, seq, me, ip, seq, ip, cid, seq)
s.settimeout(0.5)
end = time.time() + 8
while time.time() < end:
    s.sendto(msg.encode(), (ip, port))
    try:
        while True:
            line = s.recv(65536).split(b"\r\n", 1)[0].decode()
            if not line.startswith("SIP/2.0 1"):
                sys.exit(0 if line.startswith("SIP/2.0 200") else 1)
    except socket.timeout:
        pass
sys.exit(2)
PY
	[ "$rc" = 0 ] || fail "$2: OPTIONS with Call-ID $1 got no 200 (exit $rc)"
}

# last_proxy CID MARKS METHOD: the proxy that took CID's METHOD request
# after the line numbers in the array MARKS; empty when none did, "many"
# when several.
last_proxy() {
	local -n m=$2
	local n got=''
	for n in 1 2 3 4; do
		if [ "$(kam4_count "$n" "CLOUD-RX method=$3 .* callid=$1 " "${m[$n]}")" != 0 ]; then
			[ -z "$got" ] || { echo many; return; }
			got=$n
		fi
	done
	echo "$got"
}

marks_now() {
	local -n m=$1
	local n
	for n in 1 2 3 4; do m[n]=$(kam4_lines "$n"); done
}

test_init
for n in 1 2 3 4; do start_kam4 "$n"; done
settle_kam4
CFG=$WORK/tlstrunk.ini
write_tlstrunk_config4 "$CFG" "1 2 3 4"
ini_set "$CFG" cloud balance call-id-hash
ini_set "$CFG" cloud options_interval 1
ini_set "$CFG" cloud options_interval_down 1
start_tlstrunk "$CFG"
for n in 1 2 3 4; do
	wait_tls_up "$n" 10 || fail "tlstrunk opened no TLS connection to lb0$n"
done
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"

# --- a) sticky and spread ---------------------------------------------------------
declare -A HOME_OF=()
used=''
for i in $(seq 1 "$NIDS"); do
	cid="hash-$i-$$@$PBX_IP"
	declare -a mk=()
	marks_now mk
	call_with "$cid" "a-$i"
	first=$(last_proxy "$cid" mk INVITE)
	[ -n "$first" ] && [ "$first" != many ] || fail "a: Call-ID $cid: no single proxy took its INVITE ($first)"
	for k in 1 2; do
		marks_now mk
		options_with "$cid" "a-$i-options-$k"
		again=$(last_proxy "$cid" mk OPTIONS)
		[ "$first" = "$again" ] ||
			fail "a: Call-ID $cid: its call went to lb0$first, OPTIONS $k with it to lb0$again: call-id-hash must keep a Call-ID on one proxy"
	done
	HOME_OF[$cid]=$first
	case " $used " in *" $first "*) ;; *) used+=" $first" ;; esac
done
nused=$(wc -w <<<"$used")
[ "$nused" -ge 2 ] || fail "a: all $NIDS Call-IDs went to lb0$used: nothing is spread"
log "a) $NIDS Call-IDs, each twice on one proxy, spread over lb0{${used# }}"

# --- b) its proxy down ------------------------------------------------------------
X="hash-1-$$@$PBX_IP"
H=${HOME_OF[$X]}
down_before=$(grep -c "cloud $(lb_name "$H"):$CLOUD_TLS_PORT is down" "$TLSTRUNK_LOG" || true)
kill_kam4 "$H" TERM
wait_grep_count() { # FILE REGEX N SECONDS
	local i
	for i in $(seq 1 $(($4 * 10))); do
		[ "$(grep -ac "$2" "$1" || true)" -gt "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_grep_count "$TLSTRUNK_LOG" "cloud $(lb_name "$H"):$CLOUD_TLS_PORT is down" "$down_before" 10 ||
	fail "b: tlstrunk did not mark lb0$H down after it stopped"
declare -a mk=()
marks_now mk
options_with "$X" b-x-1
moved1=$(last_proxy "$X" mk OPTIONS)
marks_now mk
options_with "$X" b-x-2
moved2=$(last_proxy "$X" mk OPTIONS)
[ -n "$moved1" ] && [ "$moved1" != many ] && [ "$moved1" != "$H" ] ||
	fail "b: with lb0$H down, Call-ID $X went to '$moved1'"
[ "$moved1" = "$moved2" ] ||
	fail "b: with lb0$H down, Call-ID $X went to lb0$moved1, then lb0$moved2: the next proxy must be a fixed one"
stayed=0
for cid in "${!HOME_OF[@]}"; do
	[ "${HOME_OF[$cid]}" != "$H" ] || continue
	marks_now mk
	options_with "$cid" "b-other"
	now=$(last_proxy "$cid" mk OPTIONS)
	[ "$now" = "${HOME_OF[$cid]}" ] ||
		fail "b: Call-ID $cid moved from lb0${HOME_OF[$cid]} (still up) to lb0$now when lb0$H went down"
	stayed=$((stayed + 1))
done
log "b) lb0$H down: $X moved to lb0$moved1 twice; $stayed Call-IDs on the other proxies stayed"

# --- c) back up ---------------------------------------------------------------------
up_before=$(grep -c "cloud $(lb_name "$H"):$CLOUD_TLS_PORT is up" "$TLSTRUNK_LOG" || true)
start_kam4 "$H" '' "$WORK/kamailio-lb0$H-again.log"
settle_kam4
wait_grep_count "$TLSTRUNK_LOG" "cloud $(lb_name "$H"):$CLOUD_TLS_PORT is up" "$up_before" 15 ||
	fail "c: tlstrunk did not mark lb0$H up again"
marks_now mk
options_with "$X" c-x
back=$(last_proxy "$X" mk OPTIONS)
[ "$back" = "$H" ] || fail "c: lb0$H is up again but Call-ID $X went to lb0$back"

pass "call-id-hash: $NIDS Call-IDs (a call and two OPTIONS each) each kept on one proxy (spread over $nused); lb0$H down: its Call-ID moved to lb0$moved1 (the same both times), $stayed others stayed; lb0$H up again: back on it"

#!/usr/bin/env bash
# 98_torture.sh - SIP torture messages in the spirit of RFC 4475, written for
# tlstrunk: tests/torture/cases/*.sip, one message per file (how the files
# and their placeholders work: tests/torture/sipsend.py). Every case is sent
#   udp  from 127.0.0.1 to the PBX port 127.0.0.1:15060  (side pbx)
#   tcp  from 127.0.0.1 to the PBX port 127.0.0.1:15060  (side pbx)
#   tls  to the cloud-side listener 127.0.0.1:15061, verified against
#        $PKI/ca.pem as the cloud would (side cloud)
# and judged from the peers' view against the case's "#@ expect" lines
# ("#@ expect-udp:" etc. win over "#@ expect:"), alternatives split by |:
#   fwd          reached the far side and the far end's final answer came
#                back (486 to an INVITE, else 200, from the stub)
#   reach        reached the far side (the answer may have had no way back)
#   rej=C1,C2    answered with one of these final statuses, not forwarded
#   drop         no answer at all, not forwarded
#   close        tlstrunk closed the connection, not forwarded
# "Reached" is what the far side saw: the case's Call-ID anywhere in the
# Kamailio log (CLOUD-RX lines, and the error lines quoting what it could
# not parse) for the PBX side, in the datagrams the PBX stub got for the
# cloud side.
# The far ends are tests/torture/stub.py (the agent behind Kamailio at
# 127.0.0.3:5080, the PBX at 127.0.0.1:5090): INVITE -> 486, else 200.
# tlstrunk runs with [limits] max_message_size = 40000 (so that an oversized
# message fits a UDP datagram) and message_timeout = 2 (an incomplete message
# on a stream is cut quickly). It must be alive after every case; at the end
# nothing but the forwarded cases (and tlstrunk's own OPTIONS pings) may have
# reached the cloud or the PBX, Kamailio must have logged no ERROR (nothing
# tlstrunk sent it was unparsable), and a normal sipp call must complete.
# TORTURE_CASES=REGEX picks cases by name (default: all), TORTURE_TPS="udp tcp
# tls" the transports.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

TORTURE_DIR=$LIB_DIR/torture
# The system's python3 when there is one: a version manager's shim in PATH
# costs more start-up time than a case takes.
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
: "${TORTURE_CASES:=.}"
: "${TORTURE_TPS:=udp tcp tls}"
FWD_CLOUD=()    # Call-IDs allowed at the cloud (cases expected to be forwarded)
FWD_PBX=()      # Call-IDs allowed at the PBX stub

alive() {
	kill -0 "$TLSTRUNK_PID" 2>/dev/null || fail "tlstrunk died after case $1"
}

# expectation FILE TP: the case's expected outcomes for transport TP.
expectation() {
	local e
	e=$(sed -n "s/^#@ expect-$2:[[:space:]]*//p" "$1" | head -1)
	[ -n "$e" ] || e=$(sed -n 's/^#@ expect:[[:space:]]*//p' "$1" | head -1)
	[ -n "$e" ] || fail "test bug: $1 has no '#@ expect' line"
	echo "$e"
}

# reached SIDE CALLID: did anything with this Call-ID get to the far side?
# Not only what it could parse: Kamailio quotes what it cannot parse in its
# error lines, the stub keeps every datagram.
reached() {
	if [ "$1" = pbx ]; then
		grep -aqF "$2" "$WORK/kamailio.log"
	else
		grep -aqF "$2" "$WORK/stub/pbx.raw" 2>/dev/null
	fi
}

# judge OUTCOME: does the last run (R_* variables) match one outcome?
judge() {
	local o=$1 codes
	case $o in
	fwd) [ "$R_REACHED" = 1 ] && [ "$R_FAR" = yes ] ;;
	reach) [ "$R_REACHED" = 1 ] ;;
	rej=*)
		codes=,${o#rej=},
		[ "$R_REACHED" = 0 ] && [[ $codes == *",$R_FINAL,"* ]] ;;
	drop) [ "$R_REACHED" = 0 ] && [ "$R_STATUSES" = - ] && [ "$R_CLOSED" = no ] ;;
	close) [ "$R_REACHED" = 0 ] && [ "$R_CLOSED" != no ] ;;
	*) fail "test bug: unknown outcome '$o'" ;;
	esac
}

# case_vars FILE TP: NAME SIDE DST ID CALLID EXPECT WAIT of one case run.
case_vars() {
	NAME=$(basename "$1" .sip)
	SIDE=pbx DST=$PBX_IP:$SBC_PBX_PORT
	if [ "$2" = tls ]; then SIDE=cloud DST=$SBC_TLS_IP:$SBC_TLS_PORT; fi
	ID=$NAME-$2-$$
	CALLID=torture-$ID@127.0.0.1
	EXPECT=$(expectation "$1" "$2")
	WAIT=$(sed -n 's/^#@ wait:[[:space:]]*//p' "$1" | head -1)
	# The sender stops at a final answer or a close; only "no answer at
	# all" (drop) needs the whole wait, which is kept short.
	if [ -z "$WAIT" ]; then
		WAIT=5
		[[ "|$EXPECT|" != *"|drop|"* ]] || WAIT=0.5
	fi
}

# case_send FILE TP: send one case (run in the background: no fail here);
# sipsend.py's summary line goes to $WORK/cases/ID.res.
case_send() {
	case_vars "$1" "$2"
	"$PYTHON" "$TORTURE_DIR/sipsend.py" --tp "$2" --dst "$DST" --side "$SIDE" \
		--id "$ID" --case "$1" --ca "$PKI/ca.pem" --sni "$SBC_NAME" \
		--wait "$WAIT" --out "$WORK/cases/$ID.txt" >"$WORK/cases/$ID.res" 2>&1 ||
		echo "sipsend-failed" >>"$WORK/cases/$ID.res"
}

# case_judge FILE TP: wait for the evidence, judge, print one line.
case_judge() {
	local out o matched='' line
	case_vars "$1" "$2"
	out=$(cat "$WORK/cases/$ID.res")
	case $out in
	sent=*" far="*) ;;
	*) fail "$NAME/$2: the case could not be sent: $out" ;;
	esac
	# sent=N statuses=S final=F closed=C far=R
	read -r _ R_STATUSES R_FINAL R_CLOSED R_FAR <<<"$out"
	R_STATUSES=${R_STATUSES#statuses=} R_FINAL=${R_FINAL#final=}
	R_CLOSED=${R_CLOSED#closed=} R_FAR=${R_FAR#far=}
	R_REACHED=0
	# A forwarded request is logged before its answer comes back; allow the
	# far side's log a moment when the case is meant to get there.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if reached "$SIDE" "$CALLID"; then R_REACHED=1; break; fi
		[[ "|$EXPECT|" == *"|fwd|"* || "|$EXPECT|" == *"|reach|"* ]] || break
		sleep 0.1
	done
	IFS='|' read -ra alts <<<"$EXPECT"
	for o in "${alts[@]}"; do
		if judge "$o"; then matched=$o; break; fi
	done
	if [ "$R_REACHED" = 1 ]; then
		if [ "$SIDE" = pbx ]; then FWD_CLOUD+=("$CALLID"); else FWD_PBX+=("$CALLID"); fi
	fi
	line=$(printf '%-26s %-3s expect %-22s got final=%s statuses=%s closed=%s reached=%s' \
		"$NAME" "$2" "$EXPECT" "$R_FINAL" "$R_STATUSES" "$R_CLOSED" "$R_REACHED")
	if [ -z "$matched" ]; then
		echo "  $line  -> WRONG"
		fail "case $NAME over $2: expected $EXPECT, got final=$R_FINAL statuses=$R_STATUSES closed=$R_CLOSED reached=$R_REACHED (sent/received: $WORK/cases/$ID.txt)"
	fi
	echo "  $line  -> ok ($matched)"
}

# Kamailio reads a TCP/TLS message into a buffer of tcp_rd_buf_size bytes
# (4096 by default) and drops the connection on anything longer: the cloud
# stand-in must take the 30 KiB case, so its rendered configuration gets a
# 64 KiB buffer (lib.sh's renderer, wrapped).
eval "lib_$(declare -f render_cloud_config)"
render_cloud_config() {
	lib_render_cloud_config "$@"
	sed -i 's/^tcp_connection_lifetime=.*/&\ntcp_rd_buf_size=65536/' "$1/kamailio.cfg"
	grep -q '^tcp_rd_buf_size=65536$' "$1/kamailio.cfg" || fail "test bug: could not raise Kamailio's tcp_rd_buf_size"
}

test_init
start_kamailio
cfg=$WORK/tlstrunk.ini
write_tlstrunk_config "$cfg"
printf '\n[limits]\nmax_message_size = 40000\nmessage_timeout = 2\n' >>"$cfg"
start_tlstrunk "$cfg"
mkdir -p "$WORK/cases"

require_free_port udp "$UAS_IP" "$UAS_PORT"
require_free_port udp "$PBX_IP" "$PBX_UAS_PORT"
mkdir -p "$WORK/stub"
spawn "$WORK/stub.log" "$PYTHON" -u "$TORTURE_DIR/stub.py" --raw "$WORK/stub" \
	"cloud=$UAS_IP:$UAS_PORT" "pbx=$PBX_IP:$PBX_UAS_PORT"
STUB_PID=$SPAWNED_PID
wait_grep "$WORK/stub.log" '^STUB-READY' 5 || fail "the far-end stub did not start"

started=$SECONDS
ncases=0
for file in "$TORTURE_DIR"/cases/*.sip; do
	[[ $(basename "$file" .sip) =~ $TORTURE_CASES ]] || continue
	# The transports of one case run side by side (own Call-IDs), then
	# each is judged; tlstrunk must be alive after every case.
	pids=()
	for tp in $TORTURE_TPS; do
		case_send "$file" "$tp" &
		pids+=("$!")
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || true
	done
	alive "$(basename "$file" .sip)"
	for tp in $TORTURE_TPS; do
		case_judge "$file" "$tp"
		ncases=$((ncases + 1))
	done
done
[ "$ncases" -gt 0 ] || fail "no case matches '$TORTURE_CASES'"
log "$ncases case runs in $((SECONDS - started)) s"

# Nothing but the forwarded cases reached either side. tlstrunk's own
# OPTIONS pings toward the cloud are expected.
sleep 0.5
allowed_cloud=$(printf 'callid=%s \n' "${FWD_CLOUD[@]}" "x")
leaked=$(cloud_rx | grep -v ' method=OPTIONS .*callid=tlstrunk-ping-' |
	grep -vF -f <(echo "$allowed_cloud") || true)
[ -z "$leaked" ] || fail "the cloud received something of a case not meant to pass: $(head -3 <<<"$leaked" | cut -c1-240)"
allowed_pbx=$(printf 'callid=%s \n' "${FWD_PBX[@]}" "x")
leaked=$({ grep -a '^STUB-RX side=pbx ' "$WORK/stub.log" || true; } | sed 's/$/ /' |
	grep -vF -f <(echo "$allowed_pbx") || true)
[ -z "$leaked" ] || fail "the PBX received something of a case not meant to pass: $(head -3 <<<"$leaked")"
# What Kamailio could not parse or read never shows as CLOUD-RX (and it may
# drop the whole TLS connection over it): tlstrunk must have sent it nothing
# it complains about.
bad=$(grep -a ' ERROR: ' "$WORK/kamailio.log" || true)
[ -z "$bad" ] || fail "the cloud could not take something tlstrunk sent it: $(head -3 <<<"$bad" | cut -c1-240)"
if grep -aq '^STUB-ERR' "$WORK/stub.log"; then
	fail "the stub could not parse what it was sent: $(grep -a -m1 '^STUB-ERR' "$WORK/stub.log")"
fi

# Still a working trunk: a normal call from the PBX completes.
kill_group "$STUB_PID"
sipp_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run pbx-uac pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the normal call after the torture cases failed (sipp exit $rc)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "cloud sipp UAS failed (exit $rc)"
alive "the normal call"

pass "$ncases case runs as expected in $((SECONDS - started)) s, tlstrunk alive throughout, nothing else reached the cloud or the PBX, normal call completed"

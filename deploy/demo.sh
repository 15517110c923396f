#!/usr/bin/env bash
# deploy/demo.sh - one call with audio, end to end, on loopback:
#
#   PBX (baresip, SIP/UDP, plain RTP, sends 440 Hz)
#     -> tlstrunk (127.0.0.1:15060; media relay RTP <-> SRTP)
#     -> SIP/TLS 1.2 -> cloud proxy stand-in (Kamailio as lb01.voice.use1.pure.cloud)
#     -> agent (baresip behind it, SRTP mandatory, sends 1000 Hz)
#
# Installs what is missing (Debian 12, as root), builds build/tlstrunk,
# makes a throw-away PKI, runs the call for a few seconds, prints the SIP
# ladder of both legs, a media summary (packets each way on each leg from a
# capture on lo, the SRTP suite, the SDP each side got, the tones each side
# heard) and a one-line verdict (DEMO OK / DEMO FAILED), and cleans up.
# The endpoints, capture and checkers are those of the media tests
# (tests/media/media_lib.sh, rtp_check.py, sdp_check.py, tone_check.py).
#
# Environment: SKIP_DEPS=1 (no package check), SKIP_BUILD=1 (use the
# existing binary), TLSTRUNK_BIN (default build/tlstrunk), KEEP_WORK=1
# (keep the temp dir with every log, the capture and the recordings),
# MEDIA_CALL_SECS (seconds of audio, default 4).
# shellcheck disable=SC2119  # start_kamailio takes no arguments here
set -eEuo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
DEMO_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tlstrunk-demo.XXXXXX")
# Read by tests/lib.sh: everything (PKI, configs, logs) under DEMO_ROOT.
TEST_NAME=demo
TLSTRUNK_WORK_ROOT=$DEMO_ROOT
TLSTRUNK_PKI=$DEMO_ROOT/pki
# shellcheck source=tests/lib.sh
. "$REPO/tests/lib.sh"
# The agent sits where lib.sh's topology puts the cloud's far end: behind
# Kamailio at $UAS_IP:$UAS_PORT (udp; media_lib.sh puts its TLS on +1).
BS_CLOUD_IP=$UAS_IP
BS_CLOUD_TLS_PORT=$((UAS_PORT + 1))
: "${MEDIA_CALL_SECS:=4}"
# shellcheck source=tests/media/media_lib.sh
. "$REPO/tests/media/media_lib.sh"
DNIS=+13175550100

# The demo's own verdict line replaces the tests' FAIL line.
fail() {
	trap - ERR
	local why=$*
	tlstrunk_death_note
	why+=$DEATH_NOTE
	dump_logs
	LIB_FINISHED=1
	stop_everything >/dev/null 2>&1 || true
	echo
	echo "DEMO FAILED: $why"
	if [ -n "${KEEP_WORK:-}" ]; then echo "(logs kept in $DEMO_ROOT)"; else rm -rf "$DEMO_ROOT"; fi
	exit 1
}

step() { printf '==> %s\n' "$*"; }

# --- preparation -------------------------------------------------------------

if [ -z "${SKIP_DEPS:-}" ]; then
	step "checking packages"
	install_deps || { echo "DEMO FAILED: could not install the packages"; rm -rf "$DEMO_ROOT"; exit 1; }
fi

if [ -z "${SKIP_BUILD:-}" ]; then
	step "building build/tlstrunk"
	if ! { cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
	       cmake --build "$REPO/build" --target tlstrunk -j "$(nproc)"; } >"$DEMO_ROOT/build.log" 2>&1; then
		tail -n 30 "$DEMO_ROOT/build.log"
		echo "DEMO FAILED: build failed (log above)"
		rm -rf "$DEMO_ROOT"
		exit 1
	fi
fi

step "generating a test PKI"
test_init   # work dir, PKI, cleanup traps
require_tlstrunk
media_require

render_demo_config() {
	sed -e "s|@PKI@|$PKI|g" -e "s|@PBX_IP@|$PBX_IP|g" \
	    -e "s|@SBC_PBX_PORT@|$SBC_PBX_PORT|g" -e "s|@PBX_UAS_PORT@|$PBX_UAS_PORT|g" \
	    -e "s|@SBC_TLS_IP@|$SBC_TLS_IP|g" -e "s|@SBC_TLS_PORT@|$SBC_TLS_PORT|g" \
	    -e "s|@SBC_NAME@|$SBC_NAME|g" -e "s|@CLOUD_NAME@|$CLOUD_NAME|g" \
	    -e "s|@CLOUD_IP@|$CLOUD_IP|g" -e "s|@CLOUD_TLS_PORT@|$CLOUD_TLS_PORT|g" \
	    -e "s|@TGRP@|$TGRP|g" -e "s|@TRUNK_CONTEXT@|$TRUNK_CONTEXT|g" \
	    -e "s|@PORT_MIN@|${MEDIA_RELAY_PORTS%-*}|g" -e "s|@PORT_MAX@|${MEDIA_RELAY_PORTS#*-}|g" \
	    -e "s|@SRTP_SUITES@|$MEDIA_SRTP_SUITES|g" \
	    "$REPO/deploy/demo/tlstrunk.ini.in" >"$1"
	if grep -v '^;' "$1" | grep -q '@[A-Z_]*@'; then
		fail "unrendered placeholder in $1: $(grep -v '^;' "$1" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ')"
	fi
}

# --- the call ------------------------------------------------------------------

step "starting the cloud stand-in (Kamailio, tls:$CLOUD_IP:$CLOUD_TLS_PORT as $CLOUD_NAME)"
start_kamailio
step "starting tlstrunk ($TLSTRUNK_BIN)"
render_demo_config "$WORK/tlstrunk.ini"
"$TLSTRUNK_BIN" -t -c "$WORK/tlstrunk.ini" >"$WORK/tlstrunk-check.log" 2>&1 ||
	fail "tlstrunk rejects the demo configuration: $(tail -n 2 "$WORK/tlstrunk-check.log" | tr '\n' ' ')"
start_tlstrunk "$WORK/tlstrunk.ini"
step "starting the agent behind the cloud (baresip $UAS_IP:$UAS_PORT udp, SRTP mandatory, ${BS_CLOUD_TONE} Hz)"
cloud_setup
bs_start cloud
step "starting the PBX (baresip $PBX_IP:$BS_PBX_SIP_PORT udp, plain RTP, ${BS_PBX_TONE} Hz)"
pbx_setup "$BS_PBX_SIP_PORT"
bs_start pbx
capture_start demo "$(media_bpf) or (udp and port $SBC_PBX_PORT)"

step "PBX calls $DNIS (UDP to $PBX_IP:$SBC_PBX_PORT); ${MEDIA_CALL_SECS} s of audio; PBX hangs up"
bs_do pbx dial "sip:$DNIS@$PBX_IP:$SBC_PBX_PORT"
bs_established pbx
bs_established cloud
sleep "$MEDIA_CALL_SECS"
bs_do pbx hangup
bs_terminated cloud
# The 200 for the BYE; and tcpdump hands packets over in blocks that wait
# up to 1 s: what is still in a block when it is stopped would be lost.
sleep 1.2
capture_stop
media_cleanup
stop_tlstrunk || fail "tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"

# --- the ladder ----------------------------------------------------------------

# PBX leg, from the capture (plain SIP over UDP): TIME<TAB>WHO<TAB>MESSAGE,
# with the SDP's media transport when there is one.
# shellcheck disable=SC2016
PBX_LEG='
import re, sys
sys.path.insert(0, sys.argv[1])
from rtp_check import read_pcap
sbc = int(sys.argv[3])
for ts, sip, sport, dip, dport, pl in read_pcap(sys.argv[2]):
    if sbc not in (sport, dport):
        continue
    text = pl.decode("latin-1")
    first = text.split("\r\n", 1)[0]
    if not (first.startswith("SIP/2.0 ") or first.endswith(" SIP/2.0")):
        continue
    if first.startswith("SIP/2.0 "):
        what = first[8:]
        m = re.search(r"^(?:CSeq|cseq):\s*\d+\s+(\S+)", text, re.M)
        if m:
            what += " (%s)" % m.group(1)
    else:
        what = first[:-8]
    m = re.search(r"^m=audio \d+ (\S+)", text, re.M)
    if m:
        what += " +SDP %s%s" % (m.group(1), ", a=crypto" if "a=crypto:" in text else "")
    who = "PBX -> tlstrunk" if dport == sbc else "tlstrunk -> PBX"
    print("%.6f\t%s\t%s [udp]" % (ts, who, what))
'
pbx_leg() { "$PYTHON" -c "$PBX_LEG" "$MEDIA_DIR" "$CAP_FILE" "$SBC_PBX_PORT"; }

# Cloud leg, from Kamailio's CLOUD-* evidence lines.
cloud_leg() {
	grep -a -o 'CLOUD-[A-Z-]* .*' "$WORK/kamailio.log" | while read -r kind rest; do
		local t proto who what
		t=$(sed -E 's/.* t=([0-9.]+).*/\1/' <<<"$rest")
		proto=$(sed -E 's/.* proto=([a-z0-9]+).*/\1/' <<<" $rest")
		case $kind in
		CLOUD-RX|CLOUD-TX)
			what="$(sed -E 's/^method=([^ ]*) ruri=([^ ]*).*/\1 \2/' <<<"$rest")" ;;
		*)
			what="$(sed -E 's/^status=([^ ]*) method=([^ ]*).* reason=\[([^]]*)\].*/\1 \3 (\2)/' <<<"$rest")" ;;
		esac
		case $kind:$proto in
		CLOUD-RX*:tls) who="tlstrunk -> cloud" ;;
		CLOUD-TX*:tls) who="cloud -> tlstrunk" ;;
		CLOUD-RX*:*)   who="agent -> cloud" ;;
		CLOUD-TX*:*)   who="cloud -> agent" ;;
		esac
		if [ "$proto" = tls ] && [[ $kind == CLOUD-RX* ]]; then
			what="$what [$(sed -E 's/.* tlsver=([^ ]*) cipher=([^ ]*).*/\1 \2/' <<<"$rest")]"
		else
			what="$what [$proto]"
		fi
		printf '%s\t%s\t%s\n' "$t" "$who" "$what"
	done
}

LADDER=$({ pbx_leg; cloud_leg; } | sort -n -k1,1)
# tlstrunk's OPTIONS health pings to the cloud are not part of the call.
pings=$(grep -c $'\tOPTIONS sip:' <<<"$LADDER" || true)
echo
echo "SIP ladder (both legs, in time order; +ms from the first message)"
echo "  PBX $PBX_IP | tlstrunk $SBC_NAME | cloud $CLOUD_NAME | agent $UAS_IP"
grep -v $'\tOPTIONS sip:' <<<"$LADDER" | awk -F'\t' '
	NR == 1 { t0 = $1 }
	{ printf "  %+8.1f  %-18s  %s\n", ($1 - t0) * 1000, $2, $3 }'
[ "$pings" = 0 ] || echo "  (not shown: $pings OPTIONS health ping(s) from tlstrunk to the cloud)"

# --- media ---------------------------------------------------------------------

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# The wire: rtp_check.py on the capture (cloud leg SRTP only, both legs),
# over the call, up to the PBX's BYE.
t_bye=$(grep -m1 $'\tPBX -> tlstrunk\tBYE ' <<<"$LADDER" | cut -f1 || true)
[ -n "$t_bye" ] || problem "no BYE from the PBX in the capture"
RTP_OUT=$("$PYTHON" "$MEDIA_DIR/rtp_check.py" "$CAP_FILE" --cloud "$BS_MEDIA_IP:$BS_CLOUD_RTP" \
	--pbx "$BS_MEDIA_IP:$BS_PBX_RTP" --relay "$PBX_IP:$MEDIA_RELAY_PORTS" --min-packets 50 \
	${t_bye:+--until "$t_bye"} 2>&1) && RTP_OK=1 || RTP_OK=0
echo "$RTP_OUT" >"$WORK/rtp_check.log"
# After the BYE: what still crossed the cloud leg, and whether it was plain
# RTCP (baresip sends its RTCP BYE in the clear once its SRTP context is
# gone: the agent's own doing; tlstrunk must send nothing plain).
# shellcheck disable=SC2016
TEARDOWN='
import sys
sys.path.insert(0, sys.argv[1])
from rtp_check import read_pcap, plain_rtcp
t_bye, lo, hi = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n = {"to": [0, 0], "from": [0, 0]}
for ts, sip, sport, dip, dport, pl in read_pcap(sys.argv[2]):
    if ts <= t_bye:
        continue
    d = "to" if lo <= dport <= hi else "from" if lo <= sport <= hi else None
    if d:
        n[d][0] += 1
        n[d][1] += plain_rtcp(pl) and not (len(pl) == 16 and pl[8:16] == b"PINGPONG")
print(n["to"][0], n["to"][1], n["from"][0], n["from"][1])
'
read -r td_to td_to_plain td_from td_from_plain <<<"$("$PYTHON" -c "$TEARDOWN" "$MEDIA_DIR" "$CAP_FILE" \
	"${t_bye:-0}" "${BS_CLOUD_RTP%-*}" "${BS_CLOUD_RTP#*-}" 2>&1)" || true
[ "${td_to_plain:-0}" = 0 ] ||
	problem "after the BYE tlstrunk sent $td_to_plain plain RTCP packet(s) to the agent"
# leg_counts LEG: "TO FROM TONELIKE G711" of the rtp_check line for LEG (cloud|PBX).
leg_counts() {
	sed -nE "s/^  $1 leg +[^ ]+: RTP to endpoint ([0-9]+), from endpoint ([0-9]+),.* G\.711 ([0-9]+) of which tone-like ([0-9]+).*/\1 \2 \4 \3/p" <<<"$RTP_OUT" | head -1
}
read -r c_to c_from c_tone c_g711 <<<"$(leg_counts cloud)" || true
read -r p_to p_from p_tone p_g711 <<<"$(leg_counts PBX)" || true

# The suite: what tlstrunk installed, and what the agent says it runs.
tt_suite=$(grep -aom1 'media: SRTP [A-Z0-9_]*' "$TLSTRUNK_LOG" | awk '{print $3}' || true)
ag_suite=$(grep -aom1 'SRTP is Enabled (cryptosuite=[^)]*)' "${BS_LOG[cloud]}" | sed -E 's/.*=([^)]*)\)/\1/' || true)
ag_fail=$(bs_srtp_errors cloud)
tt_counts=$(grep -aom1 'media: call ended .*' "$TLSTRUNK_LOG" | sed 's/^media: call ended ([^)]*): //' || true)

# The SDP each side was given (sdp_check.py on the endpoints' SIP traces):
# its summary line; status 1 (and the FAIL line) when an expectation failed.
sdp_line() {
	local name=$1 out rc=0; shift
	out=$("$PYTHON" "$MEDIA_DIR/sdp_check.py" "${BS_LOG[$name]}" "$@" 2>&1) || rc=$?
	if [ "$rc" != 0 ]; then
		grep -m1 'FAIL' <<<"$out" | sed 's/.*FAIL: //' || echo "$out"
		return 1
	fi
	grep -m1 -oE 'm=audio [0-9]+ [^,]+, c=[^,]+, [a-z]+, [0-9]+ crypto line\(s\)' <<<"$out" || echo "(no SDP found)"
}
sdp_agent=$(sdp_line cloud --msg INVITE --initial --from "$CLOUD_IP:$CLOUD_UDP_PORT" --proto RTP/SAVP \
	--crypto 1-2 --suites "$MEDIA_SRTP_SUITES") || problem "SDP offered to the agent: $sdp_agent"
sdp_pbx=$(sdp_line pbx --msg 200 --initial --from "$PBX_IP:$SBC_PBX_PORT" --proto RTP/AVP --crypto 0) ||
	problem "SDP answered to the PBX: $sdp_pbx"

# The audio each side recorded.
tone_of() { # NAME HZ: "440.0 Hz, 3.9 s" or the failure
	local rec out
	rec=$(find "${BS_DIR[$1]}/rec" -name 'dump-*-dec.wav' 2>/dev/null | sort | head -1)
	[ -n "$rec" ] || { echo "nothing recorded"; return 1; }
	out=$("$PYTHON" "$MEDIA_DIR/tone_check.py" "$rec" "$2" --min-sec $((MEDIA_CALL_SECS - 2)) --skip-sec 0.2 2>&1) ||
		{ sed -E 's/^tone_check: [^:]*: dominant ([0-9.]+ Hz).*FAIL: (.*)/\1 dominant: \2/' <<<"$out"; return 1; }
	sed -nE 's/.*dominant ([0-9.]+ Hz).*tone ([0-9.]+ s) of.*/\1 for \2/p' <<<"$out"
}
TONE_OK=1
agent_heard=$(tone_of cloud "$BS_PBX_TONE") || { TONE_OK=0; problem "the agent did not hear the PBX's $BS_PBX_TONE Hz: $agent_heard"; }
pbx_heard=$(tone_of pbx "$BS_CLOUD_TONE") || { TONE_OK=0; problem "the PBX did not hear the agent's $BS_CLOUD_TONE Hz: $pbx_heard"; }

echo
echo "Media (capture on lo; RTP packets per direction)"
printf '  PBX leg    PBX -> tlstrunk %-5s tlstrunk -> PBX %-5s plain RTP, G.711 decoding to a tone: %s of %s\n' \
	"${p_from:-?}" "${p_to:-?}" "${p_tone:-?}" "${p_g711:-?}"
printf '  cloud leg  tlstrunk -> agent %-3s agent -> tlstrunk %-3s %s, G.711 decoding to a tone: %s of %s\n' \
	"${c_to:-?}" "${c_from:-?}" "$([ "$RTP_OK" = 1 ] && echo "SRTP ${tt_suite:-?}" || echo "NOT SRTP-only")" \
	"${c_tone:-?}" "${c_g711:-?}"
echo "  relay      tlstrunk's counters: ${tt_counts:-none logged}"
echo "  SDP        agent was offered $sdp_agent; PBX was answered $sdp_pbx"
echo "  SRTP       tlstrunk: ${tt_suite:-none}; agent: ${ag_suite:-none}; agent decrypt failures: $ag_fail"
echo "  tones      agent heard ${agent_heard} (PBX sent $BS_PBX_TONE Hz); PBX heard ${pbx_heard} (agent sent $BS_CLOUD_TONE Hz)"
echo "  teardown   after the BYE: tlstrunk -> agent ${td_to:-?} packet(s) (${td_to_plain:-?} plain), agent -> tlstrunk ${td_from:-?} (${td_from_plain:-?} of them plain RTCP, from the agent itself)"
echo "  wire       $(grep -E '^  (OK|FAIL):' <<<"$RTP_OUT" | sed 's/^  //' | paste -sd '|' - | sed 's/|/; /g' || echo "rtp_check: $RTP_OUT")"
echo

# --- verdict -------------------------------------------------------------------

inv=$(cloud_rx | grep ' method=INVITE ' | grep ' proto=tls ' | head -1 || true)
ver=
cipher=
if [ -z "$inv" ]; then
	problem "the cloud never saw the INVITE over TLS"
else
	ver=$(field "$inv" tlsver)
	cipher=$(field "$inv" cipher)
	[ "$ver" = TLSv1.2 ] || problem "the cloud leg used $ver, not TLS 1.2"
fi
cloud_rx | grep ' method=BYE ' | grep -q ' proto=tls ' || problem "the BYE did not reach the cloud over TLS"
SRTP_OK=1
if [ "$RTP_OK" != 1 ]; then
	SRTP_OK=0
	problem "the cloud leg was NOT SRTP only: $(grep -m1 'FAIL:' <<<"$RTP_OUT" | sed 's/^ *FAIL: //' || echo "$RTP_OUT")"
fi
if [ -z "$tt_suite" ] || [ "$tt_suite" != "$ag_suite" ]; then
	SRTP_OK=0
	problem "SRTP suite: tlstrunk '${tt_suite:-none}', agent '${ag_suite:-none}'"
fi
[ "$ag_fail" = 0 ] || { SRTP_OK=0; problem "the agent failed to decrypt $ag_fail SRTP/SRTCP packets"; }

cloud_desc="TLS${ver#TLSv} ${cipher:-?}, $([ "$SRTP_OK" = 1 ] && echo "SRTP $tt_suite" || echo "NOT SRTP-only")"
audio_desc=$([ "$TONE_OK" = 1 ] && echo "audio both ways" || echo "audio NOT both ways")
LIB_FINISHED=1
stop_everything
if [ ${#PROBLEMS[@]} = 0 ]; then
	echo "DEMO OK: call completed PBX(udp, RTP) -> tlstrunk -> cloud($cloud_desc); $audio_desc"
	rc=0
else
	echo "DEMO FAILED: PBX(udp, RTP) -> tlstrunk -> cloud($cloud_desc); $audio_desc: $(printf '%s; ' "${PROBLEMS[@]}" | sed 's/; $//')"
	rc=1
fi
if [ -n "${KEEP_WORK:-}" ] || [ "$rc" != 0 ]; then
	echo "(logs kept in $DEMO_ROOT)"
else
	rm -rf "$DEMO_ROOT"
fi
exit "$rc"

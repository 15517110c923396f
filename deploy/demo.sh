#!/usr/bin/env bash
# deploy/demo.sh - one call, end to end, on loopback:
#
#   PBX (sipp UAC, UDP) -> tlstrunk -> TLS 1.2 -> cloud proxy stand-in
#   (Kamailio as lb01.voice.use1.pure.cloud) -> agent (sipp UAS)
#
# Installs what is missing (Debian 12, as root), builds build/tlstrunk,
# makes a throw-away PKI, runs the call, prints the SIP ladder of both legs
# and a one-line verdict (DEMO OK / DEMO FAILED), and cleans up.
#
# Environment: SKIP_DEPS=1 (no package check), SKIP_BUILD=1 (use the
# existing binary), TLSTRUNK_BIN (default build/tlstrunk), KEEP_WORK=1
# (keep the temp dir with every log).
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
	install_deps || { echo "DEMO FAILED: could not install the packages"; exit 1; }
fi

if [ -z "${SKIP_BUILD:-}" ]; then
	step "building build/tlstrunk"
	mkdir -p "$DEMO_ROOT"
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

render_demo_config() {
	sed -e "s|@PKI@|$PKI|g" -e "s|@PBX_IP@|$PBX_IP|g" \
	    -e "s|@SBC_PBX_PORT@|$SBC_PBX_PORT|g" -e "s|@PBX_UAS_PORT@|$PBX_UAS_PORT|g" \
	    -e "s|@SBC_TLS_IP@|$SBC_TLS_IP|g" -e "s|@SBC_TLS_PORT@|$SBC_TLS_PORT|g" \
	    -e "s|@SBC_NAME@|$SBC_NAME|g" -e "s|@CLOUD_NAME@|$CLOUD_NAME|g" \
	    -e "s|@CLOUD_IP@|$CLOUD_IP|g" -e "s|@CLOUD_TLS_PORT@|$CLOUD_TLS_PORT|g" \
	    -e "s|@TGRP@|$TGRP|g" -e "s|@TRUNK_CONTEXT@|$TRUNK_CONTEXT|g" \
	    "$REPO/deploy/demo/tlstrunk.ini.in" >"$1"
}

# --- the call ------------------------------------------------------------------

step "starting the cloud stand-in (Kamailio, tls:$CLOUD_IP:$CLOUD_TLS_PORT as $CLOUD_NAME)"
start_kamailio
step "starting the agent behind it (sipp UAS $UAS_IP:$UAS_PORT)"
sipp_start agent cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
AGENT_PID=$SIPP_PID
step "starting tlstrunk ($TLSTRUNK_BIN)"
render_demo_config "$WORK/tlstrunk.ini"
start_tlstrunk "$WORK/tlstrunk.ini"
step "PBX calls $DNIS (sipp UAC, UDP to $PBX_IP:$SBC_PBX_PORT)"
rc=0
sipp_run pbx pbx_uac.xml -i "$PBX_IP" -p 5070 -s "$DNIS" -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "the PBX's call did not complete (sipp exit $rc)"
rc=0
sipp_wait "$AGENT_PID" || rc=$?
[ "$rc" = 0 ] || fail "the agent side did not complete the call (sipp exit $rc)"
stop_tlstrunk || fail "tlstrunk did not exit cleanly"

# --- the ladder ----------------------------------------------------------------

# epoch "2026-11-23 16:57:19.308531" -> seconds.micros
epoch() { date -d "$1" +%s.%6N; }

# PBX leg, from the PBX sipp's message log: TIME<TAB>FROM -> TO<TAB>MESSAGE
pbx_leg() {
	awk '
	function flush() {
		if (first != "") {
			sub(/^SIP\/2\.0 /, "", first)
			if (first ~ /^[0-9][0-9][0-9] /) first = first " (" cseq ")"
			else sub(/ SIP\/2\.0$/, "", first)
			print ts "\t" dir "\t" first
		}
		first = ""; cseq = ""
	}
	/^--------------------/ { flush(); ts = $2 " " $3; state = 1; next }
	state == 1 { dir = ($0 ~ / sent /) ? "PBX -> tlstrunk" : "tlstrunk -> PBX"; state = 2; next }
	state == 2 && NF == 0 { next }
	state == 2 { first = $0; sub(/\r$/, "", first); state = 3; next }
	state == 3 && tolower($1) == "cseq:" { cseq = $3; sub(/\r$/, "", cseq) }
	END { flush() }
	' "$WORK/sipp-pbx.msg.log" | while IFS=$'\t' read -r ts who what; do
		printf '%s\t%s\t%s [udp]\n' "$(epoch "$ts")" "$who" "$what"
	done
}

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

echo
echo "SIP ladder (both legs, in time order; +ms from the first message)"
echo "  PBX 127.0.0.1 | tlstrunk $SBC_NAME | cloud $CLOUD_NAME | agent $UAS_IP"
{ pbx_leg; cloud_leg; } | sort -n -k1,1 | awk -F'\t' '
	NR == 1 { t0 = $1 }
	{ printf "  %+8.1f  %-18s  %s\n", ($1 - t0) * 1000, $2, $3 }'
echo

# --- verdict -------------------------------------------------------------------

inv=$(cloud_rx | grep ' method=INVITE ' | grep ' proto=tls ' | head -1 || true)
[ -n "$inv" ] || fail "the cloud never saw the INVITE over TLS"
ver=$(field "$inv" tlsver)
cipher=$(field "$inv" cipher)
[ "$ver" = TLSv1.2 ] || fail "the cloud leg used $ver, not TLS 1.2"
cloud_rx | grep ' method=BYE ' | grep -q ' proto=tls ' || fail "the BYE did not reach the cloud over TLS"

LIB_FINISHED=1
stop_everything
echo "DEMO OK: call completed PBX(udp) -> tlstrunk -> cloud(TLS1.2 $cipher)"
if [ -n "${KEEP_WORK:-}" ]; then
	echo "(logs kept in $DEMO_ROOT)"
else
	rm -rf "$DEMO_ROOT"
fi

#!/usr/bin/env bash
# 56_multi_trunk.sh - several PBXs and trunks behind one tlstrunk, routes and
# number rewriting (issue 17). Everything is judged by what the peers
# received (Kamailio's CLOUD-RX lines, sipp's message logs), never by
# tlstrunk's own log alone.
#
# Topology (loopback; run it in `unshare -n` next to other test runs):
#   PBX site_a  sipp UAC 127.0.0.31:5071 -> tlstrunk 127.0.0.1:15060 (udp)
#               sipp UAS 127.0.0.31:5070 <- tlstrunk   ([pbx site_a] address)
#   PBX site_b  sipp UAC 127.0.0.32:5071, UAS 127.0.0.32:5070
#   stranger    sipp UAC 127.0.0.33:5071   (no configured PBX)
#   trunk eu    Kamailio lb01.voice.euw2.pure.cloud  tls 127.0.0.21:5061, udp :5060
#   trunk us    Kamailio lb01.voice.use1.pure.cloud  tls 127.0.0.22:5061, udp :5060
#               Kamailio lb02.voice.use1.pure.cloud  tls 127.0.0.23:5061, udp :5060
#   each Kamailio has its own certificate name (eu: a leaf made here for
#   lb01.voice.euw2; us: the test PKI's "cloud" leaf, lb01+lb02.voice.use1)
#   and forwards what tlstrunk sends it to the cloud sipp UAS 127.0.0.3:5080;
#   the cloud sipp UAC (127.0.0.3:5070) calls through a trunk's Kamailio
#   over udp, which opens TLS to tlstrunk (127.0.0.1:15061) from its own
#   address: the source tlstrunk must recognise as that trunk's.
#
# Steps:
#   1. bad configurations, each refused by -t and at start with
#      FILE:LINE: of the offending key: a route to an unknown trunk, a regex
#      that does not compile, a route shadowed by an earlier one;
#      -t on the good configuration prints the routing table;
#      dry runs (`tlstrunk route`) for the calls of steps 2/3, and "route:
#      none" (exit non-zero) for the unroutable ones.
#   2. PBX -> cloud: site_a dials 02079460123 from 01234567890 (+PAI): only
#      trunk eu's Kamailio gets it, R-URI sip:+442079460123;tgrp=tgrp-eu;
#      trunk-context=eu.example.com@lb01.voice.euw2.pure.cloud:5061;
#      transport=tls (== the dry run's), To +442079460123, From and PAI
#      +441234567890. site_b dials 915551234567: only trunk us gets it, user
#      15551234567 with tgrp-us / us.example.com. 127.0.0.33 gets 403 and no
#      trunk sees its Call-ID.
#   3. cloud -> PBX: +442079460555 via eu -> only site_a's UAS, R-URI and To
#      user 02079460555 (R-URI user@host:port == the dry run's);
#      +15550100777 via us -> only site_b; +15550100777 via eu -> 404 (route
#      in-b takes trunk us only) and no PBX sees it; +33123456789 -> 404,
#      no PBX sees it.
#   4. failover inside trunk us: us-lb01 killed; site_b's calls complete via
#      us-lb02 while site_a's call to eu completes at the same time; eu's
#      Kamailio saw one TLS connection from tlstrunk for the whole test,
#      /metrics (tlstrunk_cloud_proxy_up{trunk=...,proxy=...}) says eu up,
#      us lb01 down, us lb02 up, and over the whole test each trunk received
#      INVITEs for exactly the calls routed to it.
#
# Needs: tlstrunk with issue 17 ([pbx NAME], [trunk NAME], [rule], [route],
# `tlstrunk route`). Takes about 30 s.
#
# T56_HARNESS=1 runs a self-check of this harness against a tlstrunk without
# issue 17 (the single-trunk [cloud] form, once per trunk, with numbers
# already in their rewritten form): stand-ins, certificates, scenarios and
# the log parsers, without asserting anything tlstrunk cannot do yet.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# ini_set, make_leaf, http_get, uas4_start, sipp4_run, PY
# shellcheck source=tests/cloud4/lib4.sh
. "$(dirname "$0")/../cloud4/lib4.sh"

HARNESS=${T56_HARNESS:-}

SITE_A_IP=127.0.0.31
SITE_B_IP=127.0.0.32
STRANGER_IP=127.0.0.33
PBX56_UAS_PORT=5070
PBX56_UAC_PORT=5071
ADMIN_PORT=19156
CLOUD_UAC_PORT=5070

declare -A P_IP=([eu]=127.0.0.21 [us1]=127.0.0.22 [us2]=127.0.0.23)
declare -A P_NAME=([eu]=lb01.voice.euw2.pure.cloud [us1]=lb01.voice.use1.pure.cloud
	[us2]=lb02.voice.use1.pure.cloud)
declare -A P_TRUNK=([eu]=eu [us1]=us [us2]=us)
declare -A P_PID=()
PROXIES="eu us1 us2"
EU_TGRP=tgrp-eu EU_CTX=eu.example.com
US_TGRP=tgrp-us US_CTX=us.example.com

p_log() { echo "$WORK/kamailio-$1.log"; }

# --- certificates and Kamailio stand-ins ------------------------------------------

# make_certs: eu gets a leaf of its own (lb01.voice.euw2.pure.cloud), us the
# test PKI's "cloud" leaf (lb01 + lb02.voice.use1.pure.cloud).
declare -A P_CERT=()
make_certs() {
	mkdir -p "$WORK/pki56"
	make_leaf "$WORK/pki56/euw2" "DNS:${P_NAME[eu]}"
	P_CERT[eu]=$WORK/pki56/euw2
	P_CERT[us1]=$PKI/cloud
	P_CERT[us2]=$PKI/cloud
}

# start_proxy TAG: render tests/cloud/trunk_kamailio.cfg.in and
# tests/cloud4/tls.cfg.in for proxy TAG, start it, wait for its sockets.
start_proxy() {
	local tag=$1 dir=$WORK/kam-$1 ip=${P_IP[$1]} t
	mkdir -p "$dir/run"
	sed -e "s|@WORK@|$dir|g" \
	    -e "s|@MPATH@|$(kamailio_mpath)|g" \
	    -e "s|@CLOUD_IP@|$ip|g" \
	    -e "s|@CLOUD_TLS_PORT@|$CLOUD_TLS_PORT|g" \
	    -e "s|@CLOUD_UDP_PORT@|$CLOUD_UDP_PORT|g" \
	    -e "s|@CLOUD_NAME@|${P_NAME[$tag]}|g" \
	    -e "s|@TAG@|$tag|g" \
	    -e "s|@UAS_ADDR@|$UAS_IP:$UAS_PORT|g" \
	    -e "s|@SBC_ADDR@|$SBC_TLS_IP:$SBC_TLS_PORT|g" \
	    -e "s|@SBC_NAME@|$SBC_NAME|g" \
	    -e "s|@SBC_PORT@|$SBC_TLS_PORT|g" \
	    "$LIB_DIR/cloud/trunk_kamailio.cfg.in" >"$dir/kamailio.cfg"
	sed -e "s|@PKI@|$PKI|g" \
	    -e "s|@CERT_FILE@|${P_CERT[$tag]}.pem|g" \
	    -e "s|@KEY_FILE@|${P_CERT[$tag]}.key|g" \
	    -e "s|@CIPHERS@|$CLOUD_CIPHERS|g" \
	    -e "s|@SBC_NAME@|$SBC_NAME|g" \
	    "$LIB_DIR/cloud4/tls.cfg.in" >"$dir/tls.cfg"
	if grep -q '@[A-Z_0-9]*@' "$dir/kamailio.cfg" "$dir/tls.cfg"; then
		fail "unrendered placeholder in $dir: $(grep -ho '@[A-Z_0-9]*@' "$dir"/*.cfg | sort -u | tr '\n' ' ')"
	fi
	{
		echo "127.0.0.1 localhost"
		for t in $PROXIES; do echo "${P_IP[$t]} ${P_NAME[$t]}"; done
		echo "$SBC_TLS_IP $SBC_NAME"
	} >"$dir/hosts"
	with_hosts_prefix "$dir/hosts"
	require_free_port tcp "$ip" "$CLOUD_TLS_PORT"
	require_free_port udp "$ip" "$CLOUD_UDP_PORT"
	if ! "${HOSTS_PREFIX[@]}" kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.log" 2>&1; then
		cp "$dir/check.log" "$(p_log "$tag")"
		fail "kamailio $tag rejected its configuration (see $dir/check.log)"
	fi
	spawn "$(p_log "$tag")" "${HOSTS_PREFIX[@]}" kamailio -DD -E -f "$dir/kamailio.cfg" \
		-P "$dir/run/kamailio.pid" -Y "$dir/run" -w "$dir" -m 48 -M 8
	P_PID[$tag]=$SPAWNED_PID
	if ! { wait_port tcp "$ip" "$CLOUD_TLS_PORT" 15 "$SPAWNED_PID" &&
	       wait_port udp "$ip" "$CLOUD_UDP_PORT" 5 "$SPAWNED_PID"; }; then
		fail "kamailio $tag did not start listening on $ip:$CLOUD_TLS_PORT/$CLOUD_UDP_PORT"
	fi
}

# kill_proxy TAG: SIGKILL its process group (a crash) and reap it.
kill_proxy() {
	local pid=${P_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -KILL -- "-$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
	P_PID[$1]=
}

# check_proxy_cert TAG OTHER-NAME: the proxy presents a chain that verifies
# for its own name, and not for OTHER-NAME (each trunk has its own name).
check_proxy_cert() {
	local tag=$1 other=$2 out
	out=$(timeout 5 openssl s_client -connect "${P_IP[$tag]}:$CLOUD_TLS_PORT" \
		-servername "${P_NAME[$tag]}" -CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname "${P_NAME[$tag]}" -tls1_2 </dev/null 2>&1) ||
		fail "proxy $tag (${P_IP[$tag]}): no verified TLS 1.2 handshake for ${P_NAME[$tag]}: $(grep -m1 -i 'verify\|error' <<<"$out" || true)"
	if timeout 5 openssl s_client -connect "${P_IP[$tag]}:$CLOUD_TLS_PORT" \
		-servername "$other" -CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname "$other" -tls1_2 </dev/null >/dev/null 2>&1; then
		fail "proxy $tag's certificate also verifies for $other: the trunks' names are not distinct"
	fi
}

# rx TAG: the CLOUD-RX request lines proxy TAG logged so far.
rx() { { grep -a 'CLOUD-RX method=' "$(p_log "$1")" 2>/dev/null || true; } | sed 's/^.*CLOUD-RX /CLOUD-RX /'; }

# rx_call TAG CALLID [METHOD]: its request lines for one Call-ID.
rx_call() { rx "$1" | grep -F "callid=$2 " | { if [ -n "${3:-}" ]; then grep " method=$3 "; else cat; fi; } || true; }

# ruri_user URI / ruri_hostport URI: parts of a SIP URI (params dropped).
uri_user() { sed -E 's/^<?sips?://; s/@.*//; s/;.*//' <<<"$1"; }
uri_hostport() { sed -E 's/^<?sips?:[^@]*@//; s/[;>].*//' <<<"$1"; }
# hdr_user HEADER-VALUE: the user of the URI in a To/From/PAI value.
hdr_user() { sed -E 's/^[^<]*<//; s/^sips?://; s/[@;>].*//' <<<"$1"; }

# tls_conns TAG: the distinct sources of requests tlstrunk sent proxy TAG on
# connections tlstrunk opened (the proxy's own connections to tlstrunk come
# from the TLS server port and are left out), one per line.
tls_conns() {
	rx "$1" | grep ' proto=tls ' | sed -E 's/.* src=([^ ]*) .*/\1/' |
		grep -v ":$SBC_TLS_PORT\$" | sort -u || true
}

# tls_invites TAGS...: the Call-IDs of every INVITE tlstrunk sent the
# proxies TAGS (on its own connections), sorted.
tls_invites() {
	local t
	for t in "$@"; do
		rx "$t" | grep ' method=INVITE ' | grep ' proto=tls ' |
			grep -v " src=[^ ]*:$SBC_TLS_PORT " | sed -E 's/.* callid=([^ ]*) .*/\1/' || true
	done | sort -u
}

# expect_only_calls TRUNK CALLID...: tlstrunk sent TRUNK's proxies INVITEs
# for exactly these calls (no call routed elsewhere ended up there).
expect_only_calls() {
	local trunk=$1 got want t tags=(); shift
	for t in $PROXIES; do [ "${P_TRUNK[$t]}" = "$trunk" ] && tags+=("$t"); done
	got=$(tls_invites "${tags[@]}")
	want=$(printf '%s\n' "$@" | sort -u)
	[ "$got" = "$want" ] || fail "trunk $trunk received INVITEs for Call-IDs [$(tr '\n' ' ' <<<"$got")], expected exactly [$(tr '\n' ' ' <<<"$want")]"
}

# --- sipp ---------------------------------------------------------------------------

# callids_of MSGLOG: every Call-ID in a sipp message log.
callids_of() {
	{ grep -Ei '^(Call-ID|i):' "$1" 2>/dev/null || true; } | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r' | sort -u
}

# rx_invites MSGLOG: one line per INVITE a sipp received (retransmissions
# once): CALLID<TAB>REQUEST-URI<TAB>TO<TAB>FROM.
rx_invites() {
	[ -f "$1" ] || return 0
	tr -d '\r' <"$1" | awk -F'\t' '
		/^-----------------------------------------------/ { flush(); blk = 0; next }
		/message received/ { blk = 1; first = 1; next }
		blk && first && NF { first = 0; if ($0 ~ /^INVITE /) { inv = 1; split($0, a, " "); ruri = a[2] } ; next }
		blk && inv && tolower($0) ~ /^(call-id|i):/ { cid = val($0) }
		blk && inv && tolower($0) ~ /^(to|t):/ { to = val($0) }
		blk && inv && tolower($0) ~ /^(from|f):/ { from = val($0) }
		function val(s) { sub(/^[^:]*:[ \t]*/, "", s); return s }
		function flush() {
			if (inv && cid != "" && !(cid in seen)) { seen[cid] = 1; print cid "\t" ruri "\t" to "\t" from }
			inv = 0; cid = ""; ruri = ""; to = ""; from = ""
		}
		END { flush() }'
}

# pbx_call LABEL SRC DIALED CALLING [SCENARIO]: one call from a PBX address
# through tlstrunk; sets CALL_RC and CALLID (the Call-ID it used).
pbx_call() {
	local label=$1 src=$2 dialed=$3 calling=$4 scen=${5:-pbx_uac_numbers.xml}
	CALL_RC=0
	sipp_run "$label" "$scen" -key calling "$calling" -i "$src" -p "$PBX56_UAC_PORT" \
		-s "$dialed" -d 500 -m 1 "$PBX_IP:$SBC_PBX_PORT" || CALL_RC=$?
	CALLID=$(callids_of "$WORK/sipp-$label.msg.log" | head -1)
	[ -n "$CALLID" ] || fail "$label: sipp sent nothing (see $WORK/sipp-$label.log)"
}

# cloud_call LABEL PROXY-TAG DIALED [SCENARIO]: one call from the cloud sipp
# UAC through proxy TAG's Kamailio; sets CALL_RC and CALLID.
cloud_call() {
	local label=$1 tag=$2 dialed=$3 scen=${4:-cloud_uac.xml}
	CALL_RC=0
	sipp_run "$label" "$scen" -i "$UAS_IP" -p "$CLOUD_UAC_PORT" -s "$dialed" -m 1 \
		"${P_IP[$tag]}:$CLOUD_UDP_PORT" || CALL_RC=$?
	CALLID=$(callids_of "$WORK/sipp-$label.msg.log" | head -1)
	[ -n "$CALLID" ] || fail "$label: sipp sent nothing (see $WORK/sipp-$label.log)"
}

# --- assertions on what the peers received --------------------------------------------

# expect_at_trunk LABEL CALLID TRUNK USER CALLING: exactly one INVITE for
# CALLID reached the proxies, one of TRUNK's; R-URI
# sip:USER;tgrp=..;trunk-context=..@<that proxy's name>:5061;transport=tls,
# To user USER, From user CALLING, PAI user CALLING (when CALLING is not
# empty), nothing at all for CALLID at the other trunk's proxies.
# Sets AT_PROXY (the proxy tag) and AT_RURI.
expect_at_trunk() {
	local label=$1 cid=$2 trunk=$3 user=$4 calling=$5 t inv n tgrp ctx want got
	AT_PROXY=
	for t in $PROXIES; do
		inv=$(rx_call "$t" "$cid" INVITE)
		[ -n "$inv" ] || continue
		if [ "${P_TRUNK[$t]}" != "$trunk" ]; then
			fail "$label: trunk ${P_TRUNK[$t]}'s proxy $t received the INVITE meant for trunk $trunk: $inv"
		fi
		[ -z "$AT_PROXY" ] || fail "$label: the INVITE reached both $AT_PROXY and $t"
		n=$(grep -c . <<<"$inv")
		[ "$n" = 1 ] || fail "$label: proxy $t logged $n INVITEs for Call-ID $cid, expected 1"
		AT_PROXY=$t
		AT_LINE=$inv
	done
	[ -n "$AT_PROXY" ] || fail "$label: no proxy of trunk $trunk received the INVITE (Call-ID $cid)"
	for t in $PROXIES; do
		[ "${P_TRUNK[$t]}" = "$trunk" ] && continue
		[ -z "$(rx_call "$t" "$cid")" ] || fail "$label: trunk ${P_TRUNK[$t]}'s proxy $t saw requests of this call: $(rx_call "$t" "$cid" | head -1)"
	done
	case $trunk in eu) tgrp=$EU_TGRP ctx=$EU_CTX ;; *) tgrp=$US_TGRP ctx=$US_CTX ;; esac
	want="sip:$user;tgrp=$tgrp;trunk-context=$ctx@${P_NAME[$AT_PROXY]}:$CLOUD_TLS_PORT;transport=tls"
	AT_RURI=$(field "$AT_LINE" ruri)
	[ "$AT_RURI" = "$want" ] || fail "$label: $AT_PROXY got Request-URI '$AT_RURI', expected '$want'"
	[ "$(field "$AT_LINE" proto)" = tls ] || fail "$label: the INVITE reached $AT_PROXY over $(field "$AT_LINE" proto), expected tls"
	got=$(field "$AT_LINE" tu)
	[ "$got" = "$user" ] || fail "$label: To user at $AT_PROXY is '$got' (To: $(field "$AT_LINE" to)), expected '$user'"
	if [ -n "$calling" ]; then
		got=$(field "$AT_LINE" fu)
		[ "$got" = "$calling" ] || fail "$label: From user at $AT_PROXY is '$got' (From: $(field "$AT_LINE" from)), expected '$calling'"
		got=$(hdr_user "$(field "$AT_LINE" pai)")
		[ "$got" = "$calling" ] || fail "$label: P-Asserted-Identity user at $AT_PROXY is '$got' ($(field "$AT_LINE" pai)), expected '$calling'"
	fi
	[ -n "$(rx_call "$AT_PROXY" "$cid" BYE)" ] || fail "$label: $AT_PROXY saw no BYE of the call"
}

# expect_nowhere LABEL CALLID: no proxy saw anything of CALLID.
expect_nowhere() {
	local t
	for t in $PROXIES; do
		[ -z "$(rx_call "$t" "$2")" ] || fail "$1: proxy $t received a request of Call-ID $2: $(rx_call "$t" "$2" | head -1)"
	done
}

# expect_at_pbx LABEL CALLID SITE USER: the INVITE of CALLID reached the
# PBX UAS of SITE (a or b) only, with R-URI user and To user USER, sent by
# tlstrunk (top Via); sets PBX_RURI.
expect_at_pbx() {
	local label=$1 cid=$2 site=$3 user=$4 other line to
	other=$([ "$site" = a ] && echo b || echo a)
	line=$(rx_invites "$WORK/sipp-pbx-$site.msg.log" | awk -F'\t' -v c="$cid" '$1 == c')
	[ -n "$line" ] || fail "$label: PBX site_$site received no INVITE for Call-ID $cid"
	PBX_RURI=$(cut -f2 <<<"$line")
	to=$(cut -f3 <<<"$line")
	[ "$(uri_user "$PBX_RURI")" = "$user" ] || fail "$label: site_$site got Request-URI '$PBX_RURI', expected user '$user'"
	[ "$(hdr_user "$to")" = "$user" ] || fail "$label: site_$site got To '$to', expected user '$user'"
	if rx_invites "$WORK/sipp-pbx-$other.msg.log" | cut -f1 | grep -qxF "$cid"; then
		fail "$label: PBX site_$other received the INVITE too"
	fi
}

# expect_no_pbx LABEL CALLID: neither PBX received an INVITE of CALLID.
expect_no_pbx() {
	local s
	for s in a b; do
		if rx_invites "$WORK/sipp-pbx-$s.msg.log" | cut -f1 | grep -qxF "$2"; then
			fail "$1: PBX site_$s received an INVITE of Call-ID $2"
		fi
	done
}

# expect_404_from_tlstrunk LABEL CALLID TAG: proxy TAG got tlstrunk's 404 for
# the INVITE over TLS (not something Kamailio made up).
expect_404_from_tlstrunk() {
	grep -a "trunk=$3 CLOUD-RX-REPLY status=404 method=INVITE " "$(p_log "$3")" | grep -F "callid=$2 " |
		grep -q ' proto=tls ' || fail "$1: proxy $3 did not receive a 404 from tlstrunk over TLS for Call-ID $2"
}

# --- tlstrunk ------------------------------------------------------------------------

# write_multi_config FILE: the configuration of issue 17 under test.
write_multi_config() {
	cat >"$1" <<EOF
[general]
log_level = debug
admin_listen = 127.0.0.1:$ADMIN_PORT

[pbx]
listen = $PBX_IP:$SBC_PBX_PORT
transports = udp,tcp
advertised_address = $PBX_IP

[pbx site_a]
address = $SITE_A_IP:$PBX56_UAS_PORT
allow = $SITE_A_IP/32

[pbx site_b]
address = $SITE_B_IP:$PBX56_UAS_PORT
allow = $SITE_B_IP/32

[cloud]
port = $CLOUD_TLS_PORT
ca_file = $PKI/ca.pem
options_interval = 2

[trunk eu]
hosts = ${P_NAME[eu]}
resolve = ${P_NAME[eu]}=${P_IP[eu]}
tgrp = $EU_TGRP
trunk_context = $EU_CTX
allow = ${P_IP[eu]}/32

[trunk us]
hosts = ${P_NAME[us1]}, ${P_NAME[us2]}
resolve = ${P_NAME[us1]}=${P_IP[us1]}, ${P_NAME[us2]}=${P_IP[us2]}
tgrp = $US_TGRP
trunk_context = $US_CTX
allow = 127.0.0.22/31
options_interval_down = 1
failover_timeout = 2

[rule nat2e164]
to_e164 = 44

[rule e164tonat]
from_e164 = 44

[rule strip9]
strip = 1
only = 9*

[rule ext]
match = ^\+4420(7946)(\d{4})\$
replace = 1\$2

[route a-out]
direction = to_cloud
from_pbx = site_a
number = 0*,00*
trunk = eu
called = nat2e164
calling = nat2e164

[route b-out]
direction = to_cloud
from_pbx = site_b
trunk = us
called = strip9

[route in-a]
direction = to_pbx
number = +442079460000-+442079461999
pbx = site_a
called = e164tonat

[route in-b]
direction = to_pbx
from_trunk = us
number = +15550100*
pbx = site_b

[tls_server]
listen = $SBC_TLS_IP:$SBC_TLS_PORT
cert_file = $PKI/sbc.pem
key_file = $PKI/sbc.key
advertised_name = $SBC_NAME
EOF
}

# line_of FILE REGEX: number of the first line matching REGEX.
line_of() { grep -n -m1 -E -- "$2" "$1" | cut -d: -f1; }

# expect_bad_config LABEL FILE LINES REGEX...: -t exits non-zero, and so
# does a start (before it listens on anything); the message has FILE:LINE:
# (one of LINES, blank-separated) and matches every REGEX (grep -Ei).
expect_bad_config() {
	local label=$1 file=$2 lines=$3 rc out line ok=0 re; shift 3
	rc=0
	out=$("$TLSTRUNK_BIN" -t -c "$file" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$WORK/check-$label.log"
	[ "$rc" != 0 ] || fail "$label: tlstrunk -t accepted the configuration (output: $out)"
	for line in $lines; do grep -qF -- "$file:$line:" <<<"$out" && ok=1; done
	[ "$ok" = 1 ] || fail "$label: -t output lacks '$file:{$lines}:' (got: $out)"
	for re in "$@"; do
		grep -Eiq -- "$re" <<<"$out" || fail "$label: -t output does not match /$re/ (got: $out)"
	done
	rc=0
	out=$(timeout -k 2 10 "$TLSTRUNK_BIN" -c "$file" 2>&1 </dev/null) || rc=$?
	printf '%s\n' "$out" >"$WORK/start-$label.log"
	case $rc in
	0) fail "$label: tlstrunk started and exited 0 with the bad configuration" ;;
	124 | 137) fail "$label: tlstrunk kept running with the bad configuration" ;;
	esac
	ok=0
	for line in $lines; do grep -qF -- "$file:$line:" <<<"$out" && ok=1; done
	[ "$ok" = 1 ] || fail "$label: the start's message lacks '$file:{$lines}:' (got: $out)"
	CHECKS+=("$label: $(grep -m1 -F "$file:" <<<"$out" | sed "s|$WORK/||")")
}

# dry_run NAME ARGS...: `tlstrunk route -c CFG ARGS`; output in
# $WORK/route-NAME.txt, exit status in DRY_RC.
dry_run() {
	local name=$1; shift
	DRY_RC=0
	"$TLSTRUNK_BIN" route -c "$CFG" "$@" >"$WORK/route-$name.txt" 2>&1 || DRY_RC=$?
}

# dry KEY NAME: the value of "KEY: value" in dry run NAME's output.
dry() { sed -n "s/^$1:[[:space:]]*//p" "$WORK/route-$2.txt" | head -1 | tr -d '\r'; }

# expect_dry NAME KEY VALUE
expect_dry() {
	local got
	got=$(dry "$2" "$1")
	[ "$got" = "$3" ] || fail "dry run $1: '$2: $got', expected '$2: $3' (output: $(tr '\n' '|' <"$WORK/route-$1.txt"))"
}

# scrape TAG: /metrics into $WORK/metrics-TAG.txt.
scrape() {
	local code
	code=$(http_get "http://127.0.0.1:$ADMIN_PORT/metrics" "$WORK/metrics-$1")
	[ "$code" = 200 ] || fail "$1: GET /metrics answered $code"
	mv "$WORK/metrics-$1.body" "$WORK/metrics-$1.txt"
}

# proxy_up TAG PROXY: tlstrunk_cloud_proxy_up of PROXY (proxy="NAME" or
# "NAME:PORT", with trunk="..." unless HARNESS) in scrape TAG; "absent".
proxy_up() {
	local f=$WORK/metrics-$1.txt p=$2 v name=${P_NAME[$2]} tl=()
	[ -n "$HARNESS" ] || tl=("trunk=${P_TRUNK[$p]}")
	v=$("$PY" "$CLOUD4_DIR/promparse.py" value "$f" tlstrunk_cloud_proxy_up "${tl[@]}" "proxy=$name") ||
		v=$("$PY" "$CLOUD4_DIR/promparse.py" value "$f" tlstrunk_cloud_proxy_up "${tl[@]}" "proxy=$name:$CLOUD_TLS_PORT") ||
		v=absent
	echo "$v"
}

# wait_options TAG [SECONDS]: proxy TAG has had a request from tlstrunk
# over TLS (its health check): tlstrunk is connected to it.
wait_options() {
	wait_grep "$(p_log "$1")" "trunk=$1 CLOUD-RX method=OPTIONS .* proto=tls " "${2:-10}" ||
		fail "proxy $1 (${P_IP[$1]}) got no OPTIONS from tlstrunk over TLS within ${2:-10} s"
}

# start_pbx_uases / start_cloud_uas: sipp servers that run to the end.
start_pbx_uases() {
	uas4_start pbx-a pbx_uas.xml "$SITE_A_IP" "$PBX56_UAS_PORT"
	uas4_start pbx-b pbx_uas.xml "$SITE_B_IP" "$PBX56_UAS_PORT"
}

# ======================================================================================

test_init
require_tlstrunk
T0=$SECONDS
CHECKS=()
make_certs
for t in $PROXIES; do start_proxy "$t"; done
settle_kam4
check_proxy_cert eu "${P_NAME[us1]}"
check_proxy_cert us1 "${P_NAME[eu]}"
check_proxy_cert us2 "${P_NAME[eu]}"
uas4_start cloud-uas cloud_uas.xml "$UAS_IP" "$UAS_PORT"
start_pbx_uases
log "stand-ins up: eu ${P_IP[eu]} (${P_NAME[eu]}), us ${P_IP[us1]}/${P_IP[us2]}, PBX UASes, cloud UAS ($((SECONDS - T0)) s)"

if [ -n "$HARNESS" ]; then
	# --- harness self-check against a single-trunk tlstrunk ----------------------
	# single_config FILE TRUNK: the standard single-trunk form for eu or us.
	single_config() {
		write_tlstrunk_config "$1"
		ini_set "$1" general admin_listen "127.0.0.1:$ADMIN_PORT"
		ini_set "$1" pbx allow "$SITE_A_IP/32, $SITE_B_IP/32"
		ini_set "$1" cloud options_interval 2
		if [ "$2" = eu ]; then
			ini_set "$1" pbx address "$SITE_A_IP:$PBX56_UAS_PORT"
			ini_set "$1" cloud hosts "${P_NAME[eu]}"
			ini_set "$1" cloud resolve "${P_NAME[eu]}=${P_IP[eu]}"
			ini_set "$1" cloud tgrp "$EU_TGRP"
			ini_set "$1" cloud trunk_context "$EU_CTX"
		else
			ini_set "$1" pbx address "$SITE_B_IP:$PBX56_UAS_PORT"
			ini_set "$1" cloud hosts "${P_NAME[us1]}, ${P_NAME[us2]}"
			ini_set "$1" cloud resolve "${P_NAME[us1]}=${P_IP[us1]}, ${P_NAME[us2]}=${P_IP[us2]}"
			ini_set "$1" cloud tgrp "$US_TGRP"
			ini_set "$1" cloud trunk_context "$US_CTX"
			ini_set "$1" cloud options_interval_down 1
			ini_set "$1" cloud failover_timeout 2
		fi
	}
	CFG=$WORK/single-eu.ini
	single_config "$CFG" eu
	start_tlstrunk "$CFG" "$WORK/tlstrunk-eu.log"
	wait_options eu
	pbx_call h-a-out "$SITE_A_IP" +442079460123 +441234567890
	[ "$CALL_RC" = 0 ] || fail "h-a-out: the call failed (sipp exit $CALL_RC)"
	expect_at_trunk h-a-out "$CALLID" eu +442079460123 +441234567890
	log "h-a-out: $AT_PROXY got $AT_RURI"
	pbx_call h-stranger "$STRANGER_IP" 02079460123 01234567890 pbx_uac_403.xml
	[ "$CALL_RC" = 0 ] || fail "h-stranger: no 403 (sipp exit $CALL_RC)"
	expect_nowhere h-stranger "$CALLID"
	cloud_call h-in-a eu 02079460555
	[ "$CALL_RC" = 0 ] || fail "h-in-a: the call failed (sipp exit $CALL_RC)"
	expect_at_pbx h-in-a "$CALLID" a 02079460555
	log "h-in-a: site_a got $PBX_RURI"
	# Any 404 from tlstrunk exercises cloud_uac_404.xml and the checks: today's
	# build answers one to a Request-URI it cannot rewrite (too long).
	cloud_call h-404 eu "+$(printf '1%.0s' $(seq 1 1100))" cloud_uac_404.xml
	[ "$CALL_RC" = 0 ] || fail "h-404: no 404 (sipp exit $CALL_RC)"
	expect_404_from_tlstrunk h-404 "$CALLID" eu
	expect_no_pbx h-404 "$CALLID"
	[ "$(tls_conns eu | grep -c .)" = 1 ] || fail "harness: eu saw $(tls_conns eu | grep -c .) connections from tlstrunk"
	stop_tlstrunk || fail "tlstrunk (eu) did not exit cleanly"

	CFG=$WORK/single-us.ini
	single_config "$CFG" us
	start_tlstrunk "$CFG" "$WORK/tlstrunk-us.log"
	wait_options us1; wait_options us2
	pbx_call h-b-out "$SITE_B_IP" 15551234567 1000
	[ "$CALL_RC" = 0 ] || fail "h-b-out: the call failed (sipp exit $CALL_RC)"
	expect_at_trunk h-b-out "$CALLID" us 15551234567 1000
	cloud_call h-in-b us1 +15550100777
	[ "$CALL_RC" = 0 ] || fail "h-in-b: the call failed (sipp exit $CALL_RC)"
	expect_at_pbx h-in-b "$CALLID" b +15550100777
	mapfile -t H_US < <(tls_invites us1 us2)
	kill_proxy us1
	# The same background call as step 4 (here it takes trunk us as well).
	sipp4_bg h-fo-a pbx_uac_numbers.xml 40 -key calling +441234567890 -i "$SITE_A_IP" -p 5073 \
		-s 15551234568 -d 3000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
	FO_A_PID=$SIPP_PID
	for i in 1 2; do
		pbx_call "h-fo-$i" "$SITE_B_IP" 15551234567 1000
		[ "$CALL_RC" = 0 ] || fail "h-fo-$i: the call failed after us1 was killed (sipp exit $CALL_RC)"
		expect_at_trunk "h-fo-$i" "$CALLID" us 15551234567 1000
		[ "$AT_PROXY" = us2 ] || fail "h-fo-$i: went to $AT_PROXY"
		H_US+=("$CALLID")
	done
	rc=0
	sipp_wait "$FO_A_PID" 45 || rc=$?
	[ "$rc" = 0 ] || fail "h-fo-a: the background call failed (exit $rc)"
	CALLID=$(callids_of "$WORK/sipp-h-fo-a.msg.log" | head -1)
	expect_at_trunk h-fo-a "$CALLID" us 15551234568 +441234567890
	H_US+=("$CALLID")
	expect_only_calls us "${H_US[@]}"
	sleep 3
	scrape h-after
	log "harness metrics: us1 $(proxy_up h-after us1), us2 $(proxy_up h-after us2)"
	if [ "$(proxy_up h-after us1)" != 0 ] || [ "$(proxy_up h-after us2)" != 1 ]; then
		fail "harness: proxy_up us1 $(proxy_up h-after us1) us2 $(proxy_up h-after us2), expected 0 and 1"
	fi
	pass "harness self-check: 3 stand-ins with distinct certificates, PBX/cloud calls through a single-trunk tlstrunk parsed from the peers' logs, 403, failover to us2, metrics ($((SECONDS - T0)) s)"
fi

# --- 1. configuration: bad ones, the routing table, dry runs -------------------------
CFG=$WORK/multi.ini
write_multi_config "$CFG"

f=$WORK/bad-unknown-trunk.ini
awk '/^\[route b-out\]/{r=1} r && /^trunk = us$/{print "trunk = nope"; r=0; next} {print}' "$CFG" >"$f"
expect_bad_config unknown-trunk "$f" "$(line_of "$f" '^trunk = nope$')" 'trunk' 'unknown'

f=$WORK/bad-regex.ini
sed 's/^match = .*/match = ^(/' "$CFG" >"$f"
expect_bad_config bad-regex "$f" "$(line_of "$f" '^match = \^\($')" 'match'

f=$WORK/bad-shadowed.ini
awk '/^\[tls_server\]/{print "[route shadowed]"; print "direction = to_pbx";
	print "number = +442079460100-+442079460199"; print "pbx = site_b"; print ""} {print}' "$CFG" >"$f"
expect_bad_config shadowed "$f" "$(line_of "$f" '^\[route shadowed\]') $(line_of "$f" '^number = \+442079460100-')" \
	'can never match'

rc=0
"$TLSTRUNK_BIN" -t -c "$CFG" >"$WORK/check-good.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "tlstrunk -t rejected the multi-trunk configuration (exit $rc): $(head -5 "$WORK/check-good.log" | tr '\n' '|')"
for r in a-out b-out in-a in-b; do
	grep -qw -- "$r" "$WORK/check-good.log" || fail "tlstrunk -t does not print route $r (output: $(head -20 "$WORK/check-good.log" | tr '\n' '|'))"
done

want_eu_ruri="sip:+442079460123;tgrp=$EU_TGRP;trunk-context=$EU_CTX@${P_NAME[eu]}:$CLOUD_TLS_PORT;transport=tls"
dry_run a-out --from "$SITE_A_IP" --to 02079460123 --calling 01234567890
[ "$DRY_RC" = 0 ] || fail "dry run a-out exited $DRY_RC: $(tr '\n' '|' <"$WORK/route-a-out.txt")"
expect_dry a-out route a-out
expect_dry a-out trunk eu
expect_dry a-out request-uri "$want_eu_ruri"
[ "$(hdr_user "$(dry to a-out)")" = +442079460123 ] || fail "dry run a-out: to '$(dry to a-out)', expected user +442079460123"
[ "$(hdr_user "$(dry from a-out)")" = +441234567890 ] || fail "dry run a-out: from '$(dry from a-out)', expected user +441234567890"

dry_run b-out --from "$SITE_B_IP" --to 915551234567 --direction to_cloud
[ "$DRY_RC" = 0 ] || fail "dry run b-out exited $DRY_RC: $(tr '\n' '|' <"$WORK/route-b-out.txt")"
expect_dry b-out route b-out
expect_dry b-out trunk us
[ "$(uri_user "$(dry request-uri b-out)")" = 15551234567 ] || fail "dry run b-out: request-uri '$(dry request-uri b-out)', expected user 15551234567"

dry_run in-a --direction to_pbx --from "${P_IP[eu]}" --to +442079460555
[ "$DRY_RC" = 0 ] || fail "dry run in-a exited $DRY_RC: $(tr '\n' '|' <"$WORK/route-in-a.txt")"
expect_dry in-a route in-a
expect_dry in-a pbx site_a
expect_dry in-a request-uri "sip:02079460555@$SITE_A_IP:$PBX56_UAS_PORT"

dry_run in-b --direction to_pbx --from "${P_IP[us1]}" --to +15550100777
[ "$DRY_RC" = 0 ] || fail "dry run in-b exited $DRY_RC: $(tr '\n' '|' <"$WORK/route-in-b.txt")"
expect_dry in-b route in-b
expect_dry in-b pbx site_b

for d in "eu-us-number ${P_IP[eu]} +15550100777" "unknown ${P_IP[eu]} +33123456789"; do
	read -r name src num <<<"$d"
	dry_run "$name" --direction to_pbx --from "$src" --to "$num"
	[ "$DRY_RC" != 0 ] || fail "dry run $name (to_pbx from $src to $num) exited 0; expected no route"
	expect_dry "$name" route none
done
log "1. bad configurations refused, routing table printed, dry runs ok ($((SECONDS - T0)) s)"

# --- 2. PBX -> cloud -------------------------------------------------------------------
start_tlstrunk "$CFG"
for t in $PROXIES; do wait_options "$t"; done
EU_CONN=$(tls_conns eu)
[ "$(grep -c . <<<"$EU_CONN")" = 1 ] || fail "eu saw $(grep -c . <<<"$EU_CONN") TLS connections from tlstrunk at start: $EU_CONN"

pbx_call a-out "$SITE_A_IP" 02079460123 01234567890
[ "$CALL_RC" = 0 ] || fail "a-out: site_a's call did not complete (sipp exit $CALL_RC)"
expect_at_trunk a-out "$CALLID" eu +442079460123 +441234567890
EU_CIDS=("$CALLID")
# The dry run said what the peer got: user and host:port, and the whole URI.
if [ "$(uri_user "$AT_RURI")@$(uri_hostport "$AT_RURI")" != "$(uri_user "$(dry request-uri a-out)")@$(uri_hostport "$(dry request-uri a-out)")" ] ||
	[ "$AT_RURI" != "$(dry request-uri a-out)" ]; then
	fail "a-out: eu received '$AT_RURI', the dry run said '$(dry request-uri a-out)'"
fi
CHECKS+=("a-out: eu got $AT_RURI, From/PAI +441234567890")

pbx_call b-out "$SITE_B_IP" 915551234567 1000
[ "$CALL_RC" = 0 ] || fail "b-out: site_b's call did not complete (sipp exit $CALL_RC)"
expect_at_trunk b-out "$CALLID" us 15551234567 1000
US_CIDS=("$CALLID")
[ "$(uri_user "$AT_RURI")" = "$(uri_user "$(dry request-uri b-out)")" ] ||
	fail "b-out: $AT_PROXY received user '$(uri_user "$AT_RURI")', the dry run said '$(dry request-uri b-out)'"
CHECKS+=("b-out: $AT_PROXY got $AT_RURI")

pbx_call stranger "$STRANGER_IP" 02079460123 01234567890 pbx_uac_403.xml
[ "$CALL_RC" = 0 ] || fail "stranger: $STRANGER_IP did not get a bare 403 (sipp exit $CALL_RC; see sipp-stranger.msg.log)"
expect_nowhere stranger "$CALLID"
log "2. PBX -> cloud: a-out via eu, b-out via $AT_PROXY, $STRANGER_IP refused ($((SECONDS - T0)) s)"

# --- 3. cloud -> PBX -------------------------------------------------------------------
cloud_call in-a eu +442079460555
[ "$CALL_RC" = 0 ] || fail "in-a: the call from eu to +442079460555 did not complete (sipp exit $CALL_RC)"
expect_at_pbx in-a "$CALLID" a 02079460555
[ "$(uri_user "$PBX_RURI")@$(uri_hostport "$PBX_RURI")" = "$(uri_user "$(dry request-uri in-a)")@$(uri_hostport "$(dry request-uri in-a)")" ] ||
	fail "in-a: site_a received '$PBX_RURI', the dry run said '$(dry request-uri in-a)'"
CHECKS+=("in-a: site_a got $PBX_RURI")

cloud_call in-b us1 +15550100777
[ "$CALL_RC" = 0 ] || fail "in-b: the call from us to +15550100777 did not complete (sipp exit $CALL_RC)"
expect_at_pbx in-b "$CALLID" b +15550100777
CHECKS+=("in-b: site_b got $PBX_RURI")

cloud_call eu-us-number eu +15550100777 cloud_uac_404.xml
[ "$CALL_RC" = 0 ] || fail "eu-us-number: +15550100777 from trunk eu did not get 404 (sipp exit $CALL_RC; see sipp-eu-us-number.msg.log)"
expect_404_from_tlstrunk eu-us-number "$CALLID" eu
expect_no_pbx eu-us-number "$CALLID"

cloud_call unknown eu +33123456789 cloud_uac_404.xml
[ "$CALL_RC" = 0 ] || fail "unknown: +33123456789 did not get 404 (sipp exit $CALL_RC; see sipp-unknown.msg.log)"
expect_404_from_tlstrunk unknown "$CALLID" eu
expect_no_pbx unknown "$CALLID"
log "3. cloud -> PBX: in-a, in-b delivered, 2x 404 ($((SECONDS - T0)) s)"

# --- 4. failover inside trunk us --------------------------------------------------------
scrape before
for p in eu us1 us2; do
	[ "$(proxy_up before "$p")" = 1 ] || fail "before the kill: tlstrunk_cloud_proxy_up for $p (trunk ${P_TRUNK[$p]}) is $(proxy_up before "$p"), expected 1 ($(grep -a '^tlstrunk_cloud_proxy_up' "$WORK/metrics-before.txt" | tr '\n' ';'))"
done
us2_before=$(rx us2 | grep -c ' method=INVITE ' || true)
kill_proxy us1
log "4. us1 (${P_IP[us1]}) killed"
# site_a's call to eu runs while site_b's calls fail over inside trunk us.
sipp4_bg fo-a pbx_uac_numbers.xml 40 -key calling 01234567890 -i "$SITE_A_IP" -p 5073 \
	-s 02079460124 -d 3000 -m 1 "$PBX_IP:$SBC_PBX_PORT"
FO_A_PID=$SIPP_PID
for i in 1 2; do
	pbx_call "fo-b$i" "$SITE_B_IP" 915551234567 1000
	[ "$CALL_RC" = 0 ] || fail "fo-b$i: site_b's call after us1 was killed did not complete (sipp exit $CALL_RC)"
	expect_at_trunk "fo-b$i" "$CALLID" us 15551234567 1000
	[ "$AT_PROXY" = us2 ] || fail "fo-b$i: went to $AT_PROXY, which is dead"
	US_CIDS+=("$CALLID")
done
rc=0
sipp_wait "$FO_A_PID" 45 || rc=$?
[ "$rc" = 0 ] || fail "fo-a: site_a's call to eu during the failover did not complete (exit $rc)"
CALLID=$(callids_of "$WORK/sipp-fo-a.msg.log" | head -1)
expect_at_trunk fo-a "$CALLID" eu +442079460124 +441234567890
EU_CIDS+=("$CALLID")
# Each trunk got the calls routed to it, and nothing else.
expect_only_calls eu "${EU_CIDS[@]}"
expect_only_calls us "${US_CIDS[@]}"
us2_after=$(rx us2 | grep -c ' method=INVITE ' || true)
[ $((us2_after - us2_before)) -ge 2 ] || fail "failover: us2 received $((us2_after - us2_before)) INVITEs after the kill, expected >= 2"

# eu was never reconnected: every request tlstrunk sent it came on one connection.
conns=$(tls_conns eu)
[ "$conns" = "$EU_CONN" ] ||
	fail "eu saw tlstrunk's requests on $(grep -c . <<<"$conns") connections ($(tr '\n' ' ' <<<"$conns")), expected only $EU_CONN"
# tlstrunk's view: eu untouched, us lb01 down, lb02 up (given time to notice).
for i in $(seq 1 30); do
	scrape after
	[ "$(proxy_up after us1)" = 0 ] && break
	sleep 0.2
done
[ "$(proxy_up after eu)" = 1 ] || fail "after the kill: eu's proxy_up is $(proxy_up after eu), expected 1"
[ "$(proxy_up after us1)" = 0 ] || fail "after the kill: us lb01's proxy_up is $(proxy_up after us1), expected 0"
[ "$(proxy_up after us2)" = 1 ] || fail "after the kill: us lb02's proxy_up is $(proxy_up after us2), expected 1"
CHECKS+=("failover: 2 calls via us2, eu call alongside, eu on one connection ($EU_CONN)")

log "$(printf '%s; ' "${CHECKS[@]}")"
pass "routes and rewriting across 2 PBXs and 2 trunks checked at the peers; bad configs refused with file:line; dry runs match; failover in us left eu alone ($((SECONDS - T0)) s)"

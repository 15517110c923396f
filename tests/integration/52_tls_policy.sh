#!/usr/bin/env bash
# 52_tls_policy.sh - tlstrunk's TLS policy seen from outside, with tools that
# are not ours (issue 5, "Proof").
#
# Server side (tlstrunk's listener 127.0.0.1:15061), `sslscan` and
# `openssl s_client`:
#   - only TLS 1.2: 1.0, 1.1 (offered for real: SECLEVEL=0) and 1.3 refused
#   - the accepted suites are exactly the default six (sslscan's list): the
#     spec's eight less the two the cloud deprecated (AES256-SHA256,
#     ECDHE-RSA-AES256-SHA384); each one completes a handshake alone, suites
#     outside the list (the deprecated two included) do not
#   - ECDHE only on secp384r1: prime256v1 / X25519 alone fail, secp384r1 works
#   - the full chain is sent: leaf + intermediate, and it verifies against
#     the root alone
#   second run with [cloud] tls_max_version = 1.3: 1.3 accepted (still only
#   with secp384r1), 1.2 too, 1.1 still refused.
#   third run with the deprecated two added to [cloud] ciphers: both work
#   again, and the start logs one warning for each, naming the suite, the
#   key and the file.
# Client side (tlstrunk -> `openssl s_server` in the cloud's place), a server
# that offers (a) TLS 1.3 only, (b) TLS 1.1 only, (c) ECDHE suites on
# prime256v1 only, (d) only a suite outside the list, (e) only the two
# deprecated suites: each time the PBX's call gets 503, no SIP crosses, and
# tlstrunk's log says why.  A well configured s_server first, as the
# control: the handshake completes, and the ClientHello it received (its
# -trace) offers exactly the default six, in their order, and secp384r1
# alone.  With the deprecated two configured, a server that has only
# AES256-SHA256 is reached with it.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# The suites the cloud deprecated (byoc-tls.md), and tlstrunk's default
# [cloud] ciphers in its order: the other six of the spec's eight (lib.sh's
# CLOUD_CIPHERS, which the Kamailio stand-in still accepts), ECDHE-GCM first.
DEPRECATED_SUITES="AES256-SHA256 ECDHE-RSA-AES256-SHA384"
DEFAULT_SUITES="ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-SHA
AES256-GCM-SHA384 AES128-GCM-SHA256 AES256-SHA"
# One per line, sorted: what sslscan must list.
EXPECTED_SUITES=$(tr ' ' '\n' <<<"$DEFAULT_SUITES" | sort)
if [ "$(tr ' ' '\n' <<<"$DEFAULT_SUITES $DEPRECATED_SUITES" | sort)" != \
	"$(tr ':' '\n' <<<"$CLOUD_CIPHERS" | sort)" ]; then
	echo "FAIL: 52_tls_policy: the six and the deprecated two are not lib.sh's eight" >&2
	exit 1
fi
# Real TLS 1.2 suites that are not in the list.
OUTSIDE_SUITES="AES128-SHA AES128-SHA256 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES128-SHA256
ECDHE-RSA-CHACHA20-POLY1305 DHE-RSA-AES256-GCM-SHA384 AES256-CCM"
ECDHE_SUITES=$(tr ':' '\n' <<<"$CLOUD_CIPHERS" | grep '^ECDHE' | paste -sd: -)

CHECKS=()
ok() { CHECKS+=("$*"); log "ok: $*"; }

# ensure_sslscan: the Debian package, installed here when missing (root).
ensure_sslscan() {
	command -v sslscan >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || fail "sslscan is not installed (apt-get install sslscan)"
	log "installing sslscan"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sslscan ||
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends sslscan; }; } >"$WORK/apt.log" 2>&1 ||
		fail "cannot install sslscan (see $WORK/apt.log)"
}

# wait_free udp|tcp IP PORT: other test runs share the fixed ports; wait
# (up to 3 minutes) instead of failing at once.
wait_free() {
	local i
	for i in $(seq 1 1800); do
		port_listening "$1" "$2" "$3" || return 0
		[ $((i % 100)) = 1 ] && log "waiting for $1 $2:$3 to be free"
		sleep 0.1
	done
	fail "$1 $2:$3 stayed busy for 3 minutes"
}

start_ours() { # start_ours CONFIG LOG
	wait_free udp "$PBX_IP" "$SBC_PBX_PORT"
	wait_free tcp "$PBX_IP" "$SBC_PBX_PORT"
	wait_free tcp "$SBC_TLS_IP" "$SBC_TLS_PORT"
	start_tlstrunk "$1" "$2"
}

# hs NAME S_CLIENT_ARGS...: one handshake against tlstrunk's listener; the
# transcript in $WORK/s_client-NAME.log; true when it completed.
hs() {
	local name=$1 out; shift
	out=$WORK/s_client-$name.log
	timeout 15 openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" \
		-servername "$SBC_NAME" "$@" </dev/null >"$out" 2>&1 || true
	# "New, TLSv1.2, Cipher is X" on success, "Cipher is (NONE)" otherwise.
	grep -aq '^New, .*Cipher is ' "$out" && ! grep -aq 'Cipher is (NONE)' "$out"
}

must_hs() { local n=$1; shift; hs "$n" "$@" || fail "$n: handshake failed (see $WORK/s_client-$n.log)"; }
must_not_hs() { local n=$1; shift; ! hs "$n" "$@" || fail "$n: handshake completed, must be refused (see $WORK/s_client-$n.log)"; }

# sslscan_run NAME: sslscan's report in $WORK/sslscan-NAME.log
sslscan_run() {
	timeout 120 sslscan --no-colour --sni-name="$SBC_NAME" "$SBC_TLS_IP:$SBC_TLS_PORT" \
		>"$WORK/sslscan-$1.log" 2>&1 || fail "sslscan failed (see $WORK/sslscan-$1.log)"
}

# scan_protocols NAME: "TLSv1.2 TLSv1.3"... the enabled ones.
scan_protocols() {
	awk '$2 == "enabled" && $1 ~ /^(SSLv|TLSv)/ {print $1}' "$WORK/sslscan-$1.log" | paste -sd' ' -
}

# --- server side --------------------------------------------------------------------

server_default() {
	local scan=default suites groups n
	start_ours "$WORK/tlstrunk.ini" "$WORK/tlstrunk-server.log"
	sslscan_run "$scan"

	[ "$(scan_protocols "$scan")" = "TLSv1.2" ] ||
		fail "sslscan: enabled protocols are '$(scan_protocols "$scan")', want only TLSv1.2"
	must_not_hs tls1_0 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
	must_not_hs tls1_1 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	must_not_hs tls1_3 -tls1_3
	grep -aEq 'alert protocol version|unsupported protocol|wrong version number' \
		"$WORK/s_client-tls1_1.log" || fail "tls1_1: not refused for its version (see s_client-tls1_1.log)"
	must_hs tls1_2 -tls1_2
	ok "protocols: sslscan sees only TLSv1.2; s_client 1.0/1.1/1.3 refused, 1.2 accepted"

	suites=$(awk '$1 ~ /^(Preferred|Accepted)$/ {print $5}' "$WORK/sslscan-$scan.log" | sort)
	if [ "$suites" != "$EXPECTED_SUITES" ]; then
		fail "sslscan: accepted suites differ from the default six:
$(diff <(echo "$EXPECTED_SUITES") <(echo "$suites") || true)"
	fi
	for s in $DEPRECATED_SUITES; do
		! grep -qw -- "$s" <<<"$suites" || fail "sslscan: the deprecated $s is accepted"
		must_not_hs "deprecated-$s" -tls1_2 -cipher "$s"
	done
	n=0
	for s in $EXPECTED_SUITES; do
		must_hs "suite-$s" -tls1_2 -cipher "$s"
		grep -aq "Cipher is $s" "$WORK/s_client-suite-$s.log" || fail "suite $s: another suite was chosen"
		n=$((n + 1))
	done
	for s in $OUTSIDE_SUITES; do
		must_not_hs "outside-$s" -tls1_2 -cipher "$s"
	done
	ok "suites: sslscan lists exactly the default $n, not the deprecated $DEPRECATED_SUITES (refused alone too); each alone works; $(wc -w <<<"$OUTSIDE_SUITES") others refused"

	groups=$(sed -n '/Server Key Exchange Group/,/^$/p' "$WORK/sslscan-$scan.log" |
		awk '$1 ~ /^TLSv/ {print $4}' | sort -u | paste -sd' ' -)
	[ "$groups" = "secp384r1" ] || fail "sslscan: key exchange groups are '$groups', want only secp384r1"
	must_not_hs group-p256 -tls1_2 -cipher "$ECDHE_SUITES" -groups prime256v1
	must_not_hs group-x25519 -tls1_2 -cipher "$ECDHE_SUITES" -groups X25519
	must_hs group-p384 -tls1_2 -cipher "$ECDHE_SUITES" -groups secp384r1
	grep -aEq '(Server|Peer) Temp Key: ECDH, (secp384r1|P-384)' "$WORK/s_client-group-p384.log" ||
		fail "group-p384: the key exchange did not use secp384r1 (see s_client-group-p384.log)"
	ok "ECDHE: sslscan lists only secp384r1; prime256v1 and X25519 alone refused, secp384r1 used"

	must_hs chain -tls1_2 -showcerts -CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname "$SBC_NAME"
	n=$(grep -ac -- '-----BEGIN CERTIFICATE-----' "$WORK/s_client-chain.log")
	[ "$n" = 2 ] || fail "chain: $n certificates sent, want 2 (leaf + intermediate)"
	grep -aEq '^ *0 s:.*CN ?= ?sbc\.test\.example' "$WORK/s_client-chain.log" || fail "chain: certificate 0 is not the leaf"
	grep -aEq '^ *1 s:.*CN ?= ?tlstrunk Test Intermediate CA' "$WORK/s_client-chain.log" ||
		fail "chain: certificate 1 is not the intermediate"
	grep -aq 'Verify return code: 0 (ok)' "$WORK/s_client-chain.log" || fail "chain: does not verify against the root alone"
	# Control: the leaf alone does not verify against the root, so the
	# success above needed the intermediate tlstrunk sent.
	if openssl verify -CAfile "$PKI/ca.pem" "$PKI/sbc-leaf.pem" >/dev/null 2>&1; then
		fail "chain: the leaf verifies without its intermediate? (test PKI broken)"
	fi
	ok "chain: leaf + intermediate sent, verified with only ca.pem trusted"

	stop_tlstrunk || fail "tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
}

server_tls13() {
	local cfg=$WORK/tlstrunk-13.ini scan=tls13
	write_tlstrunk_config "$cfg"
	# tls_max_version belongs in [cloud]: append it there.
	sed -i 's/^\[cloud\]$/[cloud]\ntls_max_version = 1.3/' "$cfg"
	grep -q '^tls_max_version = 1.3' "$cfg" || fail "could not write $cfg"
	start_ours "$cfg" "$WORK/tlstrunk-server13.log"
	sslscan_run "$scan"
	[ "$(scan_protocols "$scan")" = "TLSv1.2 TLSv1.3" ] ||
		fail "tls_max_version = 1.3: sslscan sees '$(scan_protocols "$scan")', want TLSv1.2 TLSv1.3"
	must_hs 13-tls1_3 -tls1_3
	grep -aq 'New, TLSv1.3' "$WORK/s_client-13-tls1_3.log" || fail "13-tls1_3: not TLS 1.3"
	must_hs 13-tls1_2 -tls1_2
	must_not_hs 13-tls1_1 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	must_not_hs 13-x25519 -tls1_3 -groups X25519
	must_hs 13-p384 -tls1_3 -groups secp384r1
	ok "tls_max_version = 1.3: sslscan sees TLSv1.2 + TLSv1.3; 1.3 works only on secp384r1; 1.1 still refused"
	stop_tlstrunk || fail "tlstrunk (1.3) did not exit cleanly (see $TLSTRUNK_LOG)"
}

# with_deprecated CONFIG: the test configuration with [cloud] ciphers = the
# default six and then the deprecated two.
with_deprecated() {
	write_tlstrunk_config "$1"
	sed -i "s/^\[cloud\]\$/[cloud]\nciphers = $(tr ' \n' ',,' <<<"$DEFAULT_SUITES $DEPRECATED_SUITES" | sed 's/,$//')/" "$1"
	grep -q '^ciphers = .*AES256-SHA256' "$1" || fail "could not write $1"
}

# Configured, the deprecated suites still work, and the start says that the
# cloud deprecated each (tlstrunk -t and doctor: tests 60 and 82).
server_deprecated() {
	local cfg=$WORK/tlstrunk-deprecated.ini s line
	with_deprecated "$cfg"
	start_ours "$cfg" "$WORK/tlstrunk-server-deprecated.log"
	line=$(grep -n '^ciphers = ' "$cfg" | cut -d: -f1)
	for s in $DEPRECATED_SUITES; do
		must_hs "configured-$s" -tls1_2 -cipher "$s"
		grep -aq "Cipher is $s" "$WORK/s_client-configured-$s.log" || fail "configured $s: another suite was chosen"
		grep -aF "$cfg:$line: [cloud] ciphers: $s (" "$TLSTRUNK_LOG" |
			grep -aqE '^[^ ]+ warn  .* is deprecated by the cloud' ||
			fail "configured $s: no start-up warning naming $s, [cloud] ciphers and $cfg:$line (see $TLSTRUNK_LOG)"
	done
	ok "deprecated suites configured: both work; start-up warns: $(grep -a -m1 'is deprecated by the cloud' "$TLSTRUNK_LOG" | sed 's/^[^ ]* warn  //')"
	stop_tlstrunk || fail "tlstrunk (deprecated) did not exit cleanly (see $TLSTRUNK_LOG)"
}

# --- client side ----------------------------------------------------------------------

# hello_suites LOG: the OpenSSL names of the suites of the first ClientHello
# in an s_server -trace log, in order, space-separated (SCSV left out).
hello_suites() {
	local iana map
	iana=$(awk '/ClientHello/ { in_hello = 1 }
		in_hello && /cipher_suites \(len=/ { in_list = 1; next }
		in_list && /^ *\{0x/ { print $NF; next }
		in_list { exit }' "$1")
	map=$(openssl ciphers -stdname -tls1_2 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | awk '{print $1, $3}')
	for s in $iana; do
		[ "$s" = TLS_EMPTY_RENEGOTIATION_INFO_SCSV ] && continue
		awk -v s="$s" '$1 == s { print $2; f = 1 } END { if (!f) print s }' <<<"$map"
	done | paste -sd' ' -
}

# hello_groups LOG: the supported_groups of that ClientHello.
hello_groups() {
	awk '/ClientHello/ { in_hello = 1 }
		in_hello && /extension_type=supported_groups/ { in_list = 1; next }
		in_list && /extension_type=/ { exit }
		in_list { print $1 }' "$1" | paste -sd' ' -
}

# start_s_server LABEL ARGS...: openssl s_server on the cloud's address with
# the cloud's good certificate chain.
start_s_server() {
	local label=$1; shift
	wait_free tcp "$CLOUD_IP" "$CLOUD_TLS_PORT"
	spawn "$WORK/s_server-$label.log" openssl s_server -accept "$CLOUD_IP:$CLOUD_TLS_PORT" \
		-cert "$PKI/cloud-leaf.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/cloud.key" \
		-quiet "$@"
	S_SERVER_PID=$SPAWNED_PID
	wait_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT" 5 "$S_SERVER_PID" ||
		fail "$label: openssl s_server did not start"
}

client_control() {
	local offered groups
	# -trace: the ClientHello as the server received it.
	start_s_server control -tls1_2 -cipher "$CLOUD_CIPHERS" -groups secp384r1 -trace
	start_ours "$WORK/tlstrunk.ini" "$WORK/tlstrunk-control.log"
	# tlstrunk opens its cloud connection at start (OPTIONS ping).
	wait_grep "$TLSTRUNK_LOG" 'tls conn #[0-9]+ to .* up: TLSv1\.2' 15 ||
		fail "control: no TLS 1.2 connection to a well-configured s_server (see $TLSTRUNK_LOG)"
	stop_tlstrunk || fail "control: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	kill_group "$S_SERVER_PID"
	ok "client control: TLS 1.2 with $(grep -aoE 'up: TLSv1\.2 [A-Z0-9-]+' "$WORK/tlstrunk-control.log" | head -1 | cut -d' ' -f3) to a server within the policy"
	offered=$(hello_suites "$WORK/s_server-control.log")
	[ "$offered" = "$(echo $DEFAULT_SUITES)" ] ||
		fail "client: the ClientHello s_server received offers '$offered', want the default six in order: $(echo $DEFAULT_SUITES) (see $WORK/s_server-control.log)"
	groups=$(hello_groups "$WORK/s_server-control.log")
	[ "$groups" = secp384r1 ] || fail "client: the ClientHello offers the groups '$groups', want secp384r1 alone"
	ok "client offers (s_server's -trace of the ClientHello): $offered; groups $groups; not $DEPRECATED_SUITES"
}

# The deprecated two, when configured, are offered and used.
client_deprecated_configured() {
	local cfg=$WORK/tlstrunk-client-deprecated.ini offered
	with_deprecated "$cfg"
	start_s_server deprecated-configured -tls1_2 -cipher AES256-SHA256 -trace
	start_ours "$cfg" "$WORK/tlstrunk-client-deprecated.log"
	wait_grep "$TLSTRUNK_LOG" 'tls conn #[0-9]+ to .* up: TLSv1\.2 AES256-SHA256' 15 ||
		fail "deprecated configured: no TLS 1.2 connection with AES256-SHA256 (see $TLSTRUNK_LOG)"
	stop_tlstrunk || fail "deprecated configured: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	kill_group "$S_SERVER_PID"
	offered=$(hello_suites "$WORK/s_server-deprecated-configured.log")
	[ "$offered" = "$(echo $DEFAULT_SUITES $DEPRECATED_SUITES)" ] ||
		fail "deprecated configured: the ClientHello offers '$offered', want the six then the two"
	ok "client with the deprecated two configured: offers them last, reaches an AES256-SHA256-only server"
}

# client_case LABEL REASON_REGEX S_SERVER_ARGS...
client_case() {
	local label=$1 reason=$2 rc=0; shift 2
	start_s_server "$label" "$@"
	start_ours "$WORK/tlstrunk.ini" "$WORK/tlstrunk-$label.log"
	wait_free udp "$PBX_IP" 5070
	sipp_run "pbx-$label" pbx_uac_503.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
		"$PBX_IP:$SBC_PBX_PORT" || rc=$?
	stop_tlstrunk || fail "$label: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	kill_group "$S_SERVER_PID"
	[ "$rc" = 0 ] || fail "$label: the PBX did not get a 503 (sipp exit $rc; see sipp-pbx-$label.msg.log)"
	grep -aq 'SSL routines' "$WORK/s_server-$label.log" ||
		fail "$label: s_server saw no TLS handshake from tlstrunk"
	if grep -aq INVITE "$WORK/s_server-$label.log"; then
		fail "$label: SIP (an INVITE) crossed a connection outside the policy"
	fi
	grep -aEiq -- "closed: TLS handshake with .*($reason)" "$TLSTRUNK_LOG" ||
		fail "$label: tlstrunk's log does not give the reason (/$reason/i) (see $TLSTRUNK_LOG)"
	ok "client refuses $label: 503 to the PBX; log: $(grep -aEio -- "closed: TLS handshake with .*($reason).*" "$TLSTRUNK_LOG" | head -1 | sed 's/^.*SSL routines:://')"
}

test_init
ensure_sslscan
require_tlstrunk
write_tlstrunk_config "$WORK/tlstrunk.ini"

server_default
server_tls13
server_deprecated

client_control
client_deprecated_configured
client_case tls13-only 'alert protocol version|unsupported protocol|wrong version number' \
	-tls1_3
client_case tls11-only 'alert protocol version|unsupported protocol|wrong version number' \
	-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
client_case p256-only 'alert handshake failure|no shared cipher' \
	-tls1_2 -groups prime256v1 -cipher "$ECDHE_SUITES"
client_case suite-outside 'alert handshake failure|no shared cipher' \
	-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
client_case deprecated-only 'alert handshake failure|no shared cipher' \
	-tls1_2 -cipher "$(tr ' ' ':' <<<"$DEPRECATED_SUITES")"

pass "$(IFS=';'; echo "${CHECKS[*]}")"

#!/usr/bin/env bash
# 50_tls_negative.sh - tlstrunk must refuse a cloud proxy it cannot trust and
# fail the call with 503, never sending SIP over such a connection.
# Instead of Kamailio, `openssl s_server` listens on the cloud's address and
# presents, one case per tlstrunk run:
#   wrongname  a valid chain for other.example.net       -> hostname mismatch
#   expired    lb01's name, validity in the past         -> certificate has expired
#   untrusted  lb01's name from a CA not in ca.pem       -> unknown issuer
#   cipher     the good cert, but only a suite outside the cloud's list
# Each case: the PBX sipp gets 503, s_server never sees "INVITE", and the
# tlstrunk log says why.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# start_s_server LABEL ARGS...: a TLS 1.2 server on the cloud's address.
start_s_server() {
	local label=$1; shift
	require_free_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT"
	spawn "$WORK/s_server-$label.log" openssl s_server -accept "$CLOUD_IP:$CLOUD_TLS_PORT" \
		-tls1_2 -quiet "$@"
	S_SERVER_PID=$SPAWNED_PID
	wait_port tcp "$CLOUD_IP" "$CLOUD_TLS_PORT" 5 "$S_SERVER_PID" ||
		fail "$label: openssl s_server did not start"
}

# run_case LABEL REASON_REGEX S_SERVER_ARGS...
run_case() {
	local label=$1 reason=$2 rc=0; shift 2
	start_s_server "$label" "$@"
	start_tlstrunk "$WORK/tlstrunk.ini" "$WORK/tlstrunk-$label.log"
	sipp_run "pbx-$label" pbx_uac_503.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
		"$PBX_IP:$SBC_PBX_PORT" || rc=$?
	stop_tlstrunk || fail "$label: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	kill_group "$S_SERVER_PID"
	[ "$rc" = 0 ] || fail "$label: the PBX did not get a 503 (sipp exit $rc; see sipp-pbx-$label.msg.log)"
	# s_server logs the failed handshake: proof that tlstrunk did connect.
	grep -aq 'SSL routines' "$WORK/s_server-$label.log" ||
		fail "$label: s_server saw no TLS handshake from tlstrunk"
	if grep -aq INVITE "$WORK/s_server-$label.log"; then
		fail "$label: SIP (an INVITE) was sent over the untrusted connection"
	fi
	grep -Eiq -- "$reason" "$TLSTRUNK_LOG" ||
		fail "$label: tlstrunk's log does not give the reason (/$reason/i)"
	RESULTS+=("$label: $(grep -Eio -- "$reason" "$TLSTRUNK_LOG" | head -1)")
}

RESULTS=()
test_init
write_tlstrunk_config "$WORK/tlstrunk.ini"

run_case wrongname 'hostname mismatch' \
	-cert "$PKI/wrongname-leaf.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/wrongname.key"
run_case expired 'certificate has expired' \
	-cert "$PKI/expired-leaf.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/expired.key"
run_case untrusted 'unable to get local issuer certificate|self.signed certificate in certificate chain|unable to get issuer' \
	-cert "$PKI/untrusted-leaf.pem" -cert_chain "$PKI/rogue-ca.pem" -key "$PKI/untrusted.key"
# AES128-SHA is a real RSA suite that the cloud does not accept.
run_case cipher 'handshake failure|no shared cipher|no ciphers available|alert' \
	-cert "$PKI/cloud-leaf.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/cloud.key" \
	-cipher AES128-SHA

pass "503 with no SIP sent in every case; reasons: $(IFS=';'; echo "${RESULTS[*]}")"

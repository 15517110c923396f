#!/usr/bin/env bash
# 54_mutual_crl.sh - mutual TLS on tlstrunk's listener ([tls_server] mutual,
# client_ca_file) and certificate revocation ([cloud] crl_file), with real
# peers: openssl s_client and the Kamailio cloud toward tlstrunk's listener,
# the Kamailio cloud behind tlstrunk's client side, sipp on both ends.
# The certificates and CRLs come from tests/pki.sh (client-ca, other-ca,
# client*, crl-*).
#
# A) mutual = on, client_ca_file = client-ca.pem, no CRL. s_client:
#      no certificate                         -> refused
#      a certificate from another CA          -> refused
#      the cloud's certificate (ca.pem's PKI, trusted toward the cloud but
#      not for clients)                       -> refused
#      a certificate from client-ca           -> handshake, OPTIONS gets 200
#      the same, offering to resume its TLS 1.2 session (s_client
#      -reconnect)                            -> six handshakes, none refused
#    Client certificates without clientAuth (the cloud's have had serverAuth
#    only since 2026-03; made here, from client-ca):
#      extended key usage serverAuth only     -> handshake, OPTIONS gets 200
#      the same under an intermediate that is
#      itself serverAuth only                 -> handshake, OPTIONS gets 200
#      serverAuth only, expired               -> refused (dates still checked)
#      codeSigning only (no TLS purpose)      -> refused (purpose still checked)
#    and a call from the cloud side (Kamailio presenting the serverAuth-only
#    certificate as its client certificate) reaches the PBX and completes.
#    Each refusal: the handshake fails for s_client, and tlstrunk logs
#    exactly one line for that connection, saying why.
# B) [cloud] crl_file, a call from the PBX to the Kamailio cloud:
#      the intermediate's CRL revokes the cloud's certificate
#                        -> 503, no CLOUD-RX line, log: certificate revoked
#      the intermediate's CRL, nothing revoked (and no CRL of the root in
#      the file)         -> the call completes
#      the root's CRL revokes the intermediate (with the intermediate's own
#      CRL beside it)    -> 503, no CLOUD-RX line, log: revoked, depth 1
# C) mutual = on and crl_file = the intermediate's CRL + client-ca's CRL:
#      the revoked client certificate -> refused, log: certificate revoked
#      the good one                   -> handshake, OPTIONS gets 200
#    and with a crl_file that has no CRL for client-ca at all, the good
#    client is refused too ("unable to get certificate CRL"): a configured
#    CRL check fails closed for the leaf's issuer.  With a client-ca CRL that
#    revokes a serverAuth-only certificate: that one refused (revoked), a
#    good serverAuth-only one accepted.
#
# CRL semantics asserted (proxy/tls.c): the leaf's issuer must have a CRL in
# crl_file; an intermediate is checked when its issuer's CRL is in the file,
# and a missing one for it is not an error.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

CHECKS=()
ok() { CHECKS+=("$*"); log "ok: $*"; }

# The cloud stand-in presents a client certificate (from client-ca) when it
# connects to tlstrunk: its rendered tls.cfg gains certificate/private_key
# in [client:default], the last profile of tests/cloud/tls.cfg.in. The
# library's renderer is kept under another name and wrapped.  Which
# certificate: CLOUD_CLIENT (a PEM file, its key beside it as .key), the
# serverAuth-only one made below, as the cloud's are since 2026-03.
eval "$(declare -f render_cloud_config | sed '1s/^render_cloud_config/lib_render_cloud_config/')"
render_cloud_config() {
	lib_render_cloud_config "$@"
	local cfg=$1/tls.cfg
	[ "$(grep -E '^\[' "$cfg" | tail -1)" = "[client:default]" ] ||
		fail "the last profile of $cfg is not [client:default]; cannot add a client certificate"
	printf '%s\n' "certificate = $CLOUD_CLIENT.pem" "private_key = $CLOUD_CLIENT.key" >>"$cfg"
}

# Client certificates without clientAuth, from client-ca (tests/pki.sh's
# client*.pem have serverAuth and clientAuth), made by `openssl ca` on a
# database of our own so that a CRL can revoke one; in $WORK/eku/:
#   sa          serverAuth only, DNS:cloud-client.test.example
#   sa-revoked  the same, revoked by sa-crl.pem (client-ca's CRL)
#   sa-expired  the same, valid in 2020 only
#   sa-inter    a CA under client-ca whose own EKU is serverAuth only, and
#   sa-chained  a serverAuth-only leaf it issued
#   codesign    codeSigning only: no TLS purpose at all
# Sets EKU_DIR.
make_eku_certs() {
	local d=$WORK/eku n
	mkdir -p "$d/new"
	: >"$d/index.txt"
	echo 1000 >"$d/serial"
	echo 01 >"$d/crlnumber"
	cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = cca
[cca]
dir              = $d
database         = \$dir/index.txt
new_certs_dir    = \$dir/new
serial           = \$dir/serial
crlnumber        = \$dir/crlnumber
certificate      = $PKI/client-ca.pem
private_key      = $PKI/client-ca.key
default_md       = sha256
default_days     = 90
default_crl_days = 30
policy           = anything
unique_subject   = no
copy_extensions  = none
crl_extensions   = crl_ext
[anything]
organizationName = optional
commonName       = supplied
[crl_ext]
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = \$ENV::EKU
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = DNS:cloud-client.test.example
[inter]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF
	eku_cert sa serverAuth leaf
	eku_cert sa-revoked serverAuth leaf
	eku_cert sa-expired serverAuth leaf -startdate 20200101000000Z -enddate 20210101000000Z
	eku_cert codesign codeSigning leaf
	eku_cert sa-inter serverAuth inter
	# The leaf under sa-inter, signed with plain x509 -req.
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/sa-chained.key" -out "$d/sa-chained.csr" \
		-subj "/O=tlstrunk test/CN=sa-chained.test.example" >>"$d/openssl.log" 2>&1 &&
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
		"subjectAltName=DNS:cloud-client.test.example" >"$d/chained.ext" &&
	openssl x509 -req -in "$d/sa-chained.csr" -CA "$d/sa-inter.pem" -CAkey "$d/sa-inter.key" \
		-set_serial 77 -days 90 -sha256 -extfile "$d/chained.ext" \
		-out "$d/sa-chained-leaf.pem" >>"$d/openssl.log" 2>&1 ||
		fail "cannot make the sa-chained certificate (see $d/openssl.log)"
	# (EKU: the [leaf] section is read with the file, used or not.)
	EKU=serverAuth openssl ca -config "$d/ca.cnf" -revoke "$d/sa-revoked.pem" \
		-crl_reason keyCompromise >>"$d/openssl.log" 2>&1 &&
	EKU=serverAuth openssl ca -config "$d/ca.cnf" -gencrl -out "$d/sa-crl.pem" \
		>>"$d/openssl.log" 2>&1 ||
		fail "cannot make client-ca's CRL revoking sa-revoked (see $d/openssl.log)"
	# What the test relies on, so that a wrong certificate fails here.
	for n in sa sa-revoked sa-expired sa-chained-leaf; do
		openssl x509 -in "$d/$n.pem" -noout -ext extendedKeyUsage >"$d/$n.eku" 2>&1
		grep -q 'TLS Web Server Authentication' "$d/$n.eku" &&
			! grep -q 'Client Authentication' "$d/$n.eku" || fail "$n: not serverAuth-only"
	done
	openssl verify -CAfile "$PKI/client-ca.pem" "$d/sa.pem" >>"$d/openssl.log" 2>&1 ||
		fail "sa.pem does not verify against client-ca (see $d/openssl.log)"
	# The point of it all: OpenSSL's own check for a TLS client refuses it.
	if openssl verify -CAfile "$PKI/client-ca.pem" -purpose sslclient "$d/sa.pem" \
		>>"$d/openssl.log" 2>&1; then
		fail "sa.pem passes OpenSSL's sslclient purpose check? (test certificate broken)"
	fi
	EKU_DIR=$d
}

# eku_cert NAME EKU EXTENSIONS [OPENSSL-CA-ARGS...]: $WORK/eku/NAME.pem and
# .key, from client-ca, with that extended key usage.
eku_cert() {
	local d=$WORK/eku name=$1 eku=$2 ext=$3; shift 3
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
		-subj "/O=tlstrunk test/CN=$name.test.example" >>"$d/openssl.log" 2>&1 &&
	EKU=$eku openssl ca -batch -notext -config "$d/ca.cnf" -extensions "$ext" \
		-in "$d/$name.csr" -out "$d/$name.pem" "$@" >>"$d/openssl.log" 2>&1 ||
		fail "cannot make the $name certificate (see $d/openssl.log)"
}

# config FILE [mutual] [crl FILE]: the standard configuration plus these.
config() {
	local f=$1; shift
	write_tlstrunk_config "$f"
	while [ $# -gt 0 ]; do
		case $1 in
		mutual)
			# [tls_server] is the last section.
			printf '%s\n' "mutual = on" "client_ca_file = $PKI/client-ca.pem" >>"$f"
			shift ;;
		crl)
			sed -i "s|^\[cloud\]\$|[cloud]\ncrl_file = $2|" "$f"
			shift 2 ;;
		*) fail "config: unknown option $1" ;;
		esac
	done
}

# crl_bundle NAME PKI-FILES...: the named CRL files concatenated.
crl_bundle() {
	local out=$WORK/$1.pem f; shift
	: >"$out"
	for f in "$@"; do
		cat "$PKI/$f" >>"$out"
	done
	echo "$out"
}

# options_req TAG: one OPTIONS as the cloud sends it (CRLF line ends).
options_req() {
	printf '%s\r\n' \
		"OPTIONS sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls SIP/2.0" \
		"Via: SIP/2.0/TLS $CLOUD_IP:$CLOUD_TLS_PORT;branch=z9hG4bK-mtls-$1-$$;rport" \
		"Max-Forwards: 70" \
		"From: <sip:keepalive@$CLOUD_NAME>;tag=mtls-$1-$$" \
		"To: <sip:$SBC_NAME:$SBC_TLS_PORT;transport=tls>" \
		"Call-ID: mtls-$1-$$@$CLOUD_NAME" \
		"CSeq: 1 OPTIONS" \
		"Content-Length: 0" \
		""
}

# client NAME S_CLIENT_ARGS...: one TLS 1.2 connection to tlstrunk's
# listener, verifying its chain and name, sending one OPTIONS and waiting
# up to 3 s for the answer. Transcript in $WORK/s_client-NAME.out (stdout)
# and .log (stderr). True when the handshake completed: s_client exits 0.
# (Its "New, TLSv1.2, Cipher is ..." line is no proof: it is printed for a
# TLS 1.2 handshake that the server's alert ended after our Finished.)
client() {
	local name=$1 out=$WORK/s_client-$1.out st tries=30 limit=10; shift
	# Under a wrapper (valgrind) tlstrunk answers much later.
	[ -z "${TLSTRUNK_WRAPPER:-}" ] || { tries=300; limit=60; }
	# The writer waits for s_client's answer in the file s_client writes.
	# shellcheck disable=SC2094
	{
		options_req "$name"
		for _ in $(seq 1 "$tries"); do
			grep -aq "^SIP/2.0 " "$out" 2>/dev/null && break
			# OpenSSL's error lines: the handshake failed, s_client is gone.
			grep -aq ':error:' "$WORK/s_client-$name.log" 2>/dev/null && break
			sleep 0.1
		done
	} | timeout "$limit" openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" \
		-servername "$SBC_NAME" -CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname "$SBC_NAME" -tls1_2 "$@" >"$out" 2>"$WORK/s_client-$name.log" &&
		st=(0 0) || st=("${PIPESTATUS[@]}")
	echo "s_client exit status ${st[1]}" >>"$WORK/s_client-$name.log"
	[ "${st[1]}" = 0 ] && grep -aq '^New, TLSv1\.2, Cipher is [A-Z]' "$out"
}

# log_mark: remember how far tlstrunk's log goes.
log_mark() { LOG_MARK=$(wc -l <"$TLSTRUNK_LOG"); }
# closes_since_mark: the "closed" lines of connections from s_client
# (127.0.0.1; the Kamailio cloud connects from 127.0.0.2) since log_mark.
closes_since_mark() {
	tail -n +"$((LOG_MARK + 1))" "$TLSTRUNK_LOG" |
		grep -aE "tls conn #[0-9]+ from $SBC_TLS_IP:[0-9]+ closed: " || true
}

# must_refuse NAME REASON_REGEX S_CLIENT_ARGS...: the handshake fails for
# s_client, and tlstrunk logs one line for it, with REASON_REGEX.
must_refuse() {
	local name=$1 reason=$2 lines n; shift 2
	log_mark
	if client "$name" "$@"; then
		fail "$name: the handshake completed; it must be refused (see $WORK/s_client-$name.out)"
	fi
	# s_client itself saw the handshake fail (an alert from tlstrunk).
	grep -aq 'SSL routines' "$WORK/s_client-$name.log" ||
		fail "$name: s_client reports no TLS failure (see $WORK/s_client-$name.log)"
	for _ in $(seq 1 30); do
		[ -n "$(closes_since_mark)" ] && break
		sleep 0.1
	done
	sleep 0.2   # a second line, if any, would be there by now
	lines=$(closes_since_mark)
	n=$(grep -c . <<<"$lines" || true)
	[ "$n" = 1 ] || fail "$name: $n 'closed' lines in $TLSTRUNK_LOG for one refused connection, want 1: $lines"
	grep -Eq -- "$reason" <<<"$lines" ||
		fail "$name: tlstrunk's log line does not say why (/$reason/): $lines"
	grep -aq INVITE "$WORK/s_client-$name.out" && fail "$name: SIP came back over a refused connection"
	REFUSED_WHY=$(sed -E 's/^.* closed: //' <<<"$lines")
}

# must_accept NAME S_CLIENT_ARGS...: handshake, and a 200 for the OPTIONS.
must_accept() {
	local name=$1 status; shift
	client "$name" "$@" ||
		fail "$name: the handshake failed (see $WORK/s_client-$name.out/.log and $TLSTRUNK_LOG)"
	status=$(grep -a -m1 '^SIP/2.0 ' "$WORK/s_client-$name.out" | tr -d '\r' || true)
	[[ $status == "SIP/2.0 200 "* ]] ||
		fail "$name: OPTIONS over the mutual-TLS connection got '${status:-nothing}', want 200"
	grep -aq "Call-ID: mtls-$name-$$@" "$WORK/s_client-$name.out" ||
		fail "$name: the 200 is not for our OPTIONS"
}

# kam_mark / cloud_rx_since_mark: the CLOUD-RX lines Kamailio logged since.
kam_mark() { KAM_MARK=$(wc -l <"$WORK/kamailio.log"); }
cloud_rx_since_mark() {
	tail -n +"$((KAM_MARK + 1))" "$WORK/kamailio.log" | grep -a 'CLOUD-RX' || true
}

# pbx_call_refused LABEL CRL_FILE REASON_REGEX: with crl_file = CRL_FILE,
# a call from the PBX gets 503, nothing reaches the cloud, and the log
# has a failed verification with REASON_REGEX.
pbx_call_refused() {
	local label=$1 crl=$2 reason=$3 rc=0 rx line
	config "$WORK/tlstrunk-$label.ini" crl "$crl"
	kam_mark
	start_tlstrunk "$WORK/tlstrunk-$label.ini" "$WORK/tlstrunk-$label.log"
	sipp_run "pbx-$label" pbx_uac_503.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 \
		"$PBX_IP:$SBC_PBX_PORT" || rc=$?
	stop_tlstrunk || fail "$label: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
	[ "$rc" = 0 ] || fail "$label: the PBX did not get a 503 (sipp exit $rc; see sipp-pbx-$label.msg.log)"
	rx=$(cloud_rx_since_mark)
	[ -z "$rx" ] || fail "$label: SIP reached the cloud through a revoked certificate: $(head -1 <<<"$rx")"
	line=$(grep -aE "tls conn #[0-9]+ to [^ ]+ closed: TLS handshake with $CLOUD_NAME: certificate verify failed: ($reason)" \
		"$TLSTRUNK_LOG" | head -1 || true)
	[ -n "$line" ] || fail "$label: tlstrunk's log does not say /$reason/ for $CLOUD_NAME (see $TLSTRUNK_LOG)"
	REFUSED_WHY=$(sed -E 's/^.* certificate verify failed: //' <<<"$line")
}

test_init
require_tlstrunk
for f in client-ca.pem client.pem client-revoked.pem client-other.pem crl-inter.pem \
	crl-inter-cloud-revoked.pem crl-root-inter-revoked.pem crl-client.pem; do
	[ -s "$PKI/$f" ] || fail "tests/pki.sh did not make $PKI/$f"
done
make_eku_certs
CLOUD_CLIENT=$EKU_DIR/sa
start_kamailio

# --- A: mutual TLS, no CRL ------------------------------------------------------
config "$WORK/tlstrunk-a.ini" mutual
start_tlstrunk "$WORK/tlstrunk-a.ini" "$WORK/tlstrunk-a.log"

must_refuse a-nocert 'peer did not return a certificate'
ok "A: no client certificate refused: $REFUSED_WHY"
must_refuse a-other-ca 'certificate verify failed: unable to get local issuer certificate' \
	-cert "$PKI/client-other.pem" -key "$PKI/client-other.key"
ok "A: certificate from another CA refused: $REFUSED_WHY"
must_refuse a-server-pki 'certificate verify failed: unable to get local issuer certificate' \
	-cert "$PKI/cloud-leaf.pem" -cert_chain "$PKI/inter.pem" -key "$PKI/cloud.key"
ok "A: the cloud-side PKI's certificate is no client certificate: $REFUSED_WHY"
must_accept a-good -cert "$PKI/client.pem" -key "$PKI/client.key"
ok "A: certificate from client_ca_file: handshake, OPTIONS answered 200"

# A client that offers to resume its TLS 1.2 session (s_client -reconnect:
# one handshake, then five more offering that session) is served each time.
log_mark
rc=0
timeout 15 openssl s_client -connect "$SBC_TLS_IP:$SBC_TLS_PORT" -servername "$SBC_NAME" \
	-CAfile "$PKI/ca.pem" -verify_return_error -tls1_2 -reconnect \
	-cert "$PKI/client.pem" -key "$PKI/client.key" </dev/null \
	>"$WORK/s_client-a-reconnect.out" 2>&1 || rc=$?
sleep 0.2
refused=$(closes_since_mark | grep 'closed: TLS handshake' || true)
[ -z "$refused" ] || fail "A: a client resuming its session is refused: $(head -1 <<<"$refused")"
[ "$rc" = 0 ] || fail "A: s_client -reconnect failed (exit $rc; see $WORK/s_client-a-reconnect.out)"
n=$(grep -ac '^\(New\|Reused\), TLSv1\.2' "$WORK/s_client-a-reconnect.out" || true)
[ "$n" = 6 ] || fail "A: s_client -reconnect completed $n handshakes, want 6"
ok "A: a client offering to resume its session gets a handshake each time (6 of 6)"

# Without clientAuth: accepted on serverAuth; dates and purpose still count.
must_accept a-serverauth-only -cert "$EKU_DIR/sa.pem" -key "$EKU_DIR/sa.key"
ok "A: a client certificate with serverAuth only (no clientAuth): handshake, OPTIONS answered 200"
must_accept a-serverauth-chain -cert "$EKU_DIR/sa-chained-leaf.pem" -key "$EKU_DIR/sa-chained.key" \
	-cert_chain "$EKU_DIR/sa-inter.pem"
ok "A: serverAuth only, leaf and intermediate CA alike: handshake, OPTIONS answered 200"
must_refuse a-serverauth-expired 'certificate verify failed: certificate has expired \(depth 0' \
	-cert "$EKU_DIR/sa-expired.pem" -key "$EKU_DIR/sa-expired.key"
ok "A: serverAuth only but expired refused: $REFUSED_WHY"
must_refuse a-codesign 'certificate verify failed: uns(upported|uitable) certificate purpose \(depth 0' \
	-cert "$EKU_DIR/codesign.pem" -key "$EKU_DIR/codesign.key"
ok "A: codeSigning only (neither TLS purpose) refused: $REFUSED_WHY"

# A call from the cloud: Kamailio connects to tlstrunk with client.pem.
sipp_start pbx-a pbx_uas.xml "$PBX_IP" "$PBX_UAS_PORT" -m 1
PBX_PID=$SIPP_PID
rc=0
sipp_run cloud-a cloud_uac.xml -i "$UAS_IP" -p 5070 -s 1000 -m 1 "$CLOUD_IP:$CLOUD_UDP_PORT" || rc=$?
[ "$rc" = 0 ] || fail "A: the call from the cloud over mutual TLS failed (cloud sipp exit $rc; see $TLSTRUNK_LOG)"
rc=0
sipp_wait "$PBX_PID" || rc=$?
[ "$rc" = 0 ] || fail "A: the PBX UAS failed (exit $rc)"
grep -aEq "tls conn #[0-9]+ from $CLOUD_IP:[0-9]+ up: TLSv1\.2" "$TLSTRUNK_LOG" ||
	fail "A: no TLS connection from the Kamailio cloud came up (see $TLSTRUNK_LOG)"
ok "A: a call from the cloud (Kamailio with a serverAuth-only client certificate) reached the PBX and completed"
stop_tlstrunk || fail "A: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"

# --- B: the cloud's certificate against crl_file -------------------------------
pbx_call_refused b-leaf-revoked "$(crl_bundle b-leaf-revoked crl-inter-cloud-revoked.pem)" \
	'certificate revoked \(depth 0, subject [^)]*CN ?= ?lb01\.voice\.use1\.pure\.cloud'
ok "B: cloud certificate revoked: 503 to the PBX, no CLOUD-RX; log: $REFUSED_WHY"

label=b-clean
config "$WORK/tlstrunk-$label.ini" crl "$(crl_bundle "$label" crl-inter.pem)"
kam_mark
start_tlstrunk "$WORK/tlstrunk-$label.ini" "$WORK/tlstrunk-$label.log"
sipp_start cloud-uas-b cloud_uas.xml "$UAS_IP" "$UAS_PORT" -m 1
UAS_PID=$SIPP_PID
rc=0
sipp_run pbx-$label pbx_uac.xml -i "$PBX_IP" -p 5070 -s +13175550100 -m 1 "$PBX_IP:$SBC_PBX_PORT" || rc=$?
[ "$rc" = 0 ] || fail "$label: the call did not complete with a CRL that does not list the cloud (sipp exit $rc; see $TLSTRUNK_LOG)"
rc=0
sipp_wait "$UAS_PID" || rc=$?
[ "$rc" = 0 ] || fail "$label: the cloud UAS failed (exit $rc)"
cloud_rx_since_mark | grep -q ' method=INVITE .* proto=tls ' ||
	fail "$label: Kamailio saw no INVITE over TLS"
stop_tlstrunk || fail "$label: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"
if grep -aq 'certificate verify failed' "$TLSTRUNK_LOG"; then
	fail "$label: a verification failed: $(grep -a -m1 'certificate verify failed' "$TLSTRUNK_LOG")"
fi
ok "B: CRL of the issuing CA without the cloud's certificate (no root CRL in the file): the call completed"

pbx_call_refused b-inter-revoked \
	"$(crl_bundle b-inter-revoked crl-inter.pem crl-root-inter-revoked.pem)" \
	'certificate revoked \(depth 1, subject [^)]*CN ?= ?tlstrunk Test Intermediate CA'
ok "B: intermediate revoked by the root's CRL: 503, no CLOUD-RX; log: $REFUSED_WHY"

# --- C: mutual TLS with crl_file ---------------------------------------------------
label=c
config "$WORK/tlstrunk-$label.ini" mutual crl "$(crl_bundle "$label" crl-inter.pem crl-client.pem)"
start_tlstrunk "$WORK/tlstrunk-$label.ini" "$WORK/tlstrunk-$label.log"
must_refuse c-revoked 'certificate verify failed: certificate revoked \(depth 0, subject [^)]*CN ?= ?revoked-client\.test\.example' \
	-cert "$PKI/client-revoked.pem" -key "$PKI/client-revoked.key"
ok "C: revoked client certificate refused: $REFUSED_WHY"
must_accept c-good -cert "$PKI/client.pem" -key "$PKI/client.key"
ok "C: the good client certificate still works with the CRL: OPTIONS answered 200"
stop_tlstrunk || fail "C: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"

label=c-serverauth
config "$WORK/tlstrunk-$label.ini" mutual crl "$(crl_bundle "$label" crl-inter.pem)"
cat "$EKU_DIR/sa-crl.pem" >>"$WORK/$label.pem"
start_tlstrunk "$WORK/tlstrunk-$label.ini" "$WORK/tlstrunk-$label.log"
must_refuse c-serverauth-revoked 'certificate verify failed: certificate revoked \(depth 0, subject [^)]*CN ?= ?sa-revoked\.test\.example' \
	-cert "$EKU_DIR/sa-revoked.pem" -key "$EKU_DIR/sa-revoked.key"
ok "C: revoked serverAuth-only client certificate refused: $REFUSED_WHY"
must_accept c-serverauth-good -cert "$EKU_DIR/sa.pem" -key "$EKU_DIR/sa.key"
ok "C: the good serverAuth-only client certificate works with client-ca's CRL: OPTIONS answered 200"
stop_tlstrunk || fail "C: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"

label=c-nocrl
config "$WORK/tlstrunk-$label.ini" mutual crl "$(crl_bundle "$label" crl-inter.pem)"
start_tlstrunk "$WORK/tlstrunk-$label.ini" "$WORK/tlstrunk-$label.log"
must_refuse c-no-client-crl 'certificate verify failed: unable to get certificate CRL \(depth 0' \
	-cert "$PKI/client.pem" -key "$PKI/client.key"
ok "C: crl_file without a CRL for client-ca: the good client is refused (fails closed): $REFUSED_WHY"
stop_tlstrunk || fail "C: tlstrunk did not exit cleanly (see $TLSTRUNK_LOG)"

pass "$(IFS=';'; echo "${CHECKS[*]}")"

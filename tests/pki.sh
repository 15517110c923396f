#!/usr/bin/env bash
# tests/pki.sh DIR - build the test PKI used by the integration tests and
# the demo, with the openssl CLI only.
#
#   ca.pem / ca.key                 root CA (the only trust anchor)
#   inter.pem / inter.key           intermediate CA, signed by the root
#   <name>.pem                      leaf + intermediate (what a server sends)
#   <name>-leaf.pem, <name>.key     the leaf alone, its key
#
#   cloud      DNS:lb01.voice.use1.pure.cloud, DNS:lb02.voice.use1.pure.cloud
#   sbc        DNS:sbc.test.example (tlstrunk's own TLS server certificate)
#   wrongname  DNS:other.example.net
#   expired    DNS:lb01.voice.use1.pure.cloud, validity entirely in the past
#   untrusted  DNS:lb01.voice.use1.pure.cloud, from a separate CA that is not
#              in ca.pem (rogue-ca.pem; its .pem chain includes that CA)
#
# Mutual TLS and CRLs ("extras", made on top of the files above, which they
# leave as they are):
#   client-ca.pem / .key         root CA of the client certificates (what
#                                [tls_server] client_ca_file names in tests)
#   other-ca.pem / .key          a second client CA that nobody trusts
#   client          DNS:cloud-client.test.example, from client-ca
#   client-revoked  DNS:revoked-client.test.example, from client-ca, revoked
#                   by crl-client.pem
#   client-other    DNS:cloud-client.test.example, from other-ca
#   (client*.pem is the leaf alone: its issuer is the trust anchor itself)
#   crl-inter.pem                the intermediate's CRL, nothing revoked
#   crl-inter-cloud-revoked.pem  the intermediate's CRL, revoking cloud
#   crl-root.pem                 the root's CRL, nothing revoked
#   crl-root-inter-revoked.pem   the root's CRL, revoking the intermediate
#   crl-client.pem               client-ca's CRL, revoking client-revoked
#   One CRL per file, valid for 10 years; tests concatenate what they need.
#
# RSA 2048 everywhere: the cloud's suites are RSA-only (ECDHE-RSA / RSA kx).
# Idempotent: a complete DIR (marker file .complete) is left untouched, so
# every test can call it cheaply; a partial one is rebuilt. The extras have
# their own marker (.complete-extra) and are checked file by file: when one
# is missing, only the extras are made again, signed by the CAs already in
# DIR, so the base files stay as they are. Runs on one DIR take turns (flock).
set -euo pipefail

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
DIR=$1
VERSION=2         # bump when the layout changes so stale dirs are rebuilt
EXTRA_VERSION=1   # the same for the extras alone
EXTRA_FILES="client-ca.pem client-ca.key other-ca.pem other-ca.key
client.pem client.key client-leaf.pem client-revoked.pem client-revoked.key
client-revoked-leaf.pem client-other.pem client-other.key client-other-leaf.pem
crl-inter.pem crl-inter-cloud-revoked.pem crl-root.pem crl-root-inter-revoked.pem
crl-client.pem"

base_complete() {
	[ -f "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "$VERSION" ]
}
extra_complete() {
	local f
	[ -f "$DIR/.complete-extra" ] &&
		[ "$(cat "$DIR/.complete-extra")" = "$EXTRA_VERSION" ] || return 1
	for f in $EXTRA_FILES; do
		[ -f "$DIR/$f" ] || return 1
	done
}

if base_complete && extra_complete; then
	exit 0
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# One generator per DIR at a time; whoever waited may find it all done.
exec 9>"$DIR/.lock"
flock 9
if base_complete && extra_complete; then
	exit 0
fi
TMP=$(mktemp -d "$DIR/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# All openssl output goes to a log that is shown only on failure (quiet).
LOG=$TMP/openssl.log
ossl() {
	if ! openssl "$@" >>"$LOG" 2>&1; then
		echo "pki.sh: openssl $1 failed:" >&2
		cat "$LOG" >&2
		exit 1
	fi
}

newkey() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# Extensions for every certificate kind, in one file. The leaf SAN comes
# from $SAN, which the config parser needs set even when unused.
export SAN=DNS:unused
cat >"$TMP/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $ENV::SAN
EOF

# self_signed_ca NAME CN: a root CA valid for 10 years.
self_signed_ca() {
	newkey "$TMP/$1.key"
	ossl req -new -x509 -key "$TMP/$1.key" -out "$TMP/$1.pem" -days 3650 \
		-subj "/O=tlstrunk test/CN=$2" -sha256 \
		-config "$TMP/ext.cnf" -extensions v3_root
}

# first_dns "DNS:a,DNS:b" -> a (the CN mirrors the first SAN entry)
first_dns() { local s=${1%%,*}; echo "${s#DNS:}"; }

# sign_leaf NAME CA SAN [DAYS]: leaf signed by CA ($TMP/CA.pem/.key).
sign_leaf() {
	local name=$1 ca=$2 san=$3 days=${4:-825}
	newkey "$TMP/$name.key"
	ossl req -new -key "$TMP/$name.key" -out "$TMP/$name.csr" \
		-subj "/O=tlstrunk test/CN=$(first_dns "$san")" -config "$TMP/ext.cnf"
	SAN="$san" ossl x509 -req -in "$TMP/$name.csr" -out "$TMP/$name-leaf.pem" \
		-CA "$TMP/$ca.pem" -CAkey "$TMP/$ca.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days "$days" -sha256 -extfile "$TMP/ext.cnf" -extensions v3_leaf
}

# --- mutual TLS and CRLs (the extras) -----------------------------------------

# publish MODE SRC DST: install SRC as DST by a rename, so that a reader
# never sees half a file.
publish() {
	install -m "$1" "$2" "$3.tmp.$$"
	mv -f "$3.tmp.$$" "$3"
}

# gen_crl NAME CA [CERT...]: $TMP/NAME.pem, the CRL of CA ($TMP/CA.pem/.key)
# revoking each CERT; `openssl ca -gencrl` on a database of its own.
gen_crl() {
	local name=$1 ca=$2 db=$TMP/crl-db-$1 c
	shift 2
	mkdir -p "$db"
	: >"$db/index.txt"
	echo 01 >"$db/crlnumber"
	cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = crl
[crl]
database         = $db/index.txt
crlnumber        = $db/crlnumber
certificate      = $TMP/$ca.pem
private_key      = $TMP/$ca.key
default_md       = sha256
default_crl_days = 3650
crl_extensions   = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
	for c in "$@"; do
		ossl ca -config "$db/ca.cnf" -revoke "$c" -crl_reason keyCompromise
	done
	ossl ca -config "$db/ca.cnf" -gencrl -out "$TMP/$name.pem"
}

verify_ok() {
	openssl verify -CAfile "$TMP/ca.pem" -untrusted "$TMP/inter.pem" "$@" >>"$LOG" 2>&1 \
		|| { echo "pki.sh: verify failed for $*" >&2; cat "$LOG" >&2; exit 1; }
}

# verify_revoked VERIFY-ARGS...: must fail, and for revocation.
verify_revoked() {
	local out
	if out=$(openssl verify "$@" 2>&1); then
		echo "pki.sh: verify $* succeeded; expected: certificate revoked" >&2; exit 1
	fi
	grep -q 'certificate revoked' <<<"$out" ||
		{ echo "pki.sh: verify $*: not refused as revoked: $out" >&2; exit 1; }
}

# make_extras: the extras, signed by the root and intermediate already
# published in $DIR; then the marker .complete-extra.
make_extras() {
	local f
	rm -f "$DIR/.complete-extra"
	cp "$DIR/ca.pem" "$DIR/ca.key" "$DIR/inter.pem" "$DIR/inter.key" \
		"$DIR/cloud-leaf.pem" "$TMP/"

	self_signed_ca client-ca "tlstrunk Test Client CA"
	self_signed_ca other-ca "Other Test Client CA"
	sign_leaf client client-ca "DNS:cloud-client.test.example"
	sign_leaf client-revoked client-ca "DNS:revoked-client.test.example"
	sign_leaf client-other other-ca "DNS:cloud-client.test.example"
	for f in client client-revoked client-other; do
		cp "$TMP/$f-leaf.pem" "$TMP/$f.pem"
	done

	gen_crl crl-inter inter
	gen_crl crl-inter-cloud-revoked inter "$TMP/cloud-leaf.pem"
	gen_crl crl-root ca
	gen_crl crl-root-inter-revoked ca "$TMP/inter.pem"
	gen_crl crl-client client-ca "$TMP/client-revoked-leaf.pem"

	# Each CRL does what its name says.
	verify_ok -crl_check -CRLfile "$TMP/crl-inter.pem" "$TMP/cloud-leaf.pem"
	verify_ok -crl_check_all -CRLfile "$TMP/crl-inter.pem" -CRLfile "$TMP/crl-root.pem" \
		"$TMP/cloud-leaf.pem"
	verify_revoked -CAfile "$TMP/ca.pem" -untrusted "$TMP/inter.pem" -crl_check \
		-CRLfile "$TMP/crl-inter-cloud-revoked.pem" "$TMP/cloud-leaf.pem"
	verify_revoked -CAfile "$TMP/ca.pem" -untrusted "$TMP/inter.pem" -crl_check_all \
		-CRLfile "$TMP/crl-inter.pem" -CRLfile "$TMP/crl-root-inter-revoked.pem" \
		"$TMP/cloud-leaf.pem"
	openssl verify -CAfile "$TMP/client-ca.pem" -crl_check -CRLfile "$TMP/crl-client.pem" \
		"$TMP/client-leaf.pem" >>"$LOG" 2>&1 ||
		{ echo "pki.sh: the client certificate does not verify" >&2; cat "$LOG" >&2; exit 1; }
	verify_revoked -CAfile "$TMP/client-ca.pem" -crl_check -CRLfile "$TMP/crl-client.pem" \
		"$TMP/client-revoked-leaf.pem"
	if openssl verify -CAfile "$TMP/client-ca.pem" "$TMP/client-other-leaf.pem" >>"$LOG" 2>&1; then
		echo "pki.sh: client-other verifies against client-ca?" >&2; exit 1
	fi

	for f in client-ca other-ca client client-revoked client-other; do
		publish 600 "$TMP/$f.key" "$DIR/$f.key"
		publish 644 "$TMP/$f.pem" "$DIR/$f.pem"
		if [ -f "$TMP/$f-leaf.pem" ]; then
			publish 644 "$TMP/$f-leaf.pem" "$DIR/$f-leaf.pem"
		fi
	done
	for f in crl-inter crl-inter-cloud-revoked crl-root crl-root-inter-revoked crl-client; do
		publish 644 "$TMP/$f.pem" "$DIR/$f.pem"
	done
	echo "$EXTRA_VERSION" >"$DIR/.complete-extra"
}

# The base is complete and current: only the extras are missing.
if base_complete; then
	make_extras
	exit 0
fi
rm -f "$DIR/.complete" "$DIR/.complete-extra"

# --- root and intermediate ------------------------------------------------
self_signed_ca ca "tlstrunk Test Root CA"
newkey "$TMP/inter.key"
ossl req -new -key "$TMP/inter.key" -out "$TMP/inter.csr" \
	-subj "/O=tlstrunk test/CN=tlstrunk Test Intermediate CA" -config "$TMP/ext.cnf"
SAN=DNS:unused ossl x509 -req -in "$TMP/inter.csr" -out "$TMP/inter.pem" \
	-CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
	-days 3650 -sha256 -extfile "$TMP/ext.cnf" -extensions v3_inter

# --- good leaves ----------------------------------------------------------
sign_leaf cloud inter "DNS:lb01.voice.use1.pure.cloud,DNS:lb02.voice.use1.pure.cloud"
sign_leaf sbc inter "DNS:sbc.test.example"
sign_leaf wrongname inter "DNS:other.example.net"

# --- expired leaf: openssl x509 in 3.0 cannot set dates in the past, so a
# minimal `openssl ca` database signs it with explicit start/end dates. ----
mkdir -p "$TMP/ca-db/new"
: >"$TMP/ca-db/index.txt"
cat >"$TMP/ca.cnf" <<EOF
[ca]
default_ca = past
[past]
dir            = $TMP/ca-db
database       = \$dir/index.txt
new_certs_dir  = \$dir/new
serial         = \$dir/serial
certificate    = $TMP/inter.pem
private_key    = $TMP/inter.key
default_md     = sha256
policy         = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName       = supplied
EOF
echo 01 >"$TMP/ca-db/serial"
newkey "$TMP/expired.key"
ossl req -new -key "$TMP/expired.key" -out "$TMP/expired.csr" \
	-subj "/O=tlstrunk test/CN=lb01.voice.use1.pure.cloud" -config "$TMP/ext.cnf"
SAN="DNS:lb01.voice.use1.pure.cloud" ossl ca -batch -notext -config "$TMP/ca.cnf" \
	-in "$TMP/expired.csr" -out "$TMP/expired-leaf.pem" \
	-startdate 20200101000000Z -enddate 20210101000000Z \
	-extfile "$TMP/ext.cnf" -extensions v3_leaf

# --- untrusted leaf: a rogue root not in ca.pem ---------------------------
self_signed_ca rogue-ca "Rogue Test Root CA"
sign_leaf untrusted rogue-ca "DNS:lb01.voice.use1.pure.cloud"

# --- assemble the served chains -------------------------------------------
for n in cloud sbc wrongname expired; do
	cat "$TMP/$n-leaf.pem" "$TMP/inter.pem" >"$TMP/$n.pem"
done
# The rogue chain has no intermediate: send leaf + its own root, the way a
# misconfigured server would ("self-signed certificate in certificate chain").
cat "$TMP/untrusted-leaf.pem" "$TMP/rogue-ca.pem" >"$TMP/untrusted.pem"

# --- sanity checks, so a broken PKI fails here and not deep in a test -----
verify_ok -verify_hostname lb01.voice.use1.pure.cloud "$TMP/cloud-leaf.pem"
verify_ok -verify_hostname lb02.voice.use1.pure.cloud "$TMP/cloud-leaf.pem"
verify_ok -verify_hostname sbc.test.example "$TMP/sbc-leaf.pem"
verify_ok "$TMP/wrongname-leaf.pem"
if openssl verify -CAfile "$TMP/ca.pem" -untrusted "$TMP/inter.pem" \
	"$TMP/expired-leaf.pem" >>"$LOG" 2>&1; then
	echo "pki.sh: expired certificate verifies?" >&2; exit 1
fi
if openssl verify -CAfile "$TMP/ca.pem" "$TMP/untrusted-leaf.pem" >>"$LOG" 2>&1; then
	echo "pki.sh: untrusted certificate verifies?" >&2; exit 1
fi

# --- publish ----------------------------------------------------------------
for f in ca inter rogue-ca cloud sbc wrongname expired untrusted; do
	install -m 600 "$TMP/$f.key" "$DIR/$f.key"
	install -m 644 "$TMP/$f.pem" "$DIR/$f.pem"
	if [ -f "$TMP/$f-leaf.pem" ]; then
		install -m 644 "$TMP/$f-leaf.pem" "$DIR/$f-leaf.pem"
	fi
done
echo "$VERSION" >"$DIR/.complete"
make_extras

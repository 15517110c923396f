#!/usr/bin/env bash
# 60_config_check.sh - `tlstrunk -t -c FILE` (config-contract.md): exits 0 on
# the test configuration, and 1 with "FILE:LINE:" and the offending key's
# name on:
#   - an unknown key,
#   - an IP address in [cloud] hosts (the certificate name must be a name),
#   - a key_file whose key does not match cert_file.
# and exits 0 with one warning per suite when [cloud] ciphers names the two
# the cloud deprecated (AES256-SHA256, ECDHE-RSA-AES256-SHA384), each naming
# the suite, the key and FILE:LINE; the test configuration (the default
# suites) gets no such warning.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

# line_of FILE REGEX: number of the first line matching REGEX.
line_of() { grep -n -m1 -E -- "$2" "$1" | cut -d: -f1; }

# expect_bad LABEL FILE KEY LINE...: -t must exit 1 and report FILE:LINE:
# (one of the LINEs) and KEY.
expect_bad() {
	local label=$1 file=$2 key=$3 rc=0 out line ok=0; shift 3
	out=$("$TLSTRUNK_BIN" -t -c "$file" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$WORK/check-$label.log"
	[ "$rc" = 1 ] || fail "$label: tlstrunk -t exited $rc, expected 1 (output: $out)"
	for line in "$@"; do
		grep -qF -- "$file:$line:" <<<"$out" && ok=1
	done
	[ "$ok" = 1 ] || fail "$label: output lacks '$file:$*:' (got: $out)"
	grep -qE -- "$key" <<<"$out" || fail "$label: output does not name the key /$key/ (got: $out)"
	RESULTS+=("$label: $(head -1 <<<"$out")")
}

RESULTS=()
test_init
require_tlstrunk

good=$WORK/good.ini
write_tlstrunk_config "$good"
rc=0
out=$("$TLSTRUNK_BIN" -t -c "$good" 2>&1) || rc=$?
printf '%s\n' "$out" >"$WORK/check-good.log"
[ "$rc" = 0 ] || fail "good config: tlstrunk -t exited $rc (output: $out)"
if grep -q 'deprecated by the cloud' <<<"$out"; then
	fail "good config: a deprecation warning for the default suites: $out"
fi

# Unknown key, added inside [pbx].
f=$WORK/unknown-key.ini
sed '/^\[pbx\]/a frobnicate_level = 3' "$good" >"$f"
expect_bad unknown-key "$f" frobnicate_level "$(line_of "$f" '^frobnicate_level')"

# An IP address as a cloud host.
f=$WORK/host-ip.ini
sed "s/^hosts = .*/hosts = $CLOUD_IP/" "$good" >"$f"
expect_bad host-ip "$f" hosts "$(line_of "$f" '^hosts')"

# A key that belongs to another certificate (the cloud's, not the sbc's).
f=$WORK/key-mismatch.ini
sed "s|^key_file = .*|key_file = $PKI/cloud.key|" "$good" >"$f"
expect_bad key-mismatch "$f" 'key_file|cert_file' \
	"$(line_of "$f" '^key_file')" "$(line_of "$f" '^cert_file')"

# The cloud's deprecated suites: still accepted, each warned about.
f=$WORK/deprecated.ini
sed '/^\[cloud\]/a ciphers = ECDHE-RSA-AES256-GCM-SHA384, AES256-SHA256, ECDHE-RSA-AES256-SHA384' "$good" >"$f"
line=$(line_of "$f" '^ciphers')
rc=0
out=$("$TLSTRUNK_BIN" -t -c "$f" 2>&1) || rc=$?
printf '%s\n' "$out" >"$WORK/check-deprecated.log"
[ "$rc" = 0 ] || fail "deprecated: tlstrunk -t exited $rc, the suites must still be accepted (output: $out)"
grep -qF "$f: configuration ok" <<<"$out" || fail "deprecated: no 'configuration ok' (output: $out)"
for s in AES256-SHA256 ECDHE-RSA-AES256-SHA384; do
	n=$(grep -cF "$f:$line: [cloud] ciphers: $s (" <<<"$out" || true)
	[ "$n" = 1 ] || fail "deprecated: $n warning lines naming $s, [cloud] ciphers and $f:$line, want 1 (output: $out)"
	grep -F "$f:$line: [cloud] ciphers: $s (" <<<"$out" | grep -qE ' warn  .*is deprecated by the cloud' ||
		fail "deprecated: the line for $s is no warning that the cloud deprecated it (output: $out)"
done
[ "$(grep -c 'is deprecated by the cloud' <<<"$out")" = 2 ] || fail "deprecated: want exactly 2 warnings (output: $out)"
RESULTS+=("deprecated suites accepted with: $(grep -m1 'is deprecated by the cloud' <<<"$out" | sed 's/^[^ ]* warn  //')")

pass "good config accepted; $(IFS=';'; echo "${RESULTS[*]}")"

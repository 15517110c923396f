#!/usr/bin/env bash
# 87_install.sh - `cmake --install`, the man page and the Debian package
# (issue 18; rules in deploy/install.cmake, scripts in deploy/debian/).
# The build tree is the one TLSTRUNK_BIN was built in.
#
# install  `cmake --install` into a DESTDIR, prefix /usr/local: exactly
#          sbin/tlstrunk (this binary), share/man/man8/tlstrunk.8.gz,
#          share/doc/tlstrunk/{README.md,tlstrunk.ini.example} and
#          lib/systemd/system/tlstrunk.service, nothing under /etc; the
#          unit's ExecStart=/ExecStartPre= name the installed binary, it has
#          ConditionPathExists= on the configuration and
#          Documentation=man:tlstrunk(8), and `systemd-analyze verify`
#          prints nothing (DESTDIR/usr/local on /usr/local in a private
#          mount namespace).  Prefix /usr: /usr/sbin/tlstrunk
#          and /lib/systemd/system (Debian 12's unit directory).
# man      the installed page is `tlstrunk --man`; its OPTIONS, EXIT STATUS,
#          SIGNALS, ENVIRONMENT and every configuration key (tag and text)
#          are --help's, both ways; `man --warnings` renders it without a
#          groff warning (lintian's check) and shows every key.
# deb      cpack -G DEB from the same tree: tlstrunk_VERSION_ARCH.deb with
#          exactly the files above for /usr plus /etc/tlstrunk/tlstrunk.ini
#          (a conffile: every file under /etc is one), copyright and
#          changelog.gz; Depends names the package of every library the
#          binary links (dpkg-shlibdeps) and adduser; the maintainer scripts
#          pass sh -n (shellcheck when installed); lintian: no error.
# root     in a copy of a clean Debian 12 root (tests/rootfs.sh, debootstrap
#          minbase, cached): apt-get install ./the.deb resolves the
#          dependencies; the tlstrunk system user and group exist (nologin,
#          no home), /etc/tlstrunk/tls is 0750 root:tlstrunk, the unit is
#          in /lib/systemd/system and enabled nowhere, the man page is where
#          man finds it, the conffile is registered; `tlstrunk -t` fails on
#          the shipped example only for the missing certificate (as
#          88_packaging) and on the shipped /etc file for a SITE key; with
#          the SITE keys set and the test PKI's certificate it passes, run as
#          the tlstrunk user.  apt-get remove: the files go, the
#          configuration and the user stay.  apt-get purge (after the
#          administrator enabled the unit, added a drop-in, and the service
#          wrote its log directory): no path named tlstrunk left, no user or
#          group, dpkg does not know the package, and the root is what it
#          was before (files, modes, owners, /etc contents; /run, dpkg's, apt's
#          and the logs' records apart; the dependencies apt-get install -s
#          names for the package on the clean root are installed first).
#
# A sanitizer tree is not packaged (an ASan binary is no package): its run
# stops after "install" and "man".  The .deb part needs root, unshare -m,
# debootstrap (first run only: the root is made once per machine, ~35 s),
# and the network for the dependencies unless they are in the cache next
# to the root (kept from the previous run).  Cost: ~25 s with the root
# cached.
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

RESULTS=()

test_init
require_tlstrunk
REPO=$REPO_ROOT
BUILD=$(cd "$(dirname "$TLSTRUNK_BIN")" && pwd)
if [ ! -f "$BUILD/CMakeCache.txt" ] || [ ! -f "$BUILD/cmake_install.cmake" ]; then
	fail "$BUILD (from TLSTRUNK_BIN) is not a CMake build tree"
fi
[ -f "$BUILD/CPackConfig.cmake" ] ||
	fail "$BUILD has no CPackConfig.cmake: is deploy/install.cmake included from CMakeLists.txt?"
VERSION=$("$TLSTRUNK_BIN" --version | sed -n 's/^tlstrunk //p')
SANITIZED=no
grep -q '^TLSTRUNK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SANITIZED=yes

# apt_need PACKAGE...: install what is missing (root only).
apt_need() {
	local missing=() p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || fail "not root: apt-get install ${missing[*]} first"
	log "installing ${missing[*]}"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}"; }; } >"$WORK/apt.log" 2>&1 ||
		fail "apt-get install ${missing[*]} failed (see $WORK/apt.log)"
}
command -v python3 >/dev/null || apt_need python3
command -v man >/dev/null || apt_need man-db
command -v systemd-analyze >/dev/null || apt_need systemd

# files DIR: "TYPE MODE PATH" of everything below DIR, sorted.
files() { (cd "$1" && find . -mindepth 1 -printf '%y %m %P\n' | LC_ALL=C sort -k3); }

# --- install ------------------------------------------------------------------------
DEST=$WORK/dest
DESTDIR=$DEST cmake --install "$BUILD" --prefix /usr/local >"$WORK/install.log" 2>&1 ||
	fail "cmake --install: $(tail -5 "$WORK/install.log")"
files "$DEST" | awk '$1 == "f" { print $2, $3 }' >"$WORK/layout.txt"
LC_ALL=C sort -k2 >"$WORK/layout.want" <<'EOF'
644 usr/local/lib/systemd/system/tlstrunk.service
644 usr/local/share/doc/tlstrunk/README.md
644 usr/local/share/doc/tlstrunk/tlstrunk.ini.example
644 usr/local/share/man/man8/tlstrunk.8.gz
755 usr/local/sbin/tlstrunk
EOF
diff -u "$WORK/layout.want" "$WORK/layout.txt" >"$WORK/layout.diff" ||
	fail "cmake --install layout (want -, got +): $(cat "$WORK/layout.diff")"
cmp -s "$TLSTRUNK_BIN" "$DEST/usr/local/sbin/tlstrunk" || fail "the installed binary is not $TLSTRUNK_BIN"
cmp -s "$REPO/config/tlstrunk.ini.example" "$DEST/usr/local/share/doc/tlstrunk/tlstrunk.ini.example" ||
	fail "the installed example is not config/tlstrunk.ini.example"
UNIT=$DEST/usr/local/lib/systemd/system/tlstrunk.service
for want in '^ExecStart=/usr/local/sbin/tlstrunk -c /etc/tlstrunk/tlstrunk.ini$' \
	'^ExecStartPre=/usr/local/sbin/tlstrunk -t -c /etc/tlstrunk/tlstrunk.ini$' \
	'^ConditionPathExists=/etc/tlstrunk/tlstrunk.ini$' '^Documentation=man:tlstrunk\(8\) '; do
	grep -Eq "$want" "$UNIT" || fail "installed unit: no line matching /$want/"
done
! grep -q '^Exec.*/usr/local/bin' "$UNIT" || fail "installed unit still runs /usr/local/bin: $(grep -n '^Exec.*/usr/local/bin' "$UNIT")"
# The rest of the unit is deploy/systemd/tlstrunk.service's.
diff <(grep -v -e '^Exec' -e '^Documentation=' "$REPO/deploy/systemd/tlstrunk.service") \
	<(grep -v -e '^Exec' -e '^Documentation=' "$UNIT") >"$WORK/unit.diff" ||
	fail "installed unit differs from deploy/systemd/tlstrunk.service: $(cat "$WORK/unit.diff")"
# Verified where it was installed for: this DESTDIR's /usr/local mounted
# on /usr/local in a private mount namespace (man: finds the page there).
verified=
if unshare -m true 2>/dev/null; then
	rc=0
	# shellcheck disable=SC2016
	unshare -m --propagation private sh -c 'mount --bind "$0/usr/local" /usr/local &&
		MANPATH=/usr/local/share/man exec systemd-analyze verify /usr/local/lib/systemd/system/tlstrunk.service' \
		"$DEST" >"$WORK/verify.log" 2>&1 || rc=$?
	if [ "$rc" != 0 ] || [ -s "$WORK/verify.log" ]; then
		fail "systemd-analyze verify of the installed unit (exit $rc): $(cat "$WORK/verify.log")"
	fi
	verified=", unit verify clean"
fi
DEST2=$WORK/dest-usr
DESTDIR=$DEST2 cmake --install "$BUILD" --prefix /usr >"$WORK/install-usr.log" 2>&1 ||
	fail "cmake --install --prefix /usr: $(tail -5 "$WORK/install-usr.log")"
[ -x "$DEST2/usr/sbin/tlstrunk" ] || fail "prefix /usr: no usr/sbin/tlstrunk"
grep -q '^ExecStart=/usr/sbin/tlstrunk -c ' "$DEST2/lib/systemd/system/tlstrunk.service" 2>/dev/null ||
	fail "prefix /usr: no lib/systemd/system/tlstrunk.service with ExecStart=/usr/sbin/tlstrunk ($(files "$DEST2" | tr '\n' ' '))"
[ ! -e "$DEST2/etc" ] || fail "cmake --install put files under /etc: $(find "$DEST2/etc")"
RESULTS+=("install: $(wc -l <"$WORK/layout.txt") files$verified")

# --- man ------------------------------------------------------------------------------
"$TLSTRUNK_BIN" --help >"$WORK/help.txt"
"$TLSTRUNK_BIN" --man >"$WORK/man.8" 2>"$WORK/man.err" || fail "tlstrunk --man exited non-zero: $(cat "$WORK/man.err")"
[ ! -s "$WORK/man.err" ] || fail "tlstrunk --man wrote to stderr: $(cat "$WORK/man.err")"
! grep -q -- '--man' "$WORK/help.txt" || fail "--help mentions the hidden --man"
zcat "$DEST/usr/local/share/man/man8/tlstrunk.8.gz" | cmp -s - "$WORK/man.8" ||
	fail "the installed tlstrunk.8.gz is not this binary's --man"
cat >"$WORK/man.py" <<'PYEOF'
import re, sys

help_text = open(sys.argv[1]).read().splitlines()
roff = open(sys.argv[2]).read().splitlines()
problems = []


def unroff(s):
    for a, b in (("\\-", "-"), ("\\:", ""), ("\\&", ""), ("\\fB", ""), ("\\fR", ""), ("\\fI", ""), ("\\e", "\\")):
        s = s.replace(a, b)
    return s


def help_lists():
    """{section: {name: text}} of --help's options/signals/environment."""
    out, sec = {}, None
    for line in help_text:
        m = re.match(r"^(options|signals|environment):$", line)
        if m:
            sec = out.setdefault(m.group(1).upper(), {})
            name = None
            continue
        if sec is None:
            continue
        if not line.strip():
            sec = None
            continue
        m = re.match(r"^  (\S(?:\S| (?! ))*)\s{2,}(\S.*)$", line)
        if m:
            name = m.group(1)
            sec[name] = m.group(2)
        elif line.startswith("    ") and name:
            sec[name] += " " + line.strip()
    return out


def help_keys():
    keys = {}
    for i, line in enumerate(help_text):
        m = re.match(r"^  (\[\w+\] \w+ =.*)$", line)
        if m:
            keys[m.group(1).rstrip()] = help_text[i + 1].strip()
    return keys


def help_exit():
    for i, line in enumerate(help_text):
        if line.startswith("exit status: "):
            text = line[len("exit status: "):]
            for more in help_text[i + 1:]:
                if not more.strip():
                    break
                text += " " + more.strip()
            return text
    return None


def man_sections():
    """{SECTION: [(tag or None, text)]}: .TP items, or the plain text."""
    secs, cur, item = {}, None, None
    for raw in roff:
        line = unroff(raw)
        if raw.startswith(".SH "):
            cur = secs.setdefault(raw[4:].strip('"'), [])
            item = None
        elif raw.startswith(".TP"):
            item = [None, ""]
            cur.append(item)
        elif raw.startswith(".") or cur is None:
            continue
        elif item is not None and item[0] is None:
            item[0] = line.strip()
        elif item is not None:
            item[1] = (item[1] + " " + line.strip()).strip()
        else:
            cur.append([None, line.strip()])
    return secs


secs = man_sections()
for sec, want in help_lists().items():
    got = {t: x for t, x in secs.get(sec, []) if t is not None}
    if got != want:
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                problems.append("%s %r: --help says %r, the man page %r" % (sec, k, want.get(k), got.get(k)))
keys = help_keys()
got = {t: x for t, x in secs.get("CONFIGURATION KEYS", []) if t is not None}
if len(keys) < 40:
    problems.append("--help lists %d keys only" % len(keys))
for k in sorted(set(keys) | set(got)):
    if keys.get(k) != got.get(k):
        problems.append("key %r: --help says %r, the man page %r" % (k, keys.get(k), got.get(k)))
ex = " ".join(x for t, x in secs.get("EXIT STATUS", []))
if ex != help_exit():
    problems.append("EXIT STATUS: --help says %r, the man page %r" % (help_exit(), ex))
for p in problems:
    print(p)
print("%d keys, %d options, %d signals, %d environment" % (len(keys), len(help_lists().get("OPTIONS", {})),
      len(help_lists().get("SIGNALS", {})), len(help_lists().get("ENVIRONMENT", {}))))
sys.exit(1 if problems else 0)
PYEOF
out=$(python3 "$WORK/man.py" "$WORK/help.txt" "$WORK/man.8" 2>&1) || fail "the man page is not --help:
$out"
RESULTS+=("man = --help: $out")
# lintian's check of a man page, and every key visible when rendered.
LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -E UTF-8 -l "$WORK/man.8" >"$WORK/man.txt" 2>"$WORK/man-warn.txt" ||
	fail "man -l tlstrunk.8 failed: $(cat "$WORK/man-warn.txt")"
[ ! -s "$WORK/man-warn.txt" ] || fail "groff warnings on tlstrunk.8: $(cat "$WORK/man-warn.txt")"
unseen=$(sed -n 's/^  \(\[[a-z_]*\] [a-z_]*\) =.*/\1/p' "$WORK/help.txt" | while read -r k; do
	grep -qF "$k =" "$WORK/man.txt" || echo "$k"; done)
[ -z "$unseen" ] || fail "keys of --help not in the rendered man page: $unseen"

if [ "$SANITIZED" = yes ]; then
	pass "$(printf '%s; ' "${RESULTS[@]}")no .deb from a sanitizer tree (the plain tree's run builds and installs it)"
fi

# --- deb ------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "the package checks need root (apt-get in a chroot)"
apt_need lintian dpkg-dev
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/cpack" >"$WORK/cpack.log" 2>&1 ||
	fail "cpack -G DEB: $(tail -20 "$WORK/cpack.log")"
ARCH=$(dpkg --print-architecture)
DEB=$WORK/cpack/tlstrunk_${VERSION}_$ARCH.deb
[ -f "$DEB" ] || fail "cpack made no $(basename "$DEB"): $(ls "$WORK/cpack")"
for f in Package Version Architecture Section Priority Maintainer; do
	[ -n "$(dpkg-deb -f "$DEB" "$f")" ] || fail "$DEB: no $f field"
done
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "package version $(dpkg-deb -f "$DEB" Version), binary $VERSION"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
# Every library the binary needs, by the package that has it here.
for lib in $(objdump -p "$TLSTRUNK_BIN" | awk '$1 == "NEEDED" { print $2 }'); do
	path=$(ldd "$TLSTRUNK_BIN" | awk -v l="$lib" '$1 == l { print $3 }')
	pkg=
	for p in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
		pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) || true
		[ -z "$pkg" ] || break
	done
	[ -n "$pkg" ] || fail "no package has $lib ($path)"
	grep -Eq "(^|, )$pkg( |,|$)" <<<"$DEPENDS" || fail "Depends lacks $pkg ($lib): $DEPENDS"
done
for pkg in adduser ca-certificates; do
	grep -Eq "(^|, )$pkg( |,|$)" <<<"$DEPENDS" || fail "Depends lacks $pkg: $DEPENDS"
done
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print substr($1, 2), $6 }' | LC_ALL=C sort -k2 >"$WORK/deb.txt"
LC_ALL=C sort -k2 >"$WORK/deb.want" <<'EOF'
rw-r--r-- etc/tlstrunk/tlstrunk.ini
rw-r--r-- lib/systemd/system/tlstrunk.service
rwxr-xr-x usr/sbin/tlstrunk
rw-r--r-- usr/share/doc/tlstrunk/README.md
rw-r--r-- usr/share/doc/tlstrunk/changelog.gz
rw-r--r-- usr/share/doc/tlstrunk/copyright
rw-r--r-- usr/share/doc/tlstrunk/tlstrunk.ini.example
rw-r--r-- usr/share/man/man8/tlstrunk.8.gz
EOF
diff -u "$WORK/deb.want" "$WORK/deb.txt" >"$WORK/deb.diff" || fail "package contents (want -, got +): $(cat "$WORK/deb.diff")"
mkdir -p "$WORK/ctrl"
dpkg-deb -e "$DEB" "$WORK/ctrl"
conffiles=$(cat "$WORK/ctrl/conffiles" 2>/dev/null) || true
[ "$conffiles" = "$(sed -n 's|^[^ ]* etc/|/etc/|p' "$WORK/deb.txt")" ] ||
	fail "conffiles is '$conffiles', not every file under /etc"
for s in postinst prerm postrm; do
	[ -x "$WORK/ctrl/$s" ] || fail "the package has no executable $s"
	sh -n "$WORK/ctrl/$s" || fail "$s: sh -n"
	if command -v shellcheck >/dev/null 2>&1; then
		shellcheck -s sh "$WORK/ctrl/$s" >"$WORK/shellcheck.log" 2>&1 || fail "shellcheck $s: $(cat "$WORK/shellcheck.log")"
	fi
done
rc=0
lintian --fail-on error "$DEB" >"$WORK/lintian.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "lintian (exit $rc): $(cat "$WORK/lintian.log")"
warnings=$(sed -n 's/^W: [^ ]* //p' "$WORK/lintian.log" | paste -sd, -)
RESULTS+=("deb: Depends: $DEPENDS; lintian: no error, warnings: ${warnings:-none}")

# --- root -----------------------------------------------------------------------------
unshare -m true 2>/dev/null || fail "unshare -m is not allowed here (needed for the chroot's /proc)"
# shellcheck source=tests/rootfs.sh
. "$REPO/tests/rootfs.sh"
BASE=$ROOTFS_DEFAULT
t0=$SECONDS
rootfs_make "$BASE" >"$WORK/rootfs.log" 2>&1 || fail "tests/rootfs.sh: $(tail -5 "$WORK/rootfs.log")"
ROOT=$WORK/root
rootfs_copy "$BASE" "$ROOT"
# The tree's top is mktemp's 0700: as /, every user must get through it.
chmod 755 "$ROOT"
log "clean root ready in $((SECONDS - t0)) s"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# Downloaded dependencies, kept beside the root for the next run.
DEBCACHE=$BASE.debs
mkdir -p "$DEBCACHE"

# inroot CMD...: CMD chrooted into ROOT with /proc and /dev, in a private
# mount namespace (nothing stays mounted, whatever happens).
inroot() {
	# shellcheck disable=SC2016
	unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" &&
		mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"' "$ROOT" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# snapshot FILE: the root's files with type, mode and owner, and the
# contents of /etc; without what dpkg, apt and the logs keep.
snapshot() {
	(cd "$ROOT" && find . -mindepth 1 \
		\( -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache -o -path ./var/log \
		   -o -path ./tmp -o -path ./run -o -path ./proc -o -path ./dev -o -path ./etc/passwd- -o -path ./etc/group- \
		   -o -path ./etc/shadow- -o -path ./etc/gshadow- -o -path ./etc/subuid- -o -path ./etc/subgid- \) -prune \
		-o -printf '%y %m %u:%g %P\n' | LC_ALL=C sort -k4
	 find ./etc -type f ! -name '*-' -exec md5sum {} + | LC_ALL=C sort -k2) >"$1"
}

# apt_root ARGS...: apt-get in the root with the cached .debs; one apt-get
# update and a retry when the root's package lists are out of date.
apt_root() {
	local log=$WORK/apt-root.log
	cp -n "$DEBCACHE"/*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true
	if ! inroot apt-get -y -q --no-install-recommends "$@" >>"$log" 2>&1; then
		inroot apt-get update -q >>"$log" 2>&1 ||
			fail "apt-get update in the root failed (no network? the dependencies come from the mirror): $(tail -5 "$log")"
		inroot apt-get -y -q --no-install-recommends "$@" >>"$log" 2>&1 ||
			fail "apt-get $* in the root: $(tail -15 "$log")"
	fi
	for f in "$ROOT"/var/cache/apt/archives/*.deb; do
		[ -e "$BASE/var/cache/apt/archives/${f##*/}" ] || cp -n "$f" "$DEBCACHE/" 2>/dev/null || true
	done
}

# What apt-get install ./the.deb installs in the clean root (resolved from
# its Depends; it fails when one cannot be had) goes in first, so that the
# root before tlstrunk and after its purge can be compared file by file.
cp "$DEB" "$ROOT/tmp/"
sim=$(inroot apt-get install -s --no-install-recommends "/tmp/$(basename "$DEB")" 2>&1) ||
	fail "apt-get cannot resolve the package's dependencies in a clean Debian 12: $(tail -15 <<<"$sim")"
mapfile -t deps < <(sed -n 's/^Inst \([^ ]*\) .*/\1/p' <<<"$sim" | grep -vx tlstrunk || true)
grep -qx 'Inst tlstrunk .*' <<<"$sim" || fail "apt-get install -s does not install tlstrunk: $(tail -5 <<<"$sim")"
for d in libuv1 libsrtp2-1 libsofia-sip-ua0; do
	printf '%s\n' "${deps[@]}" | grep -qx "$d" || fail "apt-get would not install $d with the package: ${deps[*]}"
done
t0=$SECONDS
apt_root install "${deps[@]}"
snapshot "$WORK/root-0.txt"
apt_root install "/tmp/$(basename "$DEB")"
log "apt-get install ./$(basename "$DEB") in $((SECONDS - t0)) s"
# shellcheck disable=SC2016  # dpkg-query's ${Field}s
inroot dpkg-query -W -f '${Status}\n' tlstrunk | grep -qx 'install ok installed' ||
	fail "tlstrunk is not installed in the root: $(inroot dpkg-query -W -f '${Status}' tlstrunk 2>&1 || true)"
# shellcheck disable=SC2016
inroot dpkg-query -W -f '${Conffiles}\n' tlstrunk | grep -q '^ /etc/tlstrunk/tlstrunk.ini ' ||
	fail "/etc/tlstrunk/tlstrunk.ini is not a registered conffile"
IFS=: read -r _ _ uid gid _ home shell < <(inroot getent passwd tlstrunk) || fail "no tlstrunk user after the install"
if [ "$uid" -ge 1000 ] || [ "$shell" != /usr/sbin/nologin ] || [ "$home" != /nonexistent ]; then
	fail "tlstrunk user: uid $uid, home $home, shell $shell (want a system user, nologin, /nonexistent)"
fi
grp=$(inroot getent group tlstrunk) || true
[ "$(cut -d: -f3 <<<"$grp")" = "$gid" ] || fail "no tlstrunk group as the user's group ($grp)"
perm=$(inroot stat -c '%a %U:%G' /etc/tlstrunk/tls 2>&1) || true
[ "$perm" = "750 root:tlstrunk" ] || fail "/etc/tlstrunk/tls: $perm, want 750 root:tlstrunk"
grep -q '^ExecStart=/usr/sbin/tlstrunk -c /etc/tlstrunk/tlstrunk.ini$' "$ROOT/lib/systemd/system/tlstrunk.service" 2>/dev/null ||
	fail "no /lib/systemd/system/tlstrunk.service running /usr/sbin/tlstrunk in the root"
enabled=$(find "$ROOT/etc/systemd" -name 'tlstrunk*' 2>/dev/null || true)
[ -z "$enabled" ] || fail "the package enabled the unit: $enabled"
page=$(man -w --manpath="$ROOT/usr/share/man" tlstrunk 2>/dev/null) || true
[ "$page" = "$ROOT/usr/share/man/man8/tlstrunk.8.gz" ] ||
	fail "man -w tlstrunk does not find the page in the root's /usr/share/man"
zcat "$ROOT/usr/share/man/man8/tlstrunk.8.gz" | cmp -s - "$WORK/man.8" || fail "the package's man page is not --man's"

# The example as shipped: only its certificate is missing (as 88_packaging).
rc=0
out=$(inroot tlstrunk -t -c /usr/share/doc/tlstrunk/tlstrunk.ini.example 2>&1) || rc=$?
if [ "$rc" != 1 ] || ! grep -q '\[tls_server\] cert_file: cannot open' <<<"$out"; then
	fail "tlstrunk -t on the installed example: exit $rc, '$out' (want 1, the missing cert_file only)"
fi
# The conffile as shipped: refused for a SITE key, so the unit cannot start.
rc=0
out=$(inroot tlstrunk -t -c /etc/tlstrunk/tlstrunk.ini 2>&1) || rc=$?
if [ "$rc" != 1 ] || ! grep -q 'required' <<<"$out"; then
	fail "tlstrunk -t on the shipped /etc/tlstrunk/tlstrunk.ini: exit $rc, '$out' (want 1, a required SITE key)"
fi
# Configured as the administrator would: SITE lines uncommented, the name of
# the test certificate, chain and key in /etc/tlstrunk/tls (0640 root:tlstrunk).
sed -i -e 's/^;\([a-z_]* =\)/\1/' -e 's/^advertised_name = .*/advertised_name = sbc.test.example/' \
	"$ROOT/etc/tlstrunk/tlstrunk.ini"
install -m 640 -o root -g "$gid" "$PKI/sbc.pem" "$ROOT/etc/tlstrunk/tls/chain.pem"
install -m 640 -o root -g "$gid" "$PKI/sbc.key" "$ROOT/etc/tlstrunk/tls/key.pem"
rc=0
out=$(inroot chroot --userspec=tlstrunk:tlstrunk / tlstrunk -t -c /etc/tlstrunk/tlstrunk.ini 2>&1) || rc=$?
if [ "$rc" != 0 ] || ! grep -q 'configuration ok' <<<"$out"; then
	fail "tlstrunk -t, as user tlstrunk, on the configured /etc/tlstrunk/tlstrunk.ini: exit $rc, $out"
fi
# What an enabled, running service leaves: enablement, a drop-in, logs.
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants" "$ROOT/etc/systemd/system/tlstrunk.service.d" \
	"$ROOT/var/log/private/tlstrunk"
ln -s /lib/systemd/system/tlstrunk.service "$ROOT/etc/systemd/system/multi-user.target.wants/tlstrunk.service"
printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' >"$ROOT/etc/systemd/system/tlstrunk.service.d/override.conf"
ln -s private/tlstrunk "$ROOT/var/log/tlstrunk"
echo x >"$ROOT/var/log/private/tlstrunk/keylog.txt"
RESULTS+=("apt-get install in a clean Debian 12: user $uid:$gid, -t ok as tlstrunk")

# remove: the files go; configuration, certificates and user stay.
apt_root remove tlstrunk
for f in /usr/sbin/tlstrunk /lib/systemd/system/tlstrunk.service /usr/share/man/man8/tlstrunk.8.gz /usr/share/doc/tlstrunk; do
	[ ! -e "$ROOT$f" ] || fail "apt-get remove left $f"
done
for f in /etc/tlstrunk/tlstrunk.ini /etc/tlstrunk/tls/key.pem; do
	[ -e "$ROOT$f" ] || fail "apt-get remove removed $f (the configuration is kept until purge)"
done
inroot getent passwd tlstrunk >/dev/null || fail "apt-get remove removed the tlstrunk user"
# shellcheck disable=SC2016
inroot dpkg-query -W -f '${Status}\n' tlstrunk | grep -qx 'deinstall ok config-files' ||
	fail "after remove: $(inroot dpkg-query -W -f '${Status}' tlstrunk 2>&1 || true)"

# purge: nothing left.
apt_root purge tlstrunk
rm -f "$ROOT/tmp/$(basename "$DEB")"
left=$(cd "$ROOT" && find . \( -path ./proc -o -path ./.tlstrunk-rootfs-done \) -prune -o -name '*tlstrunk*' -print)
[ -z "$left" ] || fail "apt-get purge left: $left"
! inroot getent passwd tlstrunk >/dev/null || fail "apt-get purge left the tlstrunk user"
! inroot getent group tlstrunk >/dev/null || fail "apt-get purge left the tlstrunk group"
! grep -q tlstrunk "$ROOT/etc/passwd" "$ROOT/etc/group" "$ROOT/etc/shadow" "$ROOT/etc/gshadow" ||
	fail "apt-get purge left tlstrunk in /etc/passwd, group, shadow or gshadow"
! inroot dpkg-query -W tlstrunk >/dev/null 2>&1 || fail "dpkg still knows tlstrunk after purge"
# The root is what it was before tlstrunk: files, modes, owners, /etc.
snapshot "$WORK/root-1.txt"
diff -u "$WORK/root-0.txt" "$WORK/root-1.txt" >"$WORK/root.diff" ||
	fail "install + remove + purge changed the root (before -, after +): $(head -20 "$WORK/root.diff")"
RESULTS+=("remove keeps the configuration; purge: the root as before (${#deps[@]} dependencies stay)")
rm -rf "$ROOT"

pass "$(printf '%s; ' "${RESULTS[@]}" | sed 's/; $//')"

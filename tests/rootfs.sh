#!/usr/bin/env bash
# tests/rootfs.sh [DIR] - a clean Debian 12 (bookworm) root made from
# Debian's own packages with debootstrap --variant=minbase, for the tests
# that need one (the container image's base, the .deb install test).
# Made once per machine and reused: it is kept in DIR (default
# ${TLSTRUNK_ROOTFS:-/var/tmp/tlstrunk-rootfs/bookworm}) and only rebuilt
# when it is missing or incomplete.  A copy is what a test changes: never
# the tree itself (see rootfs_copy below).  Prints DIR on success.
#
# Sourced, it defines rootfs_make DIR and rootfs_copy DIR DEST.
set -euo pipefail

ROOTFS_DEFAULT=${TLSTRUNK_ROOTFS:-/var/tmp/tlstrunk-rootfs/bookworm}
# The mirror apt uses here (deb.debian.org unless the machine says else).
ROOTFS_MIRROR=${ROOTFS_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
: "${ROOTFS_MIRROR:=http://deb.debian.org/debian}"

rootfs_make() {
	local dir=$1 tmp
	# debootstrap's own marker of a finished tree, plus apt's.
	if [ -x "$dir/usr/bin/apt-get" ] && [ -f "$dir/.tlstrunk-rootfs-done" ]; then
		echo "$dir"
		return 0
	fi
	command -v debootstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$(dirname "$dir")/.rootfs.XXXXXX")
	chmod 755 "$tmp"	# a root directory (mktemp made it 0700)
	# A tree half made by an interrupted run is thrown away, never used.
	if ! debootstrap --variant=minbase bookworm "$tmp" "$ROOTFS_MIRROR" \
	    >"$tmp.log" 2>&1; then
		tail -n 20 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		return 1
	fi
	rm -f "$tmp.log"
	touch "$tmp/.tlstrunk-rootfs-done"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	echo "$dir"
}

# rootfs_copy DIR DEST: a private copy a test may change (hard links would
# let dpkg's writes reach the shared tree, so a real copy).
rootfs_copy() {
	rm -rf "$2"
	mkdir -p "$2"
	cp -a "$1/." "$2/"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	rootfs_make "${1:-$ROOTFS_DEFAULT}"
fi

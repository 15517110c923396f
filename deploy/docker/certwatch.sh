#!/bin/bash
# tlstrunk-certwatch [PID...] - send SIGHUP to tlstrunk whenever the files
# in its certificate directory change, so that renewed certificates are
# served without a restart (tlstrunk re-reads them on SIGHUP; calls stay).
#
# For Kubernetes: a Secret volume is updated by swapping its hidden
# "..data" symlink, never by writing tls.crt/tls.key themselves, so a
# watcher of those names does not see a cert-manager renewal.  Run this as
# a second container of the pod (same image, same user, the Secret mounted
# at the same place, shareProcessNamespace: true): see
# deploy/kubernetes/tlstrunk.yaml.
#
#   TLSTRUNK_CERT_DIR=/etc/tlstrunk/tls   what to watch (its non-hidden files)
#   TLSTRUNK_CERTWATCH_INTERVAL=30        seconds between two looks
#
# With no PID, every process named tlstrunk that this user may signal gets
# the SIGHUP (in a pod with a shared process namespace: the one tlstrunk).
set -u

dir=${TLSTRUNK_CERT_DIR:-/etc/tlstrunk/tls}
interval=${TLSTRUNK_CERTWATCH_INTERVAL:-30}

# digest: one line that changes when any file's content does.
digest() {
	local f out=''
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		out+="$f $(cksum <"$f") "
	done
	printf '%s\n' "$out"
}

hup() {
	local p pid n=0
	if [ $# -gt 0 ]; then
		for pid in "$@"; do
			kill -HUP "$pid" && n=$((n + 1))
		done
	else
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = tlstrunk ] || continue
			kill -HUP "${p#/proc/}" 2>/dev/null && n=$((n + 1))
		done
	fi
	echo "tlstrunk-certwatch: $dir changed: SIGHUP sent to $n process(es)"
}

echo "tlstrunk-certwatch: watching $dir every $interval s"
last=$(digest)
while sleep "$interval"; do
	now=$(digest)
	[ "$now" = "$last" ] && continue
	# Let the writer finish (both files) before tlstrunk reads them.
	sleep 1
	now=$(digest)
	hup "$@"
	last=$now
done

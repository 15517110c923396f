# shellcheck shell=bash
# tests/container/lib.sh - a private Docker engine for the container test
# (tests/integration/89_container.sh) and tests/container/build.sh.
#
# No registry is reachable from the test machines, so the images the
# Dockerfile starts FROM are made here from Debian's own packages:
#   debian:12       tests/rootfs.sh's debootstrap --variant=minbase tree as is
#   debian:12-slim  the same tree slimmed the way Docker's official
#                   debian:12-slim is (debuerreotype): no documentation but
#                   the copyright files, no man/info pages or translations,
#                   no apt lists or caches, and dpkg/apt told to keep it so
#                   (/etc/dpkg/dpkg.cfg.d/docker, /etc/apt/apt.conf.d/docker-*)
#
# The engine: Debian's docker.io (installed with apt-get when dockerd is
# missing; root only), dockerd with the vfs storage driver (works on any
# file system and kernel, no overlay mounts), no bridge and no iptables
# (only --network host is used), its own socket, exec root and pid file.
# Its data root (images, build cache) is kept in CTR_CACHE, default
# /var/tmp/tlstrunk-docker, so the base images and the build stage's
# packages are made once per machine; one engine at a time uses it (flock
# on CTR_CACHE/lock).
#
# Needs: CTR_CACHE (optional), REPO_ROOT, LIB_DIR, log and fail (tests/lib.sh).

: "${CTR_CACHE:=${TLSTRUNK_DOCKER_CACHE:-/var/tmp/tlstrunk-docker}}"
# The image the test builds and runs.
: "${CTR_IMAGE:=tlstrunk:test}"
# Bump when the recipe of the base images changes: they are then made again.
CTR_BASE_RECIPE=2
CTR_EXEC=
CTR_SOCK=
CTR_DOCKERD_PID=
CTR_LOCK_FD=

# docker ARGS...: Debian's client (a newer one may shadow it in PATH; both
# work) against our engine only, never the machine's.
docker() {
	local bin=/usr/bin/docker
	[ -x "$bin" ] || bin=$(command -v docker)
	DOCKER_HOST=unix://$CTR_SOCK DOCKER_CONFIG=$CTR_CACHE/client "$bin" "$@"
}

# ctr_install: Debian's docker.io when dockerd is missing (apt-get, as
# tests/rootfs.sh installs debootstrap). Its init script must not start the
# machine's own dockerd: a policy-rc.d says so for the install when the
# machine has none.
ctr_install() {
	command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] && return 0
	[ "$(id -u)" = 0 ] || fail "dockerd is missing and we are not root: apt-get install docker.io"
	log "installing docker.io (dockerd is missing)"
	local policy=/usr/sbin/policy-rc.d made=0 rc=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# tests/container/lib.sh: no service starts while docker.io installs\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made=1
	fi
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io ||
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends docker.io; }; } >"$WORK/apt-docker.log" 2>&1 || rc=$?
	[ "$made" = 0 ] || rm -f "$policy"
	[ "$rc" = 0 ] || fail "apt-get install docker.io failed: $(tail -n 3 "$WORK/apt-docker.log" | tr '\n' ' ')"
	command -v dockerd >/dev/null 2>&1 || fail "docker.io installed, but no dockerd"
}

# ctr_lock: take CTR_CACHE/lock (waits up to 10 min for another run).
ctr_lock() {
	mkdir -p "$CTR_CACHE"
	exec {CTR_LOCK_FD}>"$CTR_CACHE/lock"
	if ! flock -n "$CTR_LOCK_FD"; then
		log "another run uses $CTR_CACHE; waiting for it"
		flock -w 600 "$CTR_LOCK_FD" || fail "$CTR_CACHE stayed locked by another run for 10 min"
	fi
}

# ctr_start: dockerd on our own socket, exec root under WORK; waits until
# it answers. A dockerd left over by a killed run (pid file in the cache)
# is stopped first: two engines must never share a data root.
ctr_start() {
	ctr_lock
	local old
	old=$(cat "$CTR_CACHE/dockerd.pid" 2>/dev/null || true)
	if [ -n "$old" ] && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q -- "--data-root $CTR_CACHE/data "; then
		log "stopping a dockerd left over by an earlier run (pid $old)"
		kill -TERM "$old" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$old" 2>/dev/null || true
	fi
	rm -f "$CTR_CACHE/dockerd.pid"
	# A killed run's exec root (its dockerd is gone now).
	ctr_exec_cleanup "$(cat "$CTR_CACHE/exec-root" 2>/dev/null || true)"
	# The socket path must stay short (108 bytes for containerd's).
	CTR_EXEC=$(mktemp -d /tmp/tlstrunk-dx.XXXXXX)
	echo "$CTR_EXEC" >"$CTR_CACHE/exec-root"
	CTR_SOCK=$CTR_EXEC/docker.sock
	# setsid: its own process group; {fd}>&-: the lock stays ours.
	setsid dockerd --data-root "$CTR_CACHE/data" --exec-root "$CTR_EXEC" \
		--pidfile "$CTR_CACHE/dockerd.pid" -H "unix://$CTR_SOCK" \
		--storage-driver vfs --bridge=none --iptables=false --ip6tables=false \
		--ip-masq=false --userland-proxy=false --log-level warn \
		</dev/null >"$WORK/dockerd.log" 2>&1 {CTR_LOCK_FD}>&- &
	CTR_DOCKERD_PID=$!
	for _ in $(seq 1 300); do
		docker version >/dev/null 2>&1 && break
		kill -0 "$CTR_DOCKERD_PID" 2>/dev/null ||
			fail "dockerd exited at start-up: $(tail -n 5 "$WORK/dockerd.log" | tr '\n' ' ')"
		sleep 0.1
	done
	docker version >/dev/null 2>&1 || fail "dockerd does not answer on $CTR_SOCK after 30 s"
	log "dockerd $(docker version -f '{{.Server.Version}}') up (pid $CTR_DOCKERD_PID, data root $CTR_CACHE/data)"
}

# ctr_stop: containers removed, dockerd stopped (TERM, then KILL after
# 20 s), its exec root removed. Safe to call twice.
ctr_stop() {
	[ -n "$CTR_DOCKERD_PID" ] || return 0
	local c
	for c in $(docker ps -aq 2>/dev/null); do
		docker rm -f "$c" >/dev/null 2>&1 || true
	done
	kill -TERM "$CTR_DOCKERD_PID" 2>/dev/null || true
	for _ in $(seq 1 200); do kill -0 "$CTR_DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "-$CTR_DOCKERD_PID" 2>/dev/null || true
	wait "$CTR_DOCKERD_PID" 2>/dev/null || true
	CTR_DOCKERD_PID=
	rm -f "$CTR_CACHE/dockerd.pid"
	ctr_exec_cleanup "$CTR_EXEC"
	rm -f "$CTR_CACHE/exec-root"
	CTR_EXEC=
}

# ctr_exec_cleanup DIR: a stopped dockerd's exec root. dockerd leaves its
# network namespace bind-mounted there (netns/default, nsfs), which would
# keep the namespace alive: unmounted first, deepest first.
ctr_exec_cleanup() {
	local dir=$1 m
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	while IFS= read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(awk -v p="$dir/" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r)
	awk -v p="$dir/" 'index($2, p) == 1 {f = 1} END {exit f}' /proc/self/mounts && rm -rf "$dir"
}

# ctr_base_ok NAME: the image exists and was made by this recipe.
ctr_base_ok() {
	[ "$(docker image inspect -f '{{index .Config.Labels "tlstrunk.base-recipe"}}' "$1" 2>/dev/null)" = "$CTR_BASE_RECIPE" ]
}

# ctr_image_files DIR slim|full: what debuerreotype adds to Docker's
# official debian images: apt keeps no package caches and no translations
# (both variants); dpkg leaves documentation, manuals and translations out
# (slim only).
ctr_image_files() {
	local d=$1
	mkdir -p "$d/etc/dpkg/dpkg.cfg.d" "$d/etc/apt/apt.conf.d"
	cat >"$d/etc/apt/apt.conf.d/docker-clean" <<'EOT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOT
	echo 'Acquire::GzipIndexes "true";' >"$d/etc/apt/apt.conf.d/docker-gzip-indexes"
	echo 'Acquire::Languages "none";' >"$d/etc/apt/apt.conf.d/docker-no-languages"
	echo 'APT::AutoRemove::SuggestsImportant "false";' >"$d/etc/apt/apt.conf.d/docker-autoremove-suggests"
	[ "$2" = slim ] || return 0
	cat >"$d/etc/dpkg/dpkg.cfg.d/docker" <<'EOT'
# as Docker's debian:*-slim: no documentation, manuals or translations
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOT
}

# ctr_import ROOT TAG slim|full: TAG from the tree ROOT, as above. What is
# left out of the tree: apt's lists and caches (both), and for slim what
# its dpkg rules exclude (the directories stay, empty).
ctr_import() {
	local root=$1 tag=$2 kind=$3 extra=$WORK/base-$3 tarf=$WORK/base-$3.tar
	local -a out=(-path './var/lib/apt/lists/*' ! -name lock -o -path './var/cache/apt/*.bin'
		-o -path './var/cache/apt/archives/*.deb' -o -name .tlstrunk-rootfs-done)
	[ "$kind" = full ] || out+=(-o -path './usr/share/doc/*' ! -name copyright -o -path './usr/share/man/*'
		-o -path './usr/share/info/*' -o -path './usr/share/groff/*' -o -path './usr/share/lintian/*'
		-o -path './usr/share/linda/*' -o -path './usr/share/locale/*' ! -name locale.alias)
	ctr_image_files "$extra" "$kind"
	(cd "$root" && find . -mindepth 1 \( -type d -o ! \( "${out[@]}" \) \) -print0) >"$tarf.list"
	tar -C "$root" --null --no-recursion -T "$tarf.list" -cf "$tarf"
	# Files only: a directory the tree has already would be a duplicate
	# (docker import refuses those).
	(cd "$extra" && find . -type f -print0) >"$tarf.list"
	tar -C "$extra" --null --no-recursion -T "$tarf.list" -rf "$tarf"
	docker import --change 'CMD ["bash"]' --change "LABEL tlstrunk.base-recipe=$CTR_BASE_RECIPE" \
		"$tarf" "$tag" >/dev/null || fail "docker import $tag failed"
	rm -rf "$tarf" "$tarf.list" "$extra"
}

# ctr_base_images: debian:12 and debian:12-slim, from tests/rootfs.sh's
# tree (made first when missing), unless they exist already.
ctr_base_images() {
	ctr_base_ok debian:12 && ctr_base_ok debian:12-slim && return 0
	local t0=$SECONDS root
	# shellcheck source=tests/rootfs.sh
	. "$REPO_ROOT/tests/rootfs.sh"
	root=$(rootfs_make "$ROOTFS_DEFAULT" 2>"$WORK/rootfs.log") ||
		fail "tests/rootfs.sh could not make a Debian 12 tree: $(tail -n 5 "$WORK/rootfs.log" | tr '\n' ' ')"
	ctr_import "$root" debian:12 full
	ctr_import "$root" debian:12-slim slim
	log "base images debian:12 ($(ctr_mb debian:12) MB) and debian:12-slim ($(ctr_mb debian:12-slim) MB) made from $root in $((SECONDS - t0)) s"
}

# ctr_mb IMAGE: its size in MB (10^6 bytes, as docker images shows it).
ctr_mb() { echo $(( $(docker image inspect -f '{{.Size}}' "$1") / 1000000 )); }

# ctr_build [CONTEXT]: docker build the Dockerfile (the build stage reaches
# Debian's mirror through the host network). Sets CTR_BUILD_SECS.
ctr_build() {
	local ctx=${1:-$REPO_ROOT} t0=$SECONDS rc=0
	# BuildKit: metadata lines make no layer and the two stages' apt-get
	# runs overlap (77 s here instead of the classic builder's 174 s on vfs).
	DOCKER_BUILDKIT=1 docker build --progress plain --network host -t "$CTR_IMAGE" "$ctx" \
		>"$WORK/docker-build.log" 2>&1 || rc=$?
	CTR_BUILD_SECS=$((SECONDS - t0))
	if [ "$rc" != 0 ]; then
		local why
		why=$(tail -n 8 "$WORK/docker-build.log" | tr '\n' ' ')
		if grep -qE 'Temporary failure resolving|Could not resolve|Network is unreachable|Failed to fetch' "$WORK/docker-build.log" &&
		   ! ctr_mirror_reachable; then
			fail "docker build failed: the build stage cannot reach Debian's mirror from this network namespace (outside cause: no network; build the image once with tests/container/build.sh where there is, then the build is a cache hit): $why"
		fi
		fail "docker build failed after $CTR_BUILD_SECS s: $why"
	fi
	log "docker build: $CTR_BUILD_SECS s"
	# vfs copies every layer whole: keep the data root from growing with
	# each source change (the newest cache, the build stage's packages
	# among it, stays).
	local t1=$SECONDS
	docker image prune -f >/dev/null 2>&1 || true
	docker builder prune -f --keep-storage "${CTR_KEEP_STORAGE:-6gb}" >/dev/null 2>&1 || true
	[ $((SECONDS - t1)) -lt 5 ] || log "pruning the data root: $((SECONDS - t1)) s"
}

# ctr_mirror_reachable: can this namespace reach the apt mirror at all?
ctr_mirror_reachable() {
	local host
	host=$(sed -n 's|^URIs: *[a-z]*://\([^/ ]*\).*|\1|p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	timeout 5 bash -c "exec 3<>/dev/tcp/${host:-deb.debian.org}/80" 2>/dev/null
}

#!/bin/bash
# tlstrunk-healthcheck - GET /healthz from tlstrunk's admin listener with
# nothing but bash (the runtime image has no curl): exit 0 on HTTP 200, 1
# otherwise.  The JSON body (or the reason) goes to stdout, where
# `docker inspect` shows it.  The Dockerfile's HEALTHCHECK runs it.
#
# Where /healthz is, first found of:
#   TLSTRUNK_ADMIN=HOST:PORT        explicit ([v6]:PORT for IPv6)
#   [general] admin_listen of TLSTRUNK_CONFIG (default /etc/tlstrunk/tlstrunk.ini),
#                                   0.0.0.0 / [::] mapped to loopback
#   127.0.0.1:9090                  the built-in default
#
# /healthz answers 503 while no cloud proxy is up, while draining and while
# stopping: all of them make the container unhealthy, none restarts it.
set -u

conf=${TLSTRUNK_CONFIG:-/etc/tlstrunk/tlstrunk.ini}
timeout=${TLSTRUNK_HEALTH_TIMEOUT:-3}
addr=${TLSTRUNK_ADMIN:-}

# admin_listen from the [general] section, as tlstrunk reads it: a ';' or
# '#' after a blank starts a comment; the last section wins for nothing
# here since duplicate keys are errors.
config_admin() {
	local line section='' key val
	[ -r "$conf" ] || return 1
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		line="${line#"${line%%[![:space:]]*}"}"
		case $line in
		'['*']'*) section=${line#[}; section=${section%%]*}; continue ;;
		';'* | '#'* | '') continue ;;
		esac
		[ "$section" = general ] || continue
		key=${line%%=*}
		key="${key%"${key##*[![:space:]]}"}"
		[ "$key" = admin_listen ] || continue
		case $line in *=*) ;; *) continue ;; esac
		val=${line#*=}
		val=${val%%[[:space:]];*}
		val=${val%%[[:space:]]#*}
		val="${val#"${val%%[![:space:]]*}"}"
		val="${val%"${val##*[![:space:]]}"}"
		printf '%s\n' "$val"
		return 0
	done <"$conf"
	return 1
}

if [ -z "$addr" ]; then
	if val=$(config_admin); then
		if [ -z "$val" ]; then
			echo "admin_listen is empty in $conf: /healthz is off (set it, or TLSTRUNK_ADMIN)"
			exit 1
		fi
		addr=$val
	else
		addr=127.0.0.1:9090
	fi
fi

# Split HOST:PORT / [V6]:PORT; a wildcard listens on loopback as well.
case $addr in
'['*']:'*) host=${addr%%]*}; host=${host#[}; port=${addr##*]:} ;;
*:*) host=${addr%:*}; port=${addr##*:} ;;
*) host=$addr; port=9090 ;;
esac
case $host in
0.0.0.0 | '') host=127.0.0.1 ;;
:: | ::0) host=::1 ;;
esac
case $port in
'' | *[!0-9]*) echo "bad admin address '$addr'"; exit 1 ;;
esac

if ! exec 3<>"/dev/tcp/$host/$port"; then
	echo "cannot connect to $host:$port (tlstrunk down, or admin_listen elsewhere)"
	exit 1
fi 2>/dev/null
printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
status=
if ! IFS= read -r -t "$timeout" status <&3; then
	echo "no answer from $host:$port within $timeout s"
	exit 1
fi
status=${status%$'\r'}
body=
while IFS= read -r -t "$timeout" line <&3; do
	line=${line%$'\r'}
	[ -n "$line" ] || break		# end of the header
done
while IFS= read -r -t "$timeout" line <&3 || [ -n "${line:-}" ]; do
	body+=$line
	line=
done
exec 3<&-
echo "$status ${body:-}"
case $status in
'HTTP/1.'[01]' 200 '* | 'HTTP/1.'[01]' 200') exit 0 ;;
*) exit 1 ;;
esac

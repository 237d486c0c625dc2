#!/bin/sh
# dns_server.sh - run unbound with a test zone for the unit tests.
#
#   dns_server.sh start DIR PORT ZONEFILE   write DIR/unbound.conf, start
#                                           unbound, wait until it answers
#   dns_server.sh stop DIR                  stop it (pid in DIR/unbound.pid)
#
# ZONEFILE holds unbound server-clause lines (local-zone/local-data, single
# quotes outside, double quotes inside: harness-notes 3.2); lines after a
# "forward-zone:" line go after the server clause.  Everything not in the
# zone is NXDOMAIN: no query ever leaves the machine.
set -eu
cmd=$1
dir=$2
case $cmd in
start)
	port=$3
	zone=$4
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	{
		cat <<CONF
server:
    interface: 127.0.0.1
    port: $port
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    do-not-query-localhost: no
    local-zone: "." static
CONF
		sed -n '/^forward-zone:/q;s/^/    /p' "$zone"
		echo "remote-control:"
		echo "    control-enable: no"
		sed -n '/^forward-zone:/,$p' "$zone"
	} >"$dir/unbound.conf"
	unbound-checkconf "$dir/unbound.conf" >/dev/null
	# Something already answering there would answer for us: refuse.
	if dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 \
	    ready.check.test TXT >/dev/null 2>&1; then
		echo "dns_server.sh: port $port is already in use" >&2
		exit 1
	fi
	unbound -d -c "$dir/unbound.conf" >"$dir/unbound.log" 2>&1 &
	echo $! >"$dir/unbound.pid.sh"
	i=0
	while [ $i -lt 100 ]; do
		if dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 \
		    ready.check.test TXT >/dev/null 2>&1; then
			exit 0
		fi
		kill -0 "$(cat "$dir/unbound.pid.sh")" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "dns_server.sh: unbound did not start on port $port:" >&2
	cat "$dir/unbound.log" >&2
	exit 1
	;;
stop)
	[ -f "$dir/unbound.pid.sh" ] || exit 0
	pid=$(cat "$dir/unbound.pid.sh")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$dir/unbound.pid.sh"
	;;
*)
	echo "usage: dns_server.sh start DIR PORT ZONE | stop DIR" >&2
	exit 2
	;;
esac

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-inbound.sh - inbound benchmark (issue 3, "Performance"): DKIM-signed
# 4 KiB mail from an external client address (XCLIENT) through the private
# Postfix of tests/integration/lib.sh, with no milter ("bare") and with
# postwarden (SPF + DKIM verify + DMARC + A-R), interleaved over ROUNDS
# rounds with the order rotated.  Prints per run and as medians:
# messages/second, ratios to bare and to the chain of the same round, the
# milter's CPU ms per message, the whole machine's CPU ms per message (all
# processes: the load generator, Postfix, the sink, the milters), DNS
# queries per message that reached unbound, peak RSS.
#
# Mail goes to Postfix's smtp-sink (C, discards), not to the harness's
# byte-exact rawsink.py: that Python sink writes a file per message and
# costs about 1 ms of CPU per message, the same in every configuration,
# which hides the milters' differences.  BENCH_SINK=raw measures with it.
#
# Configurations: bare, pw (postwarden), chain (Debian's OpenDKIM in
# verify mode + OpenDMARC with SPF inside it, chained as usually run, unix
# sockets).  OpenDKIM and OpenDMARC resolve with glibc's stub resolver,
# which cannot be given a port (harness-notes 4c/4e), so with CHAIN=1 (the
# default) the whole benchmark runs in a private network + mount namespace
# where unbound answers on 127.0.0.1:53 and /etc/resolv.conf is
# bind-mounted (the host's file and ports are untouched).
#
# ROUNDS (3), N (1000), CONC (10), WARM (300 messages per configuration,
# not measured, before the rounds), CHAIN (1), BENCH_CONF (an extra
# postwarden.conf line), BENCH_SINK (smtp-sink, or raw), CONFIGS_NS (the
# configurations, default "bare pw chain"), BENCH_OLD (another build's
# milter/postwarden: configuration "pwold", the same setup with its own
# socket, store and log, interleaved with the others; its store is made
# by the postwarden-ctl next to it, e.g. for the milter before a change
# of the stored rows).  Run as root.  Ports: PW_PORT_BASE (27200; 23 in
# the namespace, so that DNS is on port 53).
if [ "${CHAIN:-1}" = 1 ] && [ -z "${BENCH_NETNS:-}" ]; then
	r=$(mktemp /tmp/bench-resolv.XXXXXX)
	printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:2\n' >"$r"
	chmod 644 "$r"
	exec unshare --net --mount bash -c '
	    ip link set lo up &&
	    mount --bind "$1" /etc/resolv.conf &&
	    BENCH_NETNS=1 PW_PORT_BASE=23 exec bash "$2"' _ "$r" "$0"
fi
PW_PORT_BASE=${PW_PORT_BASE:-27200}
CONFIGS="bare pw"
[ -n "${BENCH_NETNS:-}" ] && CONFIGS=${CONFIGS_NS:-"bare pw chain"}
case ${BENCH_SINK:-smtp-sink} in
raw) PW_SINK=raw ;;
*) PW_SINK=smtp-sink ;;
esac
[ -n "${BENCH_OLD:-}" ] && CONFIGS="$CONFIGS pwold"
PW_MILTER_VERBOSE=0	# the log a production milter writes, not -v's
ROUNDS=${ROUNDS:-3}
N=${N:-1000}
CONC=${CONC:-10}
WARM=${WARM:-300}
. "$(dirname "$0")/../tests/integration/lib.sh"

IP=198.51.100.7
# Not under .test: OpenDKIM's libunbound answers NXDOMAIN for test.
# itself, and its ResolverConfiguration workaround crashes under load
# (shared/research/perf-facts.md).  example.com is served locally.
D=k.example.com
printf '    local-zone: "example.com." static\n' >>"$T/dns/zone.conf"
pw_dns_add "$D. 60 IN TXT \"v=spf1 ip4:$IP -all\""
pw_dns_add "_dmarc.$D. 60 IN TXT \"v=DMARC1; p=reject\""
key=$(pw_key rsa $D rsa1) || pw_bail "key"
# BENCH_CONF='name = value': one extra postwarden.conf line (experiments)
[ -z "${BENCH_CONF:-}" ] || pw_conf "$BENCH_CONF"
pw_setup
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' >/dev/null

# BENCH_OLD: a second postwarden, the same configuration but its own
# socket, pid file, store and temporary files
OLD_PID=
if [ -n "${BENCH_OLD:-}" ]; then
	mkdir -p "$T/pwold"
	[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pwold"
	sed -e "s|^milter_socket = .*|milter_socket = unix:$T/pwold/milter.sock|" \
	    -e "s|^pid_file = .*|pid_file = $T/pwold/postwarden.pid|" \
	    -e "s|^store = .*|store = sqlite:$T/pwold/postwarden.db|" \
	    -e "s|^temp_dir = .*|temp_dir = $T/pwold|" \
	    "$T/pw/postwarden.conf" >"$T/pwold/postwarden.conf"
	"$(dirname "$BENCH_OLD")/../tools/postwarden-ctl" \
	    -c "$T/pwold/postwarden.conf" store init >/dev/null ||
	    pw_bail "old store init"
	[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pwold"/postwarden.db*
	"$BENCH_OLD" -c "$T/pwold/postwarden.conf" -f >>"$T/pwold/log" 2>&1 &
	OLD_PID=$!; PW_PIDS+=($!)
	for i in $(seq 1 100); do
		[ -S "$T/pwold/milter.sock" ] && break
		sleep 0.1
	done
	[ -S "$T/pwold/milter.sock" ] ||
	    pw_bail "old postwarden started: $(tail -5 "$T/pwold/log")"
fi

CHAIN_PIDS=
if [[ " $CONFIGS " == *" chain "* ]]; then
	mkdir -p "$T/chain"
	cat >"$T/chain/opendkim.conf" <<EOC
Mode                    v
Socket                  local:$T/chain/odkim.sock
UMask                   000
Background              no
Syslog                  no
InternalHosts           192.0.2.99
AlwaysAddARHeader       yes
AuthservID              mx.example.test
Nameservers             127.0.0.1
EOC
	cat >"$T/chain/opendmarc.conf" <<EOC
Socket                  local:$T/chain/odmarc.sock
UMask                   000
Background              false
Syslog                  false
AuthservID              mx.example.test
TrustedAuthservIDs      mx.example.test
SPFSelfValidate         true
RejectFailures          true
PublicSuffixList        /usr/share/publicsuffix/public_suffix_list.dat
EOC
	opendkim -f -x "$T/chain/opendkim.conf" >"$T/chain/odkim.log" 2>&1 &
	CHAIN_PIDS="$!"; PW_PIDS+=($!)
	opendmarc -f -c "$T/chain/opendmarc.conf" >"$T/chain/odmarc.log" 2>&1 &
	CHAIN_PIDS="$CHAIN_PIDS $!"; PW_PIDS+=($!)
	for i in $(seq 1 50); do
		[ -S "$T/chain/odkim.sock" ] && [ -S "$T/chain/odmarc.sock" ] && break
		sleep 0.1
	done
	[ -S "$T/chain/odmarc.sock" ] || pw_bail "opendkim/opendmarc started"
fi

m=$T/msg/bench.eml
{
	printf 'From: Alice <a@%s>\nTo: bob@remote.test\nSubject: bench\n' "$D"
	printf 'Date: %s\nMessage-ID: <bench@%s>\n\n' "$(date -R)" "$D"
	for i in $(seq 1 60); do printf 'line %02d of the benchmark body, some text to hash ....\n' "$i"; done
} >"$m"
"$PW_PY" "$PW_IT/authcheck.py" sign "$m" "$m.s" "$key" "$D" rsa1 && mv "$m.s" "$m"

cpu() {	# clock ticks of the milter process(es) of a config
	local p t=0
	case $1 in
	pw) p=$PW_MILTER_PID ;;
	pwold) p=$OLD_PID ;;
	chain) p=$CHAIN_PIDS ;;
	*) echo 0; return ;;
	esac
	for p in $p; do
		[ -r "/proc/$p/stat" ] || { diag "milter $p is gone"; continue; }
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
queries() {
	unbound-control -c "$T/dns/unbound.conf" stats_noreset 2>/dev/null |
	    sed -n 's/^total.num.queries=//p'
}
busy() {	# "busy total" jiffies of the whole machine
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat
}
sent() { awk '/status=sent/ { n++ } END { print n + 0 }' "$T/pf/maillog" 2>/dev/null; }

set_milter() {
	local v=
	[ "$1" = pw ] && v=$(pw_milter_addr postfix)
	[ "$1" = pwold ] && v="unix:$T/pwold/milter.sock"
	[ "$1" = chain ] && v="unix:$T/chain/odkim.sock, unix:$T/chain/odmarc.sock"
	postconf -c "$T/pf/etc" -e "smtpd_milters = $v" >/dev/null
	postfix -c "$T/pf/etc" reload >/dev/null 2>&1
	sleep 1
}

run() {	# run CONFIG -> "msgs/s cpu_ms_per_msg dns_per_msg machine_cpu_ms_per_msg busy%"
	local s0 c0 q0 t0 t1 i b0 b1
	set_milter "$1"
	s0=$(sent); c0=$(cpu "$1"); q0=$(queries); b0=$(busy)
	t0=$(date +%s.%N)
	"$PW_PY" "$(dirname "$0")/xclient-load.py" 127.0.0.1 "$PW_SMTP_PORT" \
	    "$N" "$CONC" "$IP" "bounce@$D" bob@remote.test "$m" >/dev/null ||
	    diag "load errors in $1"
	for i in $(seq 1 1200); do
		[ $(($(sent) - s0)) -ge "$N" ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N); b1=$(busy)
	awk -v n="$N" -v t="$(echo "$t1 - $t0" | bc)" \
	    -v c="$(($(cpu "$1") - c0))" -v hz="$hz" \
	    -v q="$(($(queries) - q0))" -v b0="$b0" -v b1="$b1" \
	    'BEGIN { split(b0, x, " "); split(b1, y, " ")
		 printf "%.1f %.3f %.3f %.2f %.0f\n", n / t, c * 1000 / hz / n,
		     q / n, (y[1] - x[1]) * 1000 / hz / n,
		     100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}

# Warm-up, not measured: the first run of each configuration after start
# was 10-20 % slower than the rest (page cache, Postfix's process pools).
for c in $CONFIGS; do
	[ "$WARM" -gt 0 ] && N=$WARM run "$c" >/dev/null
done
declare -A res
for r in $(seq 1 "$ROUNDS"); do
	# rotate the order each round
	set -- $CONFIGS
	for i in $(seq 2 "$r"); do set -- "${@:2}" "$1"; done
	order="$*"
	for c in $order; do
		res[$c,$r]=$(run "$c")
		diag "round $r $c: $(echo "${res[$c,$r]}" | awk '{print $1 " msg/s, milter " $2 " ms/msg, " $3 " DNS queries/msg, machine " $4 " ms CPU/msg (" $5 "% busy)"}')"
	done
done
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { echo "${res[$1,$2]}" | cut -d' ' -f"$3"; }	# CONFIG ROUND N
medf() {	# CONFIG FIELD: median over the rounds
	for r in $(seq 1 "$ROUNDS"); do field "$1" "$r" "$2"; done | med
}
ratio() {	# A B FIELD: median over the rounds of A's field / B's
	for r in $(seq 1 "$ROUNDS"); do
		awk -v a="$(field "$1" "$r" "$3")" -v b="$(field "$2" "$r" "$3")" \
		    'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'
	done | med
}
echo "medians of $ROUNDS rounds, $N messages each, $CONC sessions, sink $PW_SINK:"
for c in $CONFIGS; do
	printf '%-5s %6s msg/s  x%s of bare' "$c" "$(medf "$c" 1)" \
	    "$(ratio "$c" bare 1)"
	[[ " $CONFIGS " == *" chain "* ]] && [ "$c" != chain ] &&
	    printf '  x%s of chain' "$(ratio "$c" chain 1)"
	printf '  milter %s ms/msg  machine %s ms/msg  DNS %s q/msg\n' \
	    "$(medf "$c" 2)" "$(medf "$c" 4)" "$(medf "$c" 3)"
done
if [[ " $CONFIGS " == *" chain "* ]] && [[ " $CONFIGS " == *" pw "* ]]; then
	echo "postwarden's milter CPU per message: $(ratio pw chain 2) of the chain's"
fi
echo "postwarden peak RSS: $(sed -n 's/^VmHWM:[ \t]*//p' "/proc/$PW_MILTER_PID/status")"
[ -z "$OLD_PID" ] ||
    echo "pwold peak RSS: $(sed -n 's/^VmHWM:[ \t]*//p' "/proc/$OLD_PID/status")"
[ -z "$OLD_PID" ] || echo "pw's milter CPU per message: $(ratio pw pwold 2) of pwold's"
for p in $CHAIN_PIDS; do
	echo "chain $(cat "/proc/$p/comm") peak RSS: $(sed -n 's/^VmHWM:[ \t]*//p' "/proc/$p/status")"
done
ok "benchmark ran"
pw_done

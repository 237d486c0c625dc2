#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-inbound.sh - inbound benchmark (issue 3, "Performance"): DKIM-signed
# 4 KiB mail from an external client address (XCLIENT) through the private
# Postfix of tests/integration/lib.sh, with no milter ("bare") and with
# postwarden (SPF + DKIM verify + DMARC + A-R), interleaved over ROUNDS
# rounds with the order rotated.  Prints per run and as medians:
# messages/second, ratio to bare of the same round, postwarden CPU ms per
# message, DNS queries per message that reached unbound, peak RSS.
#
# ROUNDS (3), N (1000), CONC (10), BENCH_CONF (an extra config line).  Run as root.  Ports: PW_PORT_BASE
# (27200).  The OpenDKIM + OpenDMARC chain is not run here: OpenDMARC
# resolves with glibc's stub resolver, which cannot be pointed at the
# test DNS port (harness-notes 4c/4e); shared/research/perf-facts.md has
# its figures from the same kind of machine.
PW_PORT_BASE=${PW_PORT_BASE:-27200}
ROUNDS=${ROUNDS:-3}
N=${N:-1000}
CONC=${CONC:-10}
. "$(dirname "$0")/../tests/integration/lib.sh"

IP=198.51.100.7
printf '    local-zone: "k.test." static\n' >>"$T/dns/zone.conf"
pw_dns_add "k.test. 60 IN TXT \"v=spf1 ip4:$IP -all\""
pw_dns_add "_dmarc.k.test. 60 IN TXT \"v=DMARC1; p=reject\""
key=$(pw_key rsa k.test rsa1) || pw_bail "key"
# BENCH_CONF='name = value': one extra postwarden.conf line (experiments)
[ -z "${BENCH_CONF:-}" ] || pw_conf "$BENCH_CONF"
pw_setup
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' >/dev/null

m=$T/msg/bench.eml
{
	printf 'From: Alice <a@k.test>\nTo: bob@remote.test\nSubject: bench\n'
	printf 'Date: %s\nMessage-ID: <bench@k.test>\n\n' "$(date -R)"
	for i in $(seq 1 60); do printf 'line %02d of the benchmark body, some text to hash ....\n' "$i"; done
} >"$m"
"$PW_PY" "$PW_IT/authcheck.py" sign "$m" "$m.s" "$key" k.test rsa1 && mv "$m.s" "$m"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }	# clock ticks
hz=$(getconf CLK_TCK)
queries() {
	unbound-control -c "$T/dns/unbound.conf" stats_noreset 2>/dev/null |
	    sed -n 's/^total.num.queries=//p'
}
sent() { awk '/status=sent/ { n++ } END { print n + 0 }' "$T/pf/maillog" 2>/dev/null; }

set_milter() {
	local v=
	[ "$1" = pw ] && v=$(pw_milter_addr postfix)
	postconf -c "$T/pf/etc" -e "smtpd_milters = $v" >/dev/null
	postfix -c "$T/pf/etc" reload >/dev/null 2>&1
	sleep 1
}

run() {	# run CONFIG -> "msgs/s cpu_ms_per_msg dns_per_msg"
	local s0 c0 q0 t0 t1 i
	set_milter "$1"
	s0=$(sent); c0=$(cpu "$PW_MILTER_PID"); q0=$(queries)
	t0=$(date +%s.%N)
	"$PW_PY" "$(dirname "$0")/xclient-load.py" 127.0.0.1 "$PW_SMTP_PORT" \
	    "$N" "$CONC" "$IP" bounce@k.test bob@remote.test "$m" >/dev/null ||
	    diag "load errors in $1"
	for i in $(seq 1 1200); do
		[ $(($(sent) - s0)) -ge "$N" ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	awk -v n="$N" -v t="$(echo "$t1 - $t0" | bc)" \
	    -v c="$(($(cpu "$PW_MILTER_PID") - c0))" -v hz="$hz" \
	    -v q="$(($(queries) - q0))" \
	    'BEGIN { printf "%.1f %.3f %.3f\n", n / t, c * 1000 / hz / n, q / n }'
}

declare -A res
for r in $(seq 1 "$ROUNDS"); do
	order="bare pw"
	[ $((r % 2)) = 0 ] && order="pw bare"
	for c in $order; do
		res[$c,$r]=$(run "$c")
		diag "round $r $c: $(echo "${res[$c,$r]}" | awk '{print $1 " msg/s, milter " $2 " ms/msg, " $3 " DNS queries/msg"}')"
	done
done
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for c in bare pw; do
	tp=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[$c,$r]}" | cut -d' ' -f1; done | med)
	cp=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[$c,$r]}" | cut -d' ' -f2; done | med)
	dq=$(for r in $(seq 1 "$ROUNDS"); do echo "${res[$c,$r]}" | cut -d' ' -f3; done | med)
	ra=$(for r in $(seq 1 "$ROUNDS"); do awk -v a="$(echo "${res[$c,$r]}" | cut -d' ' -f1)" \
	    -v b="$(echo "${res[bare,$r]}" | cut -d' ' -f1)" 'BEGIN{printf "%.2f\n", a/b}'; done | med)
	printf '%-5s %8s msg/s  x%s of bare  milter %s ms/msg  DNS %s q/msg\n' "$c" "$tp" "$ra" "$cp" "$dq"
done
echo "postwarden peak RSS: $(sed -n 's/^VmHWM:[ \t]*//p' "/proc/$PW_MILTER_PID/status")"
ok "benchmark ran"
pw_done

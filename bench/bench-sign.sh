#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-sign.sh - outbound DKIM signing benchmark (issue 2, "Benchmark").
#
# One command, run as root, self-contained: starts a private Postfix on
# 127.0.0.1 that relays to smtp-sink, Debian's opendkim and postwarden (each
# freshly started for each run), pushes the same load with smtp-source
# through every configuration, interleaved over several rounds with the
# order rotated each round, prints a table of medians, and stops everything.
#
# Configurations (CONFIGS=, space separated, default all):
#   bare              Postfix, no milter
#   odkim-rsa-unix    OpenDKIM, RSA-2048, unix socket
#   odkim-rsa-inet    OpenDKIM, RSA-2048, inet socket (127.0.0.1:26030)
#   odkim-ed-unix     OpenDKIM, Ed25519, unix socket
#   pw-rsa-unix       postwarden, RSA-2048, unix socket
#   pw-rsa-inet       postwarden, RSA-2048, inet socket (127.0.0.1:26031)
#   pw-dual-unix      postwarden, RSA-2048 + Ed25519 (two signatures)
#   pw-dual-inet      same over inet (not in the default set)
#   pw-ed-unix        postwarden, Ed25519 only
#   pw-ed-inet        same over inet (not in the default set)
#
# Environment: ROUNDS (3), N messages per run (3000), CONC smtp-source
# sessions (10), SIZE message bytes (4096), QUICK=1 (1 round, N=300: about
# a minute; the default run takes 7-10 minutes on 2 cores), CONFIGS,
# POSTWARDEN (path of the binary, an optimised build without sanitizers;
# default: milter/postwarden in the tree, else build/, else the newest
# build*/), KEEP=1 keeps the work dir.  Low-concurrency latency (Nagle and
# delayed ACKs on inet sockets): CONC=1 N=150 CONFIGS="bare odkim-rsa-unix
# odkim-rsa-inet pw-rsa-unix pw-rsa-inet".
# Profiling: PERF_DIR=/some/dir records the milter of each run (or only
# of the runs named in PERF_CONFIGS) with `perf record -e cpu-clock`
# (PERF_FREQ, PERF_CALLGRAPH=dwarf,16384|fp) into PERF_DIR/CONFIG.*.data;
# throughput of profiled runs is not representative.  Experiments:
# MILTER_PRELOAD=/path/lib.so is put in LD_PRELOAD of both milters (e.g. a
# shim that sets TCP_NODELAY on the listening socket); PW_PRELOAD only in
# postwarden's.  PW_CONF_EXTRA="metrics_listen = 127.0.0.1:9830" adds
# lines to postwarden's configuration (the cost of the metrics).
#
# Measures per run: throughput = N / (time from the start of smtp-source to
# the N-th "status=sent" in the maillog); milter CPU = utime+stime of the
# milter process (all threads, /proc/PID/stat) after minus before, / N;
# Postfix CPU = utime+stime of master and its live children plus master's
# cutime+cstime (children that exited and were reaped), after minus before,
# / N; peak RSS = VmHWM of the milter at the end of the run.  Each row of
# the table is the median over the rounds; "vs bare" is the median of the
# per-round ratios to bare Postfix of the same round, and a second table
# gives postwarden's throughput and CPU as ratios to OpenDKIM's with the
# same key type and socket (dual against RSA), per round, median.  "machine
# busy" is the non-idle share of all CPUs: on a shared machine other work
# shows there, and throughput then varies; CPU per message does not.
#
# Ports: 26025 smtpd (bare), 26041-26046 smtpd with a milter, 26026 sink,
# 26030 opendkim inet, 26031 postwarden inet.  No DNS is needed: signing
# does no lookups.

set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "bench-sign.sh: run as root" >&2; exit 2; }

ROUNDS=${ROUNDS:-3}
N=${N:-3000}
CONC=${CONC:-10}
SIZE=${SIZE:-4096}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${QUICK_ROUNDS:-1}
	N=${QUICK_N:-300}
fi
DEFAULT_CONFIGS="bare odkim-rsa-unix odkim-rsa-inet odkim-ed-unix pw-rsa-unix pw-rsa-inet pw-dual-unix pw-ed-unix"
CONFIGS=${CONFIGS:-$DEFAULT_CONFIGS}
read -r -a CFGS <<<"$CONFIGS"

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/integration/postfix.sh"
REPO=$(cd "$HERE/.." && pwd)
if [ -z "${POSTWARDEN:-}" ]; then
	for p in "$REPO/milter/postwarden" "$REPO/build/milter/postwarden" \
	    $(ls -t "$REPO"/build*/milter/postwarden 2>/dev/null || true); do
		[ -x "$p" ] && { POSTWARDEN=$p; break; }
	done
	[ -n "$POSTWARDEN" ] || POSTWARDEN=$(command -v postwarden || true)
fi
for c in "${CFGS[@]}"; do
	case $c in pw-*) [ -x "${POSTWARDEN:-}" ] || { echo "bench-sign.sh: no" \
	    "postwarden binary; build it or set POSTWARDEN=" >&2; exit 2; };;
	esac
done
for p in postfix smtp-source smtp-sink opendkim openssl /usr/bin/python3; do
	command -v "$p" >/dev/null || { echo "bench-sign.sh: $p missing" \
	    "(scripts/install-deps.sh)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/pwbench.XXXXXX)
chmod 755 "$T"
PF=$T/pf
MAILLOG=$PF/maillog
HZ=$(getconf CLK_TCK)
SINK_PID='' MILTER_PID=''

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
	set +e
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
	[ -f "$PF/spool/pid/master.pid" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work dir kept: $T" >&2
	else
		# Give master a moment to go before its spool disappears.
		for _ in $(seq 50); do
			[ -f "$PF/spool/pid/master.pid" ] || break
			sleep 0.1
		done
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- keys
mkdir -p "$T/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/keys/rsa.key" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/keys/ed.key" 2>/dev/null
chmod 600 "$T"/keys/*.key
# OpenDKIM format, shared by both milters.
echo "rsa example.test:sel1:$T/keys/rsa.key" >"$T/keys/KeyTable"
echo "ed example.test:ed1:$T/keys/ed.key" >>"$T/keys/KeyTable"
echo "*@example.test rsa" >"$T/keys/Sign-rsa"
echo "*@example.test ed" >"$T/keys/Sign-ed"
printf '*@example.test rsa\n*@example.test ed\n' >"$T/keys/Sign-dual"

# ------------------------------------------------------------- message
/usr/bin/python3 - "$SIZE" >"$T/msg.eml" <<'EOF'
import sys
size = int(sys.argv[1])
hdr = ("From: Sender <sender@example.test>\r\n"
       "To: Recipient <rcpt@remote.test>\r\n"
       "Subject: postwarden benchmark message\r\n"
       "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
       "Message-ID: <bench.1@example.test>\r\n"
       "MIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=us-ascii\r\n"
       "\r\n")
line = "The quick brown fox jumps over the lazy dog; 0123456789 abcdefghij.\r\n"
body = ""
while len(hdr) + len(body) + len(line) <= size:
	body += line
body += "x" * (size - len(hdr) - len(body) - 2) + "\r\n"
sys.stdout.write(hdr + body)
EOF

# ------------------------------------------------------------- Postfix
# Listener port per milter socket; bare Postfix on 26025.
declare -A SMTPD_PORT=(
	[none]=26025
	[odkim-unix]=26041 [odkim-inet]=26042
	[pw-unix]=26043 [pw-inet]=26044
)
declare -A MILTER_SOCK=(
	[odkim-unix]="unix:$T/odkim/odkim.sock"
	[odkim-inet]="inet:127.0.0.1:26030"
	[pw-unix]="unix:$T/pw/pw.sock"
	[pw-inet]="inet:127.0.0.1:26031"
)
mkdir -p "$PF/etc" "$PF/spool" "$T/odkim" "$T/pw"
chmod 755 "$T/odkim" "$T/pw"
{
	pw_pf_main_cf "$PF/spool" "$MAILLOG" mx.example.test example.test 26026
	cat <<EOF
smtpd_milters =
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s
EOF
} >"$PF/etc/main.cf"
{
	printf '127.0.0.1:%s inet n - n - - smtpd\n' "${SMTPD_PORT[none]}"
	for k in odkim-unix odkim-inet pw-unix pw-inet; do
		printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters=%s\n' \
		    "${SMTPD_PORT[$k]}" "${MILTER_SOCK[$k]}"
	done
	pw_pf_services
} >"$PF/etc/master.cf"
postfix -c "$PF/etc" check >/dev/null 2>&1 || { tail "$MAILLOG" >&2; exit 1; }
postfix -c "$PF/etc" start >/dev/null 2>&1 || { tail "$MAILLOG" >&2; exit 1; }
pw_wait_tcp 26025 || { echo "Postfix did not start" >&2; tail "$MAILLOG" >&2; exit 1; }

start_sink() {	# [dump template]
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true
	fi
	smtp-sink -u nobody ${1:+-d "$1"} 127.0.0.1:26026 256 \
	    >"$T/sink.log" 2>&1 &
	SINK_PID=$!
	pw_wait_tcp 26026 || { echo "smtp-sink did not start" >&2; exit 1; }
}

# -------------------------------------------------------------- milters
# config name -> milter kind, key set, socket kind
cfg_milter() { case $1 in bare) echo none;; odkim-*) echo odkim;; pw-*) echo pw;; esac; }
cfg_keys() { case $1 in *-rsa-*) echo rsa;; *-ed-*) echo ed;; *-dual-*) echo dual;; *) echo;; esac; }
cfg_sock() { case $1 in *-inet) echo inet;; *-unix) echo unix;; *) echo;; esac; }

start_milter() {	# config
	local kind keys sock dir
	kind=$(cfg_milter "$1") keys=$(cfg_keys "$1") sock=$(cfg_sock "$1")
	MILTER_PID=
	case $kind in
	none) return 0;;
	odkim)
		dir=$T/odkim
		rm -f "$dir/odkim.sock"
		{
			echo "Mode s"
			echo "KeyTable file:$T/keys/KeyTable"
			echo "SigningTable refile:$T/keys/Sign-$keys"
			[ "$keys" = ed ] && echo "SignatureAlgorithm ed25519-sha256"
			echo "Canonicalization relaxed/relaxed"
			echo "InternalHosts 127.0.0.1"
			echo "RequireSafeKeys false"
			echo "Background no"
			echo "Syslog no"
			echo "UMask 000"
			echo "PidFile $dir/opendkim.pid"
			if [ "$sock" = inet ]; then
				echo "Socket inet:26030@127.0.0.1"
			else
				echo "Socket local:$dir/odkim.sock"
			fi
		} >"$dir/opendkim.conf"
		env ${MILTER_PRELOAD:+LD_PRELOAD=$MILTER_PRELOAD} \
		    opendkim -f -x "$dir/opendkim.conf" >"$dir/log" 2>&1 &
		MILTER_PID=$!
		;;
	pw)
		dir=$T/pw
		rm -f "$dir/pw.sock"
		{
			if [ "$sock" = inet ]; then
				echo "milter_socket = inet:26031@127.0.0.1"
			else
				echo "milter_socket = unix:$dir/pw.sock"
				echo "milter_socket_mode = 0666"
			fi
			echo "log = stderr"
			echo "internal_hosts = 127.0.0.0/8"
			echo "store = sqlite:$dir/pw.db"
			echo "dkim_key_table = file:$T/keys/KeyTable"
			echo "dkim_signing_table = refile:$T/keys/Sign-$keys"
			# loopback only: the startup check of the keys' DNS
			# records gets "refused" at once, never the machine's
			# resolvers
			echo "dns_nameservers = 127.0.0.1@9"
			# PW_CONF_EXTRA: more lines, e.g. "metrics_listen = ..."
			[ -z "${PW_CONF_EXTRA:-}" ] || printf '%s\n' "$PW_CONF_EXTRA"
		} >"$dir/pw.conf"
		local pre=${MILTER_PRELOAD:-}
		[ -n "${PW_PRELOAD:-}" ] && pre=${pre:+$pre:}$PW_PRELOAD
		env ${pre:+LD_PRELOAD=$pre} \
		    "$POSTWARDEN" -f -c "$dir/pw.conf" >"$dir/log" 2>&1 &
		MILTER_PID=$!
		;;
	esac
	for _ in $(seq 100); do
		if ! kill -0 "$MILTER_PID" 2>/dev/null; then
			echo "$1: milter exited at startup:" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		if [ "$sock" = unix ]; then
			[ -S "$dir/$kind.sock" ] && return 0
		elif [ -n "$(ss -Hltn "sport = :$([ "$kind" = pw ] && echo 26031 || echo 26030)")" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "$1: milter socket did not appear" >&2
	kill "$MILTER_PID" 2>/dev/null
	exit 1
}

# libmilter's listener polls with a 5 s timeout, so a clean SIGTERM exit
# takes ~4.5 s; the run is over and measured, so give it 0.5 s, then KILL.
stop_milter() {
	[ -n "$MILTER_PID" ] || return 0
	kill "$MILTER_PID" 2>/dev/null || true
	for _ in 1 2 3 4 5; do
		kill -0 "$MILTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$MILTER_PID" 2>/dev/null || true
	wait "$MILTER_PID" 2>/dev/null || true
	MILTER_PID=
}

# utime+stime (ticks) of one process, all threads
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# Postfix: master (self + reaped children) + live children
pf_ticks() {
	local m t
	m=$(tr -d ' \n' <"$PF/spool/pid/master.pid")
	t=$(sed 's/.*) //' "/proc/$m/stat" | awk '{print $12 + $13 + $14 + $15}')
	for c in $(ps -o pid= --ppid "$m"); do
		t=$((t + $(proc_ticks "$c" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
sent_since() { tail -c "+$(($1 + 1))" "$MAILLOG" | grep -c 'status=sent' || true; }

# whole machine: "busy total" jiffies from /proc/stat (all CPUs)
cpu_busy() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i;
	print t - $5 - $6, t; exit}' /proc/stat; }

# one_run config n conc ->
#   "rate milter_ms postfix_ms hwm_kb busy_pct problems"
one_run() {
	local cfg=$1 n=$2 conc=$3 port off t0 t1 m0 m1 p0 p1 hwm last=0 stall=0 cnt
	local b0 b1
	local mk
	mk=$(cfg_milter "$cfg")
	if [ "$mk" = none ]; then port=${SMTPD_PORT[none]}
	else port=${SMTPD_PORT[$mk-$(cfg_sock "$cfg")]}; fi
	start_milter "$cfg"
	sleep 0.3
	off=$(stat -c %s "$MAILLOG")
	m0=0; [ -n "$MILTER_PID" ] && m0=$(proc_ticks "$MILTER_PID")
	p0=$(pf_ticks)
	local perf_pid=
	if [ -n "${PERF_DIR:-}" ] && [ -n "$MILTER_PID" ] && [ "$n" -gt 1 ] &&
	    [[ " ${PERF_CONFIGS:-$cfg} " == *" $cfg "* ]]; then
		mkdir -p "$PERF_DIR"
		perf record -q -e cpu-clock -F "${PERF_FREQ:-999}" \
		    --call-graph "${PERF_CALLGRAPH:-dwarf,16384}" -p "$MILTER_PID" \
		    -o "$PERF_DIR/$cfg.$$.$RANDOM.data" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	b0=$(cpu_busy)
	t0=$(now)
	smtp-source -s "$conc" -m "$n" -F "$T/msg.eml" -M client.example.test \
	    -f sender@example.test -t rcpt@remote.test \
	    "127.0.0.1:$port" >"$T/source.log" 2>&1 || true
	while :; do
		cnt=$(sent_since "$off")
		[ "$cnt" -ge "$n" ] && break
		if [ "$cnt" = "$last" ]; then
			stall=$((stall + 1))
			[ "$stall" -ge 400 ] && break	# 20 s without progress
		else
			stall=0 last=$cnt
		fi
		sleep 0.05
	done
	t1=$(now)
	b1=$(cpu_busy)
	m1=0; hwm=0
	if [ -n "$MILTER_PID" ]; then
		m1=$(proc_ticks "$MILTER_PID")
		hwm=$(hwm_kb "$MILTER_PID")
	fi
	p1=$(pf_ticks)
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
	fi
	stop_milter
	local problems=""
	[ "$cnt" -ge "$n" ] || problems="only $cnt/$n sent;"
	if grep -q . "$T/source.log"; then
		problems="$problems smtp-source: $(sort "$T/source.log" | uniq -c | sort -rn | head -2 | tr -s ' \n' ' ');"
	fi
	if [ "$mk" = pw ]; then
		local signed
		signed=$(grep -c 'signed=example.test' "$T/pw/log" || true)
		[ "$signed" -ge "$n" ] || problems="$problems postwarden signed $signed/$n;"
		cat "$T/pw/log" >>"$T/pw/all.log"
	fi
	awk -v n="$n" -v t0="$t0" -v t1="$t1" -v m="$((m1 - m0))" \
	    -v p="$((p1 - p0))" -v hz="$HZ" -v hwm="$hwm" -v pr="${problems:--}" \
	    -v b0="$b0" -v b1="$b1" \
	    'BEGIN { split(b0, x, " "); split(b1, y, " ");
		busy = y[2] > x[2] ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0;
		printf "%.2f\t%.3f\t%.3f\t%d\t%.0f\t%s\n", n / (t1 - t0),
		1000 * m / hz / n, 1000 * p / hz / n, hwm, busy, pr }'
}

# ------------------------------------------------------------ preflight
# One message through each configuration into a dumping sink: check that
# it arrives with the expected DKIM-Signature headers.
log "postwarden: $POSTWARDEN"
log "preflight: one message per configuration"
mkdir -p "$T/check"
chown nobody "$T/check"
start_sink "$T/check/%Y%m%d%H%M%S."
for cfg in "${CFGS[@]}"; do
	rm -f "$T"/check/*
	r=$(one_run "$cfg" 1 1)
	f=$(ls "$T"/check/* 2>/dev/null | head -1 || true)
	case $(cfg_keys "$cfg") in
	rsa) want="rsa-sha256";; ed) want="ed25519-sha256";;
	dual) want="ed25519-sha256 rsa-sha256";; *) want="";;
	esac
	got=""
	[ -n "$f" ] && got=$(grep -o 'a=[a-z0-9-]*;' "$f" | sed 's/a=//; s/;//' | sort | tr '\n' ' ' | sed 's/ $//' || true)
	if [ -z "$f" ] || [ "$got" != "$want" ]; then
		echo "preflight $cfg: expected signatures [$want], got [$got] ($r)" >&2
		[ -n "$f" ] && sed -n '1,40p' "$f" >&2
		exit 1
	fi
	log "  $cfg ok [${got:-unsigned}]"
done
start_sink

# --------------------------------------------------------------- rounds
RES=$T/results.tsv
: >"$RES"
ncfg=${#CFGS[@]}
log "rounds=$ROUNDS N=$N CONC=$CONC SIZE=$SIZE configs=$ncfg"
for ((r = 0; r < ROUNDS; r++)); do
	for ((i = 0; i < ncfg; i++)); do
		cfg=${CFGS[$(((i + r) % ncfg))]}
		res=$(one_run "$cfg" "$N" "$CONC")
		printf '%d\t%s\t%s\n' "$r" "$cfg" "$res" >>"$RES"
		log "round $((r + 1))/$ROUNDS $cfg: $(cut -f1 <<<"$res") msg/s"
		# Let the last deliveries settle so the next run starts idle.
		sleep 1
	done
done

# ---------------------------------------------------------------- table
/usr/bin/python3 - "$RES" "$N" "$CONC" "$SIZE" "$ROUNDS" "$CONFIGS" <<'EOF'
import sys, statistics as st
res, n, conc, size, rounds, order = sys.argv[1:7]
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
by = {}
bare = {}
for r, cfg, rate, mms, pms, hwm, busy, prob in rows:
	by.setdefault(cfg, []).append((int(r), float(rate), float(mms), float(pms), int(hwm), prob, float(busy)))
	if cfg == "bare":
		bare[int(r)] = float(rate)
def med(xs):
	return st.median(xs) if xs else float("nan")
print()
print("postwarden signing benchmark: %s msgs of %s bytes per run, smtp-source "
      "concurrency %s, %s round(s), medians" % (n, size, conc, rounds))
print()
# postwarden against OpenDKIM with the same key type and socket (dual
# against RSA), per round, then the median.
peer = {"pw-rsa-unix": "odkim-rsa-unix", "pw-rsa-inet": "odkim-rsa-inet",
	"pw-ed-unix": "odkim-ed-unix", "pw-dual-unix": "odkim-rsa-unix",
	"pw-ed-inet": "odkim-rsa-inet", "pw-dual-inet": "odkim-rsa-inet"}
def vs_peer(cfg, idx):
	p = peer.get(cfg)
	if p is None or p not in by:
		return "-"
	pr = {x[0]: x[idx] for x in by[p]}
	rs = [x[idx] / pr[x[0]] for x in by[cfg] if x[0] in pr and pr[x[0]] > 0]
	return "%.2f (%s)" % (med(rs), p) if rs else "-"
print("| configuration | msgs/s | vs bare | ms/msg/session | milter CPU ms/msg | Postfix CPU ms/msg | milter peak RSS MiB | machine busy | problems |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for cfg in order.split():
	v = by.get(cfg)
	if not v:
		continue
	rate = med([x[1] for x in v])
	ratios = [x[1] / bare[x[0]] for x in v if x[0] in bare]
	ratio = "%.2f" % med(ratios) if ratios else "-"
	mcpu = "%.2f" % med([x[2] for x in v]) if cfg != "bare" else "-"
	pcpu = med([x[3] for x in v])
	hwm = "%.1f" % (max(x[4] for x in v) / 1024) if cfg != "bare" else "-"
	probs = "; ".join(sorted(set(x[5] for x in v if x[5] != "-"))) or "-"
	busy = med([x[6] for x in v])
	print("| %s | %.1f | %s | %.1f | %s | %.2f | %s | %.0f%% | %s |" % (
		cfg, rate, ratio, 1000.0 * int(conc) / rate, mcpu, pcpu, hwm, busy, probs))
pw = [c for c in order.split() if c in by and c in peer and peer[c] in by]
if pw:
	print()
	print("| postwarden vs OpenDKIM (same rounds) | msgs/s ratio | milter CPU ratio |")
	print("|---|---:|---:|")
	for c in pw:
		print("| %s | %s | %s |" % (c, vs_peer(c, 1), vs_peer(c, 2)))
print()
print("ms/msg/session = CONC / throughput (time per message seen by one sending session).")
print("machine busy = non-idle share of all CPUs during the run (includes anything else running).")
print("Per-run figures (round, config, msgs/s, milter ms, Postfix ms, VmHWM KiB, busy %):")
for r, cfg, rate, mms, pms, hwm, busy, prob in rows:
	print("  %s %-15s %8s %7s %7s %7s %4s %s" % (r, cfg, rate, mms, pms, hwm, busy, "" if prob == "-" else prob))
EOF

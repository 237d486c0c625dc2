#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-consent.sh - consent benchmark (issue 4, "Performance"): load
# 1,000,000 consent records, print the store's lookup latency p50/p99
# (bench/micro-consent.c on that very store), then push commercial mail
# through a private Postfix with postwarden into smtp-sink and print
# messages/second with consent checks (consent_mode = enforce) against the
# same mail with the organisation's consent_mode = off, interleaved over
# several rounds, order alternating, medians.
#
# One command, run as root from anywhere in the checkout, self-contained
# (everything lives in a mktemp dir that is removed at the end):
#
#   bench/bench-consent.sh            # ~3-4 minutes on 2 cores
#   QUICK=1 bench/bench-consent.sh    # 1 round, N=300: about 30 s
#
# Environment: RECORDS (1000000), LOOKUPS (200000; QUICK 50000), THREADS
# micro-consent lookup threads (2), ROUNDS (5), N messages per run (3000),
# CONC client sessions (10), BUILD (build dir with milter/postwarden,
# tools/postwarden-ctl and policies/libpolicies.a; default: the newest
# build*/ of the checkout), KEEP=1 keeps the work dir; experiment:
# FIXED_RCPT=user4@example4.com sends every message to that one recipient.
#
# The mail: organisation "acme" (envelope sender news@acme.test, submitted
# from 127.0.0.1 = internal_hosts, class_header_mode = off, so the class
# is final at MAIL FROM and consent is checked at RCPT), commercial, with
# the identification footer, DKIM-signed (RSA-2048), a generated
# List-Unsubscribe/-Post with a per-recipient token, and one audit row per
# message (synchronous = FULL).  One recipient per message and connection,
# drawn at random from the records with express consent among the
# million, so lookups do not all hit one cached row.  The two modes differ
# only in consent_mode; everything else (signing, tokens, audit) is the
# same, so the difference is the cost of the consent check.
#
# MODES="quota-on quota-off" (issue 17) compares instead, both with
# consent_mode = enforce: quota-on = sending quotas (quota_hour, _day and
# _month set far above what the run sends, so every message is counted,
# checked and flushed but none refused) and the feedback loop
# (bounce_processing = yes, the default; a complaints_address) against
# quota-off = no quota keys and bounce_processing = no.  The summary then
# gives quota-on / quota-off.  quota-only: the quotas of quota-on with
# bounce_processing = no (MODES="quota-only quota-off": the quotas alone).
#
# Records (the pattern micro-consent uses): user<i>@example<i%1000>.com,
# org acme, i = 0..RECORDS-1; list "news" when i%3 == 0; type by i%4
# (express, implied-purchase, implied-inquiry, implied-contract).
# Loaded with one INSERT ... SELECT over a recursive CTE through sqlite3,
# in one transaction, into the schema postwarden-ctl created.
#
# Throughput = N / (time from the start of the client to the N-th
# "status=sent" in the maillog).  Also printed: milter CPU per message
# (utime+stime of postwarden, /proc) and the RCPT reply time the client
# sees (where the consent lookup happens), p50/p99 per run.  The load
# average before and after the rounds is printed because other work on
# the machine skews throughput far more than the check does.  Ports: 35025 smtpd, 35026 sink (range of
# helper "review4"; SMTPD_PORT and SINK_PORT set others); the milter uses
# a unix socket.
#
# PG=1 (issue 10): the same records also in a private PostgreSQL 15
# (tests/integration/pg.sh, on 127.0.0.1:PW_PORT_BASE + 432, default
# base 27300), loaded with one INSERT ... SELECT over generate_series;
# the lookup latency on it (micro-consent through postwarden_milter over
# TCP loopback); and the rounds compare the milter on that PostgreSQL
# store (mode "pg", consent_mode = enforce) with the milter on the SQLite
# file (mode "enforce") instead of enforce against off: "pg" is MTAS_PG
# (default 2) MTAs - a second Postfix on SMTPD2_PORT (SMTPD_PORT + 100)
# with its own postwarden, both on the one PostgreSQL store, the load
# split between them - and "enforce" is one MTA on SQLite; the milter
# CPU per message is that of every postwarden together.

set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "bench-consent.sh: run as root" >&2; exit 2; }

RECORDS=${RECORDS:-1000000}
LOOKUPS=${LOOKUPS:-200000}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
MODES=${MODES:-enforce off}
N=${N:-3000}
CONC=${CONC:-10}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=${QUICK_ROUNDS:-1}
	N=${QUICK_N:-300}
	LOOKUPS=${QUICK_LOOKUPS:-50000}
fi
SMTPD_PORT=${SMTPD_PORT:-35025}
SINK_PORT=${SINK_PORT:-35026}

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/integration/postfix.sh"
REPO=$(cd "$HERE/.." && pwd)
if [ -z "${BUILD:-}" ]; then
	BUILD=$(ls -td "$REPO"/build*/ 2>/dev/null | while read -r d; do
		[ -x "$d/milter/postwarden" ] && [ -x "$d/tools/postwarden-ctl" ] &&
		    [ -f "$d/policies/libpolicies.a" ] && { echo "${d%/}"; break; }
	done || true)
fi
[ -n "$BUILD" ] && [ -x "$BUILD/milter/postwarden" ] || {
	echo "bench-consent.sh: no build dir; build or set BUILD=" >&2; exit 2; }
POSTWARDEN=$BUILD/milter/postwarden
CTL=$BUILD/tools/postwarden-ctl
for p in postfix smtp-sink sqlite3 openssl gcc pkg-config /usr/bin/python3; do
	command -v "$p" >/dev/null || { echo "bench-consent.sh: $p missing" \
	    "(scripts/install-deps.sh)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/pwbench-consent.XXXXXX)
chmod 755 "$T"
PF=$T/pf
MAILLOG=$PF/maillog
DB=$T/pw/store.db
SINK_PID= MILTER_PID= MILTER2_PID=
PF2=$T/pf2
MAILLOG2=$PF2/maillog
SMTPD2_PORT=${SMTPD2_PORT:-$((SMTPD_PORT + 100))}
MTAS=1
[ "${PG:-0}" = 1 ] && MTAS=${MTAS_PG:-2}

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
	set +e
	[ -n "$MILTER_PID" ] && kill -KILL "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	[ -n "$MILTER2_PID" ] && kill -KILL "$MILTER2_PID" 2>/dev/null && wait "$MILTER2_PID" 2>/dev/null
	[ -f "$PF2/spool/pid/master.pid" ] && postfix -c "$PF2/etc" stop >/dev/null 2>&1
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
	[ "${PG:-0}" = 1 ] && pg_stop
	[ -f "$PF/spool/pid/master.pid" ] && postfix -c "$PF/etc" stop >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work dir kept: $T" >&2
	else
		for _ in $(seq 50); do
			[ -f "$PF/spool/pid/master.pid" ] || break
			sleep 0.1
		done
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$T/pw" "$T/keys" "$PF/etc" "$PF/spool"

# ------------------------------------------------------------ 1. records
log "build: $BUILD"
"$CTL" consent add schema@example.invalid --org schema --type express \
    --source bench --store "sqlite:$DB" >/dev/null
base=$(( $(date +%s) - 86400 * 300 ))
t0=$(date +%s.%N)
sqlite3 "$DB" <<EOF
PRAGMA synchronous = NORMAL;
BEGIN IMMEDIATE;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c
    WHERE i < $RECORDS - 1)
INSERT INTO consent_event (org, address, list, type, obtained_at,
    expires_at, relationship_date, source, proof, created_at, recorded_us)
SELECT 'acme', 'user' || i || '@example' || (i % 1000) || '.com',
    CASE WHEN i % 3 = 0 THEN 'news' ELSE '' END,
    CASE i % 4 WHEN 0 THEN 'express' WHEN 1 THEN 'implied-purchase'
        WHEN 2 THEN 'implied-inquiry' ELSE 'implied-contract' END,
    $base + (i % 600) * 3600, NULL, NULL, 'bench', 'generated',
    $(date +%s), $(date +%s)000000 + i
FROM c;
COMMIT;
EOF
t1=$(date +%s.%N)
got=$(sqlite3 "$DB" "SELECT count(*) FROM consent_event WHERE org = 'acme'")
[ "$got" = "$RECORDS" ] || { echo "loaded $got of $RECORDS records" >&2; exit 1; }
awk -v n="$RECORDS" -v a="$t0" -v b="$t1" -v s="$(stat -c %s "$DB")" \
    'BEGIN { printf "load: %d consent records in %.1f s (%.0f/s, one transaction), store %.0f MiB\n", n, b - a, n / (b - a), s / 1048576 }'

# ------------------------------------------------------------ 2. lookups
gcc -O2 -I"$BUILD" -I"$REPO/policies" -o "$T/micro-consent" \
    "$REPO/bench/micro-consent.c" "$BUILD/policies/libpolicies.a" \
    $(pkg-config --libs sqlite3 libpq libcrypto libidn2) -lpthread
log "lookups: $LOOKUPS random recipients (90% on record), 1 and $THREADS threads"
echo "lookup latency (pw_store_consent_check on the $RECORDS-record store):"
MICRO_CONSENT_DB=$DB nice "$T/micro-consent" "$RECORDS" "$LOOKUPS" "$THREADS" |
    grep -v '^token_' | sed 's/^/  /'

if [ "${PG:-0}" = 1 ]; then
	MODES="enforce pg"
	export PW_PORT_BASE=${PW_PORT_BASE:-27300}
	. "$REPO/tests/integration/pg.sh"
	PW_BUILD_DIR=$BUILD pg_start "$T" >"$T/pg-start.log" 2>&1 ||
	    { cat "$T/pg-start.log" >&2; exit 1; }
	log "PostgreSQL on 127.0.0.1:$PW_PG_PORT: loading $RECORDS records"
	t0=$(date +%s.%N)
	pg_sql "INSERT INTO consent_event (org, address, list, type,
	    obtained_at, expires_at, relationship_date, source, proof,
	    created_at, recorded_us)
	SELECT 'acme', 'user' || i || '@example' || (i % 1000) || '.com',
	    CASE WHEN i % 3 = 0 THEN 'news' ELSE '' END,
	    CASE i % 4 WHEN 0 THEN 'express' WHEN 1 THEN 'implied-purchase'
	        WHEN 2 THEN 'implied-inquiry' ELSE 'implied-contract' END,
	    $base + (i % 600) * 3600, NULL, NULL, 'bench', 'generated',
	    $(date +%s), $(date +%s)000000 + i
	FROM generate_series(0, $RECORDS - 1) AS i"
	pg_sql "ANALYZE"
	t1=$(date +%s.%N)
	awk -v n="$RECORDS" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "PostgreSQL load: %d consent records in %.1f s (one transaction, then ANALYZE)\n", n, b - a }'
	echo "lookup latency (pw_store_consent_check on PostgreSQL, $RECORDS records, role postwarden_milter, TCP loopback):"
	MICRO_CONSENT_SPEC=$PW_PG_MILTER_URI nice "$T/micro-consent" "$RECORDS" \
	    "$LOOKUPS" "$THREADS" | grep -v '^token_' | sed 's/^/  /'
fi

# ------------------------------------------------------------ 3. mail
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/keys/rsa.key" 2>/dev/null
chmod 600 "$T/keys/rsa.key"
echo "rsa acme.test:sel1:$T/keys/rsa.key" >"$T/keys/KeyTable"
echo "*@acme.test rsa" >"$T/keys/SigningTable"
"$CTL" token newkey --ring "$T/pw/unsub.keys" >/dev/null
for mode in $(printf '%s\n' enforce off $MODES | sort -u); do
	cmode=$mode extra= pwextra=
	case $mode in
	pg)
		cmode=enforce ;;
	quota-on)
		cmode=enforce
		extra=$'quota_hour = 1000000\nquota_day = 10000000\nquota_month = 100000000\ncomplaints_address = fbl@acme.test'
		pwextra="bounce_processing = yes" ;;
	quota-only)
		cmode=enforce
		extra=$'quota_hour = 1000000\nquota_day = 10000000\nquota_month = 100000000'
		pwextra="bounce_processing = no" ;;
	quota-off)
		cmode=enforce
		pwextra="bounce_processing = no" ;;
	esac
	cat >"$T/pw/orgs-$mode.conf" <<EOF
[org acme]
domains = acme.test
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
unsubscribe_mailto = unsubscribe@acme.test
class_header_mode = off
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt
consent_mode = $cmode
$extra
EOF
	cat >"$T/pw/pw-$mode.conf" <<EOF
milter_socket = unix:$T/pw/pw.sock
milter_socket_mode = 0666
log = stderr
internal_hosts = 127.0.0.0/8
store = $([ "$mode" = pg ] && echo "$PW_PG_MILTER_URI" || echo "sqlite:$DB")
dkim_key_table = file:$T/keys/KeyTable
dkim_signing_table = refile:$T/keys/SigningTable
dns_nameservers = 127.0.0.1@9
organisations = file:$T/pw/orgs-$mode.conf
unsubscribe_keys = $T/pw/unsub.keys
$pwextra
EOF
	"$POSTWARDEN" -n -c "$T/pw/pw-$mode.conf" >/dev/null ||
	    { echo "postwarden -n failed for $mode" >&2; exit 1; }
done

cat >"$T/msg.eml" <<'EOF'
From: Acme News <news@acme.test>
Subject: This week's offers
Date: Wed, 25 Nov 2026 12:00:00 +0000
Message-ID: <bench.1@acme.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Everything 50% off this week only.  The quick brown fox jumps over the
lazy dog; 0123456789 abcdefghijklmnopqrstuvwxyz.

--
Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test
EOF

{
	pw_pf_main_cf "$PF/spool" "$MAILLOG" mx.acme.test acme.test "$SINK_PORT"
	cat <<EOF
smtpd_milters = unix:$T/pw/pw.sock
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s
EOF
} >"$PF/etc/main.cf"
{
	printf '127.0.0.1:%s inet n - n - - smtpd\n' "$SMTPD_PORT"
	pw_pf_services
} >"$PF/etc/master.cf"
postfix -c "$PF/etc" check >/dev/null 2>&1 || { tail "$MAILLOG" >&2; exit 1; }
postfix -c "$PF/etc" start >/dev/null 2>&1 || { tail "$MAILLOG" >&2; exit 1; }
pw_wait_tcp "$SMTPD_PORT" || { echo "Postfix did not start" >&2; tail "$MAILLOG" >&2; exit 1; }
if [ "$MTAS" = 2 ]; then
	# the second MTA: the same Postfix configuration in its own
	# directories, another smtpd port, its own postwarden
	mkdir -p "$PF2/etc" "$PF2/spool"
	sed "s|$PF/|$PF2/|g; s|unix:$T/pw/pw.sock|unix:$T/pw/pw2.sock|" \
	    "$PF/etc/main.cf" >"$PF2/etc/main.cf"
	sed "s|^127.0.0.1:$SMTPD_PORT |127.0.0.1:$SMTPD2_PORT |" \
	    "$PF/etc/master.cf" >"$PF2/etc/master.cf"
	sed "s|$T/pw/pw.sock|$T/pw/pw2.sock|" "$T/pw/pw-pg.conf" >"$T/pw/pw-pg2.conf"
	postfix -c "$PF2/etc" check >/dev/null 2>&1 || { tail "$MAILLOG2" >&2; exit 1; }
	postfix -c "$PF2/etc" start >/dev/null 2>&1 || { tail "$MAILLOG2" >&2; exit 1; }
	pw_wait_tcp "$SMTPD2_PORT" || { echo "Postfix 2 did not start" >&2; exit 1; }
fi

start_sink() {	# [dump template]
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true
	fi
	smtp-sink -u nobody ${1:+-d "$1"} "127.0.0.1:$SINK_PORT" 256 \
	    >"$T/sink.log" 2>&1 &
	SINK_PID=$!
	pw_wait_tcp "$SINK_PORT" || { echo "smtp-sink did not start" >&2; exit 1; }
}

start_milter() {	# mode
	rm -f "$T/pw/pw.sock"
	"$POSTWARDEN" -f -c "$T/pw/pw-$1.conf" >"$T/pw/log" 2>&1 &
	MILTER_PID=$!
	for _ in $(seq 100); do
		kill -0 "$MILTER_PID" 2>/dev/null ||
		    { echo "postwarden exited:" >&2; cat "$T/pw/log" >&2; exit 1; }
		[ -S "$T/pw/pw.sock" ] && return 0
		sleep 0.1
	done
	echo "milter socket did not appear" >&2
	exit 1
}
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
	cat "$T/pw/log" >>"$T/pw/all.log"
}

# The client: N messages over CONC threads, one SMTP session per message,
# one recipient drawn from the express records without a list
# (i % 12 in {4, 8}), or RCPT given as the 6th argument.
cat >"$T/load.py" <<'EOF'
import os, random, smtplib, sys, threading, time
port, n, conc, records, path = sys.argv[1:6]
fixed = sys.argv[6] if len(sys.argv) > 6 else None
port, n, conc, records = int(port), int(n), int(conc), int(records)
data = open(path, "rb").read().replace(b"\n", b"\r\n")
errors = []
rcpt_ms = []
def rcpt(rng):
    i = 12 * rng.randrange(max(1, (records - 9) // 12)) + rng.choice((4, 8))
    return "user%d@example%d.com" % (i, i % 1000)
def worker(seed, count):
    rng = random.Random(seed)
    for _ in range(count):
        to = fixed or rcpt(rng)
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.ehlo("client.acme.test")
            code, msg = s.mail("news@acme.test")
            if code != 250:
                raise RuntimeError("MAIL: %d %s" % (code, msg))
            t = time.perf_counter()
            code, msg = s.rcpt(to)
            rcpt_ms.append(1000 * (time.perf_counter() - t))
            if code != 250:
                raise RuntimeError("RCPT: %d %s" % (code, msg.decode()))
            code, msg = s.data(b"To: <" + to.encode() + b">\r\n" + data)
            if code != 250:
                raise RuntimeError("DATA: %d %s" % (code, msg))
            s.quit()
        except Exception as e:      # noqa: BLE001 - count every failure
            errors.append("%s: %s" % (to, e))
t0 = time.time()
per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
th = [threading.Thread(target=worker,
                      args=(1000 * (i + 1) + int(t0) + 7919 * os.getpid(), c))
      for i, c in enumerate(per)]
for t in th: t.start()
for t in th: t.join()
if rcpt_ms:
    rcpt_ms.sort()
    print("rcpt_ms %.2f %.2f" % (rcpt_ms[len(rcpt_ms) // 2],
                                 rcpt_ms[len(rcpt_ms) * 99 // 100]))
if errors:
    sys.stderr.write("%d errors, first: %s\n" % (len(errors), errors[0]))
    sys.exit(1)
EOF

sent_since() { tail -c "+$(($1 + 1))" "${2:-$MAILLOG}" | grep -c 'status=sent' || true; }

# the second MTA's postwarden (mode pg, MTAS = 2)
start_milter2() {
	rm -f "$T/pw/pw2.sock"
	"$POSTWARDEN" -f -c "$T/pw/pw-pg2.conf" >"$T/pw/log2" 2>&1 &
	MILTER2_PID=$!
	for _ in $(seq 100); do
		kill -0 "$MILTER2_PID" 2>/dev/null ||
		    { echo "postwarden 2 exited:" >&2; cat "$T/pw/log2" >&2; exit 1; }
		[ -S "$T/pw/pw2.sock" ] && return 0
		sleep 0.1
	done
	echo "milter 2 socket did not appear" >&2
	exit 1
}
stop_milter2() {
	kill "$MILTER2_PID" 2>/dev/null || true
	wait "$MILTER2_PID" 2>/dev/null || true
	MILTER2_PID=
}

# utime+stime (ticks) of one process, all threads
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)

one_run() {	# mode n -> "rate milter_ms problems"
	local mode=$1 n=$2 off t0 t1 cnt last=0 stall=0 problems= m0 m1
	local two=0 off2=0 n1=$2 c1=$CONC
	[ "$mode" = pg ] && [ "$MTAS" = 2 ] && two=1 n1=$(($2 / 2)) c1=$((CONC / 2))
	start_milter "$mode"
	[ "$two" = 1 ] && start_milter2
	sleep 0.3
	off=$(stat -c %s "$MAILLOG")
	[ "$two" = 1 ] && off2=$(stat -c %s "$MAILLOG2")
	m0=$(proc_ticks "$MILTER_PID")
	[ "$two" = 1 ] && m0=$((m0 + $(proc_ticks "$MILTER2_PID")))
	t0=$(date +%s.%N)
	if [ "$two" = 1 ]; then
		/usr/bin/python3 "$T/load.py" "$SMTPD2_PORT" "$((n - n1))" \
		    "$((CONC - c1))" "$RECORDS" "$T/msg.eml" >"$T/client2.log" 2>&1 &
	fi
	/usr/bin/python3 "$T/load.py" "$SMTPD_PORT" "$n1" "$c1" "$RECORDS" \
	    "$T/msg.eml" ${FIXED_RCPT:+"$FIXED_RCPT"} >"$T/client.log" 2>&1 ||
	    problems="client: $(grep -v '^rcpt_ms' "$T/client.log" | tail -1);"
	if [ "$two" = 1 ]; then
		wait $! || problems="$problems client 2: $(grep -v '^rcpt_ms' "$T/client2.log" | tail -1);"
	fi
	while :; do
		cnt=$(sent_since "$off")
		[ "$two" = 1 ] && cnt=$((cnt + $(sent_since "$off2" "$MAILLOG2")))
		[ "$cnt" -ge "$n" ] && break
		if [ "$cnt" = "$last" ]; then
			stall=$((stall + 1))
			[ "$stall" -ge 200 ] && break	# 10 s without progress
		else
			stall=0 last=$cnt
		fi
		sleep 0.05
	done
	t1=$(date +%s.%N)
	m1=$(proc_ticks "$MILTER_PID")
	[ "$two" = 1 ] && m1=$((m1 + $(proc_ticks "$MILTER2_PID")))
	stop_milter
	[ "$two" = 1 ] && stop_milter2
	[ "$cnt" -ge "$n" ] || problems="$problems only $cnt/$n sent;"
	# every message went through the checks of its mode
	local ok pat='org=acme(envelope) class=commercial'
	[ "$mode" != off ] && pat='consent=ok:1'
	ok=$(grep -cF "$pat" "$T/pw/log" || true)
	[ "$two" = 1 ] && ok=$((ok + $(grep -cF "$pat" "$T/pw/log2" || true)))
	[ "$ok" -ge "$n" ] || problems="$problems $ok/$n summaries with $pat;"
	local rl
	rl=$(awk '/^rcpt_ms/ {print $2 "\t" $3}' "$T/client.log")
	[ -n "$rl" ] || rl="nan	nan"
	awk -v n="$n" -v a="$t0" -v b="$t1" -v p="${problems:--}" \
	    -v m="$((m1 - m0))" -v hz="$HZ" -v rl="$rl" \
	    'BEGIN { printf "%.1f\t%.3f\t%s\t%s\n", n / (b - a), 1000 * m / hz / n, rl, p }'
}

# ---------------------------------------------------------- preflight
# enforce: a consented recipient arrives signed with both headers and the
# summary says consent=ok; an unknown one is refused at RCPT.  off: the
# unknown one is delivered.
log "preflight"
mkdir -p "$T/check"
chown nobody "$T/check"
start_sink "$T/check/%Y%m%d%H%M%S."
start_milter enforce
/usr/bin/python3 "$T/load.py" "$SMTPD_PORT" 1 1 "$RECORDS" "$T/msg.eml" \
    user4@example4.com >/dev/null || { echo "preflight: consented recipient refused" >&2; exit 1; }
if /usr/bin/python3 "$T/load.py" "$SMTPD_PORT" 1 1 "$RECORDS" "$T/msg.eml" \
    nobody@example.org >/dev/null 2>"$T/refused.log"; then
	echo "preflight: recipient without consent accepted under enforce" >&2; exit 1
fi
grep -q '550.*5.7.1.*no consent on record for acme' "$T/refused.log" ||
    { echo "preflight: unexpected refusal: $(cat "$T/refused.log")" >&2; exit 1; }
for _ in $(seq 100); do
	f=$(ls "$T"/check/* 2>/dev/null | head -1 || true)
	[ -n "$f" ] && break
	sleep 0.1
done
stop_milter
[ -n "$f" ] && grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$f" &&
    grep -q '^DKIM-Signature:' "$f" ||
    { echo "preflight: delivered message lacks headers" >&2; cat "$f" >&2; exit 1; }
grep -q 'consent=ok:1' "$T/pw/all.log" ||
    { echo "preflight: no consent=ok in the summary" >&2; exit 1; }
if [ "${PG:-0}" = 1 ]; then
	# the milter on PostgreSQL: consented delivered, unknown refused
	start_milter pg
	/usr/bin/python3 "$T/load.py" "$SMTPD_PORT" 1 1 "$RECORDS" "$T/msg.eml" \
	    user4@example4.com >/dev/null || { echo "preflight: pg: consented recipient refused" >&2; exit 1; }
	if /usr/bin/python3 "$T/load.py" "$SMTPD_PORT" 1 1 "$RECORDS" "$T/msg.eml" \
	    nobody@example.org >/dev/null 2>&1; then
		echo "preflight: pg: recipient without consent accepted" >&2; exit 1
	fi
	stop_milter
	if [ "$MTAS" = 2 ]; then
		start_milter2
		/usr/bin/python3 "$T/load.py" "$SMTPD2_PORT" 1 1 "$RECORDS" \
		    "$T/msg.eml" user8@example8.com >/dev/null ||
		    { echo "preflight: MTA 2: consented recipient refused" >&2; exit 1; }
		stop_milter2
	fi
	log "preflight ok on PostgreSQL too ($MTAS MTAs)"
else
start_milter off
/usr/bin/python3 "$T/load.py" "$SMTPD_PORT" 1 1 "$RECORDS" "$T/msg.eml" \
    nobody@example.org >/dev/null || { echo "preflight: consent_mode = off refused" >&2; exit 1; }
stop_milter
fi
[ "${PG:-0}" = 1 ] ||
    log "preflight ok (enforce: consented delivered signed, unknown refused at RCPT; off: unknown delivered)"
start_sink

# ------------------------------------------------------------- rounds
RES=$T/results.tsv
: >"$RES"
log "rounds=$ROUNDS N=$N CONC=$CONC"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < ROUNDS; r++)); do
	set -- $MODES
	if ((r % 2 == 0)); then order="$1 $2"; else order="$2 $1"; fi
	for mode in $order; do
		res=$(one_run "$mode" "$N")
		printf '%d\t%s\t%s\n' "$r" "$mode" "$res" >>"$RES"
		log "round $((r + 1))/$ROUNDS mode $mode: $(cut -f1 <<<"$res") msg/s, milter $(cut -f2 <<<"$res") ms/msg, RCPT reply p50 $(cut -f3 <<<"$res") ms"
		sleep 1
	done
done

echo "load average before the rounds: $LOAD0; after: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(anything else running skews the figures)"
audit=$(sqlite3 "$DB" "SELECT count(*) FROM audit")
echo "audit rows written: $audit (store on $(df --output=fstype "$T" | tail -1))"
/usr/bin/python3 - "$RES" "$N" "$CONC" "$ROUNDS" "$RECORDS" $MODES "$MTAS" <<'EOF'
import sys, statistics as st
res, n, conc, rounds, records, m1, m2, mtas = sys.argv[1:9]
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
by, per = {}, {}
rl = {}
for r, mode, rate, mms, r50, r99, prob in rows:
    by.setdefault(mode, []).append((float(rate), prob, float(mms)))
    rl.setdefault(mode, []).append((float(r50), float(r99)))
    per.setdefault(int(r), {})[mode] = float(rate)
# pg: PostgreSQL over SQLite; otherwise with the checks over without
num, den = (m2, m1) if m2 == "pg" else (m1, m2)
ratios = [v[num] / v[den] for v in per.values() if len(v) == 2]
cpu = {}
for r, mode, rate, mms, r50, r99, prob in rows:
    cpu.setdefault(int(r), {})[mode] = float(mms)
cratios = [v[num] / v[den] for v in cpu.values() if len(v) == 2]
print()
print("commercial mail through Postfix + postwarden (DKIM, unsubscribe token,"
      " audit row), %s msgs/run, %s sessions, %s round(s), %s consent records:"
      % (n, conc, rounds, records))
for mode in (m1, m2):
    v = by.get(mode, [])
    probs = "; ".join(sorted(set(p for _, p, _ in v if p != "-"))) or "-"
    print("  mode %-7s %7.1f msg/s, milter CPU %.2f ms/msg (medians; runs: %s)  problems: %s"
          % (mode, st.median([x for x, _, _ in v]), st.median([c for _, _, c in v]),
             " ".join("%.1f" % x for x, _, _ in v), probs))
for mode in (m1, m2):
    v = rl.get(mode, [])
    if v:
        print("  RCPT reply time seen by the client, mode %-7s p50 %.2f ms  p99 %.2f ms (medians over runs)"
              % (mode, st.median([a for a, _ in v]), st.median([b for _, b in v])))
if ratios:
    if m2 == "pg":
        print("  PostgreSQL store (%s MTAs) / SQLite store (1 MTA), both consent_mode = enforce: throughput %.2f, milter CPU per message %.3f (medians of per-round ratios)" % (mtas, st.median(ratios), st.median(cratios)))
    else:
        print("  %s / %s: throughput %.2f, milter CPU per message %.3f (medians of per-round ratios)"
              % (num, den, st.median(ratios), st.median(cratios)))
EOF

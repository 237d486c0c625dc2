#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-unsubd.sh - new withdrawals per second recorded by
# postwarden-unsubd from valid RFC 8058 one-click POSTs (issue 10,
# "Performance": >= 5,000/s), on both stores, for two builds of the
# endpoint side by side:
#   before  UNSUBD_BEFORE, e.g. main's (each click committed alone: one
#           fsync per withdrawal)
#   after   UNSUBD (group commit: the clicks queued while one group
#           commits are written together, each answered after its
#           commit; tools/unsubd.c head)
# Stores: sqlite (a file, WAL, synchronous=FULL) and pg (a private
# PostgreSQL 15 cluster, tests/integration/pg.sh, on 127.0.0.1:PW_PORT_BASE
# + 432, fsync on; the endpoint connects as postwarden_milter, the role
# conf/postwarden-roles.sql gives it).
#
# Every run gets a fresh store (SQLite: a new file; PostgreSQL: a new
# database copied from the one `store init` made) and wrk (Debian package
# "wrk") POSTs tokens of distinct recipients over CONNS connections for
# DURATION seconds, each token once (NTOKENS must exceed what a run can
# use; the script says so if a run used them all), so every POST is a
# new withdrawal.  Rate = withdrawals in the store after the run /
# DURATION.  Configurations are interleaved (ROUNDS rounds, the order of
# the builds alternating) and the medians printed, with the endpoint's
# CPU per withdrawal (utime+stime, /proc; of the median run) and the
# load average.
#
# Run as root (PostgreSQL's initdb runs as the postgres user) from
# anywhere in the checkout:
#
#   UNSUBD_BEFORE=/path/to/main/build/tools/postwarden-unsubd \
#       bench/bench-unsubd.sh
#
# Environment: UNSUBD, CTL (default: the newest build*/tools/ of this
# checkout), UNSUBD_BEFORE (none: only "after" runs), STORES ("sqlite
# pg"), ROUNDS (3), NTOKENS (100000), CONNS (64), THREADS (2: wrk
# threads and unsubd_threads), DURATION (5), PORT (PW_PORT_BASE + 90),
# PW_PORT_BASE (27000), KEEP=1 keeps the work dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
NTOKENS=${NTOKENS:-100000}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5}
STORES=${STORES:-sqlite pg}
export PW_PORT_BASE=${PW_PORT_BASE:-27000}
PORT=${PORT:-$((PW_PORT_BASE + 90))}
newest() { ls -t "$top"/build*/tools/"$1" 2>/dev/null | head -1; }
UNSUBD=${UNSUBD:-$(newest postwarden-unsubd)}
CTL=${CTL:-$(newest postwarden-ctl)}
BUILD=$(cd "$(dirname "$CTL")/.." && pwd)
[ -x "$UNSUBD" ] || { echo "bench-unsubd: build postwarden-unsubd first" >&2; exit 1; }
[ -x "$CTL" ] || { echo "bench-unsubd: build postwarden-ctl first" >&2; exit 1; }
[ -z "${UNSUBD_BEFORE:-}" ] || [ -x "$UNSUBD_BEFORE" ] ||
    { echo "bench-unsubd: UNSUBD_BEFORE=$UNSUBD_BEFORE is not executable" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-unsubd: apt-get install wrk" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench-unsubd: run as root" >&2; exit 1; }

W=$(mktemp -d /tmp/pw-bench-unsubd.XXXXXX)
chmod 755 "$W"
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	case " $STORES " in *" pg "*) pg_stop ;; esac
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# tokens: one process for all (bench/mint-tokens.c)
gcc -O2 -I"$BUILD" -I"$top/policies" -o "$W/mint-tokens" \
    "$top/bench/mint-tokens.c" "$BUILD/policies/libpolicies.a" \
    $(pkg-config --libs libcrypto libidn2) -lpthread
"$CTL" token newkey --ring "$W/ring" >/dev/null
"$W/mint-tokens" "$W/ring" bench news r "$NTOKENS" >"$W/tokens"

case " $STORES " in *" pg "*)
	. "$top/tests/integration/pg.sh"
	PW_BUILD_DIR=$BUILD pg_start "$W" >"$W/pg-start.log" 2>&1 ||
	    { cat "$W/pg-start.log" >&2; exit 1; }
	log "PostgreSQL on 127.0.0.1:$PW_PG_PORT"
esac

cat >"$W/post.lua" <<'EOF'
-- POST List-Unsubscribe=One-Click to /u/TOKEN, the tokens of TOKFILE
-- shared out between wrk threads (each thread has its own Lua state;
-- setup() gives each its global "id")
local toks = {}
for line in io.lines(os.getenv("TOKFILE")) do toks[#toks + 1] = line end
local nthreads, n, counter = 1, 0, 0
function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end
function init(args)
	nthreads = tonumber(os.getenv("THREADS")) or 1
end
wrk.method = "POST"
wrk.body = "List-Unsubscribe=One-Click"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function request()
	local t = toks[((n * nthreads + id) % #toks) + 1]
	n = n + 1
	return wrk.format(nil, "/u/" .. t)
end
EOF

HZ=$(getconf CLK_TCK)
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# one_run BUILD STORE N -> "rate cpu_us_per_withdrawal rows non2xx"
one_run() {
	local bin=$1 store=$2 seq_no=$3 spec rows c0 c1 secs non2xx
	if [ "$store" = sqlite ]; then
		spec=sqlite:$W/run$seq_no.db
		"$CTL" store init "$spec" >/dev/null
	else
		PW_PG_DB=postgres pg_sql "CREATE DATABASE run$seq_no TEMPLATE postwarden"
		spec="postgresql://postwarden_milter@127.0.0.1:$PW_PG_PORT/run$seq_no?sslmode=disable&passfile=$PW_PG_PASSFILE"
	fi
	cat >"$W/postwarden.conf" <<EOF
log = stderr
store = $spec
unsubscribe_keys = $W/ring
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $PORT
unsubd_rate_limit = 0
unsubd_client_connections = 0
unsubd_max_connections = $((CONNS + 16))
unsubd_threads = $THREADS
EOF
	"$bin" -f -c "$W/postwarden.conf" 2>"$W/log$seq_no" &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
		sleep 0.1
	done
	c0=$(ticks "$pid")
	TOKFILE=$W/tokens THREADS=$THREADS wrk -t"$THREADS" -c"$CONNS" \
	    -d"${DURATION}s" -s "$W/post.lua" "http://127.0.0.1:$PORT" \
	    >"$W/wrk$seq_no" 2>&1
	c1=$(ticks "$pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	if [ "$store" = sqlite ]; then
		rows=$(sqlite3 "$W/run$seq_no.db" 'SELECT count(*) FROM suppression')
	else
		rows=$(PW_PG_DB=run$seq_no pg_sql 'SELECT count(*) FROM suppression')
	fi
	[ "$rows" -lt "$NTOKENS" ] ||
	    log "run $seq_no used every token: raise NTOKENS (the rate is too low)"
	secs=$DURATION
	non2xx=$(awk '/Non-2xx/ { print $NF }' "$W/wrk$seq_no")
	awk -v r="$rows" -v s="$secs" -v c="$((c1 - c0))" -v hz="$HZ" \
	    -v e="${non2xx:-0}" 'BEGIN { cpu = r > 0 ? 1e6 * c / hz / r : 0
		printf "%.0f\t%.0f\t%d\t%d\n", r / s, cpu, r, e }'
}

builds=after
[ -n "${UNSUBD_BEFORE:-}" ] && builds="before after"
RES=$W/results.tsv
: >"$RES"
n=0
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds=$ROUNDS tokens=$NTOKENS conns=$CONNS threads=$THREADS load $LOAD0"
for ((r = 0; r < ROUNDS; r++)); do
	order=$builds
	((r % 2 == 1)) && [ "$builds" != after ] && order="after before"
	for store in $STORES; do
		for b in $order; do
			bin=$UNSUBD
			[ "$b" = before ] && bin=$UNSUBD_BEFORE
			n=$((n + 1))
			res=$(one_run "$bin" "$store" "$n")
			printf '%d\t%s\t%s\t%s\n' "$r" "$store" "$b" "$res" >>"$RES"
			log "round $((r + 1)) $store $b: $(cut -f1 <<<"$res")/s, $(cut -f2 <<<"$res") us CPU each, $(cut -f3 <<<"$res") recorded, $(cut -f4 <<<"$res") non-2xx"
		done
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "new withdrawals/s (median of $ROUNDS; $CONNS connections, $THREADS threads;" \
    "load average $LOAD0 before, $LOAD1 after, $(nproc) CPUs)"
printf '%-7s %-7s %10s %14s %9s\n' store build 'withdr./s' 'unsubd CPU/w' 'non-2xx'
for store in $STORES; do
	for b in $builds; do
		awk -F'\t' -v s="$store" -v b="$b" '$2 == s && $3 == b' "$RES" |
		    sort -t"$(printf '\t')" -k4,4n |
		    awk -F'\t' -v s="$store" -v b="$b" '
			{ rate[NR] = $4; cpu[NR] = $5; e += $7 }
			END { m = int((NR + 1) / 2);
			      printf "%-7s %-7s %10d %11d us %9d\n", s, b,
				  rate[m], cpu[m], e }'
	done
done

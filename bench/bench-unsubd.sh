#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-unsubd.sh - requests/second of postwarden-unsubd for valid RFC
# 8058 one-click POSTs with the SQLite store (issue 5, "Performance").
#
# Self-contained: makes a key ring and tokens with postwarden-ctl, starts
# the endpoint on 127.0.0.1:$PORT with a fresh store (rate limit off), and
# runs wrk (Debian package "wrk") twice:
#   fresh   every request a token for a new recipient: verify, consent
#           check, INSERT (synchronous=FULL: one fsync per withdrawal);
#           the run stops when every token has been POSTed once (or
#           after DURATION), so the rate is that of recording requests
#   repeat  one token, POSTed again and again: verify, consent check,
#           nothing recorded (the idempotent path: provider retries)
# and prints wrk's summary and the Requests/sec of each.
#
# Environment: DURATION seconds per run (10), CONNS (8), THREADS wrk
# threads (2), NTOKENS fresh tokens to mint (2000), PORT (32090), UNSUBD
# and CTL (binaries; default: the newest build*/tools/ of this checkout),
# KEEP=1 keeps the work dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
THREADS=${THREADS:-2}
NTOKENS=${NTOKENS:-2000}
PORT=${PORT:-32090}
newest() { ls -t "$top"/build*/tools/"$1" 2>/dev/null | head -1; }
UNSUBD=${UNSUBD:-$(newest postwarden-unsubd)}
CTL=${CTL:-$(newest postwarden-ctl)}
[ -x "$UNSUBD" ] || { echo "bench-unsubd: build postwarden-unsubd first" >&2; exit 1; }
[ -x "$CTL" ] || { echo "bench-unsubd: build postwarden-ctl first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-unsubd: apt-get install wrk" >&2; exit 1; }

W=$(mktemp -d /tmp/pw-bench-unsubd.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT

"$CTL" token newkey --ring "$W/ring" >/dev/null
cat >"$W/postwarden.conf" <<EOF
log = stderr
store = sqlite:$W/bench.db
unsubscribe_keys = $W/ring
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $PORT
unsubd_rate_limit = 0
unsubd_threads = $THREADS
EOF
echo "minting $NTOKENS tokens..."
for i in $(seq 1 "$NTOKENS"); do
	"$CTL" token mint --ring "$W/ring" --org bench --list news "r$i@bench.example"
done >"$W/tokens"
head -1 "$W/tokens" >"$W/one"

cat >"$W/post.lua" <<'EOF'
-- POST List-Unsubscribe=One-Click to BASE/TOKEN, the tokens of TOKFILE
-- shared out between wrk threads (each thread has its own Lua state;
-- setup() gives each its global "id")
local toks = {}
for line in io.lines(os.getenv("TOKFILE")) do toks[#toks + 1] = line end
local nthreads, n = 1, 0
local counter = 0
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
-- STOP=1: each token once; a thread stops when its share is answered
local answered = 0
function response(status, headers, body)
	answered = answered + 1
	if os.getenv("STOP") == "1" and
	    answered * nthreads + id >= #toks then
		wrk.thread:stop()
	end
end
EOF

"$UNSUBD" -f -c "$W/postwarden.conf" 2>"$W/log" &
pid=$!
for i in $(seq 1 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.1
done
rows() { sqlite3 "$W/bench.db" 'SELECT count(*) FROM suppression' 2>/dev/null || echo 0; }

run() {	# run NAME TOKFILE STOP
	local before after
	before=$(rows)
	echo "== $1: wrk -t$THREADS -c$CONNS -d${DURATION}s"
	TOKFILE=$2 STOP=$3 THREADS=$THREADS wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
	    -s "$W/post.lua" "http://127.0.0.1:$PORT" | tee "$W/$1.out"
	after=$(rows)
	echo "$1: withdrawals recorded during the run: $((after - before))"
}
run fresh "$W/tokens" 1
run repeat "$W/one" 0
echo
for r in fresh repeat; do
	printf '%-7s %s requests/s%s\n' "$r" \
	    "$(awk '/^Requests\/sec/ {print $2}' "$W/$r.out")" \
	    "$(awk '/Non-2xx/ {printf ", %s non-2xx", $NF}' "$W/$r.out")"
done

#!/bin/bash
# bench-dmarc-report.sh - time and peak memory of
# `postwarden-ctl dmarc report --dry-run` over a SQLite store holding
# ROWS DMARC rows (default 10,000,000) spread over DOMAINS policy domains
# (default 100,000), all in the last complete UTC day, each domain with a
# rua in its own domain (no DNS lookups).  Rows are made by sqlite3 with a
# recursive CTE, one INSERT (the bench's shortcut; the milter writes
# through the store): 10 source addresses per domain, half the domains
# pass, half fail, so 10 report records per domain; times rise with the
# row id, as the milter writes them (the time index is then appended to,
# and the report's range scan reads the table in order).
#   bench/bench-dmarc-report.sh [ROWS] [DOMAINS]
# BENCH_DB=FILE: report from that store (made by an earlier run's
# commands, rows of yesterday UTC) instead of making one.
# Prints the machine's load, the rows and reports, then /usr/bin/time -v's
# elapsed, user and system time and peak RSS of the report run.  SQLite
# sorts the groups in temporary files (temp_store is the default, a file:
# TMPDIR, here the bench's directory).
set -eu
ROWS=${1:-10000000}
DOMAINS=${2:-100000}
top=$(cd "$(dirname "$0")/.." && pwd)
ctl=${PW_CTL:-$top/build/tools/postwarden-ctl}
d=$(mktemp -d "${PW_TMPDIR:-/tmp}/bench-dmarc.XXXXXX")
trap 'rm -rf "$d"' EXIT
db=${BENCH_DB:-$d/pw.db}
printf 'store = sqlite:%s\ndns_nameservers = 127.0.0.1@9\n' "$db" >"$d/pw.conf"
if [ -z "${BENCH_DB:-}" ]; then
"$ctl" -c "$d/pw.conf" store init >/dev/null
g0=$(date +%s)
now=$(date +%s)
day=$(( now - now % 86400 - 86400 ))
sqlite3 "$d/pw.db" <<SQL
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $ROWS)
INSERT INTO dmarc_eval (time, from_domain, source_ip, policy, disposition,
    spf_result, spf_domain, dkim_result, dkim_domain, env_from, spf_scope,
    dkim_selector, dmarc_result, spf_aligned, dkim_aligned, override,
    pub_domain, pub_record, discovery)
SELECT $day + i * 86400 / $ROWS, 'd' || (i % $DOMAINS) || '.example',
    '192.0.2.' || (i / $DOMAINS % 10), 'reject',
    CASE i % 2 WHEN 0 THEN 'none' ELSE 'reject' END,
    CASE i % 2 WHEN 0 THEN 'pass' ELSE 'fail' END, 'd' || (i % $DOMAINS) || '.example',
    'pass', 'd' || (i % $DOMAINS) || '.example', 'd' || (i % $DOMAINS) || '.example',
    'mfrom', 's1', CASE i % 2 WHEN 0 THEN 'pass' ELSE 'fail' END,
    CASE i % 2 WHEN 0 THEN 'pass' ELSE 'fail' END, 'pass', '',
    'd' || (i % $DOMAINS) || '.example',
    'v=DMARC1; p=reject; rua=mailto:dmarc@d' || (i % $DOMAINS) || '.example',
    'treewalk'
FROM n;
SQL
echo "rows made in $(( $(date +%s) - g0 )) s ($(du -h "$d/pw.db" | cut -f1))"
fi
echo "load before: $(uptime)"
TMPDIR=$d /usr/bin/time -v -o "$d/time.txt" "$ctl" -c "$d/pw.conf" \
    dmarc report --dry-run "$d/out" --max-reports 1000000 >/dev/null \
    2>"$d/err.txt" || { cat "$d/err.txt" "$d/time.txt"; exit 1; }
echo "load after: $(uptime)"
echo "rows $ROWS, domains $DOMAINS, reports $(ls "$d/out" | wc -l)"
tail -1 "$d/err.txt"
grep -E 'Elapsed|User time|System time|Maximum resident' "$d/time.txt" |
    sed 's/^[ \t]*//'

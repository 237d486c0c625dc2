#!/bin/bash
# bench-dmarc-report.sh - time and peak memory of
# `postwarden-ctl dmarc report --dry-run` over a SQLite store holding
# ROWS DMARC rows (default 10,000,000) spread over DOMAINS policy domains
# (default 100,000), all in the last complete UTC day, each domain with a
# rua in its own domain (no DNS lookups).  Rows are made by sqlite3 with a
# recursive CTE: 10 source addresses per domain, half pass, half fail.
#   bench/bench-dmarc-report.sh [ROWS] [DOMAINS]
# Prints rows, reports written, elapsed seconds and the peak RSS.
set -eu
ROWS=${1:-10000000}
DOMAINS=${2:-100000}
top=$(cd "$(dirname "$0")/.." && pwd)
ctl=${PW_CTL:-$top/build/tools/postwarden-ctl}
d=$(mktemp -d "${PW_TMPDIR:-/tmp}/bench-dmarc.XXXXXX")
trap 'rm -rf "$d"' EXIT
printf 'store = sqlite:%s/pw.db\ndns_nameservers = 127.0.0.1@9\n' "$d" >"$d/pw.conf"
"$ctl" -c "$d/pw.conf" store init >/dev/null
now=$(date +%s)
day=$(( now - now % 86400 - 86400 ))
sqlite3 "$d/pw.db" <<SQL
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $ROWS)
INSERT INTO dmarc_eval (time, from_domain, source_ip, policy, disposition,
    spf_result, spf_domain, dkim_result, dkim_domain, env_from, spf_scope,
    dkim_selector, dmarc_result, spf_aligned, dkim_aligned, override,
    pub_domain, pub_record, discovery)
SELECT $day + i % 86400, 'd' || (i % $DOMAINS) || '.example',
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
/usr/bin/time -f '%e s elapsed, %M KiB peak RSS' "$ctl" -c "$d/pw.conf" \
    dmarc report --dry-run "$d/out" --max-reports 1000000 >/dev/null \
    2>"$d/time.txt" || { cat "$d/time.txt"; exit 1; }
echo "rows $ROWS, domains $DOMAINS, reports $(ls "$d/out" | wc -l)"
tail -2 "$d/time.txt"

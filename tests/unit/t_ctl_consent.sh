#!/bin/sh
# t_ctl_consent.sh - postwarden-ctl consent/suppression against a
# temporary SQLite store.  TAP output; run from the build directory
# (make check does).
set -u
CTL=${PW_CTL:-./tools/postwarden-ctl}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
S="--store sqlite:$T/pw.db"
n=0
fails=0
ok() {	# ok DESCRIPTION COMMAND...: pass if COMMAND succeeds
	n=$((n + 1))
	d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fails=$((fails + 1)); fi
}
echo "1..22"

cat >"$T/good.csv" <<'CSV'
address,type,obtained_at,expires_at,relationship_date,source,proof,list
Alice@Bücher.Example,express,2025-01-01,,,web_form,"form 12, double opt-in",
bob@example.com,implied-purchase,2025-03-01,,2025-02-15,pos,invoice 991,news
"carol@example.com",implied-inquiry,2025-05-01T10:00:00Z,,,crm,,
 dan@example.com , Express ,  2025-06-01 ,,, web ,,
CSV
printf 'address,type,obtained_at,source\r\nok@example.com,express,2025-01-01,web\r\nnoat,express,2025-01-01,web\r\nx@example.com,sometimes,2025-01-01,web\r\ny@example.com,implied,2025-01-01,web\r\nz@example.com,express,2025-13-01,web\r\nw@example.com,express,2025-01-01,\r\nv@example.com,express\r\n' >"$T/bad.csv"

ok "import a good file" sh -c "$CTL consent import --org acme $S '$T/good.csv' | grep -q 'imported 4 consent events for acme'"
$CTL consent export --org acme $S >"$T/export.csv"
ok "export: IDN address as A-label" grep -q '^1,alice@xn--bcher-kva.example,express,2025-01-01T00:00:00Z,,,web_form,"form 12, double opt-in",,' "$T/export.csv"
ok "export: relationship date and list" grep -q '^2,bob@example.com,implied-purchase,2025-03-01T00:00:00Z,,2025-02-15T00:00:00Z,pos,invoice 991,news,' "$T/export.csv"
$CTL consent import --org acme $S "$T/bad.csv" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
ok "bad file: exit 1" test $rc = 1
ok "bad file: every bad line reported with its number" sh -c "
	grep -q 'bad.csv:3: address \"noat\"' '$T/bad.err' &&
	grep -q 'bad.csv:4: unknown type' '$T/bad.err' &&
	grep -q 'bad.csv:5: implied consent' '$T/bad.err' &&
	grep -q 'bad.csv:6: obtained_at' '$T/bad.err' &&
	grep -q 'bad.csv:7: source is empty' '$T/bad.err' &&
	grep -q 'bad.csv:8: 2 fields, the header has 4' '$T/bad.err' &&
	grep -q '6 errors: nothing imported' '$T/bad.err'"
ok "bad file: nothing half-imported" sh -c "test \$($CTL consent export --org acme $S | wc -l) = 5"
ok "import: white space around fields" sh -c "$CTL consent show dan@example.com --org acme $S | grep -q '^state: express (event 4)'"
ok "show: express" sh -c "$CTL consent show 'alice@BÜCHER.example' --org acme $S | grep -q '^state: express (event 1)'"
ok "show: expired inquiry exits 1" sh -c "! $CTL consent show carol@example.com --org acme --at 2025-11-01 $S >/dev/null"
ok "withdraw" sh -c "$CTL consent withdraw alice@bücher.example --org acme $S | grep -q 'suppression 1'"
ok "show: withdrawn" sh -c "$CTL consent show alice@bücher.example --org acme $S | grep -q '^state: withdrawn (suppression 1)'"
ok "re-consent after withdrawal" sh -c "$CTL consent add alice@bücher.example --org acme --type express --source phone --proof rec-7 $S >/dev/null &&
	$CTL consent show alice@bücher.example --org acme $S | grep -q '^state: express (event 5)'"
ok "suppression list" sh -c "$CTL suppression list --org acme $S | grep -q '^1,alice@xn--bcher-kva.example,,manual,'"
ok "export re-imports into another store" sh -c "$CTL consent export --org acme $S >'$T/e.csv' &&
	$CTL consent import --org acme --store sqlite:$T/pw2.db '$T/e.csv' | grep -q 'imported 5'"
# the defaults postwarden-ctl(8) documents: obtained now, source manual,
# no expiry given (the statutory period applies), relationship date =
# obtained, every list
$CTL consent add dflt@example.com --org acme --type implied-purchase $S >/dev/null
ok "add: defaults (obtained today, source manual, no expiry, no list)" sh -c "
	$CTL consent export --org acme $S dflt@example.com |
	    grep -qE '^6,dflt@example.com,implied-purchase,$(date -u +%Y-%m-%d)T[0-9:]{8}Z,,,manual,,,'"
ok "add: implied without --expires is refused" sh -c "
	! $CTL consent add nodate@example.com --org acme --type implied $S >/dev/null 2>&1"
$CTL consent show a@example.com $S >/dev/null 2>&1
ok "no --org: usage error" test $? = 64
printf 'address,type,obtained_at,source,proof\r\n"q@example.com","express","2025-01-01","web","a ""quoted"", multi\r\nline proof"\r\n' >"$T/crlf.csv"
$CTL consent import --org q --store sqlite:$T/q.db "$T/crlf.csv" >/dev/null
$CTL consent export --org q --store sqlite:$T/q.db >"$T/q.csv"
printf '%s\n' '1,q@example.com,express,2025-01-01T00:00:00Z,,,web,"a ""quoted"", multi' 'line proof",,' >"$T/q.want"
ok "CRLF file: quoted fields, doubled quotes, embedded line break" sh -c "
	sed -n '2p' '$T/q.csv' | tr -d '\r' | grep -qxF -f '$T/q.want' &&
	sed -n '3p' '$T/q.csv' | cut -c1-13 | grep -qxF 'line proof\",,'"
# the reader (tools/ctl_csv.c) from a pipe, and its syntax errors with
# the line each record starts on
ok "import from standard input" sh -c "printf 'address,type,obtained_at,source\\nin@example.com,express,2025-01-01,\"a\\nb\"' |
	$CTL consent import --org p --store sqlite:$T/p.db - | grep -q '^-: imported 1 consent event for p'"
printf 'address,type,obtained_at,source\n"a@example.com",express,2025-01-01,"two\nlines"\nb@example.com,express,2025-01-01,x"y\nc@example.com,express,2025-01-01,"z"w\nd@example.com,express,2025-01-01,"open\n' >"$T/syn.csv"
$CTL consent import --org s --store sqlite:$T/s.db "$T/syn.csv" >/dev/null 2>"$T/syn.err"
ok "reader: quote inside an unquoted field, text after a closing quote" sh -c "
	grep -q 'syn.csv:4: quote inside an unquoted field' '$T/syn.err' &&
	grep -q 'syn.csv:5: text after a closing quote' '$T/syn.err'"
ok "reader: unterminated quote at end of file, nothing imported" sh -c "
	grep -q 'syn.csv:6: unterminated quoted field' '$T/syn.err' &&
	grep -q '3 errors: nothing imported' '$T/syn.err'"
$CTL consent show a@example.com $S --org 2>"$T/opt.err" >/dev/null
ok "option without its value: usage error that names it" sh -c "test $? = 64 &&
	grep -qxF 'postwarden-ctl: consent: option \"--org\" needs a value' '$T/opt.err'"
[ $fails = 0 ]

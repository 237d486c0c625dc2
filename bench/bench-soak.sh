#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench-soak.sh - soak benchmark (issue 14): N messages through the
# private Postfix of tests/integration/lib.sh and one postwarden, half
# outbound commercial mail (organisation acme: consent check, DKIM
# signing, List-Unsubscribe token, audit row) and half inbound (SPF, DKIM
# verify, DMARC, Authentication-Results against the harness's unbound),
# in 10 chunks of N/10.  After each chunk it prints the milter's RSS,
# descriptors and threads; at the end the RSS growth from the end of the
# first chunk (the warm-up: caches, the store's page cache, thread
# stacks) to the end of the last, and the descriptor and thread counts.
#
#   bench/bench-soak.sh               # N = 1,000,000 (hours on 2 cores)
#   N=100000 bench/bench-soak.sh
#
# Environment: N (1000000), CONC (client sessions, 10), RCPTS (consented
# recipients the outbound mail cycles through, 100), PW_PORT_BASE (27300),
# PW_TMPDIR, PW_BUILD_DIR (see lib.sh).  Run as root.  Mail goes to
# Postfix's smtp-sink (discards), the milter logs as in production (no -v).
# Exit status 1 when the RSS grew by 5% or more after the warm-up, or the
# descriptors or threads grew.
PW_PORT_BASE=${PW_PORT_BASE:-27300}
PW_SINK=smtp-sink
PW_MILTER_VERBOSE=0
N=${N:-1000000}
CONC=${CONC:-10}
RCPTS=${RCPTS:-100}
. "$(dirname "$0")/../tests/integration/lib.sh"
LOAD=$PW_TOP/bench/xclient-load.py

# inbound: signed by an external domain with SPF and DMARC (not under
# .test: see bench-inbound.sh)
IP=198.51.100.7
D=k.example.com
printf '    local-zone: "example.com." static\n' >>"$T/dns/zone.conf"
pw_dns_add "$D. 60 IN TXT \"v=spf1 ip4:$IP -all\""
pw_dns_add "_dmarc.$D. 60 IN TXT \"v=DMARC1; p=reject\""
ikey=$(pw_key rsa $D rsa1) || pw_bail "inbound key"
# outbound: organisation acme, commercial by default, consent enforced
okey=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$okey"
pw_signing '*@acme.test' sel1._domainkey.acme.test
cat >"$T/pw/organisations.conf" <<'EOF'
[org acme]
domains = acme.test
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
class_header_mode = off
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt
EOF
"$PW_CTL" token newkey --ring "$T/pw/unsub.keys" >/dev/null || pw_bail "key ring"
[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pw/unsub.keys"
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $T/pw/unsub.keys"
pw_write_conf
{
	echo address,type,obtained_at,source
	for i in $(seq 1 "$RCPTS"); do echo "r$i@remote.test,express,2026-01-01,soak"; done
} >"$T/consent.csv"
"$PW_CTL" consent import "$T/consent.csv" --org acme --store "sqlite:$T/pw/postwarden.db" >/dev/null ||
    pw_bail "consent import"
[ -z "$PW_USER" ] || chown "$PW_USER" "$T"/pw/postwarden.db*
pw_setup
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' >/dev/null

in=$T/msg/in.eml
{
	printf 'From: Alice <a@%s>\nTo: bob@remote.test\nSubject: soak\n' "$D"
	printf 'Date: %s\nMessage-ID: <soak@%s>\n\n' "$(date -R)" "$D"
	for i in $(seq 1 40); do printf 'line %02d of the soak body, some text to hash ....\n' "$i"; done
} >"$in"
"$PW_PY" "$PW_IT/authcheck.py" sign "$in" "$in.s" "$ikey" "$D" rsa1 && mv "$in.s" "$in"
out=$T/msg/out.eml
{
	printf 'From: Acme News <news@acme.test>\nSubject: offers\n'
	printf 'Date: %s\nMessage-ID: <soak@acme.test>\n\n' "$(date -R)"
	printf 'Everything 50%% off this week.\n\n--\nAcme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test\n'
} >"$out"

P=$PW_MILTER_PID
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$P/status"; }
# RSS in two parts: anonymous (the heap, malloc's arenas, stacks) and
# file-backed (the binary and libraries as their pages are touched, and
# SQLite's -shm index, mapped shared)
anon() { awk '/^RssAnon:/ {print $2}' "/proc/$P/status"; }
filerss() { awk '/^RssFile:/ {a = $2} /^RssShmem:/ {b = $2} END {print a + b}' "/proc/$P/status"; }
thr() { awk '/^Threads:/ {print $2}' "/proc/$P/status"; }
fds() { ls "/proc/$P/fd" | wc -l; }
sent() { grep -c 'status=sent' "$T/pf/maillog"; }

chunk=$((N / 10))
half=$((chunk / 2))
per=$(( (half + 9) / 10 ))	# outbound: 10 recipients per chunk
echo "soak: N=$N in 10 chunks of $chunk (half outbound commercial, half inbound), CONC=$CONC"
printf '%8s %10s %8s %8s %8s %4s %4s %8s\n' messages rss_kB delta% anon_kB file_kB fds thr msg/s
t_start=$(date +%s.%N)
total=0
for c in $(seq 1 10); do
	t0=$(date +%s.%N)
	"$PW_PY" "$LOAD" 127.0.0.1 "$PW_SMTP_PORT" "$half" "$CONC" "$IP" "a@$D" bob@remote.test "$in" >/dev/null ||
	    nok "chunk $c: inbound load"
	for k in $(seq 1 10); do
		r=$(( (c * 10 + k) % RCPTS + 1 ))
		"$PW_PY" "$LOAD" 127.0.0.1 "$PW_SMTP_PORT" "$per" "$CONC" 127.0.0.1 news@acme.test "r$r@remote.test" "$out" >/dev/null ||
		    nok "chunk $c: outbound load"
	done
	total=$((total + half + per * 10))
	t1=$(date +%s.%N)
	kill -0 "$P" 2>/dev/null || pw_bail "milter died in chunk $c"
	r=$(rss)
	[ "$c" = 1 ] && { rss1=$r; fds1=$(fds); thr1=$(thr); }
	printf '%8d %10d %8s %8d %8d %4d %4d %8.0f\n' "$total" "$r" \
	    "$(awk -v a="$rss1" -v b="$r" 'BEGIN { printf "%+.1f", (b - a) * 100 / a }')" \
	    "$(anon)" "$(filerss)" \
	    "$(fds)" "$(thr)" "$(awk -v n=$((half + per * 10)) -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }')"
done
sleep 2
rssN=$(rss)
fdsN=$(fds)
thrN=$(thr)
growth=$(awk -v a="$rss1" -v b="$rssN" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
echo "after warm-up (chunk 1) to the end: RSS $rss1 -> $rssN kB ($growth%), descriptors $fds1 -> $fdsN, threads $thr1 -> $thrN"
echo "time: $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s for $total messages; Postfix sent $(sent)"
check "RSS growth after warm-up under 5% ($growth%)" awk -v g="$growth" 'BEGIN { exit !(g < 5) }'
check "no descriptor growth ($fds1 -> $fdsN)" test "$fdsN" -le "$fds1"
check "no thread growth ($thr1 -> $thrN)" test "$thrN" -le "$thr1"
check "outbound audit rows written" test "$(sqlite3 -readonly "$T/pw/postwarden.db" "SELECT count(*) FROM audit WHERE action = 'delivered'")" -gt 0
pw_done

#!/bin/bash
# t_faults.sh - the compliance path under faults (issue 14), through the
# real Postfix, sink and unbound:
#   a. SIGKILL of the milter, twice, in the middle of a load of commercial
#      mail (consent checks, tokens, audit rows; faultload.py retries a
#      4xx with the same Message-ID, as a client would): every message in
#      the sink has its "delivered" audit row; no recipient without
#      consent got mail; every consented message arrived once;
#      `audit verify` passes; a retry's audit rows are told apart by
#      their queue id (only one queue id of a Message-ID reaches the
#      sink) and `audit report` marks them (retry_of).
#   b. The store's disk full (the SQLite file on a 2 MB tmpfs, filled):
#      commercial mail tempfails with a log line that says why, nothing
#      is delivered without its audit row, and mail flows again by itself
#      (no restart) when space returns.
#   c. SIGKILL of postwarden-unsubd (port PW_PORT_BASE+83) during a burst
#      of one-click POSTs: every request answered 200 has its withdrawal
#      recorded; the others succeed when retried after a restart.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
ctl_as() { if [ -n "$PW_USER" ]; then runuser -u "$PW_USER" -- "$PW_CTL" "$@"; else "$PW_CTL" "$@"; fi; }
ctl() { ctl_as "$@" --store "sqlite:$DB"; }
q() { sqlite3 -readonly "$DB" "$1"; }
# sink_mids: "message-id recipient" of every message in the sink
sink_mids() {
	local f
	for f in "$T"/sink/*.eml; do
		[ -f "$f" ] || continue
		printf '%s %s\n' "$(sed -n 's/^Message-ID: <\(.*\)>\r\?$/\1/Ip' "$f" | head -1)" \
		    "$(sed -n 's/^To: \(.*\)\r\?$/\1/p' "$f" | head -1 | tr -d '\r')"
	done
}
# wait_sink N: until the sink holds N messages (60 s)
wait_sink() {
	local i
	for i in $(seq 1 600); do
		[ "$(pw_sink_count)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

cat >"$T/pw/organisations.conf" <<'EOF'
[org acme]
domains = acme.test
sasl_logins = acme-news
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
class_header_mode = off
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_write_conf

# 30 recipients with consent, 10 without
RC=()
for i in $(seq 0 29); do
	RC+=("c$i@remote.test")
done
printf 'address,type,obtained_at,source\n' >"$T/consent.csv"
for a in "${RC[@]}"; do printf '%s,express,2026-01-01,web_form\n' "$a"; done >>"$T/consent.csv"
out=$(ctl consent import "$T/consent.csv" --org acme 2>&1)
check "30 consents imported" test "$(q "SELECT count(DISTINCT address) FROM consent_event")" = 30 || diag "$out"
RN=()
for i in $(seq 0 9); do
	RN+=("n$i@remote.test")
done

pw_setup

# ---- a. SIGKILL of the milter under a commercial load ---------------------------
N=200
"$PW_PY" "$PW_IT/faultload.py" "$PW_SMTP_PORT" acme-news news@acme.test "$T/load.out" \
    "$N" "${RC[@]}" "${RN[@]}" --threads 4 >"$T/load.err" 2>&1 &
load=$!
kills=0
for at in 40 100; do
	for i in $(seq 1 600); do
		[ "$(pw_sink_count)" -ge "$at" ] && break
		sleep 0.1
	done
	kill -KILL "$PW_MILTER_PID" && kills=$((kills + 1))
	wait "$PW_MILTER_PID" 2>/dev/null
	sleep 1
	pw_start_milter || nok "milter restarted after SIGKILL"
done
wait "$load"
check "a: the milter was SIGKILLed twice under load" test "$kills" = 2
acc=$(awk '$3 == "accepted"' "$T/load.out" | wc -l)
ref=$(awk '$3 == "refused"' "$T/load.out" | wc -l)
gav=$(awk '$3 == "gaveup"' "$T/load.out" | wc -l)
retried=$(awk '$4 > 1' "$T/load.out" | wc -l)
diag "a: $N messages: $acc accepted, $ref refused, $gav gave up, $retried needed more than one try"
check "a: every message to a consented recipient accepted in the end" \
    test "$(awk '$3 == "accepted" && $2 ~ /^c/' "$T/load.out" | wc -l)" = $((N * 30 / 40)) ||
    diag "$(grep -v ' accepted ' "$T/load.out" | grep ' c[0-9]' | head -5)"
check "a: every message to a recipient without consent refused (5xx)" \
    test "$(awk '$3 == "refused" && $2 ~ /^n/' "$T/load.out" | wc -l)" = $((N * 10 / 40))
check "a: some messages were retried (the kills hit in-flight mail)" test "$retried" -gt 0
wait_sink "$acc" || nok "a: all $acc accepted messages reached the sink (got $(pw_sink_count))"
sleep 1
sink_mids | sort >"$T/sink.txt"
check "a: the sink holds each accepted message exactly once" \
    test "$(cut -d' ' -f1 "$T/sink.txt" | sort -u | wc -l)" = "$acc" -a "$(wc -l <"$T/sink.txt")" = "$acc"
check "a: no recipient without consent got mail" ! grep -q ' n[0-9]*@remote.test$' "$T/sink.txt"
missing=0
while read -r mid rcpt; do
	n=$(q "SELECT count(*) FROM audit WHERE message_id = '$mid' AND recipient = '$rcpt' AND action = 'delivered'")
	[ "$n" -ge 1 ] || { missing=$((missing + 1)); diag "no audit row: $mid $rcpt"; }
done <"$T/sink.txt"
check "a: every message in the sink has its delivered audit row" test "$missing" = 0
out=$(ctl audit verify 2>&1)
check "a: audit verify passes after the kills" test $? = 0 || diag "$out"
# A retry after a kill between the audit row and Postfix's answer leaves
# two "delivered" rows for one Message-ID, under two queue ids: only the
# one in the maillog as sent is real, and the report marks the later row.
dups=$(q "SELECT message_id FROM audit WHERE action = 'delivered' GROUP BY message_id, recipient HAVING count(*) > 1")
bad=0
for mid in $dups; do
	sent=0
	for qid in $(q "SELECT queue_id FROM audit WHERE message_id = '$mid' AND action = 'delivered'"); do
		grep -q " $qid: to=<.*status=sent" "$T/pf/maillog" && sent=$((sent + 1))
	done
	[ "$sent" = 1 ] || { bad=$((bad + 1)); diag "$mid: $sent queue ids sent"; }
done
diag "a: $(wc -w <<<"$dups") Message-IDs with more than one delivered audit row (retries)"
check "a: a retried message reached the sink under one queue id only" test "$bad" = 0
ctl audit report --org acme --format csv >"$T/areport.csv"
rows=$(q "SELECT count(*) FROM audit WHERE org = 'acme'")
check "a: audit report: one line per audit row" test $(($(wc -l <"$T/areport.csv") - 1)) = "$rows"
marked=$(awk -F, 'NR > 1 && $NF != ""' "$T/areport.csv" | wc -l)
expect=$(q "SELECT count(*) FROM audit a WHERE org = 'acme' AND EXISTS (SELECT 1 FROM audit b WHERE b.org = 'acme' AND b.message_id = a.message_id AND b.recipient = a.recipient AND b.id < a.id)")
check "a: audit report marks every later attempt of a message (retry_of), only those" \
    test "$marked" = "$expect" || diag "marked $marked, expected $expect"

# ---- b. the store's disk full ------------------------------------------------
mkdir -p "$T/small"
if mount -t tmpfs -o size=2m,mode=0755 tmpfs "$T/small"; then
	SMALL=$T/small
	pw_stop_milter
	sqlite3 "$DB" ".backup $SMALL/pw.db"
	[ -z "$PW_USER" ] || chown "$PW_USER" "$SMALL" "$SMALL/pw.db"
	sed -i "s|^store = .*|store = sqlite:$SMALL/pw.db|" "$T/pw/postwarden.conf"
	# pw_start_milter rewrites the configuration: start it by hand
	"$PW_POSTWARDEN" -c "$T/pw/postwarden.conf" -f -v >>"$T/pw/log" 2>&1 &
	PW_MILTER_PID=$!
	PW_PIDS+=($PW_MILTER_PID)
	for i in $(seq 1 100); do
		ss -lxn 2>/dev/null | grep -qF "$T/pw/milter.sock" && break
		sleep 0.1
	done
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to c1@remote.test --header 'Subject: before full' \
	    --body 'Sale. Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
	check "b: store on a 2 MB tmpfs: delivered" test -n "$(pw_wait_sent "$PW_QID")"
	# fill it (as the daemon's user would see it: no space at all)
	dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null
	n0=$(pw_sink_count)
	l0=$(wc -l <"$T/pw/log")
	fulls=0
	for i in 1 2 3; do
		pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
		    --from news@acme.test --to "c$i@remote.test" --header "Subject: full $i" \
		    --body 'Sale. Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
		grep -q '<\*\* *451 4\.3\.0 ' "$PW_SWAKS" && [ -z "$PW_QID" ] && fulls=$((fulls + 1))
	done
	check "b: disk full: commercial mail tempfailed (451 4.3.0), not queued (3 of 3)" test "$fulls" = 3 ||
	    diag "$(grep '<\*\*' "$PW_SWAKS" | tail -3)"
	sleep 1
	check "b: disk full: nothing delivered" test "$(pw_sink_count)" = "$n0"
	why=$(tail -n +"$((l0 + 1))" "$T/pw/log" | grep -i 'full' | head -2)
	check "b: the log says why (disk full)" test -n "$why" || diag "$(tail -n +"$((l0 + 1))" "$T/pw/log" | tail -5)"
	diag "b: log: $why"
	rm -f "$SMALL/filler"
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to c4@remote.test --header 'Subject: space back' \
	    --body 'Sale. Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
	f=$(pw_wait_sent "$PW_QID")
	check "b: space back: delivered again, no restart" test -n "$f" -a "$(pw_milter_running && echo y)" = y
	mid=$(sed -n 's/^Message-ID: <\(.*\)>\r\?$/\1/Ip' "$f" | head -1)
	n=$(sqlite3 -readonly "$SMALL/pw.db" "SELECT count(*) FROM audit WHERE message_id = '$mid' AND action = 'delivered'")
	check "b: space back: its audit row written" test "$n" = 1
	out=$(ctl_as audit verify --store "sqlite:$SMALL/pw.db" 2>&1)
	check "b: audit verify passes after the disk was full" test $? = 0 || diag "$out"
	pw_stop_milter
	umount "$SMALL"
else
	nok "b: mount a 2 MB tmpfs (needs root and CAP_SYS_ADMIN)"
fi

# ---- c. SIGKILL of postwarden-unsubd during a burst of one-click POSTs --------------
UPORT=$((PW_PORT_BASE + 83))
UNSUBD=${PW_UNSUBD:-$PW_BUILD_DIR/tools/postwarden-unsubd}
UDB=$T/pw/unsubd.db
cat >"$T/unsubd.conf" <<EOF
log = stderr
${PW_USER:+user = $PW_USER}
store = sqlite:$UDB
organisations = file:$T/pw/organisations.conf
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $UPORT
unsubscribe_keys = $RING
unsubd_rate_limit = 0
EOF
start_unsubd() {
	"$UNSUBD" -f -c "$T/unsubd.conf" 2>>"$T/unsubd.log" &
	UPID=$!
	PW_PIDS+=($UPID)
	pw_wait_tcp "$UPORT" 50
}
start_unsubd || pw_bail "unsubd listens on $UPORT"
: >"$T/toks"
for i in $(seq 1 300); do
	printf 'u%d@remote.test %s\n' "$i" "$(ctl_as token mint --ring "$RING" --org acme "u$i@remote.test")"
done >"$T/toks"
# post ADDR TOKEN: one one-click POST; prints "ADDR CODE"
cat >"$T/post.sh" <<EOF
printf '%s %s\n' "\$1" "\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'List-Unsubscribe=One-Click' "http://127.0.0.1:$UPORT/u/\$2")"
EOF
xargs -P 8 -L 1 bash "$T/post.sh" <"$T/toks" >"$T/codes" &
burst=$!
for i in $(seq 1 100); do
	[ "$(grep -c ' 200$' "$T/codes")" -ge 60 ] && break
	sleep 0.05
done
kill -KILL "$UPID"
wait "$burst"
ok200=$(grep -c ' 200$' "$T/codes")
other=$(grep -vc ' 200$' "$T/codes")
diag "c: burst of 300: $ok200 answered 200, $other not (killed)"
check "c: the kill came in the middle of the burst" test "$ok200" -gt 0 -a "$other" -gt 0
lost=0
while read -r a code; do
	[ "$code" = 200 ] || continue
	n=$(sqlite3 -readonly "$UDB" "SELECT count(*) FROM suppression WHERE address = '$a'")
	[ "$n" = 1 ] || { lost=$((lost + 1)); diag "answered 200, not recorded: $a"; }
done <"$T/codes"
check "c: every request answered 200 has its withdrawal recorded" test "$lost" = 0
start_unsubd || nok "c: unsubd restarted"
grep -v ' 200$' "$T/codes" | while read -r a _; do grep "^$a " "$T/toks"; done >"$T/retry"
xargs -P 8 -L 1 bash "$T/post.sh" <"$T/retry" >"$T/codes2"
check "c: the others answered 200 when retried" test "$(grep -vc ' 200$' "$T/codes2")" = 0
check "c: 300 withdrawals, one each" \
    test "$(sqlite3 -readonly "$UDB" "SELECT count(DISTINCT address) || ' ' || count(*) FROM suppression")" = "300 300"
# Double clicks: 16 simultaneous POSTs of one token land in one group or
# in several (group commit, tools/unsubd.c head): each answered 200, one
# row.
dup=0
for i in 1 2 3; do
	tk=$(ctl_as token mint --ring "$RING" --org acme "dbl$i@remote.test")
	for _ in $(seq 16); do echo "dbl$i@remote.test $tk"; done >"$T/dbl"
	xargs -P 16 -L 1 bash "$T/post.sh" <"$T/dbl" >"$T/codes3"
	n=$(sqlite3 -readonly "$UDB" "SELECT count(*) FROM suppression WHERE address = 'dbl$i@remote.test'")
	[ "$n" = 1 ] && [ "$(grep -c ' 200$' "$T/codes3")" = 16 ] ||
	    { dup=$((dup + 1)); diag "dbl$i: $n rows, $(grep -c ' 200$' "$T/codes3") answered 200"; }
done
check "c: 16 simultaneous POSTs of one token, 3 times: 200 each, one row each" test "$dup" = 0
check "no sanitizer report in the daemons' logs" \
    ! grep -qE 'runtime error|ERROR: AddressSanitizer' "$T/pw/log" "$T/unsubd.log"
pw_done

#!/bin/bash
# t_pgstore.sh - postwarden with store = postgresql:// in the real Postfix
# (issue 10): a private PostgreSQL 15 cluster (pg.sh) with the roles of
# conf/postwarden-roles.sql; the daemon connects as postwarden_milter with
# a passfile of its own.
#   - commercial mail with consent checks writes its audit rows to
#     PostgreSQL; `audit verify` passes as the read-only role;
#   - the milter's role cannot UPDATE or DELETE an audit row;
#   - PostgreSQL stopped: commercial mail 4xx (stays with the client),
#     signing-only mail still flows; started again: postwarden recovers
#     by itself, same process;
#   - a schema of another version: the daemon refuses to start and names
#     the command to run;
#   - store copy from SQLite into an empty PostgreSQL database;
#   - times in microseconds (schema version 5): the milter's rows have
#     them; a database of version 3 with a chain hashed with whole seconds
#     is migrated by store init and verifies against its old head, also
#     after a store copy of a migrated SQLite store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

pg_start "$T" || pw_bail "PostgreSQL 15 started, roles created, schema initialised"
ok "PostgreSQL 15 on 127.0.0.1:$PW_PG_PORT, roles and schema created"

# the daemon's own passfile, readable by its user only
install -m 600 ${PW_USER:+-o "$PW_USER"} "$PW_PG_PASSFILE" "$T/pw/pgpass"
PW_STORE="postgresql://postwarden_milter@127.0.0.1:$PW_PG_PORT/postwarden?sslmode=disable&passfile=$T/pw/pgpass"
# ctl as the milter's role (it may add records) and as the reader
ctl() { "$PW_CTL" "$@" --store "$PW_PG_MILTER_URI"; }
# q SQL: rows as the read-only role, '|' separated
q() { pg_sql postwarden_reader "$1"; }

FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
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
RING=$T/pw/unsub.keys
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
key=$(pw_key rsa plain.test psel) || pw_bail "plain key"
pw_keytable psel._domainkey.plain.test plain.test psel "$key"
pw_signing '*@plain.test' psel._domainkey.plain.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"

ctl consent add alice@remote.test --org acme --type express --source web_form \
    --proof form-1 >/dev/null || pw_bail "consent add (alice) into PostgreSQL"
ctl consent add dave@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (dave)"
ctl consent withdraw dave@remote.test --org acme >/dev/null || pw_bail "withdraw (dave)"
check "consent records are in PostgreSQL" \
    test "$(q "SELECT count(*) FROM consent_event WHERE org = 'acme'")/$(q "SELECT count(*) FROM suppression")" = 2/1

pw_setup
grep -q 'store:' "$T/pw/log" && diag "$(grep 'store:' "$T/pw/log")"

acme() {	# acme TO: commercial mail from acme-news
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$1" --header "Subject: sale" \
	    --body "Everything 50% off! $FOOTER"
}
plain() {	# plain TO: mail of no organisation: signing only
	pw_send_smtp --xclient-addr 198.51.100.31 --xclient-login someone \
	    --from bob@plain.test --to "$1" --header "Subject: hello" \
	    --body "Just a note."
}

# 1. consent holds: delivered, audit row in PostgreSQL
acme alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "consented: delivered" test -n "$f"
check "consented: signed (dkimpy)" pw_verify_dkimpy "$f"
row=$(q "SELECT action, consent, basis_type, dkim_d, class FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'alice@remote.test'")
check "consented: audit row in PostgreSQL (delivered, express, d=acme.test)" \
    test "$row" = "delivered|express|express|acme.test|commercial"

# 2. no consent, 3. withdrawn: refused at RCPT, audited
acme nobody@remote.test
check "no consent: 550 5.7.1 at RCPT" \
    grep -q '<\*\* *550 5.7.1 <nobody@remote.test>: no consent' "$PW_SWAKS"
acme dave@remote.test
check "withdrawn: 550 5.7.1 at RCPT" \
    grep -q '<\*\* *550 5.7.1 <dave@remote.test>: consent for acme withdrawn on' "$PW_SWAKS"
sleep 0.5
row=$(q "SELECT action, consent FROM audit WHERE recipient = 'nobody@remote.test' ORDER BY id DESC LIMIT 1")
check "no consent: audit row refused_rcpt|none" test "$row" = "refused_rcpt|none"
row=$(q "SELECT consent, basis_id < 0 FROM audit WHERE recipient = 'dave@remote.test' ORDER BY id DESC LIMIT 1")
check "withdrawn: audit row names the suppression" test "$row" = "withdrawn|t"

# 4. the chain verifies as the read-only role; ids run 1..n
out=$("$PW_CTL" audit verify --store "$PW_PG_READER_URI" 2>&1)
check "audit verify as postwarden_reader: intact" grep -q 'intact' <<<"$out" || diag "$out"
n1=$(q "SELECT count(*) FROM audit")
check "audit rows 1..$n1 without gaps" test "$(q "SELECT max(id) FROM audit")" = "$n1"
head=$(sed -n 's/.*head \([0-9a-f]*\).*/\1/p' <<<"$out")
out=$("$PW_CTL" audit verify --store "$PW_PG_READER_URI" --expect-head "$head" 2>&1)
check "audit verify --expect-head" test $? -eq 0
# store_password_file: the reader's password from a file named in
# postwarden.conf, not in the URI (no passfile=) nor in ~/.pgpass
grep ':postwarden_reader:' "$PW_PG_PASSFILE" | cut -d: -f5 >"$T/reader.pw"
chmod 600 "$T/reader.pw"
READER_NOPASS="postgresql://postwarden_reader@127.0.0.1:$PW_PG_PORT/postwarden?sslmode=disable"
printf 'store = %s\nstore_password_file = %s\n' "$READER_NOPASS" "$T/reader.pw" >"$T/ctl-pw.conf"
printf 'store = %s\n' "$READER_NOPASS" >"$T/ctl-nopw.conf"
out=$(HOME=$T PGPASSFILE=/nonexistent "$PW_CTL" -c "$T/ctl-pw.conf" audit verify 2>&1)
check "store_password_file: audit verify as the reader" grep -q 'intact' <<<"$out" || diag "$out"
out=$(HOME=$T PGPASSFILE=/nonexistent "$PW_CTL" -c "$T/ctl-nopw.conf" audit verify 2>&1)
check "without store_password_file: refused (no password)" test $? -ne 0
check "without store_password_file: the password is not in the message" ! grep -qF "$(cat "$T/reader.pw")" <<<"$out"

# 5. least privilege: the milter's role adds, never rewrites
out=$(pg_sql postwarden_milter "UPDATE audit SET action = 'delivered' WHERE id = 1" 2>&1)
check "milter role: UPDATE audit is refused" grep -q 'permission denied' <<<"$out"
out=$(pg_sql postwarden_milter "DELETE FROM audit" 2>&1)
check "milter role: DELETE FROM audit is refused" grep -q 'permission denied' <<<"$out"
out=$(pg_sql postwarden_reader "INSERT INTO suppression (org, address, reason, requested_at, created_at, recorded_us) VALUES ('acme', 'x@remote.test', 'manual', 1, 1, 1)" 2>&1)
check "reader role: INSERT is refused" grep -q 'permission denied' <<<"$out"

# 6. PostgreSQL stops: commercial mail 4xx, signing-only mail flows
pg_stop
check "PostgreSQL stopped" ! pg_running
acme alice@remote.test
check "store down: commercial mail gets a 4xx" grep -qE '<\*\* *4[0-9][0-9] ' "$PW_SWAKS"
check "store down: commercial mail not queued" test -z "$PW_QID"
plain carol@remote.test
f=$(pw_wait_sent "$PW_QID")
check "store down: signing-only mail delivered" test -n "$f"
check "store down: and signed by plain.test (dkimpy)" pw_verify_dkimpy "$f"
check "store down: the daemon still runs" pw_milter_running
pid=$PW_MILTER_PID

# 7. PostgreSQL back: recovers without a restart or reload (the connect
#    backoff is at most 5 s)
pg_start "$T" || pw_bail "PostgreSQL started again"
t0=$(date +%s%N)
for i in $(seq 1 20); do
	acme alice@remote.test
	[ -n "$PW_QID" ] && break
	sleep 1
done
f=$(pw_wait_sent "$PW_QID")
check "store back: commercial mail delivered again (after $i tries, $(pw_ms_since "$t0") ms)" test -n "$f"
check "store back: same daemon process" test "$PW_MILTER_PID" = "$pid"
row=$(q "SELECT action FROM audit WHERE queue_id = '$PW_QID'")
check "store back: audited in PostgreSQL" test "$row" = "delivered"
out=$("$PW_CTL" audit verify --store "$PW_PG_READER_URI" 2>&1)
check "store back: the chain still verifies" grep -q 'intact' <<<"$out" || diag "$out"

# 7b. postwarden-unsubd on the same database: the one-click POST for the
#     token in the message just delivered records the withdrawal in
#     PostgreSQL, and the MTA refuses the very next message
UPORT=$((PW_PORT_BASE + 80))
UNSUBD=$PW_BUILD_DIR/tools/postwarden-unsubd
cat >"$T/unsubd.conf" <<EOF
log = stderr
${PW_USER:+user = $PW_USER}
store = $PW_STORE
organisations = file:$T/pw/organisations.conf
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $UPORT
unsubd_base_path = /u
unsubscribe_keys = $RING
unsubd_pid_file = $T/unsubd.pid
EOF
"$UNSUBD" -f -c "$T/unsubd.conf" 2>"$T/unsubd.log" &
PW_PIDS+=($!)
pw_wait_tcp "$UPORT" 50 || pw_bail "postwarden-unsubd listens on $UPORT ($(cat "$T/unsubd.log"))"
tok=$(pw_header "$f" List-Unsubscribe | sed -n 's|^<https://unsub\.acme\.test/u/\([^>]*\)>.*|\1|p')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'List-Unsubscribe=One-Click' "http://127.0.0.1:$UPORT/u/$tok")
check "unsubd: one-click POST 200" test "$code" = 200 || diag "$(cat "$T/unsubd.log")"
row=$(q "SELECT address, reason FROM suppression WHERE address = 'alice@remote.test'")
check "unsubd: the withdrawal is in PostgreSQL" test "$row" = "alice@remote.test|one_click_post"
acme alice@remote.test
check "unsubd: the next message to alice is refused (550 5.7.1)" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: consent for acme withdrawn on' "$PW_SWAKS"
# consent given again, for the steps below
ctl consent add alice@remote.test --org acme --type express --source web_form \
    --proof form-2 >/dev/null || nok "consent add (alice again)"

# 8. another schema version: the daemon refuses to start, naming the
#    command; the running one is not affected by the check
sed -e "s|^milter_socket = .*|milter_socket = unix:$T/pw/m2.sock|" \
    -e "s|^pid_file = .*|pid_file = $T/pw/m2.pid|" \
    "$T/pw/postwarden.conf" >"$T/pw/m2.conf"
schema_v=$(q "SELECT version FROM pw_schema")	# restored below
pg_sql postwarden_owner "UPDATE pw_schema SET version = 0" >/dev/null
out=$(timeout 20 "$PW_POSTWARDEN" -c "$T/pw/m2.conf" -f 2>&1)
rc=$?
check "older schema: the daemon refuses to start (exit $rc)" test "$rc" -eq 78
check "older schema: the message names postwarden-ctl store init" \
    grep -q 'run postwarden-ctl store init' <<<"$out" || diag "$out"
check "older schema: no password in the message" ! grep -q "$(cut -d: -f5 "$PW_PG_PASSFILE" | head -2 | tail -1)" <<<"$out"
pg_sql postwarden_owner "UPDATE pw_schema SET version = 9" >/dev/null
out=$(timeout 20 "$PW_POSTWARDEN" -c "$T/pw/m2.conf" -f 2>&1)
rc=$?
check "newer schema: refused too (exit $rc)" test "$rc" -eq 78
out=$("$PW_CTL" store init "$PW_PG_OWNER_URI" 2>&1)
check "store init does not downgrade a newer schema" test $? -ne 0
pg_sql postwarden_owner "UPDATE pw_schema SET version = $schema_v" >/dev/null

# 9. PostgreSQL down when the daemon starts: it starts all the same,
#    defers commercial mail, signs the rest, and recovers by itself
pw_stop_milter || nok "daemon stopped"
pg_stop
pw_start_milter
check "store down at start: the daemon starts" pw_milter_running
check "store down at start: says so in its log" grep -q 'starting anyway' "$T/pw/log"
acme alice@remote.test
check "store down at start: commercial mail gets a 4xx" grep -qE '<\*\* *4[0-9][0-9] ' "$PW_SWAKS"
plain carol@remote.test
f=$(pw_wait_sent "$PW_QID")
check "store down at start: signing-only mail delivered" test -n "$f"
pid=$PW_MILTER_PID
pg_start "$T" || pw_bail "PostgreSQL started again"
for i in $(seq 1 20); do
	acme alice@remote.test
	[ -n "$PW_QID" ] && break
	sleep 1
done
f=$(pw_wait_sent "$PW_QID")
check "store down at start: delivered once it is back (try $i), same process" \
    test -n "$f" -a "$PW_MILTER_PID" = "$pid"

# 10. store copy: a SQLite store into an empty PostgreSQL database
"$PW_CTL" consent add zoe@remote.test --org acme --type express \
    --source import --store "sqlite:$T/copy.db" >/dev/null
"$PW_CTL" consent withdraw zoe@remote.test --org acme --store "sqlite:$T/copy.db" >/dev/null
# feedback rows and a complaint hold and release go along (issue 17)
sqlite3 "$T/copy.db" "INSERT INTO feedback_event (time, org, address, kind, status, source) VALUES (1767952800, 'acme', 'zoe@remote.test', 'complaint', 'abuse', 'import'), (1767952801, 'acme', 'zoe@remote.test', 'bounce_soft', '4.2.2', 'dsn'); INSERT INTO complaint_hold (time, org, action, complaints, delivered, since, actor) VALUES (1767952802, 'acme', 'hold', 3, 10, 1767866402, 'postwarden@mx1'), (1767952803, 'acme', 'release', 0, 0, 1767952802, 'alice@mx1')"
# and the DMARC report job's record of what it sent (not sent again after
# the move) and the quota deltas (the window's use), quota ids kept
sqlite3 "$T/copy.db" "INSERT INTO dmarc_report_sent (time, report_id, domain, rua, period_begin, period_end, status, detail, bytes) VALUES (1767952900, 'acme.test.1767830400-1767916800', 'acme.test', 'agg@remote.test', 1767830400, 1767916800, 'failed', NULL, 0), (1767952960, 'acme.test.1767830400-1767916800', 'acme.test', 'agg@remote.test', 1767830400, 1767916800, 'sent', '250 2.0.0 Ok', 812); INSERT INTO quota_delta (id, org, hour_start, messages, recipients, host, recorded_at) VALUES (1, 'acme', 1767949200, 3, 9, 'mx1', 1767952000), (5, 'acme', 1767952800, 2, 2, 'mx2', 1767952990)"
pg_sql "CREATE DATABASE pwcopy OWNER postwarden_owner" >/dev/null
DST="postgresql://postwarden_owner@127.0.0.1:$PW_PG_PORT/pwcopy?sslmode=disable&passfile=$PW_PG_PASSFILE"
out=$("$PW_CTL" store copy "sqlite:$T/copy.db" "$DST" 2>&1)
check "store copy sqlite -> postgresql" grep -q 'audit chain verified' <<<"$out" || diag "$out"
check "store copy: counts" grep -q 'copied 1 consent events, 1 suppressions' <<<"$out"
check "store copy: feedback rows and complaint holds counted" \
    grep -q ' DMARC rows, 2 feedback rows, 2 complaint holds,' <<<"$out" || diag "$out"
check "store copy: DMARC report attempts and quota rows counted" \
    grep -q ' 2 complaint holds, 2 DMARC report attempts, 2 quota rows$' <<<"$out" || diag "$out"
check "store copy: the report attempts in PostgreSQL, as stored" \
    test "$(PW_PG_DB=pwcopy pg_sql "SELECT string_agg(time || ':' || status || ':' || bytes, ',' ORDER BY time) FROM dmarc_report_sent WHERE report_id = 'acme.test.1767830400-1767916800' AND rua = 'agg@remote.test'")" = "1767952900:failed:0,1767952960:sent:812"
check "store copy: the quota deltas in PostgreSQL, ids kept" \
    test "$(PW_PG_DB=pwcopy pg_sql "SELECT string_agg(id || ':' || hour_start || ':' || messages || ':' || recipients || ':' || host || ':' || recorded_at, ',' ORDER BY id) FROM quota_delta")" = "1:1767949200:3:9:mx1:1767952000,5:1767952800:2:2:mx2:1767952990"
check "store copy: the holds in PostgreSQL, ids and actors kept" \
    test "$(PW_PG_DB=pwcopy pg_sql "SELECT string_agg(id || ':' || action || ':' || actor, ',' ORDER BY id) FROM complaint_hold")" = "1:hold:postwarden@mx1,2:release:alice@mx1"
check "store copy: the feedback rows in PostgreSQL" \
    test "$(PW_PG_DB=pwcopy pg_sql "SELECT string_agg(id || ':' || kind, ',' ORDER BY id) FROM feedback_event")" = "1:complaint,2:bounce_soft"
out=$("$PW_CTL" consent show zoe@remote.test --org acme --store "$DST" 2>&1)
check "store copy: the copy answers withdrawn" grep -qi 'withdrawn' <<<"$out" || diag "$out"
out=$("$PW_CTL" store copy "sqlite:$T/copy.db" "$DST" 2>&1)
check "store copy into a non-empty store: refused" grep -q 'not empty' <<<"$out"

# 10b. times in microseconds (schema version 5)
check "microseconds: every audit row of the milter has them (seconds = floor)" \
    test "$(q "SELECT count(*) FROM audit WHERE time_us IS NULL OR time <> time_us / 1000000")" = 0
out=$("$PW_CTL" audit report --org acme --store "$PW_PG_READER_URI" 2>&1)
check "microseconds: audit report prints them (ISO 8601, UTC)" \
    grep -qE '^[0-9]+,[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z,' <<<"$out" || diag "$out"
pg_sql "CREATE DATABASE pwv3 OWNER postwarden_owner" >/dev/null
V3="postgresql://postwarden_owner@127.0.0.1:$PW_PG_PORT/pwv3?sslmode=disable&passfile=$PW_PG_PASSFILE"
"$PW_CTL" store init "$V3" >/dev/null || nok "store init (pwv3)"
# v3store.py hashes the old rows itself (the v1 format, whole seconds)
old_head=$(/usr/bin/python3 "$PW_IT/v3store.py" --pg "$T/v3.sql" legacy 3) &&
    PW_PG_DB=pwv3 pg_sql postwarden_owner "$(cat "$T/v3.sql")" >/dev/null ||
    nok "version 3 database made"
out=$("$PW_CTL" audit verify --store "$V3" 2>&1)
check "version 3 database: audit verify names store init" \
    grep -q 'schema version 3 is older.*store init' <<<"$out" || diag "$out"
out=$("$PW_CTL" store init "$V3" 2>&1)
check "version 3 database: store init migrates it" test $? = 0 || diag "$out"
out=$("$PW_CTL" audit verify --expect-head "$old_head" --store "$V3" 2>&1)
check "migrated: the old chain verifies against its head" \
    grep -q '^audit chain intact: 3 rows' <<<"$out" || diag "$out"
"$PW_CTL" store init "sqlite:$T/v3.db" >/dev/null &&
    /usr/bin/python3 "$PW_IT/v3store.py" "$T/v3.db" legacy 3 >/dev/null &&
    "$PW_CTL" store init "sqlite:$T/v3.db" >/dev/null ||
    nok "migrated SQLite store made"
pg_sql "CREATE DATABASE pwv3copy OWNER postwarden_owner" >/dev/null
DST3="postgresql://postwarden_owner@127.0.0.1:$PW_PG_PORT/pwv3copy?sslmode=disable&passfile=$PW_PG_PASSFILE"
out=$("$PW_CTL" store copy "sqlite:$T/v3.db" "$DST3" 2>&1)
check "store copy of a migrated SQLite store: chain verified" \
    grep -q 'audit chain verified' <<<"$out" || diag "$out"
out=$("$PW_CTL" audit verify --expect-head "$old_head" --store "$DST3" 2>&1)
check "the copy verifies against the old head" \
    grep -q '^audit chain intact: 3 rows' <<<"$out" || diag "$out"
check "the copy keeps whole seconds for the old rows (time_us NULL)" \
    test "$(PW_PG_DB=pwv3copy pg_sql "SELECT count(*) FROM audit WHERE time_us IS NULL")" = 3

# 11. a slow store: a table lock held for 30 s.  The consent lookup gives
#     up after lock_timeout (2 s): a 4xx well before Postfix's
#     milter_command_timeout (10 s here), not a hung SMTP session
pg_sql postwarden_owner "BEGIN; LOCK TABLE suppression IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT" >/dev/null 2>&1 &
sleeper=$!
for i in $(seq 1 50); do
	[ "$(pg_sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'suppression' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
	sleep 0.1
done
t0=$(date +%s%N)
acme alice@remote.test
ms=$(pw_ms_since "$t0")
check "slow store: 4xx after ${ms} ms (< 10000, milter_command_timeout)" \
    test "$ms" -lt 10000 -a -z "$PW_QID"
check "slow store: the reply is a 4xx" grep -qE '<\*\* *4[0-9][0-9] ' "$PW_SWAKS"
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$sleeper" 2>/dev/null

# 12. PostgreSQL killed (SIGKILL of the postmaster) in the middle of a
#     load of commercial mail, then started again (crash recovery):
#     every accepted message is delivered and has its audit row, the
#     others got a 4xx and stay with the client, the chain verifies
load() {	# load TAG: one commercial message to alice
	swaks --server "127.0.0.1:$PW_SMTP_PORT" --helo client.example.test \
	    --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to alice@remote.test \
	    --header "Subject: load $1" --body "Everything 50% off! $FOOTER" \
	    --timeout 60 </dev/null >"$T/msg/load-$1" 2>&1
}
for i in $(seq 1 5); do load "a$i"; done
lp=()
for i in $(seq 1 25); do
	load "b$i" &
	lp+=($!)
	[ "$i" = 8 ] && pg_kill
	sleep 0.05
done
wait "${lp[@]}"	# not a bare wait: the daemons are children too
pg_start "$T" || pw_bail "PostgreSQL started again after SIGKILL"
queued=0 deferred=0 other=0 bad=0
for f in "$T"/msg/load-*; do
	qid=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$f" | tail -1)
	if [ -n "$qid" ]; then
		queued=$((queued + 1))
		pw_wait_sent "$qid" >/dev/null || { bad=$((bad + 1)); diag "$qid not delivered"; }
		[ "$(q "SELECT count(*) FROM audit WHERE queue_id = '$qid' AND action = 'delivered'")" = 1 ] ||
		    { bad=$((bad + 1)); diag "$qid: no audit row"; }
	elif grep -qE '<\*\* *4[0-9][0-9] ' "$f"; then
		deferred=$((deferred + 1))
	else
		other=$((other + 1))
		diag "$(basename "$f"): $(grep -E '<\*\*|\*\*\*' "$f" | head -2)"
	fi
done
check "SIGKILL under load: $queued accepted, $deferred deferred (4xx), $other otherwise" \
    test "$queued" -ge 5 -a "$deferred" -ge 1 -a "$other" = 0
check "SIGKILL under load: every accepted message delivered with its audit row" test "$bad" = 0
out=$("$PW_CTL" audit verify --store "$PW_PG_READER_URI" 2>&1)
check "SIGKILL under load: the chain verifies after crash recovery" grep -q 'intact' <<<"$out" || diag "$out"
n=$(q "SELECT count(*) FROM audit")
check "SIGKILL under load: ids 1..$n without gaps" test "$(q "SELECT max(id) FROM audit")" = "$n"

pw_done

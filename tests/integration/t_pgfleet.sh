#!/bin/bash
# t_pgfleet.sh - a fleet on one PostgreSQL store (issue 10): two MTAs (two
# private Postfix instances, each with its own postwarden) and one
# postwarden-unsubd share a private PostgreSQL 15 cluster (pg.sh), all as
# the role postwarden_milter.
#   - consent recorded once is seen by both MTAs;
#   - a one-click POST to the endpoint: the next message to that
#     recipient is refused by both MTAs;
#   - both MTAs writing audit rows at the same time: one chain, ids 1..n
#     without gaps, `audit verify` intact as postwarden_reader, and
#     `audit report` lists the rows of both MTAs;
#   - complaints over complaint_rate_hold: a milter holds acme in the
#     store and both MTAs tempfail its commercial mail; complaints
#     release as postwarden_milter is refused (row-level security), as
#     the owner it works: both MTAs deliver again, no restart.
# MTA 1 is lib.sh's (PW_PORT_BASE+25, $T/pf, $T/pw); MTA 2 listens on
# PW_PORT_BASE+35 with $T/pf2 and $T/pw2; both relay to the same sink.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
P2=$((PW_PORT_BASE + 35))
UPORT=$((PW_PORT_BASE + 80))
UNSUBD=$PW_BUILD_DIR/tools/postwarden-unsubd
for p in $P2 $UPORT; do
	pw_port_free "$p" || pw_bail "port $p is free"
done

pg_start "$T" || pw_bail "PostgreSQL 15 started, roles created, schema initialised"
ok "PostgreSQL 15 on 127.0.0.1:$PW_PG_PORT, roles and schema created"
install -m 600 ${PW_USER:+-o "$PW_USER"} "$PW_PG_PASSFILE" "$T/pw/pgpass"
PW_STORE="postgresql://postwarden_milter@127.0.0.1:$PW_PG_PORT/postwarden?sslmode=disable&passfile=$T/pw/pgpass"
ctl() { "$PW_CTL" "$@" --store "$PW_PG_MILTER_URI"; }
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
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "complaint_rate_min_messages = 2"
pw_conf "complaint_rate_interval = 1s"

# consent recorded once, for both MTAs
ctl consent add alice@remote.test --org acme --type express --source web_form \
    --proof form-1 >/dev/null || pw_bail "consent add (alice)"
for i in $(seq 1 8); do
	ctl consent add "r$i@remote.test" --org acme --type express \
	    --source import >/dev/null || pw_bail "consent add (r$i)"
done

pw_setup	# MTA 1

# --- MTA 2: its own postwarden and Postfix, same store and keys ----------
mkdir -p "$T/pw2" "$T/pf2/etc" "$T/pf2/spool"
[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pw2"
sed -e "s|^milter_socket = .*|milter_socket = unix:$T/pw2/milter.sock|" \
    -e "s|^pid_file = .*|pid_file = $T/pw2/postwarden.pid|" \
    -e "s|^temp_dir = .*|temp_dir = $T/pw2|" \
    "$T/pw/postwarden.conf" >"$T/pw2/postwarden.conf"
"$PW_POSTWARDEN" -c "$T/pw2/postwarden.conf" -f -v >>"$T/pw2/log" 2>&1 &
PW_PIDS+=($!)
M2=$!
for i in $(seq 1 100); do
	ss -lxn 2>/dev/null | grep -qF "$T/pw2/milter.sock" && break
	sleep 0.1
done
ss -lxn 2>/dev/null | grep -qF "$T/pw2/milter.sock" ||
    pw_bail "second postwarden started ($(tail -3 "$T/pw2/log"))"
{
	pw_pf_main_cf "$T/pf2/spool" "$T/pf2/maillog" mx2.example.test example.test \
	    "$PW_SINK_PORT"
	cat <<EOF
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtputf8_enable = no
smtpd_milters = unix:$T/pw2/milter.sock
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
milter_command_timeout = 10s
EOF
} >"$T/pf2/etc/main.cf"
{
	echo "127.0.0.1:$P2 inet n - n - - smtpd"
	pw_pf_services
} >"$T/pf2/etc/master.cf"
pf2_stop() {
	local m
	[ -f "$T/pf2/spool/pid/master.pid" ] || return 0
	m=$(tr -d ' ' <"$T/pf2/spool/pid/master.pid")
	postfix -c "$T/pf2/etc" stop >/dev/null 2>&1
	pw_wait_gone "$m" 150 || kill -KILL "$m" 2>/dev/null
}
pw_cleanup_hooks+=(pf2_stop)
postfix -c "$T/pf2/etc" check >/dev/null 2>&1 &&
    postfix -c "$T/pf2/etc" start >/dev/null 2>&1 &&
    pw_wait_tcp "$P2" || pw_bail "second Postfix started ($(tail -3 "$T/pf2/maillog" 2>/dev/null))"
ok "two MTAs: Postfix on $PW_SMTP_PORT and $P2, each with its postwarden"

# --- postwarden-unsubd on the same database ------------------------------
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
pw_wait_tcp "$UPORT" 50 || pw_bail "postwarden-unsubd listens on $UPORT"

# acme PORT TO: commercial mail through the MTA on PORT
acme() {
	PW_SMTP_PORT=$1 pw_send_smtp --xclient-addr 198.51.100.30 \
	    --xclient-login acme-news --from news@acme.test --to "$2" \
	    --header "Subject: sale" --body "Everything 50% off! $FOOTER"
}
# sent2 QID: pw_wait_sent for MTA 2 (its own maillog)
sent2() {
	local i
	[ -n "$1" ] || return 1
	for i in $(seq 1 200); do
		grep -q " $1: .*status=sent" "$T/pf2/maillog" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. consent recorded once is seen by both MTAs
acme "$PW_SMTP_PORT" alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "MTA 1: consented mail delivered" test -n "$f"
acme "$P2" alice@remote.test
check "MTA 2: the same consent holds there" sent2 "$PW_QID"
acme "$P2" nobody@remote.test
check "MTA 2: no consent: 550 5.7.1" \
    grep -q '<\*\* *550 5.7.1 <nobody@remote.test>: no consent' "$PW_SWAKS"

# 2. one-click POST to the endpoint: both MTAs refuse the next message
tok=$(pw_header "$f" List-Unsubscribe | sed -n 's|^<https://unsub\.acme\.test/u/\([^>]*\)>.*|\1|p')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'List-Unsubscribe=One-Click' "http://127.0.0.1:$UPORT/u/$tok")
check "unsubd: one-click POST 200" test "$code" = 200 || diag "$(cat "$T/unsubd.log")"
acme "$PW_SMTP_PORT" alice@remote.test
check "after the POST: MTA 1 refuses the next message (550 5.7.1)" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: consent for acme withdrawn on' "$PW_SWAKS"
acme "$P2" alice@remote.test
check "after the POST: MTA 2 refuses it too (550 5.7.1)" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: consent for acme withdrawn on' "$PW_SWAKS"

# 3. both MTAs at once: 8 messages each, concurrently
burst() {	# burst PORT TAG
	local i
	for i in $(seq 1 8); do
		swaks --server "127.0.0.1:$1" --helo client.example.test \
		    --xclient-addr 198.51.100.30 --xclient-login acme-news \
		    --from news@acme.test --to "r$i@remote.test" \
		    --header "Subject: burst $2 $i" \
		    --body "Everything 50% off! $FOOTER" --timeout 60 \
		    </dev/null >"$T/msg/burst-$2-$i" 2>&1 &
	done
	wait
}
n0=$(q "SELECT count(*) FROM audit")
burst "$PW_SMTP_PORT" a &
b1=$!
burst "$P2" b &
b2=$!
wait $b1 $b2
queued=$(grep -l 'queued as' "$T"/msg/burst-* | wc -l)
check "burst: 16 messages accepted by the two MTAs" test "$queued" = 16
sleep 1
n1=$(q "SELECT count(*) FROM audit")
check "burst: 16 new audit rows ($n0 -> $n1)" test "$((n1 - n0))" = 16
check "one chain: ids 1..$n1, no gap, no duplicate" \
    test "$(q "SELECT max(id) || '/' || count(DISTINCT id) FROM audit")" = "$n1/$n1"
out=$("$PW_CTL" audit verify --store "$PW_PG_READER_URI" 2>&1)
check "audit verify as postwarden_reader: intact" grep -q 'intact' <<<"$out" || diag "$out"
rep=$("$PW_CTL" audit report --org acme --format csv --store "$PW_PG_READER_URI" 2>&1)
q1=$(sed -n 's/.*: \([0-9A-F]*\): .*status=sent.*/\1/p' "$T/pf/maillog" | sort -u | head -1)
q2=$(sed -n 's/.*: \([0-9A-F]*\): .*status=sent.*/\1/p' "$T/pf2/maillog" | sort -u | head -1)
check "audit report lists rows of MTA 1 ($q1) and MTA 2 ($q2)" \
    test -n "$q1" -a -n "$q2" -a "$(grep -c "$q1" <<<"$rep")" -ge 1 -a "$(grep -c "$q2" <<<"$rep")" -ge 1
for i in $(seq 1 100); do
	[ "$(grep -c 'status=sent' "$T/pf/maillog" "$T/pf2/maillog" | awk -F: '{ s += $2 } END { print s }')" -ge 18 ] && break
	sleep 0.1
done
check "burst: every accepted message delivered" \
    test "$(grep -c 'status=sent' "$T/pf/maillog" "$T/pf2/maillog" | awk -F: '{ s += $2 } END { print s }')" -ge 18

# 4. complaint-rate hold, fleet-wide: 5 complaints (as the milter's role
#    writes them) against ~18 delivered is over 0.3%
now=$(date +%s)
for i in 1 2 3 4 5; do
	pg_sql postwarden_milter "INSERT INTO feedback_event (time, org, address, kind, status, source) VALUES ($now, 'acme', 'r$i@remote.test', 'complaint', 'abuse', 'arf')" >/dev/null
done
for i in $(seq 1 50); do
	[ "$(q "SELECT count(*) FROM complaint_hold WHERE action = 'hold'")" -ge 1 ] && break
	sleep 0.1
done
check "hold: a milter held acme in the store (as postwarden_milter)" \
    test "$(q "SELECT count(*) FROM complaint_hold WHERE action = 'hold' AND actor LIKE 'postwarden@%'")" -ge 1
sleep 1.5	# both watchers have read it
acme "$PW_SMTP_PORT" r6@remote.test
check "hold: MTA 1 tempfails acme's commercial mail" \
    grep -q '<\*\* *451 4.7.1 commercial mail of acme is held' "$PW_SWAKS"
check "hold: at RCPT (class known at MAIL FROM): the body is not sent" \
    bash -c "grep -q '^ -> RCPT TO' '$PW_SWAKS' && ! grep -q '^ -> DATA' '$PW_SWAKS'"
check "hold: audited tempfail_rcpt with the reason" \
    test "$(q "SELECT action || '|' || reason FROM audit WHERE recipient = 'r6@remote.test' ORDER BY id DESC LIMIT 1")" = "tempfail_rcpt|commercial mail of acme is held: too many complaints (an administrator must release it)"
acme "$P2" r6@remote.test
check "hold: MTA 2 too" grep -q '<\*\* *451 4.7.1 commercial mail of acme is held' "$PW_SWAKS"
out=$("$PW_CTL" -c "$T/pw/postwarden.conf" complaints release --org acme --store "$PW_PG_MILTER_URI" 2>&1)
rc=$?
check "release as postwarden_milter: refused (exit 1), names the owner role" \
    test $rc = 1 -a -n "$(grep "needs the store's owner role" <<<"$out")" || diag "$out"
out=$("$PW_CTL" -c "$T/pw/postwarden.conf" complaints release --org acme --by alice --store "$PW_PG_OWNER_URI" 2>&1)
check "release as the owner: done" grep -q '^acme: released by alice' <<<"$out" || diag "$out"
sleep 1.5
acme "$PW_SMTP_PORT" r6@remote.test
check "released: MTA 1 delivers acme's commercial mail again" pw_wait_sent "$PW_QID"
acme "$P2" r7@remote.test
check "released: MTA 2 too, no restart" sent2 "$PW_QID"

pw_done

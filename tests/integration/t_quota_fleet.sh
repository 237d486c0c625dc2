#!/bin/bash
# t_quota_fleet.sh - sending quotas counted across a fleet (issue 17): two
# MTAs (two private Postfix instances, each with its own postwarden) on
# one PostgreSQL 15 store (pg.sh), as the role postwarden_milter, which
# may only append to quota_delta.  Organisation qf: quota_hour = 4.
#   - two messages through each MTA flow; after a flush, a fifth gets 452
#     4.7.1 on either MTA: each counts the other's messages;
#   - `quota show` as postwarden_reader: 4 of 4;
#   - the next hour (test clock, PW_TEST_CLOCK_FILE) both flow again.
# MTA 1 is lib.sh's (PW_PORT_BASE+25, $T/pf, $T/pw); MTA 2 listens on
# PW_PORT_BASE+35 with $T/pf2 and $T/pw2; both relay to the same sink.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
"$PW_POSTWARDEN" -V >/dev/null || pw_bail "daemon built"
P2=$((PW_PORT_BASE + 35))
pw_port_free "$P2" || pw_bail "port $P2 is free"

CLOCK=$T/clock
export PW_TEST_CLOCK_FILE=$CLOCK
# 10 minutes into the next clock hour: the hour does not roll over while
# the test runs
now=$(date -u +%s)
OFF=$((3600 - now % 3600 + 600))
echo "$OFF" >"$CLOCK"
chmod 644 "$CLOCK"

pg_start "$T" || pw_bail "PostgreSQL 15 started, roles created, schema initialised"
ok "PostgreSQL 15 on 127.0.0.1:$PW_PG_PORT, roles and schema created"
install -m 600 ${PW_USER:+-o "$PW_USER"} "$PW_PG_PASSFILE" "$T/pw/pgpass"
PW_STORE="postgresql://postwarden_milter@127.0.0.1:$PW_PG_PORT/postwarden?sslmode=disable&passfile=$T/pw/pgpass"
q() { pg_sql postwarden_reader "$1"; }

cat >"$T/pw/organisations.conf" <<'EOF'
[org qf]
domains = qf.test
sasl_logins = qf
default_class = transactional
identification_mode = off
unsub_mode = off
quota_hour = 4
EOF
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "quota_flush_interval = 1s"

pw_setup	# MTA 1

# --- MTA 2: its own postwarden and Postfix, same store -------------------
mkdir -p "$T/pw2" "$T/pf2/etc" "$T/pf2/spool"
[ -z "$PW_USER" ] || chown "$PW_USER" "$T/pw2"
sed -e "s|^milter_socket = .*|milter_socket = unix:$T/pw2/milter.sock|" \
    -e "s|^pid_file = .*|pid_file = $T/pw2/postwarden.pid|" \
    -e "s|^temp_dir = .*|temp_dir = $T/pw2|" \
    "$T/pw/postwarden.conf" >"$T/pw2/postwarden.conf"
"$PW_POSTWARDEN" -c "$T/pw2/postwarden.conf" -f >>"$T/pw2/log" 2>&1 &
PW_PIDS+=($!)
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

send() {	# send PORT TO
	PW_SMTP_PORT=$1 pw_send_smtp --xclient-addr 198.51.100.40 \
	    --xclient-login qf --from info@qf.test --to "$2" \
	    --header "Subject: fleet quota" --body "A receipt."
}
sent2() {	# pw_wait_sent for MTA 2 (its own maillog)
	local i
	[ -n "$1" ] || return 1
	for i in $(seq 1 200); do
		grep -q " $1: .*status=sent" "$T/pf2/maillog" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. two messages through each MTA: all four flow
for i in 1 2; do
	send "$PW_SMTP_PORT" "a$i@remote.test"
	f=$(pw_wait_sent "$PW_QID")
	check "MTA 1: message $i delivered" test -n "$f"
	send "$P2" "b$i@remote.test"
	check "MTA 2: message $i delivered" sent2 "$PW_QID"
done
# each MTA writes within a second and reads the fleet's sums back
sleep 3
send "$PW_SMTP_PORT" a3@remote.test
check "MTA 1: the 5th message of the fleet gets 452 4.7.1" \
    grep -q '<\*\* *452 4.7.1 <a3@remote.test>: qf is over its hourly sending quota (4 messages per hour)' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
send "$P2" b3@remote.test
check "MTA 2: and on the other MTA too" \
    grep -q '<\*\* *452 4.7.1 <b3@remote.test>: qf is over its hourly sending quota' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
rows=$(q "SELECT count(*) || '/' || sum(messages) FROM quota_delta WHERE org = 'qf'")
check "quota_delta: rows of both MTAs, 4 messages ($rows)" \
    grep -qE '^([2-9]|[1-9][0-9]+)/4$' <<<"$rows"
out=$("$PW_CTL" -c "$T/pw/postwarden.conf" quota show --org qf --store "$PW_PG_READER_URI" 2>&1)
check "quota show as postwarden_reader: hour 4 of 4, 0 left" \
    grep -qE '^hour +.* +4 +4 +4 +0$' <<<"$out" || diag "$out"

# 2. the next hour: both MTAs let qf's mail through again
OFF=$((OFF + 3600))
echo "$OFF" >"$CLOCK"
send "$PW_SMTP_PORT" a4@remote.test
f=$(pw_wait_sent "$PW_QID")
check "next hour: MTA 1 delivers again" test -n "$f"
send "$P2" b4@remote.test
check "next hour: MTA 2 delivers again" sent2 "$PW_QID"

pw_done

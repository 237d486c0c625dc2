#!/bin/bash
# t_quota.sh - sending quotas per organisation (issue 17) through the real
# Postfix.  Submissions are told apart with XCLIENT LOGIN=:
#   qh   quota_hour = 3 (messages): the 4th message gets 452 4.7.1 at
#        RCPT, the next hour (test clock) it flows again; a restarted
#        milter still counts the hour (the counts are in the store)
#   qw   quota_hour = 1, quota_mode = warn: delivered, logged with the
#        queue ID
#   qm   quota_month = 2: the 3rd message 550 5.7.1 (reject, the default)
#   qmt  quota_month = 1, quota_month_action = tempfail: 452 4.7.1
#   qr   quota_day = 2, quota_unit = recipients: a message to 3 recipients
#        reaches 2, the 3rd gets 452 4.7.1 (daily)
#   qa   quota_hour = 1: a message abandoned after its RCPT was accepted
#        is taken back (the next one flows)
# and the store made unreadable: 451 4.3.0 once the counts are older than
# quota_store_grace (quota_store_error = tempfail, the default).  Time is
# moved with the test hook PW_TEST_CLOCK_FILE (--enable-test-hooks), not
# by waiting: the test clock starts 10 minutes into a month, so that the
# hour, day and month do not roll over while the test runs.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
"$PW_POSTWARDEN" -V >/dev/null || pw_bail "daemon built"

DB=$T/pw/postwarden.db
CLOCK=$T/clock
export PW_TEST_CLOCK_FILE=$CLOCK
# now + offset = the first day of next month, 00:10:00Z
now=$(date -u +%s)
target=$(date -u -d "$(date -u -d "$(date -u +%Y-%m-15) + 1 month" +%Y-%m-01) 00:10:00" +%s)
OFF=$((target - now))
echo "$OFF" >"$CLOCK"
chmod 644 "$CLOCK"
clock_add() { OFF=$((OFF + $1)); echo "$OFF" >"$CLOCK"; }

qshow() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" -c "$T/pw/postwarden.conf" quota show "$@"
	else
		"$PW_CTL" -c "$T/pw/postwarden.conf" quota show "$@"
	fi
}
q() { sqlite3 -readonly "$DB" "$1"; }

org() {	# org NAME [KEY = VALUE...]: an organisation sending transactional
	# mail from NAME.test with SASL login NAME
	printf '[org %s]\ndomains = %s.test\nsasl_logins = %s\n' "$1" "$1" "$1"
	printf 'default_class = transactional\nidentification_mode = off\n'
	printf 'unsub_mode = off\n'
	shift
	printf '%s\n' "$@"
	echo
}
{
	org qh "quota_hour = 3" "quota_day = 100"
	org qw "quota_hour = 1" "quota_mode = warn"
	org qm "quota_month = 2"
	org qmt "quota_month = 1" "quota_month_action = tempfail"
	org qr "quota_day = 2" "quota_unit = recipients"
	org qa "quota_hour = 1"
	org free
} >"$T/pw/organisations.conf"
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "quota_flush_interval = 1s"
pw_conf "quota_store_grace = 3s"
pw_write_conf

# -n: bad keys are named with file and line
cp "$T/pw/organisations.conf" "$T/pw/organisations.good"
bad=$(($(wc -l <"$T/pw/organisations.good") + 3))
printf '[org bad]\ndomains = bad.test\nquota_hour = -5\nquota_unit = bytes\n' >>"$T/pw/organisations.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "-n: a bad quota_hour is an error with file and line" \
    grep -q "organisations.conf:$bad: quota_hour = -5: expected a number" <<<"$out" || diag "$out"
check "-n: a bad quota_unit too" \
    grep -q "quota_unit = bytes: expected messages | recipients" <<<"$out" || diag "$out"
cp "$T/pw/organisations.good" "$T/pw/organisations.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "-n: the good file passes" test $? = 0 || diag "$out"

pw_setup

send() {	# send LOGIN TO [swaks args]
	local who=$1 to=$2
	shift 2
	pw_send_smtp --xclient-addr 198.51.100.40 --xclient-login "$who" \
	    --from "info@$who.test" --to "$to" --header "Subject: quota test" \
	    --body "A receipt." "$@"
}

# 1. hourly: three messages flow, the fourth gets 452 4.7.1 at RCPT
for i in 1 2 3; do
	send qh "r$i@remote.test"
	f=$(pw_wait_sent "$PW_QID")
	check "hourly: message $i of 3 delivered" test -n "$f"
done
send qh r4@remote.test
check "hourly: the 4th gets 452 4.7.1 saying which limit" \
    grep -q '<\*\* *452 4.7.1 <r4@remote.test>: qh is over its hourly sending quota (3 messages per hour), try again later' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
check "hourly: the 4th is not queued" test -z "$PW_QID"
check "hourly: logged" grep -q 'quota: <r4@remote.test>: qh over its hourly quota: 3 used + 1 > 3 messages per hour: deferred' "$T/pw/log"
sleep 1
row=$(q "SELECT action, reason FROM audit WHERE recipient = 'r4@remote.test'")
check "hourly: audit row tempfail_rcpt with the limit" \
    test "$row" = "tempfail_rcpt|quota_hour: 3 messages per hour" || diag "$row"

# quota show: the store's sums, written within quota_flush_interval
sleep 2.5
out=$(qshow --org qh)
check "quota show: hour 3 of 3, 0 left" \
    grep -qE '^hour +[0-9T:Z-]+ +[0-9T:Z-]+ +3 +3 +3 +0$' <<<"$out" || diag "$out"
check "quota show: day 3 of 100, 97 left" \
    grep -qE '^day +.* +3 +3 +100 +97$' <<<"$out" || diag "$out"
check "quota show: month 3, no limit" \
    grep -qE '^month +.* +3 +3 +- +-$' <<<"$out" || diag "$out"
out=$(qshow --org qh --format json)
check "quota show --format json: hour left 0" \
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); w=d["windows"][0]; sys.exit(0 if (w["window"],w["messages"],w["limit"],w["left"])==("hour",3,3,0) else 1)' <<<"$out" || diag "$out"
out=$(qshow --org nosuch 2>&1)
check "quota show: an unknown organisation is an error" \
    grep -q 'no organisation "nosuch"' <<<"$out" || diag "$out"

# a restarted milter counts the same hour from the store
pw_stop_milter
pw_start_milter || pw_bail "postwarden restarted"
send qh r5@remote.test
check "after a restart: still 452 4.7.1 (counted in the store)" \
    grep -q '<\*\* *452 4.7.1 <r5@remote.test>: qh is over its hourly' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"

# 2. the next hour (test clock): mail flows again
clock_add 3600
send qh r6@remote.test
f=$(pw_wait_sent "$PW_QID")
check "next hour: qh's mail flows again" test -n "$f"
sleep 2.5
out=$(qshow --org qh)
check "quota show next hour: hour 1, day 4" \
    grep -qE '^hour +.* +1 +1 +3 +2$' <<<"$out" && grep -qE '^day +.* +4 +4 +100 +96$' <<<"$out" || diag "$out"

# 3. warn mode: delivered and logged with the queue ID
send qw w1@remote.test
f=$(pw_wait_sent "$PW_QID")
check "warn: the first message delivered" test -n "$f"
send qw w2@remote.test
f=$(pw_wait_sent "$PW_QID")
check "warn: the one over the limit delivered too" test -n "$f"
check "warn: logged with its queue ID" \
    grep -q "$PW_QID: quota: qw over its hourly quota: 1 used + 1 > 1 messages per hour (warn: not refused)" "$T/pw/log" ||
    diag "$(grep 'quota:' "$T/pw/log" | tail -3)"
check "warn: summary quota=over_hour(warn)" grep -q 'quota=over_hour(warn)' <<<"$(pw_summary "$PW_QID")"

# 4. monthly, reject (the default): 550 5.7.1
for i in 1 2; do
	send qm "m$i@remote.test"
	f=$(pw_wait_sent "$PW_QID")
	check "monthly: message $i of 2 delivered" test -n "$f"
done
send qm m3@remote.test
check "monthly: the 3rd gets 550 5.7.1" \
    grep -q '<\*\* *550 5.7.1 <m3@remote.test>: qm is over its monthly sending quota (2 messages per calendar month)$' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
sleep 1
row=$(q "SELECT action, reason FROM audit WHERE recipient = 'm3@remote.test'")
check "monthly: audit row refused_rcpt" \
    test "$row" = "refused_rcpt|quota_month: 2 messages per calendar month" || diag "$row"
# ... the next day is the same month: still refused
clock_add 86400
send qm m4@remote.test
check "monthly: the next day still 550 5.7.1" grep -q '<\*\* *550 5.7.1 <m4@remote.test>' "$PW_SWAKS"

# monthly, tempfail: 452 4.7.1
send qmt t1@remote.test
f=$(pw_wait_sent "$PW_QID")
check "monthly tempfail: the first delivered" test -n "$f"
send qmt t2@remote.test
check "monthly tempfail: the 2nd gets 452 4.7.1" \
    grep -q '<\*\* *452 4.7.1 <t2@remote.test>: qmt is over its monthly sending quota (1 messages per calendar month), try again later' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"

# 5. recipients per day: 3 recipients, 2 accepted, the 3rd 452 4.7.1
send qr a@remote.test,b@remote.test,c@remote.test
check "recipients: the 3rd recipient gets 452 4.7.1 (daily)" \
    grep -q '<\*\* *452 4.7.1 <c@remote.test>: qr is over its daily sending quota (2 recipients per day), try again later' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
f=$(pw_wait_sent "$PW_QID")
check "recipients: the message reaches the first two" test -n "$f"
sleep 2.5
out=$(qshow --org qr)
check "recipients: quota show day 1 message, 2 recipients, 0 left" \
    grep -qE '^day +.* +1 +2 +2 +0$' <<<"$out" || diag "$out"

# a message the client abandons after its RCPT was accepted is taken back
# in cleanup: qa (1 per hour) can still send one
send qa x1@remote.test --quit-after RCPT
check "abandoned: its RCPT was accepted" grep -q '<- *250 2.1.5' "$PW_SWAKS"
check "abandoned: not queued" test -z "$PW_QID"
send qa x2@remote.test
f=$(pw_wait_sent "$PW_QID")
check "abandoned: not counted, the next message flows" test -n "$f"
send qa x3@remote.test
check "abandoned: the one after that gets 452 4.7.1" \
    grep -q '<\*\* *452 4.7.1 <x3@remote.test>: qa is over its hourly' "$PW_SWAKS"

# 6. an organisation without limits is not counted nor delayed
send free x@remote.test
f=$(pw_wait_sent "$PW_QID")
check "no limits: delivered" test -n "$f"
check "no limits: no quota rows" test "$(q "SELECT count(*) FROM quota_delta WHERE org = 'free'")" = 0

# 7. the store cannot be read: after quota_store_grace, 451 4.3.0
clock_add 3600	# qh's hour is new: only the store decides
chmod 000 "$DB"
sleep 5
send qh s1@remote.test
check "store unreadable: 451 4.3.0 (quota_store_error = tempfail)" \
    grep -q '<\*\* *451 4.3.0 <s1@remote.test>\|<\*\* *451 4.3.0 sending quota records unavailable' "$PW_SWAKS" ||
    diag "$(cat "$PW_SWAKS")"
check "store unreadable: logged" grep -q 'quota: qh: the fleet.s use is unknown' "$T/pw/log"
chmod 644 "$DB"
sleep 2.5
send qh s2@remote.test
f=$(pw_wait_sent "$PW_QID")
check "store back: mail flows again" test -n "$f"

pw_done

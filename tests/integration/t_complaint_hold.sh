#!/bin/bash
# t_complaint_hold.sh - complaint rates (issue 17) through the real
# Postfix: an organisation whose complaints / commercial recipients
# delivered reaches complaint_rate_hold has its commercial mail held until
# postwarden-ctl complaints release; warn only logs; under the minimum
# volume nothing is judged.
#   - 1 complaint out of 4 delivered (25%, the hold rate) under
#     complaint_rate_min_messages = 8: nothing held;
#   - 1 of 8 or more (>= 5% warn): logged once, mail flows, the summary
#     says complaints=warn;
#   - two ARF reports mailed to the complaints address take it to 3 of 11
#     (27% >= 25%): the milter's watcher holds acme at once (a
#     complaint_hold row by postwarden@HOST): commercial mail 451 4.7.1,
#     audited "tempfailed"; transactional mail still delivered; the hold
#     survives a restart; complaints report shows it;
#   - complaints release: commercial mail flows again without a restart,
#     and the count starts again from the release (not held again);
#   - complaint_hold_action = hold: a hold made by complaints import (the
#     tool, at the complaint) puts commercial mail in Postfix's hold queue
#     (postqueue -j), audited "quarantined"; transactional mail flows.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@" --store "sqlite:$DB"
	else
		"$PW_CTL" "$@" --store "sqlite:$DB"
	fi
}
cctl() { ctl -c "$T/pw/postwarden.conf" "$@"; }
q() { sqlite3 -readonly "$DB" "$1"; }
wait_log() {
	local i
	for i in $(seq 1 "${2:-100}"); do
		grep -q -- "$1" "$T/pw/log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

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
missing_consent = refuse_at_rcpt
complaints_address = fbl@acme.test
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "complaint_rate_warn = 5%"
pw_conf "complaint_rate_hold = 25%"
pw_conf "complaint_rate_min_messages = 8"
pw_conf "complaint_rate_interval = 1s"
pw_write_conf

for i in $(seq 1 20); do
	ctl consent add "r$i@remote.test" --org acme --type express \
	    --source web_form >/dev/null || pw_bail "consent add (r$i)"
done

pw_setup

acme() {	# acme TO: commercial mail from acme-news
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$1" --header "Subject: sale" \
	    --body "Everything 50% off! $FOOTER"
}
receipt() {	# receipt TO: acme's transactional mail (trusted class header)
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$1" --header "Subject: receipt" \
	    --header 'Postwarden-Class: transactional' --body "Receipt #7. $FOOTER"
}
# arf TO: an ARF report about the copy of acme's mail that TO got (the
# sink's file: its Message-ID and List-Unsubscribe with our token)
declare -A SENT
arf() {
	local f r=$T/msg/arf.$1
	f=${SENT[$1]}
	{
		printf 'From: <abusedesk@provider.test>\r\nTo: <fbl@acme.test>\r\n'
		printf 'Subject: FW: sale\r\nMIME-Version: 1.0\r\n'
		printf 'Content-Type: multipart/report; report-type=feedback-report;\r\n'
		printf '     boundary="b1"\r\n\r\n--b1\r\n'
		printf 'Content-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n'
		printf -- '--b1\r\nContent-Type: message/feedback-report\r\n\r\n'
		printf 'Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\n'
		printf 'Version: 1\r\nOriginal-Mail-From: <news@acme.test>\r\n'
		printf 'Original-Rcpt-To: <%s>\r\n\r\n' "$1"
		printf -- '--b1\r\nContent-Type: message/rfc822\r\n\r\n'
		printf 'From: news@acme.test\r\nTo: %s\r\nSubject: sale\r\n' "$1"
		printf 'Message-ID: %s\r\n' "$(pw_header "$f" Message-ID)"
		printf 'List-Unsubscribe: %s\r\n' "$(pw_header "$f" List-Unsubscribe)"
		printf '\r\nEverything 50%% off!\r\n--b1--\r\n'
	} >"$r"
	chmod 644 "$r"
	echo "$r"
}
deliver() {	# deliver N...: commercial mail to rN, each delivered
	local i f
	for i in "$@"; do
		acme "r$i@remote.test"
		f=$(pw_wait_sent "$PW_QID") || return 1
		SENT[r$i@remote.test]=$f
	done
}
delivered() { q "SELECT count(*) FROM audit WHERE org = 'acme' AND class = 'commercial' AND action = 'delivered'"; }
holds() { q "SELECT count(*) FROM complaint_hold WHERE org = 'acme' AND action = 'hold'"; }

# 1. under the minimum volume: 1 complaint out of 4 (25%) holds nothing
deliver 1 2 3 4 || pw_bail "four commercial messages delivered"
out=$(cctl complaints import "$(arf r1@remote.test)" 2>&1)
check "low volume: the complaint is recorded" \
    grep -q ": acme <r1@remote.test> abuse (token): suppressed\$" <<<"$out" || diag "$out"
check "low volume: import computes the rate: 25% of 4, not judged" \
    grep -q "^acme: complaint rate 25.0000% (1 / 4): low_volume\$" <<<"$out" || diag "$out"
sleep 1.5
check "low volume: no hold row" test "$(holds)" = 0
acme r5@remote.test
check "low volume: commercial mail still flows" pw_wait_sent "$PW_QID"

# 2. warn: 1 of 8 delivered (12.5% >= 5%): logged once, nothing held
deliver 6 7 8 || pw_bail "three more delivered"
check "warn: 8 commercial recipients delivered" test "$(delivered)" = 8
wait_log "complaints: org=acme rate=12.5000% (1 complaints / 8 commercial recipients delivered) >= complaint_rate_warn 5% (warn: nothing held)" 40
check "warn: the watcher logs the warn level" \
    grep -q "complaints: org=acme rate=12.5000% (1 complaints / 8 commercial recipients delivered) >= complaint_rate_warn 5% (warn: nothing held)" "$T/pw/log" ||
    diag "$(grep complaints: "$T/pw/log" | tail -3)"
deliver 9 || nok "warn: commercial mail delivered"
# (the rate as last computed: up to complaint_rate_interval old)
check "warn: the summary line says complaints=warn" \
    grep -q "$PW_QID: .*complaints=warn([0-9.]*%)" "$T/pw/log" || diag "$(pw_summary "$PW_QID")"
deliver 10 11 || nok "warn: more delivered"
check "warn: logged once (not every minute)" \
    test "$(grep -c 'complaint_rate_warn 5%' "$T/pw/log")" = 1
check "warn: no hold row" test "$(holds)" = 0

# 3. hold: two ARF reports mailed to the complaints address: 3 of 11
for a in r2@remote.test r3@remote.test; do
	pw_send_smtp --xclient 192.0.2.88 --from fbl@provider.test \
	    --to fbl@acme.test --data "@$(arf $a)" >/dev/null
	check "hold: the report about $a was recorded" \
	    grep -q "$PW_QID: .*arf=suppressed(acme,token)" "$T/pw/log"
done
wait_log "complaints: org=acme rate=27.2727% (3 complaints / 11 commercial recipients delivered since [0-9]*) >= complaint_rate_hold 25%: commercial mail held" 30
check "hold: the watcher held acme at the complaint (logged)" \
    grep -q "complaint_rate_hold 25%: commercial mail held until postwarden-ctl complaints release --org acme" "$T/pw/log" ||
    diag "$(grep complaints: "$T/pw/log" | tail -3)"
row=$(q "SELECT action, complaints, delivered, actor LIKE 'postwarden@%' FROM complaint_hold")
check "hold: one complaint_hold row by the milter" test "$row" = "hold|3|11|1" || diag "$row"
acme r12@remote.test
check "hold: commercial mail gets 451 4.7.1" \
    grep -q '<\*\* *451 4.7.1 commercial mail of acme is held: too many complaints' "$PW_SWAKS" || diag "$(tail -5 "$PW_SWAKS")"
check "hold: summary complaints=held" grep -q "complaints=held(27.2727%)" "$T/pw/log"
row=$(q "SELECT action, reason FROM audit WHERE recipient = 'r12@remote.test' ORDER BY id DESC LIMIT 1")
check "hold: audited as tempfailed, with the reason" \
    test "$row" = "tempfailed|commercial mail of acme is held: too many complaints (an administrator must release it)" || diag "$row"
receipt r12@remote.test
f=$(pw_wait_sent "$PW_QID")
check "hold: transactional mail of acme is still delivered" test -n "$f"
out=$(cctl complaints report --org acme 2>&1)
check "hold: complaints report shows the hold" \
    grep -q "^state: held since [0-9T:-]*Z (commercial mail is tempfailed until postwarden-ctl complaints release --org acme)\$" <<<"$out" || diag "$out"
check "hold: complaints report shows the rate and the thresholds" \
    grep -q "^rate: 27.2727% (3 complaints / 11 commercial recipients delivered since .*); warn 5%, hold 25%, minimum 8\$" <<<"$out" || diag "$out"
check "hold: complaints report lists the hold row" \
    grep -q "^hold: .* hold by postwarden@.* (3 / 11 = 27.2727%)\$" <<<"$out"
pw_stop_milter && pw_start_milter || pw_bail "milter restarted"
acme r12@remote.test
check "hold: still held after a restart (the store keeps it)" \
    grep -q '<\*\* *451 4.7.1 commercial mail of acme is held' "$PW_SWAKS"
check "hold: a restart adds no second hold row" test "$(holds)" = 1

# 4. release: commercial mail flows again without a restart
out=$(cctl complaints release --org acme --by alice --note "list cleaned" 2>&1)
rc=$?
check "release: exit 0, says who" test $rc = 0 -a -n "$(grep '^acme: released by alice at ' <<<"$out")" || diag "$out"
row=$(q "SELECT action, actor, note FROM complaint_hold ORDER BY id DESC LIMIT 1")
check "release: a release row with who and why" test "$row" = "release|alice|list cleaned"
wait_log "complaints: org=acme: released: commercial mail flows again" 30
check "release: the milter saw it (logged)" grep -q "org=acme: released" "$T/pw/log"
acme r12@remote.test
check "release: commercial mail is delivered again, no restart" pw_wait_sent "$PW_QID"
SENT[r12@remote.test]=$(pw_wait_sent "$PW_QID")
sleep 1.5
acme r13@remote.test
check "release: counted again from the release: not held again" pw_wait_sent "$PW_QID"
SENT[r13@remote.test]=$(pw_wait_sent "$PW_QID")
check "release: still one hold row" test "$(holds)" = 1
out=$(cctl complaints report --org acme 2>&1)
check "release: complaints report: not held, counted since the release" \
    grep -q "^state: low_volume\$" <<<"$out" || diag "$out"
check "release: complaints report lists the release" \
    grep -q "^hold: .* release by alice: list cleaned\$" <<<"$out"
out=$(cctl complaints release --org acme 2>&1)
check "release when not held: says so" grep -q "^acme: not held: nothing to release\$" <<<"$out"

# 5. complaint_hold_action = hold: to Postfix's hold queue; a hold made
#    by complaints import (the tool computes the rate at the complaint)
pw_stop_milter || pw_bail "milter stopped"
sed -i 's/^complaint_rate_min_messages = 8$/complaint_rate_min_messages = 2/' "$T/pw/extra.conf"
printf 'complaint_hold_action = hold\n' >>"$T/pw/extra.conf"
pw_start_milter || pw_bail "milter restarted with complaint_hold_action = hold"
out=$(cctl complaints import "$(arf r12@remote.test)" 2>&1)
check "hold queue: import holds at once (1 of 2 since the release)" \
    grep -q "^acme: complaint rate 50.0000% (1 / 2): held: commercial mail stops until postwarden-ctl complaints release --org acme\$" <<<"$out" || diag "$out"
check "hold queue: the hold row is the tool's" \
    test "$(q "SELECT actor NOT LIKE 'postwarden@%' FROM complaint_hold ORDER BY id DESC LIMIT 1")" = 1
sleep 1.5
acme r14@remote.test
check "hold queue: commercial mail accepted by Postfix" test -n "$PW_QID"
qj=$(postqueue -c "$T/pf/etc" -j 2>/dev/null)
check "hold queue: the message is in Postfix's hold queue (postqueue -j)" \
    /usr/bin/python3 -c 'import json,sys; q=sys.argv[1]; sys.exit(0 if any(json.loads(l)["queue_id"] == q and json.loads(l)["queue_name"] == "hold" for l in sys.stdin if l.strip()) else 1)' "$PW_QID" <<<"$qj" ||
    diag "$qj" "$(grep "$PW_QID" "$T/pf/maillog" | tail -3)"
check "hold queue: Postfix logged the milter's hold" \
    grep -q "$PW_QID: milter-hold: END-OF-MESSAGE from .*: milter triggers HOLD action" "$T/pf/maillog" ||
    diag "$(grep "$PW_QID" "$T/pf/maillog" | tail -3)"
check "hold queue: audited as quarantined" \
    test "$(q "SELECT action FROM audit WHERE recipient = 'r14@remote.test' ORDER BY id DESC LIMIT 1")" = quarantined
receipt r15@remote.test
check "hold queue: transactional mail still delivered" pw_wait_sent "$PW_QID"
postsuper -c "$T/pf/etc" -d ALL hold >/dev/null 2>&1

pw_done

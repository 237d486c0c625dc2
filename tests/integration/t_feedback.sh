#!/bin/bash
# t_feedback.sh - the sender's feedback loop (issue 17) through the real
# Postfix: bounces become suppressions.
#   - Postfix's own bounce (internal_mail_filter_classes = bounce) of
#     mail the sink refuses with 550 5.1.1 passes through postwarden: the
#     address is suppressed and the next message to it refused;
#   - a 452 4.2.2 (mailbox full) that expires (maximal_queue_lifetime =
#     0: one try) is counted, not suppressed;
#   - an inbound DSN (RFC 3464's example, with our message's headers)
#     suppresses; a forged one (a Message-ID we never sent) changes
#     nothing; one for no organisation is delivered and logged.
# Run with PW_PORT_BASE=47000 (ports of helper 17).
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
# cctl: ctl with the daemon's configuration (organisations, key ring)
cctl() { ctl -c "$T/pw/postwarden.conf" "$@"; }
q() { sqlite3 -readonly "$DB" "$1"; }
# wait_log PATTERN [TENTHS]: the milter logged a line matching PATTERN
wait_log() {
	local i
	for i in $(seq 1 "${2:-150}"); do
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
unsubscribe_mailto = unsubscribe@acme.test
class_header_mode = off
missing_consent = refuse_at_rcpt
complaints_address = fbl@acme.test
# its own soft-bounce limits win over postwarden.conf's (5 in 7 days)
bounce_soft_limit = 2
bounce_soft_days = 3
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "bounce_soft_limit = 5"
pw_write_conf
# Postfix's bounces pass the milters; one delivery try, then a bounce
pw_pf_conf "internal_mail_filter_classes = bounce"
pw_pf_conf "maximal_queue_lifetime = 0"

for a in sink-reject-hard sink-reject-soft inb forged cpl cpl2 cpl3; do
	ctl consent add "$a@remote.test" --org acme --type express \
	    --source web_form >/dev/null || pw_bail "consent add ($a)"
done

pw_setup

acme() {	# acme TO: commercial mail from acme-news
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$1" --header "Subject: sale" \
	    --body "Everything 50% off! $FOOTER"
}

# 1. hard bounce made by Postfix itself
acme sink-reject-hard@remote.test
check "hard: accepted by Postfix" test -n "$PW_QID"
wait_log "feedback: org=acme <sink-reject-hard@remote.test> status=5.1.1: hard bounce" ||
    diag "$(grep feedback "$T/pw/log" | tail -5)" "$(tail -5 "$T/pf/maillog")"
check "hard: Postfix's bounce passed through postwarden and was read" \
    grep -q 'feedback: org=acme <sink-reject-hard@remote.test> status=5.1.1: hard bounce' "$T/pw/log"
wait_log "suppressed (bounce)" 50
row=$(q "SELECT reason, list FROM suppression WHERE org = 'acme' AND address = 'sink-reject-hard@remote.test'")
check "hard: suppression with reason bounce (every list)" test "$row" = "bounce|"
row=$(q "SELECT kind, status, source, message_id IS NOT NULL FROM feedback_event WHERE address = 'sink-reject-hard@remote.test'")
check "hard: feedback_event row" test "$row" = "bounce_hard|5.1.1|dsn|1"
check "hard: the summary says how the org was found (token)" \
    grep -q 'dsn=hard+suppressed(acme,token,5.1.1)' "$T/pw/log"
acme sink-reject-hard@remote.test
check "hard: the next message to the address is refused at RCPT" \
    grep -q '<\*\* *550 5.7.1 <sink-reject-hard@remote.test>: consent for acme withdrawn on [0-9-]*: the address bounced$' "$PW_SWAKS"

# 2. soft bounce (4.2.2 mailbox full, expired after one try): counted,
#    not suppressed (acme's own bounce_soft_limit = 2 in 3 days)
acme sink-reject-soft@remote.test
check "soft: accepted by Postfix" test -n "$PW_QID"
wait_log "feedback: org=acme <sink-reject-soft@remote.test> status=4.2.2: soft bounce 1 of 2" ||
    diag "$(grep feedback "$T/pw/log" | tail -5)" "$(grep sink-reject-soft "$T/pf/maillog" | tail -3)"
check "soft: counted (1 of 2, acme's own limit)" grep -q 'soft bounce 1 of 2 in 3 days' "$T/pw/log"
check "soft: not suppressed" test "$(q "SELECT count(*) FROM suppression WHERE address = 'sink-reject-soft@remote.test'")" = 0
acme sink-reject-soft@remote.test
check "soft: the next message is still accepted" test -n "$PW_QID"
# ... and its soft bounce reaches the limit: suppressed
wait_log "soft bounce 2 of 2" ||
    diag "$(grep feedback "$T/pw/log" | tail -5)"
wait_log "<sink-reject-soft@remote.test>: suppressed (bounce)" 50
check "soft: the second soft bounce within 3 days suppresses" \
    test "$(q "SELECT count(*) FROM suppression WHERE address = 'sink-reject-soft@remote.test' AND reason = 'bounce'")" = 1
check "soft: two feedback_event rows" \
    test "$(q "SELECT count(*) FROM feedback_event WHERE address = 'sink-reject-soft@remote.test' AND kind = 'bounce_soft'")" = 2

# dsn TO MSGID LISTUNSUB: an RFC 3464 section 9.1 style DSN from a
# remote MTA for TO, returning headers with this Message-ID
dsn() {
	local f
	f=$(mktemp "$T/msg/dsn.XXXXXX")
	{
		printf 'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.remote.test>\r\n'
		printf 'To: news@acme.test\r\nSubject: Returned mail: User unknown\r\n'
		printf 'Date: %s\r\nMessage-ID: <%s>\r\n' "$(date -R)" "$(pw_msgid)"
		printf 'MIME-Version: 1.0\r\n'
		printf 'Content-Type: multipart/report; report-type=delivery-status;\r\n'
		printf '    boundary="RAA14128.773615765/CS.UTK.EDU"\r\n\r\n'
		printf -- '--RAA14128.773615765/CS.UTK.EDU\r\n\r\n'
		printf '   ----- The following addresses had delivery problems -----\r\n'
		printf '<%s>  (unrecoverable error)\r\n\r\n' "$1"
		printf -- '--RAA14128.773615765/CS.UTK.EDU\r\n'
		printf 'content-type: message/delivery-status\r\n\r\n'
		printf 'Reporting-MTA: dns; mx.remote.test\r\n\r\n'
		printf 'Final-Recipient: RFC822; %s\r\nAction: failed\r\n' "$1"
		printf 'Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 User unknown\r\n\r\n'
		printf -- '--RAA14128.773615765/CS.UTK.EDU\r\n'
		printf 'content-type: text/rfc822-headers\r\n\r\n'
		printf 'From: news@acme.test\r\nTo: %s\r\nSubject: sale\r\n' "$1"
		printf 'Message-ID: <%s>\r\n' "$2"
		[ -z "$3" ] || printf 'List-Unsubscribe: %s\r\n' "$3"
		printf '\r\n--RAA14128.773615765/CS.UTK.EDU--\r\n'
	} >"$f"
	echo "$f"
}

# 3. inbound DSN for a message we delivered: suppressed
acme inb@remote.test
f=$(pw_wait_sent "$PW_QID")
check "inbound: the original was delivered" test -n "$f"
mid=$(pw_header "$f" Message-ID | tr -d '<>')
lu=$(pw_header "$f" List-Unsubscribe)
d=$(dsn inb@remote.test "$mid" "$lu")
pw_send_smtp --xclient 192.0.2.77 --from '<>' --to news@acme.test --data "@$d" >/dev/null
check "inbound DSN: accepted" test -n "$PW_QID"
f=$(pw_wait_sent "$PW_QID")
check "inbound DSN: delivered as is" test -n "$f"
check "inbound DSN: suppressed with reason bounce" \
    test "$(q "SELECT reason FROM suppression WHERE address = 'inb@remote.test'")" = bounce
acme inb@remote.test
check "inbound DSN: the next message is refused" \
    grep -q '<\*\* *550 5.7.1 <inb@remote.test>: consent for acme withdrawn on [0-9-]*: the address bounced$' "$PW_SWAKS"

# 4. forged DSN: a Message-ID we never sent, no token: nothing changes
d=$(dsn forged@remote.test "never-sent.$$@acme.test" "")
pw_send_smtp --xclient 192.0.2.77 --from '<>' --to news@acme.test --data "@$d" >/dev/null
f=$(pw_wait_sent "$PW_QID")
check "forged DSN: delivered as is" test -n "$f"
check "forged DSN: logged as unmatched" \
    grep -q "feedback: org=acme <forged@remote.test> status=5.1.1: no matching message in the audit trail (message-id never-sent.$$@acme.test)" "$T/pw/log"
check "forged DSN: no suppression" test "$(q "SELECT count(*) FROM suppression WHERE address = 'forged@remote.test'")" = 0
check "forged DSN: no feedback row" test "$(q "SELECT count(*) FROM feedback_event WHERE address = 'forged@remote.test'")" = 0
acme forged@remote.test
f=$(pw_wait_sent "$PW_QID")
check "forged DSN: mail to the address still delivered" test -n "$f"

# 5. a DSN for no organisation: delivered, logged
d=$(dsn someone@remote.test "x.$$@elsewhere.test" "")
sed -i 's/^From: news@acme.test/From: a@elsewhere.test/' "$d"
pw_send_smtp --xclient 192.0.2.77 --from '<>' --to bob@elsewhere.test --data "@$d" >/dev/null
f=$(pw_wait_sent "$PW_QID")
check "no organisation: delivered" test -n "$f"
check "no organisation: logged" grep -q "$PW_QID: feedback: DSN for 1 recipient(s) (first <someone@remote.test> 5.1.1): no organisation" "$T/pw/log"

# 6. not a DSN from the null sender: untouched
pw_send_smtp --xclient 192.0.2.77 --from '<>' --to news@acme.test --header "From: auto@remote.test" --body "auto-reply" >/dev/null
f=$(pw_wait_sent "$PW_QID")
check "null sender, not a DSN: delivered" test -n "$f"
check "null sender, not a DSN: no dsn= in its summary" bash -c "! grep -q 'dsn=' <<<\"\$(grep '$PW_QID: .*dir=' '$T/pw/log')\""

# arf TO MSGID LISTUNSUB: an ARF report (RFC 5965 section B.2 style)
# returning the original with these headers
arf() {
	local f
	f=$(mktemp "$T/msg/arf.XXXXXX")
	{
		printf 'From: <abusedesk@provider.test>\r\nTo: <fbl@acme.test>\r\n'
		printf 'Subject: FW: sale\r\nMIME-Version: 1.0\r\n'
		printf 'Content-Type: multipart/report; report-type=feedback-report;\r\n'
		printf '     boundary="part1_13d.2e68ed54_boundary"\r\n\r\n'
		printf -- '--part1_13d.2e68ed54_boundary\r\n'
		printf 'Content-Type: text/plain; charset="US-ASCII"\r\n\r\n'
		printf 'This is an email abuse report.\r\n\r\n'
		printf -- '--part1_13d.2e68ed54_boundary\r\n'
		printf 'Content-Type: message/feedback-report\r\n\r\n'
		printf 'Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\n'
		printf 'Version: 1\r\nOriginal-Mail-From: <news@acme.test>\r\n'
		printf 'Original-Rcpt-To: <%s>\r\n\r\n' "$1"
		printf -- '--part1_13d.2e68ed54_boundary\r\n'
		printf 'Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n'
		printf 'From: news@acme.test\r\nTo: %s\r\nSubject: sale\r\n' "$1"
		printf 'Message-ID: <%s>\r\n' "$2"
		[ -z "$3" ] || printf 'List-Unsubscribe: %s\r\n' "$3"
		printf '\r\nEverything 50%% off!\r\n'
		printf -- '--part1_13d.2e68ed54_boundary--\r\n'
	} >"$f"
	chmod 644 "$f"	# ctl reads it as the daemon's user
	echo "$f"
}

# 7. ARF complaint imported with postwarden-ctl: suppressed (token)
acme cpl@remote.test
f=$(pw_wait_sent "$PW_QID")
check "complaint: the original was delivered" test -n "$f"
r=$(arf cpl@remote.test "$(pw_header "$f" Message-ID | tr -d '<>')" "$(pw_header "$f" List-Unsubscribe)")
out=$(cctl complaints import "$r" 2>&1)
check "complaint import: exit 0, recorded from the token"     grep -q ": acme <cpl@remote.test> abuse (token): suppressed\$" <<<"$out" || diag "$out"
check "complaint: suppression with reason complaint" \
    test "$(q "SELECT reason FROM suppression WHERE address = 'cpl@remote.test'")" = complaint
check "complaint: feedback_event row" \
    test "$(q "SELECT kind, status, source FROM feedback_event WHERE address = 'cpl@remote.test'")" = "complaint|abuse|import"
acme cpl@remote.test
check "complaint: the next message is refused, saying why" \
    grep -q '<\*\* *550 5.7.1 <cpl@remote.test>: consent for acme withdrawn on [0-9-]*: the recipient complained$' "$PW_SWAKS"
out=$(cctl complaints import "$r" 2>&1)
check "complaint import again: already suppressed (exit 0)" \
    grep -q ": acme <cpl@remote.test> abuse (token): already suppressed\$" <<<"$out"
# without a token, from the headers: needs a delivered message
r=$(arf cpl2@remote.test "x.$$@acme.test" "")
out=$(cctl complaints import "$r" 2>&1)
rc=$?
check "complaint without token, nothing sent to them: exit 1, unmatched" \
    test $rc = 1 -a "$(grep -c 'no message of ours' <<<"$out")" = 1
check "complaint without token, nothing sent: no suppression" \
    test "$(q "SELECT count(*) FROM suppression WHERE address = 'cpl2@remote.test'")" = 0
acme cpl2@remote.test
pw_wait_sent "$PW_QID" >/dev/null
out=$(cctl complaints import "$r" 2>&1)
check "complaint without token after a delivery: suppressed from the headers" \
    grep -q ": acme <cpl2@remote.test> abuse (headers): suppressed\$" <<<"$out" || diag "$out"
# RFC 5965's own example names none of our organisations; a DSN is no ARF
out=$(cctl complaints import "$PW_TOP/tests/data/feedback/rfc5965-arf.eml" "$PW_TOP/tests/data/feedback/rfc3464-simple.eml" 2>&1)
rc=$?
check "RFC 5965 example: no organisation (exit 1)" \
    test $rc = 1 -a "$(grep -c 'no organisation or recipient' <<<"$out")" = 1
check "a DSN given to complaints import: not an ARF report" \
    grep -q 'rfc3464-simple.eml: not an ARF report' <<<"$out"

# 7b. an ARF report mailed to acme's complaints_address: recorded by the
#     milter, the report still delivered to the mailbox
acme cpl3@remote.test
f=$(pw_wait_sent "$PW_QID")
r=$(arf cpl3@remote.test "$(pw_header "$f" Message-ID | tr -d '<>')" "$(pw_header "$f" List-Unsubscribe)")
pw_send_smtp --xclient 192.0.2.88 --from fbl@provider.test --to fbl@acme.test --data "@$r" >/dev/null
f=$(pw_wait_sent "$PW_QID")
check "complaint by mail: the report is delivered" test -n "$f"
check "complaint by mail: suppression with reason complaint" \
    test "$(q "SELECT reason FROM suppression WHERE address = 'cpl3@remote.test'")" = complaint
check "complaint by mail: summary arf=suppressed(acme,token)" \
    grep -q "$PW_QID: .*arf=suppressed(acme,token)" "$T/pw/log"
check "complaint by mail: feedback row with source arf" \
    test "$(q "SELECT kind, source FROM feedback_event WHERE address = 'cpl3@remote.test'")" = "complaint|arf"
# not an ARF report: delivered as is, logged
pw_send_smtp --xclient 192.0.2.88 --from someone@provider.test --to fbl@acme.test --header "From: someone@provider.test" --body "please stop" >/dev/null
f=$(pw_wait_sent "$PW_QID")
check "complaints address, not ARF: delivered" test -n "$f"
check "complaints address, not ARF: logged" grep -q "$PW_QID: feedback: mail to acme's complaints address is not an ARF report" "$T/pw/log"

# 8. the delivery record of today: what this script did, counted from
#    the audit, feedback and suppression rows
today=$(date -u +%Y-%m-%d)
out=$(ctl delivery report --org acme --format csv 2>&1)
check "delivery report: CSV header" test "$(head -1 <<<"$out")" = \
    "date,messages_commercial,messages_transactional,messages_other,recipients_commercial,recipients_transactional,recipients_other,refused_no_consent,refused_expired,refused_withdrawn,refused_other,bounces_hard,bounces_soft,complaints,unsubscribes,complaint_rate,bounce_rate"
row=$(grep "^$today," <<<"$out")
IFS=, read -r _ mc _ _ rc _ _ rn _ rw _ bh bs cp un cr br <<<"$row"
sent=$(q "SELECT count(*) FROM audit WHERE org = 'acme' AND action = 'delivered' AND class = 'commercial'")
check "delivery report: recipients_commercial = audit rows ($sent)" test "$rc" = "$sent" -a "$mc" = "$sent" || diag "$out"
check "delivery report: refused withdrawn (3 suppressed addresses mailed again)" test "$rw" = 3
check "delivery report: no refusal for missing consent" test "$rn" = 0
check "delivery report: bounces 2 hard (Postfix, inbound), 2 soft" test "$bh/$bs" = "2/2"
check "delivery report: complaints 3, unsubscribes 0" test "$cp/$un" = "3/0"
check "delivery report: complaint rate = 3/$sent" \
    test "$cr" = "$(awk -v s="$sent" 'BEGIN { printf "%.6f", 3 / s }')"
check "delivery report: bounce rate = 4/$sent" \
    test "$br" = "$(awk -v s="$sent" 'BEGIN { printf "%.6f", 4 / s }')"
out=$(ctl delivery report --org acme --format json 2>&1)
check "delivery report: JSON reads back the same figures" \
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)[-1]; sys.exit(0 if (d["bounces_hard"],d["bounces_soft"],d["complaints"],d["refused"]["withdrawn"]) == (2,2,3,3) else 1)' <<<"$out"
out=$(ctl delivery report --org acme --since 2020-01-01 --until 2020-01-02 --format csv 2>&1)
check "delivery report: a range without rows gives the header only" test "$(wc -l <<<"$out")" = 1
ctl delivery report --format csv >/dev/null 2>&1
check "delivery report: --org is required (exit 64)" test $? = 64
out=$(ctl complaints report --org acme 2>&1)
check "complaints report: the day's rate (3 of $sent)" \
    grep -q "^$today complaints=3 commercial_recipients=$sent rate=$(awk -v s="$sent" 'BEGIN { printf "%.4f", 300 / s }')%\$" <<<"$out" || diag "$out"
check "complaints report: each complaint with the recipient's state now" \
    test "$(grep -cE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{6}Z <cpl[23]?@remote.test> abuse \((import|arf)\): withdrawn$' <<<"$out")" = 3

check "audit chain intact" ctl audit verify >/dev/null

pw_done

#!/bin/bash
# t_consent.sh - consent (R5), one-click unsubscribe headers (R10-R12) and
# audit rows (R20) through the real Postfix.  Submissions are told apart
# with XCLIENT LOGIN= ({auth_authen}, hence outbound):
#   acme-news  org acme:   commercial by default, class_header_mode = off,
#              so the class is final at MAIL FROM: refusals at RCPT,
#              452 4.5.3 for the second recipient; the same mail from
#              the sendmail command is decided at end of message.
#   boreal     org boreal: may label its mail (Postwarden-Class), so the
#              class is only known at end of headers: recipients without
#              consent are removed at end of message (drop_at_eom).
#   nosig      org nosig:  no DKIM key: commercial mail is tempfailed.
#   free       org free:   consent_mode = off, signed: only its audit row
#              stands between it and the sink (R20 tempfail).
# Records are made with postwarden-ctl as the daemon's user.
# Run with PW_PORT_BASE=31000 (ports of helper "consent").
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
# ctl as the daemon's user, so that the store files stay writable by it
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@" --store "sqlite:$DB"
	else
		"$PW_CTL" "$@" --store "sqlite:$DB"
	fi
}
# audit QUERY: rows from the audit table, '|' separated
audit() { sqlite3 -readonly "$DB" "$1"; }

FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
BFOOTER='Boreal Bakery | P.O. Box 42, Whitehorse YT Y1A 0A1 | +1 867 555 0142'
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
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt

[org boreal]
domains = boreal.test
sasl_logins = boreal
default_class = commercial
business_name = Boreal Bakery
mailing_address = P.O. Box 42, Whitehorse YT Y1A 0A1
contact_phone = +1 867 555 0142
unsubscribe_url = https://lists.hosting.test/unsub/boreal/
class_header_mode = warn
multi_recipient = reject
missing_consent = drop_at_eom

[org free]
domains = free.test
sasl_logins = free
default_class = commercial
business_name = Free Ltd
mailing_address = 2 Road, Town
contact_email = info@free.test
unsubscribe_url = https://unsub.free.test/u/
consent_mode = off

[org nosig]
domains = nosig.test
sasl_logins = nosig
default_class = commercial
business_name = No Sig Ltd
mailing_address = 1 Road, Town
contact_email = info@nosig.test
unsubscribe_url = https://unsub.nosig.test/u/
consent_mode = off
identification_mode = off
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
# owned by the daemon's user: accepted as root at startup and readable
# after the privilege drop (SIGHUP, checked at the end)
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
key=$(pw_key rsa boreal.test bsel) || pw_bail "boreal key"
pw_keytable bsel._domainkey.boreal.test boreal.test bsel "$key"
pw_signing '*@boreal.test' bsel._domainkey.boreal.test
key=$(pw_key rsa free.test fsel) || pw_bail "free key"
pw_keytable fsel._domainkey.free.test free.test fsel "$key"
pw_signing '*@free.test' fsel._domainkey.free.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_write_conf

# 0. Times in microseconds (schema version 5): the store starts as one of
#    version 3 with an audit chain hashed with whole seconds (org legacy,
#    made by v3store.py, which hashes independently of the C code); the
#    reports refuse it until store init migrates it; every row written
#    afterwards carries microseconds, and one chain spans both (checked
#    at the end).
asuser() {
	if [ -n "$PW_USER" ]; then runuser -u "$PW_USER" -- "$@"; else "$@"; fi
}
asuser "$PW_CTL" store init "sqlite:$DB" >/dev/null || pw_bail "store init"
old_head=$(asuser /usr/bin/python3 "$PW_IT/v3store.py" "$DB" legacy 3) ||
	pw_bail "version 3 store"
out=$(ctl audit verify 2>&1)
check "version 3 store: audit verify names store init" \
    grep -q 'schema version 3 is older.*postwarden-ctl store init' <<<"$out"
check "store init migrates it" asuser "$PW_CTL" store init "sqlite:$DB"
check "migrated: the old chain verifies against its head" \
    grep -q '^audit chain intact: 3 rows' <<<"$(ctl audit verify --expect-head "$old_head")"

ctl consent add alice@remote.test --org acme --type express --source web_form \
    --proof form-1 >/dev/null || pw_bail "consent add (alice)"
ctl consent add carol@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (carol)"
# an inquiry in 2020: implied consent for 6 months, long expired
ctl consent add old@remote.test --org acme --type implied-inquiry \
    --obtained 2020-01-10 --source crm >/dev/null || pw_bail "consent add (old)"
ctl consent add dave@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (dave)"
ctl consent withdraw dave@remote.test --org acme >/dev/null || pw_bail "withdraw (dave)"
ctl consent add erin@remote.test --org boreal --type implied-purchase \
    --obtained "$(date -u +%Y-%m-%d)" --source pos >/dev/null || pw_bail "consent add (erin)"

pw_setup

acme() {	# acme TO... [swaks args]: commercial mail from acme-news
	local to=$1
	shift
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$to" --header "Subject: sale" \
	    --body "Everything 50% off! $FOOTER" "$@"
}

# 1. consented recipient: delivered with both headers, signed over them
acme alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "consented: delivered" test -n "$f"
lu=$(pw_header "$f" List-Unsubscribe)
check "consented: List-Unsubscribe has one https URI and a mailto" \
    grep -qE '^<https://unsub\.acme\.test/u/[A-Za-z0-9_-]+>, <mailto:unsubscribe\+[A-Za-z0-9_-]+@acme\.test\?subject=unsubscribe>$' <<<"$lu"
check "consented: List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
    test "$(pw_header "$f" List-Unsubscribe-Post)" = "List-Unsubscribe=One-Click"
check "consented: DKIM signature verifies (dkimpy)" pw_verify_dkimpy "$f"
check "consented: h= oversigns List-Unsubscribe" test "$(pw_h_count "$f" 0 List-Unsubscribe)" -ge 2
check "consented: h= oversigns List-Unsubscribe-Post" test "$(pw_h_count "$f" 0 List-Unsubscribe-Post)" -ge 2
tok=$(sed -n 's|^<https://unsub\.acme\.test/u/\([^>]*\)>.*|\1|p' <<<"$lu")
if [ -n "$PW_USER" ]; then
	out=$(runuser -u "$PW_USER" -- "$PW_CTL" token verify --ring "$RING" --org acme "$tok" 2>&1)
else
	out=$("$PW_CTL" token verify --ring "$RING" --org acme "$tok" 2>&1)
fi
check "consented: the token names the recipient" grep -q 'alice@remote.test' <<<"$out" || diag "$out"
row=$(audit "SELECT action, consent, basis_type, basis_id > 0, dkim_d, dkim_s, class, class_source, length(token_id) FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'alice@remote.test'")
check "consented: audit row (delivered, express basis, d=/s=, token id)" \
    test "$row" = "delivered|express|express|1|acme.test|sel1|commercial|organisation|16"
check "consented: summary" grep -q 'consent=ok:1 unsub=generated token=.* signed=acme.test/sel1' <<<"$(pw_summary "$PW_QID")"

# 1b. the recipient is looked up normalised (case-insensitive local part,
#     lower-cased domain): the consent of alice@remote.test covers it
acme Alice@REMOTE.Test
f=$(pw_wait_sent "$PW_QID")
check "normalised lookup: Alice@REMOTE.Test delivered" test -n "$f"
row=$(audit "SELECT action, consent FROM audit WHERE queue_id = '$PW_QID'")
check "normalised lookup: audit row delivered|express" test "$row" = "delivered|express"

# 2. no consent: refused at RCPT with the org's name; the consented first
#    recipient is delivered; a third (consented) one gets 452 4.5.3
acme alice@remote.test,nobody@remote.test,carol@remote.test
check "no consent: 550 5.7.1 at RCPT" \
    grep -q '<\*\* *550 5.7.1 <nobody@remote.test>: no consent on record for acme' "$PW_SWAKS"
check "second consented recipient: 452 4.5.3" grep -q '<\*\* *452 4.5.3 ' "$PW_SWAKS"
f=$(pw_wait_sent "$PW_QID")
check "no consent: the consented recipient still gets it" test -n "$f"
row=$(audit "SELECT action, consent, reason FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'nobody@remote.test'")
check "no consent: audit row refused_rcpt" test "$row" = "refused_rcpt|none|no consent on record"
row=$(audit "SELECT action FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'carol@remote.test'")
check "452: audit row tempfail_rcpt" test "$row" = "tempfail_rcpt"

# 3. expired implied consent, 4. withdrawn: refused
acme old@remote.test
# the refusal says which: expired on the day the inquiry's 6 months end
check "expired implied consent: refused (expired on 2020-07-10)" \
    grep -q '<\*\* *550 5.7.1 <old@remote.test>: consent for acme expired on 2020-07-10$' "$PW_SWAKS"
check "expired: not queued" test -z "$PW_QID"
acme dave@remote.test
check "withdrawn: refused (withdrawn on today's date)" \
    grep -q "<\*\* *550 5.7.1 <dave@remote.test>: consent for acme withdrawn on $(date -u +%Y-%m-%d)\$" "$PW_SWAKS"
sleep 0.5
row=$(audit "SELECT action, consent, basis_type FROM audit WHERE recipient = 'old@remote.test' ORDER BY id DESC LIMIT 1")
check "expired: audit row names the lapsed basis" test "$row" = "refused_rcpt|expired|implied-inquiry"
row=$(audit "SELECT consent, basis_id < 0 FROM audit WHERE recipient = 'dave@remote.test' ORDER BY id DESC LIMIT 1")
check "withdrawn: audit row names the suppression" test "$row" = "withdrawn|1"

# 5. re-consent after withdrawal: delivered
ctl consent add dave@remote.test --org acme --type express --source phone \
    --proof call-7 >/dev/null
acme dave@remote.test
f=$(pw_wait_sent "$PW_QID")
check "re-consent after withdrawal: delivered" test -n "$f"

# 6. transactional (trusted label from the organisation's login): no
#    consent needed, no List-Unsubscribe added; audited
pw_send_smtp --xclient-addr 198.51.100.31 --xclient-login boreal \
    --from shop@boreal.test --to nobody@remote.test --header 'Subject: receipt' \
    --header 'Postwarden-Class: transactional' --body "Receipt #7. $BFOOTER"
f=$(pw_wait_sent "$PW_QID")
check "transactional: delivered without consent" test -n "$f"
check "transactional: no List-Unsubscribe added" test -z "$(pw_header "$f" List-Unsubscribe)"
row=$(audit "SELECT action, class, class_source, consent IS NULL FROM audit WHERE queue_id = '$PW_QID'")
check "transactional: audited" test "$row" = "delivered|transactional|header|1"

# 7. class known only at end of headers (boreal): the recipient without
#    consent is removed at end of message, the other one gets it with
#    its own token; an invalid sender header (http) is replaced
pw_send_smtp --xclient-addr 198.51.100.31 --xclient-login boreal \
    --from shop@boreal.test --to erin@remote.test,nobody@remote.test \
    --header 'Subject: new bread' --add-header 'List-Unsubscribe: <http://boreal.test/u>' \
    --body "Fresh rye. $BFOOTER"
f=$(pw_wait_sent "$PW_QID")
check "drop_at_eom: delivered to the consented recipient" test -n "$f"
check "drop_at_eom: the other one removed (not delivered)" \
    ! grep -q " $PW_QID: to=<nobody@remote.test>" "$T/pf/maillog"
row=$(audit "SELECT action, reason FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'nobody@remote.test'")
check "drop_at_eom: audit row removed" test "$row" = "removed|no consent on record"
row=$(audit "SELECT action, basis_type, length(token_id) FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'erin@remote.test'")
check "drop_at_eom: consented recipient audited with implied basis and token" \
    test "$row" = "delivered|implied-purchase|16"
lu=$(pw_header "$f" List-Unsubscribe)
check "invalid List-Unsubscribe replaced (one header, https)" \
    grep -qE '^<https://lists\.hosting\.test/unsub/boreal/[A-Za-z0-9_-]+>$' <<<"$lu"
check "replaced header signed (dkimpy)" pw_verify_dkimpy "$f"

# 8. commercial mail that cannot be signed: tempfailed
pw_send_smtp --xclient-addr 198.51.100.32 --xclient-login nosig \
    --from news@nosig.test --to anyone@remote.test --header 'Subject: promo' \
    --body 'Promo.'
check "unsigned commercial: 451 4.7.1" grep -q '<\*\* *451 4.7.1 commercial mail could not be DKIM-signed' "$PW_SWAKS"

# 9. the sendmail command (Postfix non_smtpd_milters): Postfix cannot
#    refuse one recipient there ("can't reject recipient in non-smtpd(8)
#    submission") and would keep the message in its maildrop, retried at
#    every pickup run.  postwarden decides at end of message instead.
# sm TO... : commercial mail from news@acme.test through Postfix's own
# sendmail binary; sets PW_QID and MID (its Message-ID)
sm() {
	local f to
	to=$(tr ' ' , <<<"$*")
	f=$(pw_compose news@acme.test "$to" "sale" "Everything 50% off! $FOOTER") || return 1
	MID=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$f")
	/usr/sbin/sendmail -C "$T/pf/etc" -f news@acme.test "$@" <"$f" || return 1
	PW_QID=$(pw_qid_by_msgid "$MID")
}
# rows MID: "recipient|action" of its audit rows, sorted
rows() { audit "SELECT recipient || '|' || action FROM audit WHERE message_id = '$1' ORDER BY recipient, id"; }
# bounce_for QID: the sink copy of Postfix's bounce of QID, if any
bounce_for() {
	local i b
	for i in $(seq 1 100); do
		b=$(grep -l "^X-Postfix-Queue-ID: $1" "$T"/sink/* 2>/dev/null | head -1)
		[ -n "$b" ] && { echo "$b"; return 0; }
		sleep 0.1
	done
	return 1
}
maildrop_empty() { [ -z "$(ls -A "$T/pf/spool/maildrop")" ]; }

# 9a. one recipient without consent, one with: the first is removed
sm alice@remote.test nobody@remote.test
mid_a=$MID
f=$(pw_wait_sent "$PW_QID")
check "sendmail: the consented recipient gets it" test -n "$f"
check "sendmail: the other one removed (not delivered)" \
    ! grep -q " $PW_QID: to=<nobody@remote.test>" "$T/pf/maillog"
check "sendmail: nothing refused at RCPT (no non-smtpd reject)" \
    ! grep -q "can't reject recipient" "$T/pf/maillog"
check "sendmail: maildrop empty" maildrop_empty
check "sendmail: one audit row per recipient (delivered, removed)" \
    test "$(rows "$mid_a" | tr '\n' ' ')" = "alice@remote.test|delivered nobody@remote.test|removed "
check "sendmail: summary consent=removed:1/2" \
    grep -q 'consent=removed:1/2' <<<"$(pw_summary "$PW_QID")"

# 9b. only refused recipients: rejected, Postfix bounces it to the sender
sm nobody@remote.test old@remote.test
mid_b=$MID
b=$(bounce_for "$PW_QID")
check "sendmail, nobody with consent: bounced to the sender" test -n "$b"
check "sendmail, nobody with consent: the bounce says why" \
    grep -q 'no valid consent for acme for any of the 2 recipients' "$b"
check "sendmail, nobody with consent: bounce addressed to news@acme.test" \
    grep -qi '^To: news@acme.test' "$b"
check "sendmail, nobody with consent: maildrop empty" maildrop_empty
check "sendmail, nobody with consent: one audit row per recipient (rejected)" \
    test "$(rows "$mid_b" | tr '\n' ' ')" = "nobody@remote.test|rejected old@remote.test|rejected "

# 9c. two consented recipients, rcpt_limit: no 452 at RCPT; rejected at
#     end of message (one recipient per message), bounced to the sender
sm alice@remote.test carol@remote.test
mid_c=$MID
b=$(bounce_for "$PW_QID")
check "sendmail, 2 recipients (rcpt_limit): bounced to the sender" test -n "$b"
check "sendmail, 2 recipients: the bounce says one recipient per message" \
    grep -q 'one recipient per message' "$b"
check "sendmail, 2 recipients: maildrop empty" maildrop_empty
check "sendmail, 2 recipients: one audit row per recipient (rejected)" \
    test "$(rows "$mid_c" | tr '\n' ' ')" = "alice@remote.test|rejected carol@remote.test|rejected "
# every sendmail run wakes pickup, which would retry a message left in
# the maildrop; after one more, still one row per recipient
sm alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "sendmail, one consented recipient: delivered" test -n "$f"
sleep 1
check "sendmail: no repeated audit rows after another pickup run" \
    test "$(audit "SELECT count(*) FROM audit WHERE message_id IN ('$mid_a', '$mid_b', '$mid_c')")" = 6

# 10. store made unreadable: tempfail, never fail open
chmod 000 "$DB"
acme alice@remote.test
check "store unreadable: 451 4.3.0 at RCPT" \
    grep -q '<\*\* *451 4.3.0 consent records unavailable' "$PW_SWAKS"
check "store unreadable: not queued" test -z "$PW_QID"
# the audit row of commercial mail that needs no consent lookup cannot
# be written either: tempfailed (R20), not released unrecorded
pw_send_smtp --xclient-addr 198.51.100.33 --xclient-login free \
    --from news@free.test --to anyone@remote.test --header 'Subject: promo' \
    --body 'Promo. Free Ltd | 2 Road, Town | info@free.test'
check "audit row unwritable: 451 4.3.0" \
    grep -q '<\*\* *451 4.3.0 audit record could not be written' "$PW_SWAKS"
check "audit row unwritable: not queued" test -z "$PW_QID"
chmod 644 "$DB"
acme alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "store readable again: delivered" test -n "$f"

# The chain: each row's prev_hash is the previous row's hash.
broken=$(audit "SELECT count(*) FROM audit a JOIN audit b ON b.id = a.id - 1 WHERE a.prev_hash != b.hash")
check "audit rows are hash-chained" test "$broken" = 0
# Microseconds (step 0): one chain over the rows from before the migration
# (whole seconds, time_us NULL) and after it; reports show each as stored;
# a change to an old or a new row is still caught at that row.
out=$(ctl audit verify --expect-head "$old_head")
check "chain over the migration: intact, the old head found" \
    grep -qE '^audit chain intact: [0-9]+ rows' <<<"$out"
check "rows from before the migration keep whole seconds (time_us NULL)" \
    test "$(audit "SELECT group_concat(id) FROM audit WHERE time_us IS NULL")" = "1,2,3"
check "rows after it have microseconds, seconds = floor" \
    test "$(audit "SELECT count(*) FROM audit WHERE id > 3 AND (time_us IS NULL OR time != time_us / 1000000)")" = 0
check "audit report: old rows in whole seconds" \
    grep -q '^1,2025-06-01T12:00:01Z,4QV301,' <<<"$(ctl audit report --org legacy)"
check "audit report: new rows with microseconds (ISO 8601, UTC)" \
    grep -qE '^[0-9]+,[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z,' <<<"$(ctl audit report --org acme)"
check "unsubscribe report: requested_at with microseconds" \
    grep -qE ',dave@remote\.test,.*,[0-9T:-]+\.[0-9]{6}Z,[0-9T:-]+\.[0-9]{6}Z,' <<<"$(ctl unsubscribe report --org acme)"
# tampering, on a copy (the triggers dropped, as an attacker would)
tamper() {	# tamper SQL: audit verify of a copy changed by SQL
	rm -f "$T/tamper.db"
	sqlite3 -readonly "$DB" ".backup '$T/tamper.db'" &&
	    sqlite3 "$T/tamper.db" "DROP TRIGGER audit_no_update; $1" &&
	    "$PW_CTL" audit verify --store "sqlite:$T/tamper.db"
}
out=$(tamper "UPDATE audit SET time = time + 1 WHERE id = 2")
check "old row changed: BROKEN at row 2" grep -q 'BROKEN at row 2:' <<<"$out"
out=$(tamper "UPDATE audit SET time_us = time * 1000000 WHERE id = 3")
check "old row given microseconds: BROKEN at row 3" grep -q 'BROKEN at row 3:' <<<"$out"
out=$(tamper "UPDATE audit SET time_us = time_us + 1 WHERE id = 4")
check "new row's microseconds changed: BROKEN at row 4" grep -q 'BROKEN at row 4:' <<<"$out"
out=$(tamper "UPDATE audit SET recipient = 'x@remote.test' WHERE id = 5")
check "new row changed: BROKEN at row 5" grep -q 'BROKEN at row 5:' <<<"$out"

# SIGHUP re-reads the key ring as the daemon's user
n=$(wc -l <"$T/pw/log")
kill -HUP "$PW_MILTER_PID"
for i in $(seq 1 30); do
	tail -n +"$((n + 1))" "$T/pw/log" | grep -q 'reload' && break
	sleep 0.1
done
sleep 0.5
check "SIGHUP: reloaded (key ring readable as the daemon's user)" \
    ! grep -q 'reload failed' <(tail -n +"$((n + 1))" "$T/pw/log")
acme alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "after reload: delivered with a token" \
    grep -q 'unsub=generated token=' <<<"$(pw_summary "$PW_QID")"
check "milter still running" pw_milter_running
pw_done

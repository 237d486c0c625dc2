#!/bin/bash
# t_classify.sh - outbound compliance through the real Postfix: organisation
# recognition, message class (Postwarden-Class trust and removal) and
# sender identification (R1, R2, R8).  Submissions are told apart with
# XCLIENT: an external address plus LOGIN= is an authenticated submitter
# ({auth_authen}), so the message is outbound and the SASL login decides
# whether its Postwarden-Class header is trusted.
# Run with PW_PORT_BASE=28000 (ports of helper "orgs").
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
cat >"$T/pw/organisations.conf" <<'EOF'
[org acme]
domains = acme.test
sasl_logins = acme-news, acme-billing
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
consent_mode = off
unsub_mode = off
class_header_mode = warn
EOF
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_write_conf
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "postwarden -n accepts the organisations file" test $? -eq 0 || diag "$out"

# postwarden -n reports errors of the organisations file with its FILE:LINE
bad=$T/pw/bad-orgs.conf
printf '[org x]\ndomains = acme.test\nunsub_mode = sometimes\n' >"$bad"
sed "s|^organisations = .*|organisations = file:$bad|" "$T/pw/postwarden.conf" >"$T/pw/bad.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/bad.conf" 2>&1)
check "postwarden -n: bad mode is an error" test $? -ne 0
check "postwarden -n: error names FILE:LINE" grep -qF "$bad:3: unsub_mode = sometimes" <<<"$out"

# postwarden -n warns (FILE:LINE, exit 0) about choices that cannot act
# together: rcpt_limit / refuse_at_rcpt with a class header allowed
warnorgs=$T/pw/warn-orgs.conf
{ sed -n '/^\[org acme\]/,$p' "$T/pw/organisations.conf" | grep -v '_mode ='
  printf 'class_header_mode = warn\nmulti_recipient = rcpt_limit\nmissing_consent = refuse_at_rcpt\n'
} >"$warnorgs"
"$PW_CTL" token newkey --ring "$T/pw/warn.keys" >/dev/null || pw_bail "key ring created"
{ sed "s|^organisations = .*|organisations = file:$warnorgs|" "$T/pw/postwarden.conf"
  echo "unsubscribe_keys = $T/pw/warn.keys"
} >"$T/pw/warn.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/warn.conf" 2>&1 >/dev/null)
check "postwarden -n: such a file still loads (exit 0)" test $? -eq 0
check "postwarden -n: warns rcpt_limit cannot act at RCPT, with FILE:LINE" \
    grep -qF "$warnorgs:$(grep -n '^multi_recipient' "$warnorgs" | cut -d: -f1): warning: organisation \"acme\": multi_recipient = rcpt_limit cannot act at RCPT" <<<"$out"
check "postwarden -n: warns refuse_at_rcpt cannot act at RCPT" \
    grep -qF 'missing_consent = refuse_at_rcpt cannot act at RCPT' <<<"$out"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1 >/dev/null)
check "postwarden -n: no warning for the test's own file" ! grep -q 'warning' <<<"$out"

pw_setup

# 1. transactional (trusted header from the organisation's SASL login),
#    identified: delivered, header removed.
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-billing \
    --from billing@acme.test --header 'Subject: your receipt' \
    --header 'Postwarden-Class: transactional; basis=6(6)(b)' \
    --body "Receipt #1: 1 widget, paid. $FOOTER"
f=$(pw_wait_sent "$PW_QID")
check "transactional: delivered" test -n "$f"
check "transactional: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"
check "transactional: summary class=transactional(header)" \
    grep -q 'org=acme(sasl) class=transactional(header)' <<<"$(pw_summary "$PW_QID")"
check "transactional: identification checked (ident=ok)" \
    grep -q 'ident=ok' <<<"$(pw_summary "$PW_QID")"

# 1b. transactional without identification: CASL s.6(6) exempts it from
#     consent only, not from s.6(2) identification (R8): rejected.
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-billing \
    --from billing@acme.test --header 'Subject: your receipt' \
    --header 'Postwarden-Class: transactional' \
    --body 'Receipt #2: 1 widget, paid.'
check "transactional, no identification: rejected with the reason" \
    grep -q '<\*\* *550 5.7.1 transactional message lacks sender identification' "$PW_SWAKS"

# 1c. internal address (127.0.0.1 is in internal_hosts), no SASL: the
#     organisation is found by the envelope sender and its label is
#     trusted; removed all the same.
pw_send_smtp --from billing@acme.test --header 'Subject: your receipt' \
    --header 'Postwarden-Class: transactional' \
    --body "Receipt #3: 2 widgets, paid. $FOOTER"
f=$(pw_wait_sent "$PW_QID")
check "internal submitter: delivered" test -n "$f"
check "internal submitter: label trusted (class=transactional(header))" \
    grep -q 'org=acme(envelope) class=transactional(header)' <<<"$(pw_summary "$PW_QID")"
check "internal submitter: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"

# 2. commercial without identification: rejected, the reply says what is
#    missing.
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-news \
    --from news@acme.test --header 'Subject: big sale' --body 'Everything 50% off!'
check "no identification: rejected with 550 5.7.1" \
    grep -q '<\*\* *550 5.7.1 .*lacks sender identification' "$PW_SWAKS"
check "no identification: reply names what is missing" \
    grep -q 'text/plain: business name, mailing address, contact' "$PW_SWAKS"
check "no identification: not queued" test -z "$PW_QID"

# 3. commercial with the footer, base64 HTML: delivered.
html="<p>Big sale</p><footer>Acme&nbsp;<b>Widgets</b> Inc.<br>123 Main Street West,<br>Toronto ON M5V 1A1<br><a href=\"mailto:info@acme.test\">Contact</a></footer>"
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-news \
    --from news@acme.test --header 'Subject: big sale, identified' \
    --add-header 'MIME-Version: 1.0' \
    --add-header 'Content-Type: text/html; charset=utf-8' \
    --add-header 'Content-Transfer-Encoding: base64' \
    --body "$(printf '%s' "$html" | base64 -w 76)"
f=$(pw_wait_sent "$PW_QID")
check "identified (base64 HTML): delivered" test -n "$f"
check "identified: summary ident=ok" grep -q 'ident=ok' <<<"$(pw_summary "$PW_QID")"

# 4. forged Postwarden-Class from a submitter the organisation does not
#    list (another SASL login): ignored and removed; the message stays
#    commercial and must carry identification.
pw_send_smtp --xclient-addr 198.51.100.21 --xclient-login mallory \
    --from promo@acme.test --header 'Subject: not really a receipt' \
    --header 'Postwarden-Class: transactional' \
    --body "Deals. $FOOTER"
f=$(pw_wait_sent "$PW_QID")
check "forged class: delivered" test -n "$f"
check "forged class: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"
check "forged class: stays commercial(organisation)" \
    grep -q 'org=acme(envelope) class=commercial(organisation)' <<<"$(pw_summary "$PW_QID")"
check "forged class: logged as untrusted" \
    grep -q "$PW_QID: classify: Postwarden-Class from an untrusted submitter" "$T/pw/log"

# 5. forged header and no footer from the same untrusted submitter:
#    the forged label does not exempt it, so identification is enforced.
pw_send_smtp --xclient-addr 198.51.100.21 --xclient-login mallory \
    --from promo@acme.test --header 'Subject: forged, unidentified' \
    --header 'Postwarden-Class: transactional' --body 'Deals.'
check "forged class without footer: rejected" grep -q '<\*\* *550 5.7.1' "$PW_SWAKS"

# 6. mail of no organisation passes (organisations_unmatched = pass).
pw_send_smtp --xclient-addr 198.51.100.22 --xclient-login someone \
    --from x@other.test --header 'Subject: unrelated' \
    --header 'Postwarden-Class: commercial' --body 'hi'
f=$(pw_wait_sent "$PW_QID")
check "unmatched: delivered" test -n "$f"
check "unmatched: summary org=none" grep -q 'org=none' <<<"$(pw_summary "$PW_QID")"
check "unmatched: Postwarden-Class removed anyway" ! grep -qi '^Postwarden-Class:' "$f"

# 7. SIGHUP reloads the organisations file (GMime is initialised once per
#    process, so a reload must not re-initialise or shut it down).
hup_and_wait() {
	local n i
	n=$(wc -l <"$T/pw/log")
	kill -HUP "$PW_MILTER_PID"
	for i in $(seq 1 20); do
		tail -n +"$((n + 1))" "$T/pw/log" | grep -qi 'reload' && return 0
		sleep 0.1
	done
	sleep 1
}
pid=$PW_MILTER_PID
echo 'identification_mode = warn' >>"$T/pw/organisations.conf"
hup_and_wait
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-news \
    --from news@acme.test --header 'Subject: sale, warn mode' --body 'Sale!'
f=$(pw_wait_sent "$PW_QID")
check "after reload (warn): unidentified mail delivered" test -n "$f"
check "after reload (warn): summary ident=missing(warn)" \
    grep -q 'ident=missing(warn)' <<<"$(pw_summary "$PW_QID")"

# A broken organisations file is refused; the running set stays in force.
n=$(wc -l <"$T/pw/log")
echo 'colour = blue' >>"$T/pw/organisations.conf"
hup_and_wait
check "bad reload: error names the organisations file and line" \
    grep -q "organisations.conf:[0-9]*: unknown key \"colour\"" <(tail -n +"$((n + 1))" "$T/pw/log")
pw_send_smtp --xclient-addr 198.51.100.20 --xclient-login acme-news \
    --from news@acme.test --header 'Subject: sale, after bad reload' --body 'Sale!'
f=$(pw_wait_sent "$PW_QID")
check "bad reload: previous organisations still in force (warn)" test -n "$f"
check "same daemon process throughout" test "$PW_MILTER_PID" = "$pid"

check "milter still running" pw_milter_running
pw_done

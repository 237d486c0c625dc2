#!/bin/bash
# t_tenant.sh - tenants bound to their domains, through the real Postfix
# (issue 12): an organisation's SASL logins may send only as its own
# domains (sender_binding), a DKIM key of a domain an organisation owns
# signs only that organisation's mail, the class header is trusted per
# organisation (class_header_from), SASL logins of no organisation
# (organisations_unknown_sasl) and internal hosts (sender_binding_internal).
# SASL logins come from XCLIENT LOGIN= (tests/integration/lib.sh).
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

# Three customers of one provider: acme and shop enforce (the default),
# warnco only warns.  A catch-all SigningTable row with warnco's key
# would sign everybody's mail if keys were not bound to their tenant.
cat >"$T/pw/organisations.conf" <<'EOF2'
[org acme]
domains = acme.test
sasl_logins = acme-news
send_as = partner.test, ceo@board.test
sender_binding_internal = yes
class_header_from = sasl
consent_mode = off
unsub_mode = off
identification_mode = off

[org shop]
domains = shop.test
sasl_logins = shop-user
consent_mode = off
unsub_mode = off
identification_mode = off

[org warnco]
domains = warn.test
sasl_logins = warn-user
sender_binding = warn
consent_mode = off
unsub_mode = off
identification_mode = off
EOF2
k=$(pw_key rsa acme.test a1) || pw_bail "acme key generated"
pw_keytable acme acme.test a1 "$k"
pw_signing '*@acme.test' acme
k=$(pw_key rsa shop.test s1) || pw_bail "shop key generated"
pw_keytable shop shop.test s1 "$k"
pw_signing '*@shop.test' shop
k=$(pw_key rsa warn.test w1) || pw_bail "warnco key generated"
pw_keytable warnco warn.test w1 "$k"
pw_signing '*' warnco
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_write_conf
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "postwarden -n accepts the tenant keys" test $? -eq 0 || diag "$out"
bad=$T/pw/bad-orgs.conf
printf '[org x]\ndomains = x.test\nsender_binding = sometimes\nclass_header_from = all\n' >"$bad"
sed "s|^organisations = .*|organisations = file:$bad|" "$T/pw/postwarden.conf" >"$T/pw/bad.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/bad.conf" 2>&1)
check "postwarden -n: bad sender_binding named with FILE:LINE" \
    grep -qF "$bad:3: sender_binding = sometimes: expected off | warn | enforce" <<<"$out"
check "postwarden -n: bad class_header_from named" \
    grep -qF "$bad:4: class_header_from = all: expected submitters | sasl | internal | nobody" <<<"$out"
pw_setup

# sigs FILE: "d=... d=..." of every DKIM-Signature, in order
sigs() {
	local i n out=
	n=$(pw_nsigs "$1")
	for ((i = 0; i < n; i++)); do out="$out d=$(pw_sig_tag "$1" "$i" d)"; done
	echo "${out# }"
}
acme_login=(--xclient-addr 198.51.100.30 --xclient-login acme-news)

# 1. acme's login writing From: shop's domain (the DKIM-valid forgery of
#    the issue): refused, the reply names the identity.
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'From: news@shop.test' --header 'Subject: forged' --body x
check "acme as shop (From): 550 5.7.1" grep -q '<\*\* *550 5.7.1' "$PW_SWAKS"
check "acme as shop (From): reply names From <news@shop.test>" \
    grep -qF 'From <news@shop.test> is not allowed: not an address of sender organisation acme' "$PW_SWAKS"
check "acme as shop (From): not queued" test -z "$PW_QID"

# 1b. the envelope sender, and a Sender header
pw_send_smtp "${acme_login[@]}" --from bounce@shop.test \
    --header 'From: news@acme.test' --header 'Subject: forged env' --body x
check "acme as shop (envelope): reply names the envelope sender" \
    grep -qF '550 5.7.1 envelope sender <bounce@shop.test> is not allowed' "$PW_SWAKS"
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'Sender: ops@shop.test' --header 'Subject: forged sender' --body x
check "acme as shop (Sender): reply names Sender <ops@shop.test>" \
    grep -qF '550 5.7.1 Sender <ops@shop.test> is not allowed' "$PW_SWAKS"
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'From: someone@gmail.test' --header 'Subject: as a freemail user' --body x
check "acme as a domain of no organisation: refused" \
    grep -qF '550 5.7.1 From <someone@gmail.test> is not allowed' "$PW_SWAKS"

# 2. acme as itself: delivered, signed with acme's key only (not with
#    the catch-all warnco key), dkimpy verifies d=acme.test.
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'Subject: own domain' --body 'hello'
f=$(pw_wait_sent "$PW_QID")
check "acme as acme: delivered" test -n "$f"
check "acme as acme: one signature, d=acme.test" test "$(sigs "$f")" = "d=acme.test" ||
    diag "signatures: $(sigs "$f")"
check "acme as acme: dkimpy verifies" pw_verify_dkimpy "$f"
check "acme as acme: warnco's catch-all key logged as not used" \
    grep -q "$PW_QID: dkim_sign: key warnco (d=warn.test) not used: warn.test belongs to organisation warnco, the mail to acme" "$T/pw/log"

# 2b. send_as: a listed domain and a listed address are allowed
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'From: events@partner.test' --header 'Subject: partner' --body x
check "send_as domain: delivered" test -n "$(pw_wait_sent "$PW_QID")"
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'From: CEO@board.test' --header 'Subject: ceo' --body x
check "send_as address: delivered" test -n "$(pw_wait_sent "$PW_QID")"
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'From: cfo@board.test' --header 'Subject: cfo' --body x
check "send_as address: another mailbox of that domain refused" \
    grep -qF '550 5.7.1 From <cfo@board.test> is not allowed' "$PW_SWAKS"

# 3. warn mode: warnco's login writes as acme with a class header.  The
#    mail passes (logged), the class header is ignored and removed, and
#    acme's key is never used: only warnco's own key signs.
pw_send_smtp --xclient-addr 198.51.100.31 --xclient-login warn-user \
    --from news@acme.test --header 'Subject: warn as acme' \
    --header 'Postwarden-Class: transactional' --body x
f=$(pw_wait_sent "$PW_QID")
check "warn: delivered" test -n "$f"
check "warn: logged" grep -q "$PW_QID: classify: sender_binding: envelope sender <news@acme.test> is not an address of organisation warnco (warn only)" "$T/pw/log"
check "warn: summary binding=warn" grep -q 'binding=warn' <<<"$(pw_summary "$PW_QID")"
check "warn: class header ignored (class=commercial(organisation))" \
    grep -q 'org=warnco(sasl) class=commercial(organisation)' <<<"$(pw_summary "$PW_QID")"
check "warn: class header ignored, logged why" \
    grep -q "$PW_QID: classify: Postwarden-Class from a submitter writing as envelope sender <news@acme.test>: ignored and removed" "$T/pw/log"
check "warn: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"
check "warn: signed with warnco's key only (never acme's)" test "$(sigs "$f")" = "d=warn.test" ||
    diag "signatures: $(sigs "$f")"
check "warn: dkimpy verifies d=warn.test" pw_verify_dkimpy "$f"
check "warn: acme's key logged as not used" \
    grep -q "$PW_QID: dkim_sign: key acme (d=acme.test) not used: acme.test belongs to organisation acme, the mail to warnco" "$T/pw/log"

# 3b. class header from shop's login for acme's domain (shop enforces):
#     refused before the header could count; and from warnco for its own
#     domain: trusted (class_header_from = submitters by default).
pw_send_smtp --xclient-addr 198.51.100.32 --xclient-login shop-user \
    --from news@acme.test --header 'Subject: shop as acme' \
    --header 'Postwarden-Class: transactional' --body x
check "shop's login as acme with a class header: refused" \
    grep -qF '550 5.7.1 envelope sender <news@acme.test> is not allowed: not an address of sender organisation shop' "$PW_SWAKS"
pw_send_smtp --xclient-addr 198.51.100.31 --xclient-login warn-user \
    --from news@warn.test --header 'Subject: own receipt' \
    --header 'Postwarden-Class: transactional' --body x
f=$(pw_wait_sent "$PW_QID")
check "warnco as itself: class header trusted" \
    grep -q 'org=warnco(sasl) class=transactional(header)' <<<"$(pw_summary "$PW_QID")"
check "warnco as itself: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"

# 4. internal host without SASL (127.0.0.1): acme has
#    sender_binding_internal = yes, shop does not.
pw_send_smtp --from app@acme.test --header 'From: news@shop.test' \
    --header 'Subject: web app' --body x
check "internal, acme (bound): From shop refused" \
    grep -qF '550 5.7.1 From <news@shop.test> is not allowed: not an address of sender organisation acme' "$PW_SWAKS"
pw_send_smtp --from app@shop.test --header 'From: news@acme.test' \
    --header 'Subject: web app 2' --body x
f=$(pw_wait_sent "$PW_QID")
check "internal, shop (not bound): delivered" test -n "$f"
check "internal, shop as acme: acme's key not used (unsigned)" test "$(pw_nsigs "$f")" = 0 ||
    diag "signatures: $(sigs "$f")"
check "internal, shop as acme: summary says why" \
    grep -q 'signed=none (keys of another organisation)' <<<"$(pw_summary "$PW_QID")"

# 4b. class_header_from = sasl: acme's internal hosts cannot set the class
pw_send_smtp --from app@acme.test --header 'Subject: internal receipt' \
    --header 'Postwarden-Class: transactional' --body x
f=$(pw_wait_sent "$PW_QID")
check "class_header_from = sasl: internal host's header ignored" \
    grep -q 'org=acme(envelope) class=commercial(organisation)' <<<"$(pw_summary "$PW_QID")"
check "class_header_from = sasl: header removed" ! grep -qi '^Postwarden-Class:' "$f"
check "class_header_from = sasl: internal mail signed d=acme.test" test "$(sigs "$f")" = "d=acme.test"
pw_send_smtp "${acme_login[@]}" --from news@acme.test \
    --header 'Subject: sasl receipt' --header 'Postwarden-Class: transactional' --body x
pw_wait_sent "$PW_QID" >/dev/null
check "class_header_from = sasl: its SASL login's header trusted" \
    grep -q 'org=acme(sasl) class=transactional(header)' <<<"$(pw_summary "$PW_QID")"

# 5. a SASL login of no organisation (organisations_unknown_sasl = pass,
#    the default): passes, but is nobody's submitter, so shop's key does
#    not sign its mail as shop.
pw_send_smtp --xclient-addr 198.51.100.33 --xclient-login mallory \
    --from news@shop.test --header 'Subject: unknown login' --body x
f=$(pw_wait_sent "$PW_QID")
check "unknown login (pass): delivered" test -n "$f"
check "unknown login (pass): not signed with shop's key" test "$(pw_nsigs "$f")" = 0 ||
    diag "signatures: $(sigs "$f")"

# 6. organisations_unknown_sasl = reject (reloaded): refused at MAIL FROM
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
echo 'organisations_unknown_sasl = reject' >>"$T/pw/postwarden.conf"
hup_and_wait
pw_send_smtp --xclient-addr 198.51.100.33 --xclient-login mallory \
    --from news@shop.test --header 'Subject: unknown login' --body x
check "unknown login (reject): 550 5.7.1 naming the login" \
    grep -qF '550 5.7.1 SASL login mallory is not allowed to send: it belongs to no sender organisation' "$PW_SWAKS"
check "unknown login (reject): not queued" test -z "$PW_QID"
pw_send_smtp "${acme_login[@]}" --from news@acme.test --header 'Subject: still fine' --body x
check "unknown login (reject): a listed login still sends" test -n "$(pw_wait_sent "$PW_QID")"

check "milter still running" pw_milter_running
pw_done

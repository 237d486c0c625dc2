#!/bin/bash
# t_sendmail.sh - postwarden as the milter of Debian's real Sendmail 8.17
# (unpacked from its .debs into a private root, not installed: that would
# remove Postfix; see sendmail.sh).  Sendmail's .cf is built with m4 from
# the unpacked sendmail-cf and the lines of conf/sendmail.mc.snippet, as an
# administrator would; the milter socket is the unix socket of the snippet.
#   outbound: mail from 127.0.0.1 (internal_hosts) is signed; dkimpy
#             verifies it against the key in the test DNS
#   inbound:  a client on 127.0.0.9 (external) sends mail signed by dkimpy;
#             the Authentication-Results header parses with python3-authres
#   consent:  commercial mail to a recipient without consent is refused
#             at RCPT (550 5.7.1), the consented one is delivered
#   down:     milter stopped -> 451 4.3.2 from Sendmail (F=T), nothing
#             queued; started again -> signed, without restarting Sendmail
# Ports: PW_PORT_BASE+40 Sendmail, sink on 127.0.0.2:PW_PORT_BASE+26.
. "$(dirname "$0")/lib.sh"
. "$PW_IT/sendmail.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
pw_port_free "$PW_SM_PORT" || pw_bail "port $PW_SM_PORT is free (PW_PORT_BASE=$PW_PORT_BASE)"
command -v unshare >/dev/null && unshare --uts --mount true ||
    pw_bail "unshare --uts --mount works (needs CAP_SYS_ADMIN)"

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
AC="$PW_PY $PW_IT/authcheck.py"
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@" --store "sqlite:$DB"
	else
		"$PW_CTL" "$@" --store "sqlite:$DB"
	fi
}

# Sendmail refuses a milter socket with a world-writable directory on its
# path ("local socket name ... unsafe: World writable directory"), and the
# temp dir is under /tmp: the socket goes where the package puts it, into a
# directory under /run, removed at exit.
SOCKDIR=$(mktemp -d /run/pw-sm.XXXXXX) || pw_bail "socket dir under /run"
chmod 755 "$SOCKDIR"
[ -z "$PW_USER" ] || chown "$PW_USER" "$SOCKDIR"
PW_SOCK_PATH=$SOCKDIR/postwarden.sock
eval "pw_cleanup_lib$(declare -f pw_cleanup | sed 1s/^pw_cleanup//)"
pw_cleanup() {
	local rc=$?
	rm -rf "$SOCKDIR"
	(exit $rc)
	pw_cleanup_lib
}

pw_sm_fetch || pw_bail "sendmail unpacked (apt-get download + dpkg-deb -x)"

# Only 127.0.0.1 is internal: 127.0.0.9 plays the external client.  lib.sh
# writes 127.0.0.0/8, and a setting may appear only once.
eval "pw_write_conf_lib$(declare -f pw_write_conf | sed 1s/^pw_write_conf//)"
pw_write_conf() {
	pw_write_conf_lib
	sed -i 's|^internal_hosts = .*|internal_hosts = 127.0.0.1|' "$T/pw/postwarden.conf"
}

# ---- keys, DNS, organisation ---------------------------------------------------
k=$(pw_key rsa example.test sel1) || pw_bail "key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
k=$(pw_key rsa acme.test asel) || pw_bail "acme key"
pw_keytable asel acme.test asel "$k"
pw_signing '*@acme.test' asel
# the inbound sender's key and DMARC record (k.test, p=reject)
printf '    local-zone: "k.test." static\n' >>"$T/dns/zone.conf"
kin=$(pw_key rsa k.test rsa1) || pw_bail "inbound key"
pw_dns_add 'k.test. 60 IN TXT "v=spf1 -all"'
pw_dns_add '_dmarc.k.test. 60 IN TXT "v=DMARC1; p=reject"'
{ cat /usr/share/publicsuffix/public_suffix_list.dat; printf '\ntest\n'; } >"$T/pw/psl.dat"
pw_conf "dmarc_psl_file = $T/pw/psl.dat"

FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
cat >"$T/pw/organisations.conf" <<'EOF'
[org acme]
domains = acme.test
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://unsub.acme.test/u/
class_header_mode = off
missing_consent = refuse_at_rcpt
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_write_conf
ctl consent add alice@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (alice)"

# ---- start: DNS, sink on 127.0.0.2, postwarden, Sendmail ------------------------
pw_start_dns || pw_bail "unbound started"
"$PW_PY" "$PW_IT/rawsink.py" "$PW_SM_SINK_ADDR" "$PW_SINK_PORT" "$T/sink" >"$T/sink.log" 2>&1 &
PW_PIDS+=($!)
for i in $(seq 1 100); do
	ss -Hltn src "$PW_SM_SINK_ADDR:$PW_SINK_PORT" | grep -q . && break
	sleep 0.1
done
pw_start_milter || pw_bail "postwarden started"
pw_sm_start "$PW_SOCK_PATH" || pw_bail "sendmail started"
check "the .cf names postwarden as its input filter (from the snippet)" \
    grep -q "^Xpostwarden, S=local:$PW_SOCK_PATH, F=T" "$T/sm/etc/pw.cf"
check "the .cf reads nothing under /etc/mail" test "$(grep -c /etc/mail "$T/sm/etc/pw.cf")" = 0

# ---- outbound: signed, dkimpy verifies --------------------------------------------
pw_sm_send --header 'Subject: via sendmail' --body 'Signed by postwarden behind Sendmail.'
check "outbound: Sendmail accepted the message" test -n "$PW_QID"
f=$(pw_sm_wait_sent "$PW_QID")
check "outbound: delivered to the sink" test -n "$f"
check "outbound: one DKIM-Signature, d=example.test s=sel1" \
    test "$(pw_nsigs "$f"):$(pw_sig_tag "$f" 0 d):$(pw_sig_tag "$f" 0 s)" = "1:example.test:sel1"
check "outbound: the signature verifies (dkimpy)" pw_verify_dkimpy "$f"
check "outbound: postwarden logged Sendmail's queue id ($PW_QID)" \
    grep -q "dir=out" <<<"$(pw_summary "$PW_QID")"

# ---- inbound: A-R parsed by python3-authres ------------------------------------------
m=$(pw_compose 'Kay <a@k.test>' bob@remote.test 'inbound via sendmail')
$AC sign "$m" "$m.s" "$kin" k.test rsa1 && mv "$m.s" "$m" || nok "dkimpy signed the inbound message"
pw_sm_send --local-interface 127.0.0.9 --helo mail.ext.example.net \
    --from a@k.test --data "@$m"
f=$(pw_sm_wait_sent "$PW_QID")
check "inbound (client 127.0.0.9): delivered" test -n "$f"
ar=$($AC ar "$f" mx.example.test 2>&1)
diag "$ar"
check "inbound: A-R parses (python3-authres), authserv-id mx.example.test" \
    grep -q '^id=mx.example.test' <<<"$ar"
check "inbound: A-R dkim=pass header.d=k.test" \
    grep -qF 'dkim=pass header.d=k.test header.s=rsa1' <<<"$ar"
check "inbound: A-R dmarc=pass header.from=k.test" \
    grep -qF 'dmarc=pass header.from=k.test' <<<"$ar"
check "inbound: dkimpy agrees (pass)" pw_verify_dkimpy "$f"
check "inbound: postwarden did not add a signature of its own" test "$(pw_nsigs "$f")" = 1
check "inbound: logged as dir=in" grep -q "dir=in" <<<"$(pw_summary "$PW_QID")"

# ---- consent: refused at RCPT --------------------------------------------------------
pw_sm_send --from news@acme.test --to alice@remote.test,nobody@remote.test \
    --header 'Subject: sale' --body "Everything 50% off! $FOOTER"
# Sendmail puts "<rcpt>... " before the milter's text (which names the
# recipient too, as Postfix shows it)
diag "$(grep '^<\*\*' "$PW_SWAKS")"
check "consent: 550 5.7.1 for the recipient without consent, at RCPT" \
    grep -q '<\*\* *550 5.7.1 <nobody@remote.test>\.\.\. .*no consent on record for acme' "$PW_SWAKS"
f=$(pw_sm_wait_sent "$PW_QID")
check "consent: the consented recipient gets it, signed by acme.test" \
    test -n "$f" -a "$(pw_sig_tag "$f" 0 d)" = acme.test
check "consent: with List-Unsubscribe" test -n "$(pw_header "$f" List-Unsubscribe)"
check "consent: the sink saw only the consented recipient" \
    grep -q '"alice@remote.test"' "${f%.eml}.env"
check "consent: ... and not the refused one" ! grep -q 'nobody@' "${f%.eml}.env"
row=$(sqlite3 -readonly "$DB" "SELECT action, consent FROM audit WHERE queue_id = '$PW_QID' AND recipient = 'nobody@remote.test'")
check "consent: audit row refused_rcpt|none under Sendmail's queue id" test "$row" = "refused_rcpt|none"

# ---- milter down: 4xx, nothing queued; back: signed --------------------------------
pw_stop_milter || nok "milter stopped"
before=$(pw_sink_count)
pw_sm_send --header 'Subject: while down'
code=$(sed -n 's/^<\*\* *\([0-9][0-9][0-9] [0-9.]*\).*/\1/p' "$PW_SWAKS" | head -1)
check "milter down: 451 4.3.2 from Sendmail (got '${code:-none}')" test "$code" = "451 4.3.2"
check "milter down: not accepted" test -z "$PW_QID"
sleep 1
check "milter down: nothing queued, nothing at the sink" \
    eval 'pw_sm_queue_empty && [ "$(pw_sink_count)" = "$before" ]'
pw_start_milter || nok "milter restarted"
pw_sm_send --header 'Subject: after restart'
f=$(pw_sm_wait_sent "$PW_QID")
check "milter back (Sendmail not restarted): signed and verifies" pw_verify_dkimpy "$f"

pw_done

#!/bin/bash
# t_loop.sh - closing the loop (issue 5) through the whole system: the real
# Postfix, postwarden, postwarden-unsubd (native TLS on 127.0.0.1:PW_PORT_BASE+80)
# and postwarden-ctl on one SQLite store.
#
#   1. one-click: a commercial message is delivered with a generated
#      List-Unsubscribe; the https URI is taken from the delivered copy and
#      POSTed with curl; the next message to that recipient is refused at
#      RCPT; "unsubscribe report" shows the withdrawal, its delay and no
#      message sent after it.
#   2. mailto: the mailto URI of a delivered copy is used as the recipient
#      of an inbound message (XCLIENT, external address); the withdrawal is
#      recorded with the token id, the message discarded, the next
#      commercial message refused.  A repeat records nothing; a tampered
#      token records nothing and is delivered; the From fallback of an
#      organisation that allows it; a store failure is 451.
#   3. evidence: "consent proof", "audit report" (CSV and JSON).
#   4. tampering: one audit row changed, then one deleted, with the
#      append-only triggers dropped as an attacker with file access would:
#      "audit verify" fails naming the row; --expect-head catches deleting
#      the newest rows.
# Ports: PW_PORT_BASE (default 34000), unsubd on PW_PORT_BASE+80.
PW_PORT_BASE=${PW_PORT_BASE:-34000}
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
PORT=${PW_UNSUBD_PORT:-$((PW_PORT_BASE + 80))}
UNSUBD=${PW_UNSUBD:-$PW_BUILD_DIR/tools/postwarden-unsubd}
[ -x "$UNSUBD" ] || pw_bail "postwarden-unsubd built at $UNSUBD"
command -v curl >/dev/null || pw_bail "curl installed"
command -v sqlite3 >/dev/null || pw_bail "sqlite3 installed"
pw_port_free "$PORT" || pw_bail "port $PORT is free"

DB=$T/pw/postwarden.db
STORE=sqlite:$DB
RING=$T/pw/unsub.keys
# as the daemon's user: files SQLite creates (-wal, -shm) stay usable by it
as_user() { if [ -n "$PW_USER" ]; then runuser -u "$PW_USER" -- "$@"; else "$@"; fi; }
ctl() { as_user "$PW_CTL" "$@" --store "$STORE"; }
# with the configuration (organisations file: identification profiles),
# which only root can load (the key ring)
ctl_cfg() { "$PW_CTL" -c "$T/pw/postwarden.conf" "$@" --store "$STORE"; }
db() { as_user sqlite3 "$DB" "$1"; }

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

[org boreal]
domains = boreal.test
sasl_logins = boreal
default_class = commercial
business_name = Boreal Bakery
mailing_address = P.O. Box 42, Whitehorse YT Y1A 0A1
contact_phone = +1 867 555 0142
unsubscribe_url = https://unsub.boreal.test/u/
unsubscribe_mailto = unsub-boreal@boreal.test
unsubscribe_mailto_from = yes
unsubscribe_mailto_action = deliver

# consent checks being rolled out (warn): mail still flows after an
# unsubscribe, which "unsubscribe report" must show
[org free]
domains = free.test
sasl_logins = free-news
default_class = commercial
business_name = Free Stuff Ltd
mailing_address = 9 Side Road, Regina SK S4P 0A1
contact_email = info@free.test
unsubscribe_url = https://unsub.free.test/u/
class_header_mode = off
consent_mode = warn
EOF
# owned by root: postwarden-unsubd accepts no other owner (unlike the
# milter, which also takes the daemon's user); both load it before
# dropping privileges
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/pw/tls.key" \
    -out "$T/pw/tls.crt" -days 2 -subj /CN=unsub.acme.test >/dev/null 2>&1 ||
    pw_bail "openssl made a test certificate"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1._domainkey.acme.test acme.test sel1 "$key"
pw_signing '*@acme.test' sel1._domainkey.acme.test
key=$(pw_key rsa free.test fsel) || pw_bail "free key"
pw_keytable fsel._domainkey.free.test free.test fsel "$key"
pw_signing '*@free.test' fsel._domainkey.free.test
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "unsubd_listen_address = 127.0.0.1"
pw_conf "unsubd_listen_port = $PORT"
pw_conf "unsubd_base_path = /u"
pw_conf "unsubd_tls_cert = $T/pw/tls.crt"
pw_conf "unsubd_tls_key = $T/pw/tls.key"
pw_conf "unsubd_pid_file = $T/pw/unsubd.pid"
pw_write_conf

for a in alice carol dave; do
	ctl consent add "$a@remote.test" --org acme --type express \
	    --source web_form --proof "form-$a" >/dev/null || pw_bail "consent add ($a)"
done

pw_setup
"$UNSUBD" -f -c "$T/pw/postwarden.conf" 2>"$T/pw/unsubd.log" &
PW_PIDS+=($!)
pw_wait_tcp "$PORT" 50 || pw_bail "postwarden-unsubd listens on $PORT ($(cat "$T/pw/unsubd.log"))"

acme() {	# acme TO [swaks args]: commercial mail from acme-news
	local to=$1
	shift
	pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
	    --from news@acme.test --to "$to" --header "Subject: sale" \
	    --body "Everything 50% off! $FOOTER" "$@"
}
# inbound MAIL FROM TO [swaks args]: from an external client, no login
inbound() {
	local from=$1 to=$2
	shift 2
	pw_send_smtp --xclient 203.0.113.7 --from "$from" --to "$to" \
	    --header "Subject: unsubscribe" --body "Please remove me." "$@"
}
tokid() { "$PW_CTL" token verify --ring "$RING" "$1" | awk '/^id:/ {print $2}'; }
# report_field ADDRESS COLUMN: from the CSV of "unsubscribe report"
report_field() {
	awk -F, -v a="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	    $2 == a { print $col[c] }' "$T/ureport.csv"
}

# ---- 1. one-click through the https URI of the delivered copy ---------------
acme alice@remote.test
f=$(pw_wait_sent "$PW_QID")
check "1: commercial message delivered" test -n "$f"
lu=$(pw_header "$f" List-Unsubscribe)
uri=$(sed -n 's/^<\(https:[^>]*\)>.*/\1/p' <<<"$lu")
check "1: delivered copy has a generated https URI" \
    grep -qE '^https://unsub\.acme\.test/u/[A-Za-z0-9_-]+$' <<<"$uri" || diag "$lu"
tok=${uri##*/}
# the previous delivery and the request fall in different seconds (the
# store's resolution), so the report cannot mistake one for the other
sleep 1
code=$(curl -sk -o "$T/post.html" -w '%{http_code}' \
    --connect-to "unsub.acme.test:443:127.0.0.1:$PORT" -X POST \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'List-Unsubscribe=One-Click' "$uri")
check "1: POST to the URI (TLS, postwarden-unsubd): 200" test "$code" = 200 || diag "$(cat "$T/pw/unsubd.log")"
row=$(db "SELECT reason, token_id FROM suppression WHERE address = 'alice@remote.test'")
check "1: withdrawal recorded with the token id" test "$row" = "one_click_post|$(tokid "$tok")" || diag "$row"
acme alice@remote.test
check "1: the next message to the recipient is refused at RCPT" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: consent for acme withdrawn on ' "$PW_SWAKS" || diag "$(tail -5 "$PW_SWAKS")"
check "1: not queued" test -z "$PW_QID"

# ---- 2. mailto through Postfix ------------------------------------------------
acme carol@remote.test
f=$(pw_wait_sent "$PW_QID")
check "2: commercial message delivered" test -n "$f"
mailto=$(pw_header "$f" List-Unsubscribe | sed -n 's/.*<mailto:\([^?>]*\)[?>].*/\1/p')
check "2: delivered copy has a mailto URI with a token" \
    grep -qE '^unsubscribe\+[A-Za-z0-9_-]+@acme\.test$' <<<"$mailto" || diag "$mailto"
mtok=${mailto#unsubscribe+}
mtok=${mtok%@acme.test}
sleep 1
n0=$(pw_sink_count)
inbound carol@remote.test "$mailto"
check "2: unsubscribe mail accepted" grep -q '<- *250 .*queued as' "$PW_SWAKS" || diag "$(tail -5 "$PW_SWAKS")"
q=$PW_QID
for i in $(seq 1 50); do pw_summary "$q" | grep -q . && break; sleep 0.1; done
check "2: summary unsub=recorded(acme,token=ID)" \
    grep -q "unsub=recorded(acme,token=$(tokid "$mtok"))" <<<"$(pw_summary "$q")" || diag "$(pw_summary "$q")"
row=$(db "SELECT reason, token_id, created_at >= requested_at FROM suppression WHERE address = 'carol@remote.test'")
check "2: withdrawal recorded (mailto, token id, effective >= requested)" \
    test "$row" = "mailto|$(tokid "$mtok")|1" || diag "$row"
sleep 1
check "2: discarded (unsubscribe_mailto_action default)" test "$(pw_sink_count)" = "$n0"
grep -q " $q: .*milter-discard" "$T/pf/maillog"
check "2: Postfix logged the milter discard" test $? = 0
acme carol@remote.test
check "2: the next commercial message is refused at RCPT" \
    grep -q '<\*\* *550 5.7.1 <carol@remote.test>: consent for acme withdrawn on ' "$PW_SWAKS"
inbound carol@remote.test "$mailto"
for i in $(seq 1 50); do pw_summary "$PW_QID" | grep -q . && break; sleep 0.1; done
check "2: repeated mail: already in force" grep -q 'unsub=already(acme' <<<"$(pw_summary "$PW_QID")"
check "2: repeated mail: nothing new recorded" \
    test "$(db "SELECT count(*) FROM suppression WHERE address = 'carol@remote.test'")" = 1

# a tampered token records nothing; acme does not allow the From
# fallback, so the message is delivered for a person to read
c=${mtok:20:1}
[ "$c" = A ] && c=B || c=A
bad=${mtok:0:20}$c${mtok:21}
inbound dave@remote.test "unsubscribe+$bad@acme.test"
f=$(pw_wait_sent "$PW_QID")
check "2: tampered token: delivered, not discarded" test -n "$f"
check "2: tampered token: summary says ignored" grep -q 'unsub=ignored(' <<<"$(pw_summary "$PW_QID")"
check "2: tampered token: nothing recorded" \
    test "$(db "SELECT count(*) FROM suppression WHERE address = 'dave@remote.test'")" = 0
# boreal allows the From fallback and delivers
inbound 'erin@remote.test' unsub-boreal@boreal.test --header 'From: Erin <Erin@Remote.test>'
f=$(pw_wait_sent "$PW_QID")
check "2: From fallback: delivered (unsubscribe_mailto_action = deliver)" test -n "$f"
row=$(db "SELECT org, reason, token_id IS NULL FROM suppression WHERE address = 'erin@remote.test'")
check "2: From fallback: recorded for the normalised From address" test "$row" = "boreal|mailto_from|1" || diag "$row"
# the store failing: 451, so that the sender retries
chmod 000 "$DB"
inbound dave@remote.test "unsubscribe+$mtok@acme.test"
check "2: store unreadable: 451 4.3.0" grep -q '<\*\* *451 4.3.0 unsubscribe request could not be recorded' "$PW_SWAKS" ||
    diag "$(tail -4 "$PW_SWAKS")"
chmod 600 "$DB"

# ---- 3. evidence ---------------------------------------------------------------
ctl unsubscribe report --org acme >"$T/ureport.csv" 2>"$T/ureport.err"
check "3: unsubscribe report: exit 0 (nothing sent after a request)" test $? = 0 || diag "$(cat "$T/ureport.err")"
d=$(report_field alice@remote.test delay_s)
# requested_at and effective_at are whole seconds: 0 is under one second;
# 1 only when the POST straddled a second boundary
check "3: one-click delay under one second (store resolution: 1 s)" test -n "$d" -a "${d:-9}" -le 1 || diag "$(cat "$T/ureport.csv")"
check "3: one-click: no message sent after the request" test "$(report_field alice@remote.test sent_after)" = 0
check "3: mailto: listed with its source" test "$(report_field carol@remote.test source)" = mailto
check "3: mailto: no message sent after the request" test "$(report_field carol@remote.test sent_after)" = 0
ctl unsubscribe report --org acme --format json >"$T/ureport.json"
check "3: unsubscribe report JSON parses, one object per withdrawal" \
    "$PW_PY" -c 'import json,sys; v=[json.loads(l) for l in open(sys.argv[1])]; assert len(v)==2 and all(type(o["delay_s"]) is int for o in v)' "$T/ureport.json"

ctl consent proof alice@remote.test --org acme >"$T/proof.txt"
check "3: consent proof: the consent with source and proof" \
    grep -q '^consent id=[0-9]* type=express .*source=web_form proof=form-alice' "$T/proof.txt" || diag "$(cat "$T/proof.txt")"
check "3: consent proof: the withdrawal with its token" \
    grep -q "^withdrawal .*source=one_click_post token_id=$(tokid "$tok")" "$T/proof.txt"
check "3: consent proof: the delivered message with the basis then in force" \
    grep -q '^message .*class=commercial action=delivered consent=express basis_id=[1-9][0-9]* basis_type=express' "$T/proof.txt"
check "3: consent proof: the refused message after the withdrawal" \
    grep -q '^message .*action=refused_rcpt consent=withdrawn' "$T/proof.txt"
ctl consent proof alice@remote.test --org acme --format json >"$T/proof.json"
check "3: consent proof JSON parses" "$PW_PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/proof.json"

ctl_cfg audit report --org acme --format csv >"$T/areport.csv"
check "3: audit report: header names the columns" \
    grep -q '^audit_id,time,queue_id,message_id,recipient,class,class_source,consent,basis_id,basis_type,basis_expires,ident_profile,token_id,signature,action,reason,retry_of$' "$T/areport.csv"
check "3: audit report: delivered row with token, signature, profile" \
    grep -qE '^[0-9]+,[^,]+,[^,]+,[^,]+,alice@remote\.test,commercial,organisation,express,[0-9]+,express,,sha256:[0-9a-f]{16},[0-9a-f]{16},d=acme\.test; s=sel1,delivered,,$' "$T/areport.csv" ||
    diag "$(cat "$T/areport.csv")"
n=$(db "SELECT count(*) FROM audit WHERE org = 'acme'")
check "3: audit report: one line per audit row of the organisation" test "$(($(wc -l <"$T/areport.csv") - 1))" = "$n"
ctl_cfg audit report --org acme --format json --since "$(date -u +%Y-%m-%d)" >"$T/areport.json"
check "3: audit report JSON: every line an object with the fields" \
    "$PW_PY" -c 'import json,sys; v=[json.loads(l) for l in open(sys.argv[1])]; assert len(v)==int(sys.argv[2]); assert all({"class","consent","basis_type","ident_profile","token_id","signature","action"} <= o.keys() for o in v)' "$T/areport.json" "$n"
ctl audit report --org acme --until 2000-01-01 >"$T/empty.csv"
check "3: audit report --until in the past: header only" test "$(wc -l <"$T/empty.csv")" = 1

# a message delivered after the request (consent_mode = warn) is shown
FFOOTER='Free Stuff Ltd | 9 Side Road, Regina SK S4P 0A1 | info@free.test'
free() {
	pw_send_smtp --xclient-addr 198.51.100.33 --xclient-login free-news \
	    --from news@free.test --to frank@remote.test --header "Subject: free" \
	    --body "Free things! $FFOOTER"
}
free
f=$(pw_wait_sent "$PW_QID")
furi=$(pw_header "$f" List-Unsubscribe | sed -n 's/^<\(https:[^>]*\)>.*/\1/p')
sleep 1
code=$(curl -sk -o /dev/null -w '%{http_code}' \
    --connect-to "unsub.free.test:443:127.0.0.1:$PORT" -X POST \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'List-Unsubscribe=One-Click' "$furi")
check "3: warn-mode organisation: one-click POST 200" test "$code" = 200
free
late=$(pw_wait_sent "$PW_QID" >/dev/null && echo "$PW_QID")
check "3: warn mode: the next message is still delivered" test -n "$late"
out=$(ctl unsubscribe report --org free 2>&1)
check "3: unsubscribe report exits 1 when a message was sent after a request" test $? = 1
check "3: ... and names it" grep -q "^[0-9]*,frank@remote.test,.*,1,$late/[0-9]*\$" <<<"$out" || diag "$out"

# ---- 4. tampering --------------------------------------------------------------
out=$(ctl audit verify)
check "4: audit verify: intact" test $? = 0 || diag "$out"
head=$(sed -n 's/.*head \([0-9a-f]\{64\}\)$/\1/p' <<<"$out")
last=$(db "SELECT max(id) FROM audit")
pw_stop_milter	# nothing appends while the attacker edits
db "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
orig=$(db "SELECT recipient FROM audit WHERE id = 2")
db "UPDATE audit SET recipient = 'mallory@remote.test' WHERE id = 2"
out=$(ctl audit verify)
check "4: one row changed: audit verify fails" test $? = 1
check "4: ... naming row 2" grep -q 'BROKEN at row 2: row changed' <<<"$out" || diag "$out"
db "UPDATE audit SET recipient = '$orig' WHERE id = 2"
out=$(ctl audit verify)
check "4: the row put back exactly: intact again" test $? = 0 || diag "$out"
db "DELETE FROM audit WHERE id = 2"
out=$(ctl audit verify)
check "4: one row deleted: audit verify fails naming the row after the gap" \
    grep -q 'BROKEN at row 3: rows missing before it' <<<"$out" || diag "$out"
# the newest row deleted: a shorter chain verifies by itself, but not
# against the head recorded before
COPY=$T/pw/copy.db	# $T/pw belongs to the daemon's user
db ".backup '$COPY'"
as_user sqlite3 "$COPY" "DELETE FROM audit WHERE id >= 2"
out=$(as_user "$PW_CTL" audit verify --store "sqlite:$COPY")
check "4: newest rows deleted: the shorter chain alone verifies" test $? = 0 || diag "$out"
out=$(as_user "$PW_CTL" audit verify --store "sqlite:$COPY" --expect-head "$head")
check "4: ... but not against the head recorded before ($last rows)" \
    grep -q 'BROKEN: no row has the expected head' <<<"$out" || diag "$out"
pw_done

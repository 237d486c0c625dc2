#!/bin/bash
# t_lists.sh - consent per mailing list (issue 12) through the real
# Postfix and postwarden-unsubd: a message belongs to the list of its
# List-Id (RFC 2919) or of a Postwarden-List header from the
# organisation's own submitter (removed before it leaves); consent,
# withdrawals and unsubscribe tokens are per (organisation, list);
# consent and withdrawals without a list cover every list.
# acme's class is final at MAIL FROM (class_header_mode = off), so the
# RCPT-time path (list not yet known) is exercised as well.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
UNSUBD=${PW_UNSUBD:-$PW_BUILD_DIR/tools/postwarden-unsubd}
[ -x "$UNSUBD" ] || pw_bail "postwarden-unsubd built at $UNSUBD"
command -v curl >/dev/null || pw_bail "curl installed"
UPORT=$((PW_PORT_BASE + 80))
pw_port_free "$UPORT" || pw_bail "port $UPORT is free"

DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@" --store "sqlite:$DB"
	else
		"$PW_CTL" "$@" --store "sqlite:$DB"
	fi
}
FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
cat >"$T/pw/organisations.conf" <<EOF
[org acme]
domains = acme.test
sasl_logins = acme-news
default_class = commercial
business_name = Acme Widgets Inc.
mailing_address = 123 Main Street West, Toronto ON M5V 1A1
contact_email = info@acme.test
unsubscribe_url = https://127.0.0.1:$UPORT/u/
class_header_mode = off
multi_recipient = rcpt_limit
missing_consent = refuse_at_rcpt
EOF
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable acme acme.test sel1 "$key"
pw_signing '*@acme.test' acme
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "unsubd_listen_address = 127.0.0.1"
pw_conf "unsubd_listen_port = $UPORT"
pw_conf "unsubd_base_path = /u"
pw_conf "unsubd_pid_file = $T/pw/unsubd.pid"
pw_write_conf

NEWS=news.acme.test
DEALS=deals.acme.test
ctl consent add alice@remote.test --org acme --type express --list "$NEWS" \
    --source web_form >/dev/null || pw_bail "consent add (alice, news)"
ctl consent add bob@remote.test --org acme --type express \
    --source web_form >/dev/null || pw_bail "consent add (bob, every list)"
ctl consent add carol@remote.test --org acme --type express --list "$NEWS" \
    --source web_form >/dev/null || pw_bail "consent add (carol, news)"
ctl consent add carol@remote.test --org acme --type express --list "$DEALS" \
    --source web_form >/dev/null || pw_bail "consent add (carol, deals)"

pw_setup
"$UNSUBD" -f -c "$T/pw/postwarden.conf" 2>"$T/unsubd.log" &
PW_PIDS+=($!)
pw_wait_tcp "$UPORT" 50 || pw_bail "unsubd listens on $UPORT ($(cat "$T/unsubd.log"))"

# send TO LISTID [swaks args]: commercial mail of acme on list LISTID
# ("" = no List-Id)
send() {
	local to=$1 lid=$2 h=()
	shift 2
	[ -n "$lid" ] && h=(--header "List-Id: Acme $lid <$lid>")
	pw_send_smtp --xclient-addr 198.51.100.40 --xclient-login acme-news \
	    --from news@acme.test --to "$to" --header "Subject: ${lid:-no list}" \
	    "${h[@]}" --body "Sale! $FOOTER" "$@"
}
# token FILE: the one-click token of a delivered copy
token() { pw_header "$1" List-Unsubscribe | sed -n 's|^<https://127\.0\.0\.1:[0-9]*/u/\([^>]*\)>.*|\1|p'; }
# click TOKEN [BODY]: the one-click POST (RFC 8058), or the page's form
click() {
	curl -s -o "$T/click.html" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary "${2:-List-Unsubscribe=One-Click}" \
	    "http://127.0.0.1:$UPORT/u/$1"
}

# 1. consent for list news only
send alice@remote.test "$NEWS"
f=$(pw_wait_sent "$PW_QID")
check "news-only consent: List-Id news delivered" test -n "$f"
check "news-only consent: summary list=$NEWS consent=ok" \
    grep -q "list=$NEWS .*consent=ok:1" <<<"$(pw_summary "$PW_QID")"
tok=$(token "$f")
# as the daemon's user, who owns the ring
if [ -n "$PW_USER" ]; then
	out=$(runuser -u "$PW_USER" -- "$PW_CTL" token verify --ring "$RING" --org acme "$tok" 2>&1)
else
	out=$("$PW_CTL" token verify --ring "$RING" --org acme "$tok" 2>&1)
fi
check "news mail: its unsubscribe token names the list" grep -q "^list: $NEWS\$" <<<"$out" || diag "$out"
send alice@remote.test "$DEALS"
check "news-only consent: List-Id deals refused, the reply names the list" \
    grep -q "<\*\* *550 5.7.1 <alice@remote.test>: no consent on record for acme list $DEALS" "$PW_SWAKS"
check "news-only consent: deals not queued" test -z "$PW_QID"
send alice@remote.test ""
check "news-only consent: mail on no list refused" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: no consent on record for acme$' "$PW_SWAKS"
send alice@remote.test "Bad<List>"
check "unusable List-Id: on no list, refused" grep -q '<\*\* *550 5.7.1 <alice@remote.test>: no consent on record for acme' "$PW_SWAKS"

# 2. consent with no list covers every list (and mail on no list)
send bob@remote.test "$NEWS"
check "every-list consent: news delivered" test -n "$(pw_wait_sent "$PW_QID")"
send bob@remote.test "$DEALS"
check "every-list consent: deals delivered" test -n "$(pw_wait_sent "$PW_QID")"
send bob@remote.test ""
check "every-list consent: no list delivered" test -n "$(pw_wait_sent "$PW_QID")"

# 3. Postwarden-List from acme's own login names the list and is removed;
#    from a login acme does not list it is ignored (and removed).
pw_send_smtp --xclient-addr 198.51.100.40 --xclient-login acme-news \
    --from news@acme.test --to alice@remote.test --header 'Subject: pl' \
    --header "Postwarden-List: $NEWS" --body "Sale! $FOOTER"
f=$(pw_wait_sent "$PW_QID")
check "Postwarden-List (trusted): delivered on list news" test -n "$f"
check "Postwarden-List (trusted): summary list=$NEWS" grep -q "list=$NEWS" <<<"$(pw_summary "$PW_QID")"
check "Postwarden-List: removed from the delivered copy" ! grep -qi '^Postwarden-List:' "$f"
pw_send_smtp --xclient-addr 198.51.100.41 --xclient-login mallory \
    --from news@acme.test --to alice@remote.test --header 'Subject: pl2' \
    --header "Postwarden-List: $NEWS" --body "Sale! $FOOTER"
check "Postwarden-List (untrusted): ignored, mail on no list refused" \
    grep -q '<\*\* *550 5.7.1 <alice@remote.test>: no consent on record for acme$' "$PW_SWAKS"
check "Postwarden-List (untrusted): logged" grep -q 'classify: Postwarden-List from an untrusted submitter: ignored and removed' "$T/pw/log"

# 4. one-click on the news token withdraws news only
send carol@remote.test "$NEWS"
f=$(pw_wait_sent "$PW_QID")
check "carol: news delivered" test -n "$f"
ntok=$(token "$f")
check "one-click POST on the news token: 200" test "$(click "$ntok")" = 200
check "unsubd's answer names the list" grep -q "$NEWS" "$T/click.html"
send carol@remote.test "$NEWS"
check "after one-click: next news mail refused (withdrawn)" \
    grep -q "<\*\* *550 5.7.1 <carol@remote.test>: consent for acme list $NEWS withdrawn on $(date -u +%Y-%m-%d)" "$PW_SWAKS"
send carol@remote.test "$DEALS"
f=$(pw_wait_sent "$PW_QID")
check "after one-click: deals mail still delivered" test -n "$f"
dtok=$(token "$f")
out=$(ctl consent show carol@remote.test --org acme --list "$NEWS" 2>&1)
check "consent show --list news: withdrawn" grep -qi 'withdrawn' <<<"$out" || diag "$out"
out=$(ctl consent show carol@remote.test --org acme --list "$DEALS" 2>&1)
check "consent show --list deals: express" grep -qi 'state: express' <<<"$out" || diag "$out"
out=$(ctl consent export --org acme 2>&1)
check "consent export carries the list" grep -q "carol@remote.test.*,$DEALS," <<<"$out" || diag "$out"

# 5. the page's "all lists" button: every list withdrawn
page=$(curl -s "http://127.0.0.1:$UPORT/u/$dtok")
check "unsubd page offers this list" grep -q '>Unsubscribe from this list</button>' <<<"$page"
check "unsubd page offers all lists" grep -q 'name="scope" value="all"' <<<"$page"
check "scope=all POST: 200" test "$(click "$dtok" 'List-Unsubscribe=One-Click&scope=all')" = 200
send carol@remote.test "$DEALS"
check "after all: deals refused" grep -q '<\*\* *550 5.7.1 <carol@remote.test>: consent for acme withdrawn' "$PW_SWAKS"
send carol@remote.test "$NEWS"
check "after all: news refused" grep -q '<\*\* *550 5.7.1 <carol@remote.test>: consent for acme withdrawn' "$PW_SWAKS"
# bob untouched
send bob@remote.test "$NEWS"
check "others unaffected: bob's news delivered" test -n "$(pw_wait_sent "$PW_QID")"

check "milter still running" pw_milter_running
pw_done

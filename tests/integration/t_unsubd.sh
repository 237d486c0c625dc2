#!/bin/bash
# t_unsubd.sh - postwarden-unsubd, the RFC 8058 one-click endpoint, with
# curl against a real daemon on 127.0.0.1:PW_PORT_BASE+80, a temporary SQLite store
# and a key ring made with `postwarden-ctl token newkey`.  No Postfix.
#
# Checks: POST one-click (urlencoded and multipart) records one withdrawal
# with requested_at and effective_at; a second POST is 200 and records
# nothing; GET shows the organisation and a POST form and records nothing;
# tampered, unknown-key and wrong-organisation tokens get the same 404 and
# record nothing; wrong method 405; oversized body 413; store unreadable
# 503 (and the retry then succeeds); per-client rate limit 429; no
# redirects, no cookies; the daemon runs as the configured user; native
# TLS with a certificate and key.
# lib.sh checks that the ports derived from PW_PORT_BASE are free and makes
# $T (cleaned up on exit with every pid in PW_PIDS): use this helper's range.
PW_PORT_BASE=${PW_PORT_BASE:-32000}
. "$(dirname "$0")/lib.sh"

PORT=${PW_UNSUBD_PORT:-$((PW_PORT_BASE + 80))}
TLS_PORT=$((PORT + 1))
UNSUBD=${PW_UNSUBD:-$PW_BUILD_DIR/tools/postwarden-unsubd}
[ -x "$UNSUBD" ] || pw_bail "postwarden-unsubd built at $UNSUBD"
[ -x "$PW_CTL" ] || pw_bail "postwarden-ctl built at $PW_CTL"
[ "$(id -u)" -eq 0 ] || pw_bail "run as root (the daemon drops to \$PW_USER)"
command -v curl >/dev/null || pw_bail "curl installed"
for p in $PORT $TLS_PORT; do
	pw_port_free "$p" || pw_bail "port $p is free"
done

RING=$T/ring
DB=$T/pw/unsubd.db	# $T/pw belongs to $PW_USER (pw_init)
STORE=sqlite:$DB
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "token newkey"
cat >"$T/orgs.conf" <<EOF
[org acme]
domains         = acme.example
business_name   = Acme Widgets <Inc.>
mailing_address = 1 Main Street, Toronto ON, Canada
contact_email   = info@acme.example
unsubscribe_url = https://127.0.0.1:$PORT/u/
[org other]
domains         = other.example
business_name   = Other Ltd.
mailing_address = 2 Main Street, Toronto ON, Canada
contact_email   = info@other.example
unsubscribe_url = https://127.0.0.1:$PORT/u/other/
EOF
cat >"$T/postwarden.conf" <<EOF
log = stderr
${PW_USER:+user = $PW_USER}
store = $STORE
organisations = file:$T/orgs.conf
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $PORT
unsubd_base_path = /u
unsubscribe_keys = $RING
unsubd_max_body = 1k
unsubd_rate_limit = 40
unsubd_pid_file = $T/unsubd.pid
EOF

# as_user CMD...: run as the daemon's user (root would create WAL files
# the daemon cannot write)
as_user() { if [ -n "$PW_USER" ]; then runuser -u "$PW_USER" -- "$@"; else "$@"; fi; }
rows() { [ -f "$DB" ] || { echo 0; return; }; as_user sqlite3 "$DB" 'SELECT count(*) FROM suppression'; }
mint() { "$PW_CTL" token mint --ring "$RING" --org acme "$@"; }
# req METHOD URL [curl args]: sets code, hdr (headers), body
req() {
	local m=$1 u=$2
	shift 2
	code=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$@" "$u")
	body=$(cat "$T/body")
	hdr=$(cat "$T/hdr")
	cat "$T/hdr" >>"$T/all-headers"
}
U=http://127.0.0.1:$PORT/u
OC=(-H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'List-Unsubscribe=One-Click')

# ---- start -------------------------------------------------------------------
out=$("$UNSUBD" -n -c "$T/postwarden.conf" 2>&1)
check "-n accepts the configuration" test $? = 0 || diag "$out"
out=$("$PW_POSTWARDEN" -n -c "$T/postwarden.conf" 2>&1)
check "postwarden -n accepts the unsubd_* keys" test $? = 0 || diag "$out"
printf 'unsubd_listen_port = 0\nunsubd_tls_cert = /x\n' >"$T/bad.conf"
out=$("$UNSUBD" -n -c "$T/bad.conf" 2>&1)
check "bad settings are reported as FILE:LINE" grep -q "$T/bad.conf:1: .*unsubd_listen_port" <<<"$out" || diag "$out"

"$UNSUBD" -f -c "$T/postwarden.conf" 2>"$T/log" &
PW_PIDS+=($!)
PID=$!
pw_wait_tcp "$PORT" 50 || pw_bail "daemon listens on $PORT ($(cat "$T/log"))"
ok "daemon listens on 127.0.0.1:$PORT"
if [ -n "$PW_USER" ]; then
	uid=$(awk '/^Uid:/ {print $3}' "/proc/$PID/status")
	check "runs as $PW_USER after binding" test "$uid" = "$(id -u "$PW_USER")"
fi

tok=$(mint --list news bob@example.com)
tokid=$("$PW_CTL" token verify --ring "$RING" "$tok" | awk '/^id:/ {print $2}')

# ---- GET never unsubscribes ------------------------------------------------------
req GET "$U/$tok"
check "GET: 200" test "$code" = 200
check "GET: page names the organisation (escaped)" grep -q 'Acme Widgets &lt;Inc.&gt;' <<<"$body"
check "GET: the sentence ends with one full stop after the name" grep -q 'from Acme Widgets &lt;Inc.&gt;\.</p>' <<<"$body"
req GET "$U/other/$("$PW_CTL" token mint --ring "$RING" --org other ivy@example.com)"
check "GET: a name ending in a dot gets no second one (Other Ltd.)" \
    grep -q 'commercial messages from Other Ltd\.</p>' <<<"$body" || diag "$body"
check "GET: never Ltd.." ! grep -q 'Ltd\.\.' <<<"$body"
req GET "$U/$tok"
check "GET: offers a POST button with the one-click field" \
    grep -q '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">' <<<"$body"
check "GET: records nothing" test "$(rows)" = 0
req HEAD "$U/$tok" -I
check "HEAD: 200, records nothing" test "$code" = 200 -a "$(rows)" = 0

# ---- POST one-click ----------------------------------------------------------------
t0=$(date +%s)
req POST "$U/$tok" "${OC[@]}"
check "POST one-click (urlencoded): 200" test "$code" = 200 || diag "$body"
check "POST: one withdrawal row" test "$(rows)" = 1
row=$(as_user sqlite3 -separator ' ' "$DB" \
    'SELECT org, address, list, reason, token_id, requested_at, created_at FROM suppression')
read -r r_org r_addr r_list r_reason r_tok r_req r_eff <<<"$row"
check "row: org, address, list, reason" test "$r_org $r_addr $r_list $r_reason" = \
    "acme bob@example.com news one_click_post" || diag "$row"
check "row: token id recorded" test -n "$tokid" -a "$r_tok" = "$tokid" || diag "$row / $tokid"
check "row: requested_at and effective_at set, delay < 2 s" \
    test "$r_req" -ge "$t0" -a "$r_eff" -ge "$r_req" -a $((r_eff - r_req)) -lt 2 || diag "$row"
st=$(as_user "$PW_CTL" consent show bob@example.com --org acme --list news --store "$STORE" 2>&1)
check "consent show: withdrawn" grep -qi withdrawn <<<"$st" || diag "$st"
first=$body
req POST "$U/$tok" "${OC[@]}"
check "second POST: 200, same page" test "$code" = 200 -a "$body" = "$first"
check "second POST: no new row" test "$(rows)" = 1
req GET "$U/$tok"
check "GET after: 200, no new row" test "$code" = 200 -a "$(rows)" = 1

tok2=$(mint carol@example.com)
req POST "$U/$tok2" -F 'List-Unsubscribe=One-Click'
check "POST one-click (multipart/form-data): 200" test "$code" = 200 || diag "$body"
check "multipart: one more row" test "$(rows)" = 2
req POST "$U/acme/$(mint dave@example.com)" "${OC[@]}"
check "POST to BASE/ORG/TOKEN for the right organisation: 200" test "$code" = 200 -a "$(rows)" = 3

req POST "$U/$(mint --list news ivan@example.com)" --data-binary 'List-Unsubscribe=One-Click&scope=all'
l=$(as_user sqlite3 "$DB" "SELECT quote(list) FROM suppression WHERE address = 'ivan@example.com'")
check "scope=all (the page's second button): one row for every list" test "$code" = 200 -a "$l" = "''" || diag "$code $l"

# ---- bad tokens --------------------------------------------------------------------
n=$(rows)
c=$(printf %s "$tok" | cut -c31)
[ "$c" = A ] && r=B || r=A
bad=$(printf %s "$tok" | cut -c1-30)$r$(printf %s "$tok" | cut -c32-)
req POST "$U/$bad" "${OC[@]}"
check "tampered token: 404" test "$code" = 404
badbody=$body
"$PW_CTL" token newkey --ring "$T/ring2" --id 7 >/dev/null
req POST "$U/$("$PW_CTL" token mint --ring "$T/ring2" --org acme erin@example.com)" "${OC[@]}"
check "unknown key: 404, same page as tampered" test "$code" = 404 -a "$body" = "$badbody"
req POST "$U/other/$(mint frank@example.com)" "${OC[@]}"
check "wrong organisation in the path: 404, same page" test "$code" = 404 -a "$body" = "$badbody"
req GET "$U/$bad"
check "GET tampered token: 404" test "$code" = 404
req POST "$U/AAAA" "${OC[@]}"
check "malformed token: 400" test "$code" = 400
req POST "$U/$(mint gina@example.com)" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'List-Unsubscribe=Yes'
check "POST without the one-click body: 400" test "$code" = 400
req POST "http://127.0.0.1:$PORT/elsewhere/$tok" "${OC[@]}"
check "path outside the base: 404" test "$code" = 404
check "bad requests recorded nothing" test "$(rows)" = "$n"

# ---- method and size ---------------------------------------------------------------
req PUT "$U/$tok" "${OC[@]}"
check "PUT: 405 with Allow" test "$code" = 405 && grep -qi '^Allow: GET, HEAD, POST' <<<"$hdr"
req DELETE "$U/$tok"
check "DELETE: 405" test "$code" = 405
tok3=$(mint hana@example.com)
head -c 2048 /dev/zero | tr '\0' a >"$T/big"
req POST "$U/$tok3" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/big"
check "oversized body (Content-Length): 413" test "$code" = 413
req POST "$U/$tok3" -H 'Content-Type: application/x-www-form-urlencoded' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
check "oversized body (chunked): 413" test "$code" = 413
check "oversized requests recorded nothing" test "$(rows)" = "$n"

# ---- store down --------------------------------------------------------------------
chmod 000 "$DB"
req POST "$U/$tok3" "${OC[@]}"
check "store unreadable: 503 with Retry-After" test "$code" = 503 && grep -qi '^Retry-After:' <<<"$hdr"
chmod 600 "$DB"
req POST "$U/$tok3" "${OC[@]}"
check "store back: the retry records the withdrawal" test "$code" = 200 -a "$(rows)" = $((n + 1))

# ---- headers -----------------------------------------------------------------------
check "no response set a cookie" ! grep -qi '^Set-Cookie:' "$T/all-headers"
check "no response redirected" ! grep -qi '^Location:' "$T/all-headers"
check "responses are not cached" grep -qi '^Cache-Control: no-store' <<<"$hdr"

# ---- rate limit (40 per minute, this client has used about 30) --------------------------
codes=$(for i in $(seq 1 40); do curl -s -o /dev/null -w '%{http_code}\n' "$U/$tok"; done | sort | uniq -c)
check "rate limit: 429 after the allowance" grep -q ' 429$' <<<"$codes" || diag "$codes"
check "rate limit: requests before it were answered" grep -q ' 200$' <<<"$codes" || diag "$codes"

# ---- native TLS ------------------------------------------------------------------------
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" \
    -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1; then
	sed -e "s/^unsubd_listen_port = .*/unsubd_listen_port = $TLS_PORT/" \
	    -e "/^unsubd_pid_file/d" "$T/postwarden.conf" >"$T/tls.conf"
	printf 'unsubd_tls_cert = %s\nunsubd_tls_key = %s\n' "$T/tls.crt" "$T/tls.key" >>"$T/tls.conf"
	"$UNSUBD" -f -c "$T/tls.conf" 2>"$T/tls.log" &
	PW_PIDS+=($!)
	if pw_wait_tcp "$TLS_PORT" 50; then
		code=$(curl -sk -o "$T/body" -w '%{http_code}' "https://127.0.0.1:$TLS_PORT/u/$tok")
		check "TLS: GET over https: 200" test "$code" = 200
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TLS_PORT/u/$tok")
		check "TLS: plain http is not served" test "$code" != 200
	else
		nok "TLS instance listens ($(cat "$T/tls.log"))"
	fi
else
	nok "openssl made a test certificate"
fi

# ---- stop --------------------------------------------------------------------------------
kill "$PID"
check "SIGTERM: exits" pw_wait_gone "$PID" 50
pw_done

#!/bin/bash
# t_metrics.sh - the Prometheus endpoints (issue 15): metrics_listen on
# postwarden, unsubd_metrics_listen on postwarden-unsubd.  Mail goes
# through the private Postfix; every scrape is parsed with Debian's
# python3-prometheus-client (metrics.py), and the counters must move by
# exactly what was sent.
#
# Ports: metrics on PW_PORT_BASE+100 (milter) and +101 (unsubd), unsubd
# HTTP on +80.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
command -v curl >/dev/null || pw_bail "curl installed"
"$PW_PY" -c 'import prometheus_client' 2>/dev/null ||
    pw_bail "python3-prometheus-client installed"

MPORT=$((PW_PORT_BASE + 100))
UMPORT=$((PW_PORT_BASE + 101))
UPORT=$((PW_PORT_BASE + 80))
for p in $MPORT $UMPORT $UPORT; do
	pw_port_free "$p" || pw_bail "port $p is free"
done
M="$PW_PY $PW_IT/metrics.py"
DB=$T/pw/postwarden.db
RING=$T/pw/unsub.keys
IP=198.51.100.7

# scrape NAME [URL]: save the exposition as $T/NAME.prom; fails on HTTP
# errors and on what the parser refuses
scrape() {
	curl -sf -o "$T/$1.prom" "${2:-http://127.0.0.1:$MPORT/metrics}" &&
	    $M "$T/$1.prom" check >/dev/null
}
# val SCRAPE NAME [L=V...]
val() { local f=$1; shift; $M "$T/$f.prom" value "$@"; }
# delta A B NAME [L=V...]: value in B minus value in A (integers)
delta() {
	local a=$1 b=$2 x y
	shift 2
	x=$(val "$a" "$@")
	y=$(val "$b" "$@")
	echo $((${y%.*} - ${x%.*}))
}
# expect_delta WHAT A B N NAME [L=V...]
expect_delta() {
	local what=$1 a=$2 b=$3 n=$4 d
	shift 4
	d=$(delta "$a" "$b" "$@")
	check "$what: $* moved by $n" test "$d" = "$n" || diag "moved by $d"
}

# ---- setup: one organisation with consent rules, a signing key, DNS -------
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
EOF
FOOTER='Acme Widgets Inc. | 123 Main Street West, Toronto ON M5V 1A1 | info@acme.test'
"$PW_CTL" token newkey --ring "$RING" >/dev/null || pw_bail "key ring created"
[ -z "$PW_USER" ] || chown "$PW_USER" "$RING"
key=$(pw_key rsa acme.test sel1) || pw_bail "acme key"
pw_keytable sel1 acme.test sel1 "$key"
pw_signing '*@acme.test' sel1
key=$(pw_key ed25519 example.test ed1) || pw_bail "example key"
pw_keytable ed1 example.test ed1 "$key"
pw_signing '*@example.test' ed1
pw_dns_add "a.test. 60 IN TXT \"v=spf1 ip4:$IP -all\""
pw_dns_add "_dmarc.a.test. 60 IN TXT \"v=DMARC1; p=none\""
pw_conf "organisations = file:$T/pw/organisations.conf"
pw_conf "unsubscribe_keys = $RING"
pw_conf "metrics_listen = 127.0.0.1:$MPORT"
pw_write_conf
ctl() {
	if [ -n "$PW_USER" ]; then
		runuser -u "$PW_USER" -- "$PW_CTL" "$@" --store "sqlite:$DB"
	else
		"$PW_CTL" "$@" --store "sqlite:$DB"
	fi
}
ctl consent add alice@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (alice)"
ctl consent add dave@remote.test --org acme --type express --source web_form \
    >/dev/null || pw_bail "consent add (dave)"
ctl consent withdraw dave@remote.test --org acme >/dev/null || pw_bail "withdraw (dave)"

# ---- -n: a bad metrics_listen is a FILE:LINE error --------------------------
printf 'metrics_listen = localhost:9830\n' >"$T/bad.conf"
out=$("$PW_POSTWARDEN" -n -c "$T/bad.conf" 2>&1)
rc=$?
check "-n: metrics_listen = localhost:9830 refused with FILE:LINE" \
    test $rc != 0 -a -n "$(grep "$T/bad.conf:1: metrics_listen" <<<"$out")" || diag "$out"

pw_setup

# ---- the endpoint -------------------------------------------------------------
check "GET /metrics: 200, parsed by prometheus_client" scrape s0
ct=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$MPORT/metrics")
check "Content-Type is the text format 0.0.4" test "$ct" = "text/plain; version=0.0.4; charset=utf-8"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")
check "other paths: 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")
check "POST: 405" test "$code" = 405
check "build info: version label" test "$(val s0 postwarden_build_info version="$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$PW_TOP/configure.ac")")" = 1
for ip in milterio keycache pubkeycache; do
	check "interposer gauge: $ip active" test "$(val s0 postwarden_interposer_active name=$ip)" = 1
done

# ---- outbound: three signed messages ------------------------------------------
for i in 1 2 3; do
	pw_send_smtp --from user@example.test --header "Subject: m$i"
	pw_wait_sent "$PW_QID" >/dev/null || nok "outbound $i delivered"
done
scrape s1 || nok "scrape s1"
expect_delta "3 outbound" s0 s1 3 postwarden_messages_total direction=outbound action=accept
expect_delta "3 outbound" s0 s1 3 postwarden_dkim_signatures_total domain=example.test selector=ed1 algorithm=ed25519-sha256
expect_delta "3 outbound" s0 s1 3 postwarden_eom_duration_seconds_count direction=outbound
expect_delta "3 outbound" s0 s1 0 postwarden_messages_total direction=inbound
check "types: messages counter, eom histogram" \
    test "$($M "$T/s1.prom" type postwarden_messages)/$($M "$T/s1.prom" type postwarden_eom_duration_seconds)" = counter/histogram
s=$(val s1 postwarden_eom_duration_seconds_sum direction=outbound)
check "eom time: a positive number of seconds under 10" \
    "$PW_PY" -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 0 < v < 10 else 1)" "$s"

# ---- inbound: SPF pass, no DKIM signature, DMARC pass (aligned SPF) -------
for i in 1 2; do
	pw_send_smtp --xclient "$IP" --from x@a.test --to bob@example.test \
	    --header "Subject: in$i"
	pw_wait_sent "$PW_QID" >/dev/null || nok "inbound $i delivered"
done
scrape s2 || nok "scrape s2"
expect_delta "2 inbound" s1 s2 2 postwarden_messages_total direction=inbound action=accept
expect_delta "2 inbound" s1 s2 2 postwarden_spf_results_total result=pass
expect_delta "2 inbound" s1 s2 2 postwarden_dkim_verify_results_total result=none
expect_delta "2 inbound" s1 s2 2 postwarden_dmarc_results_total result=pass disposition=none
expect_delta "2 inbound" s1 s2 2 postwarden_eom_duration_seconds_count direction=inbound
d=$(delta s1 s2 postwarden_dns_query_duration_seconds_count)
check "inbound: DNS queries timed (histogram count moved)" test "$d" -ge 2 || diag "moved by $d"
d=$(delta s1 s2 postwarden_dns_cache_hits_total)
check "inbound: the second message's lookups hit the cache" test "$d" -ge 1 || diag "moved by $d"

# ---- compliance: one consented, one unknown, one withdrawn recipient -------
pw_send_smtp --xclient-addr 198.51.100.30 --xclient-login acme-news \
    --from news@acme.test --to alice@remote.test,nobody@remote.test,dave@remote.test \
    --header "Subject: sale" --body "Everything 50% off! $FOOTER"
acme_f=$(pw_wait_sent "$PW_QID") || nok "acme: consented recipient delivered"
scrape s3 || nok "scrape s3"
expect_delta "consent" s2 s3 1 postwarden_compliance_refusals_total reason=consent_none organisation=acme
expect_delta "consent" s2 s3 1 postwarden_compliance_refusals_total reason=consent_withdrawn organisation=acme
expect_delta "consent" s2 s3 1 postwarden_dkim_signatures_total domain=acme.test selector=sel1 algorithm=rsa-sha256
d=$(delta s2 s3 postwarden_store_duration_seconds_count operation=consent_check)
check "store: consent checks timed (3 recipients at RCPT, 1 at EOM at least)" test "$d" -ge 3 || diag "moved by $d"
# one audit row per recipient: delivered, refused_rcpt, refused_rcpt
expect_delta "audit rows" s2 s3 3 postwarden_store_duration_seconds_count operation=audit_append
expect_delta "store" s2 s3 0 postwarden_store_errors_total

# ---- a mailto unsubscribe (inbound, to the address in List-Unsubscribe) ----
mailto=$(pw_header "$acme_f" List-Unsubscribe | sed -n 's/.*<mailto:\([^?>]*\)[?>].*/\1/p')
pw_send_smtp --xclient 203.0.113.7 --from alice@remote.test --to "$mailto" \
    --header "Subject: unsubscribe" --body "Please remove me."
for i in $(seq 1 50); do pw_summary "$PW_QID" | grep -q . && break; sleep 0.1; done
scrape s3b || nok "scrape s3b"
expect_delta "mailto unsubscribe ($mailto)" s3 s3b 1 postwarden_withdrawals_total organisation=acme channel=mailto

# ---- reloads --------------------------------------------------------------------
hup_and_wait() {
	local n i
	n=$(wc -l <"$T/pw/log")
	kill -HUP "$PW_MILTER_PID"
	for i in $(seq 1 30); do
		tail -n +"$((n + 1))" "$T/pw/log" | grep -Eqi 'reloaded|reload failed' && return 0
		sleep 0.1
	done
}
hup_and_wait
scrape s4 || nok "scrape s4"
expect_delta "good reload" s3b s4 1 postwarden_config_reloads_total result=success
check "good reload: last_reload_successful 1" test "$(val s4 postwarden_config_last_reload_successful)" = 1
cp "$T/pw/postwarden.conf" "$T/pw/good.conf"
echo 'no_such_key = 1' >>"$T/pw/postwarden.conf"
hup_and_wait
scrape s5 || nok "scrape s5"
expect_delta "bad reload" s4 s5 1 postwarden_config_reloads_total result=failure
check "bad reload: last_reload_successful 0" test "$(val s5 postwarden_config_last_reload_successful)" = 0
cp "$T/pw/good.conf" "$T/pw/postwarden.conf"

# ---- postwarden-unsubd ------------------------------------------------------------
UNSUBD=$PW_BUILD_DIR/tools/postwarden-unsubd
cat >"$T/unsubd.conf" <<EOF
log = stderr
${PW_USER:+user = $PW_USER}
store = sqlite:$DB
organisations = file:$T/pw/organisations.conf
unsubscribe_keys = $RING
unsubd_listen_address = 127.0.0.1
unsubd_listen_port = $UPORT
unsubd_metrics_listen = 127.0.0.1:$UMPORT
EOF
"$UNSUBD" -f -c "$T/unsubd.conf" 2>"$T/unsubd.log" &
PW_PIDS+=($!)
pw_wait_tcp "$UMPORT" 50 || nok "unsubd metrics listen on $UMPORT ($(cat "$T/unsubd.log"))"
U=http://127.0.0.1:$UPORT/u
UM=http://127.0.0.1:$UMPORT/metrics
check "unsubd: GET /metrics parsed" scrape u0 "$UM"
# the ring belongs to the daemon's user (ctl refuses another owner's)
if [ -n "$PW_USER" ]; then
	tok=$(runuser -u "$PW_USER" -- "$PW_CTL" token mint --ring "$RING" --org acme carol@remote.test)
else
	tok=$("$PW_CTL" token mint --ring "$RING" --org acme carol@remote.test)
fi
curl -s -o /dev/null "$U/$tok"
curl -s -o /dev/null "$U/not-a-token"
for i in 1 2; do	# the second POST finds the withdrawal in force
	curl -s -o /dev/null -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary 'List-Unsubscribe=One-Click' "$U/$tok"
done
scrape u1 "$UM" || nok "scrape u1"
expect_delta "unsubd" u0 u1 1 postwarden_unsubd_requests_total method=GET code=200
expect_delta "unsubd" u0 u1 1 postwarden_unsubd_requests_total method=GET code=400
expect_delta "unsubd" u0 u1 2 postwarden_unsubd_requests_total method=POST code=200
expect_delta "unsubd" u0 u1 1 postwarden_withdrawals_total organisation=acme channel=one_click
expect_delta "unsubd" u0 u1 4 postwarden_unsubd_request_duration_seconds_count

# ---- docs and examples name only metrics that exist ---------------------------
# Every family either daemon exposed above is documented (postwarden(8),
# postwarden-unsubd(8)), and every name conf/'s alert rules and dashboard
# use is one of those (the "up" series is Prometheus's own).
out=$(cat "$T"/s*.prom "$T"/u*.prom | "$PW_PY" -c '
import re, sys
from prometheus_client.parser import text_string_to_metric_families as fam
top = sys.argv[1]
seen = set()
for f in fam(sys.stdin.read()):
    seen.add(f.name + ("_total" if f.type == "counter" else ""))
man = open(top + "/man/postwarden.8").read() + open(top + "/man/postwarden-unsubd.8").read()
documented = set(re.findall(r"postwarden_[a-z_]+", man.replace("\\-", "-")))
bad = ["undocumented: " + n for n in sorted(seen - documented)]
for f in ("conf/prometheus-alerts.yml", "conf/grafana-dashboard.json"):
    for n in set(re.findall(r"postwarden_[a-z_]+", open(top + "/" + f).read())):
        b = re.sub(r"_(bucket|sum|count)$", "", n)
        if b not in documented and n not in documented:
            bad.append(f + ": unknown metric " + n)
print("\n".join(bad))
print(len(seen), "families", file=sys.stderr)
' "$PW_TOP" 2>&1)
check "every exposed metric is documented, conf/ examples use only those" \
    test "$(grep -c . <<<"$out")" = 1 || diag "$out"
"$PW_PY" -c 'import json, sys, yaml; yaml.safe_load(open(sys.argv[1])); json.load(open(sys.argv[2]))' \
    "$PW_TOP/conf/prometheus-alerts.yml" "$PW_TOP/conf/grafana-dashboard.json"
check "conf/prometheus-alerts.yml is YAML, conf/grafana-dashboard.json is JSON" test $? = 0

pw_done

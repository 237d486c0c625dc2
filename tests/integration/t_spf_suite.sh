#!/bin/bash
# t_spf_suite.sh - the RFC 7208 test suite (openspf.org, release 2014.04, as
# python3-spf ships it: rfc7208-tests.yml.gz) against postwarden (issue 13).
#
# spf_suite.py loads each scenario's zonedata into the test unbound, sends
# one message per test through the private Postfix (XCLIENT for the client
# address, EHLO for the HELO name, a few SMTP sessions with many
# transactions each) and compares the spf= result of the delivered
# Authentication-Results with the suite's.  It prints "P/N pass" and names
# every miss.  A second pass (spf_reject_fail = yes, reloaded) compares the
# explanation in the 550 reply with the suite's for the tests that name one
# ("exp:TEST", "explanations: P/N pass").  Tests postwarden does not follow on purpose are listed in
# spf_suite.deviations with the reason (README, "SPF conformance"): they
# count neither as passed in P nor as failures here; a listed test that
# passes is a failure (the list must stay true).
#
# Default ports: PW_PORT_BASE=27400.
PW_PORT_BASE=${PW_PORT_BASE:-27400}
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

SUITE=${PW_SPF_SUITE:-$(ls /usr/share/doc/python3-spf*/rfc7208-tests.yml.gz 2>/dev/null | head -1)}
[ -n "$SUITE" ] && [ -f "$SUITE" ] || pw_bail "rfc7208-tests.yml.gz found (install python3-spf)"
"$PW_PY" -c 'import yaml' 2>/dev/null || pw_bail "python3-yaml installed"

# IPv6 client addresses (XCLIENT ADDR=IPV6:...) need IPv6 in smtpd.
pw_pf_conf "inet_protocols = all"
pw_conf "dns_timeout = 2s"
# 10 lookups + 2 void lookups per check (RFC 7208 4.6.4) must fit
pw_conf "dns_max_queries = 100"

pw_setup

t0=$(date +%s%N)
"$PW_PY" "$PW_IT/spf_suite.py" "$SUITE" "$PW_SMTP_PORT" "$T/dns/zone.conf" \
    "$T/dns/unbound.conf" "$T/sink" "$PW_IT/spf_suite.deviations" >"$T/suite.out" 2>&1
rc=$?
diag "suite ran in $(pw_ms_since "$t0") ms (exit $rc)"
# A temperror where the suite expects another result has been seen once
# in about ten runs (void-at-limit, void-over-limit), never twice in a
# row: the whole suite runs once more then, and its result stands.  Any
# other miss, or a temperror that comes back, still fails.
if grep -q '^not ok - ' "$T/suite.out" &&
    ! grep '^not ok - ' "$T/suite.out" | grep -qv 'got temperror$'; then
	diag "temperror only: $(grep -c '^not ok - ' "$T/suite.out") test(s); the suite runs once more"
	mkdir -p "$T/sink-first"
	mv "$T/sink"/*.eml "$T/sink-first/" 2>/dev/null
	mv "$T/suite.out" "$T/suite-first.out"
	sleep 2
	"$PW_PY" "$PW_IT/spf_suite.py" "$SUITE" "$PW_SMTP_PORT" "$T/dns/zone.conf" \
	    "$T/dns/unbound.conf" "$T/sink" "$PW_IT/spf_suite.deviations" >"$T/suite.out" 2>&1
	rc=$?
fi
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) nok "${line#not ok - }" ;;
	"# "*/*" pass") echo "${line#\# }" ;;
	*) diag "$line" ;;
	esac
done <"$T/suite.out"
[ "$rc" -eq 0 ] || nok "spf_suite.py exited $rc"

# Second pass: the explanations (exp=, RFC 7208 6.2) of the tests that name
# one, read from the 550 reply that spf_reject_fail = yes gives at MAIL FROM.
pw_conf "spf_reject_fail = yes"
pw_write_conf
kill -HUP "$PW_MILTER_PID"
sleep 1
"$PW_PY" "$PW_IT/spf_suite.py" "$SUITE" "$PW_SMTP_PORT" "$T/dns/zone.conf" \
    "$T/dns/unbound.conf" "$T/sink" "$PW_IT/spf_suite.deviations" exp >"$T/suite-exp.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) nok "${line#not ok - }" ;;
	"# "*/*" pass") echo "explanations: ${line#\# }" ;;
	*) diag "$line" ;;
	esac
done <"$T/suite-exp.out"
[ "$rc" -eq 0 ] || nok "spf_suite.py (explanations) exited $rc"
pw_done

#!/bin/bash
# t_verify_outbound.sh - verify_outbound = yes runs the inbound checks on
# outbound mail too: the message gets our Authentication-Results and is
# still signed (the signature does not cover A-R, so both hold).
. "$(dirname "$0")/lib.sh"

pw_init
k=$(pw_key rsa example.test sel1) || pw_bail "RSA key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
pw_dns_add 'example.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"'
pw_conf "verify_outbound = yes"
pw_setup

pw_send_smtp --header "Subject: verify outbound" || nok "queued"
s=$(pw_wait_sent "$PW_QID") || pw_bail "delivered"
ar=$(pw_header "$s" Authentication-Results)
check "outbound mail has our Authentication-Results" grep -q '^ *mx\.example\.test;' <<<"$ar"
check "A-R names the SPF result" grep -q 'spf=' <<<"$ar"
check "and it is still signed and verifies" pw_verify_dkimpy "$s"
check "summary says dir=out" grep -q 'dir=out' <<<"$(pw_summary "$PW_QID")"
pw_done

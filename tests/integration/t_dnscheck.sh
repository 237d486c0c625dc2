#!/bin/bash
# t_dnscheck.sh - postwarden-ctl dns-check against the test DNS: a clean
# domain, SPF syntax errors, two SPF records, too many DNS lookups,
# DMARC p=none, a missing and a revoked DKIM key, and the comparison of
# published keys with our KeyTable's private keys (match and mismatch).
# Needs unbound only (no Postfix).  Default PW_PORT_BASE=27100.
PW_PORT_BASE=${PW_PORT_BASE:-27100}
. "$(dirname "$0")/lib.sh"

[ -x "$PW_CTL" ] || pw_bail "postwarden-ctl built at $PW_CTL"
zone() { printf '    local-zone: "%s." static\n' "$@" >>"$T/dns/zone.conf"; }
txt() { pw_dns_add "$1. 60 IN TXT \"$2\""; }
zone good.test bad.test many.test
printf '    local-zone: "refused.test." always_refuse\n' >>"$T/dns/zone.conf"

txt good.test "v=spf1 ip4:192.0.2.1 include:inc.good.test -all"
txt inc.good.test "v=spf1 a mx ~all"
txt _dmarc.good.test "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
k=$(pw_key rsa good.test s1) || pw_bail "key"
pw_keytable s1 good.test s1 "$k"
k2=$(pw_key ed25519 good.test e1) || pw_bail "key"
pw_keytable e1 good.test e1 "$k2"
# bad.test: everything wrong
txt bad.test "v=spf1 ip4:192.0.2.300 -all"
txt _dmarc.bad.test "v=DMARC1; p=none"
pw_dns_add "s1._domainkey.bad.test. 60 IN TXT \"v=DKIM1; k=rsa; p=\""
other=$(pw_key rsa other.test s2) || pw_bail "key"
# bad.test's s2 key in our KeyTable, but DNS publishes another key
pw_keytable s2 bad.test s2 "$other"
pw_dns_add "s2._domainkey.bad.test. 60 IN TXT $(pw_txt_quote "$(cat "$k.txt")")"
# many.test: two SPF records; deep.many.test: 11 lookups
txt many.test "v=spf1 -all"
txt many.test "v=spf1 ~all"
inc=
for i in 1 2 3 4 5 6 7 8 9 10 11; do
	txt "i$i.many.test" "v=spf1 ip4:192.0.2.$i -all"
	inc="$inc include:i$i.many.test"
done
txt deep.many.test "v=spf1$inc -all"
# dns-check reads records as the verifiers do (parsers/dmarc_record.c,
# pw_spf_record_check): spaces around "=" (the verifier rejects by it;
# libopendmarc's parser saw no record), a record without p but with rua
# (p=none), two DMARC records (none applies), an SPF domain-spec whose
# top label is all digits (RFC 7208 7.1: permerror in the verifier;
# libspf2 alone accepted it)
zone spaced.test nop.test twice.test digits.test
txt _dmarc.spaced.test "v = DMARC1; p = reject"
txt _dmarc.nop.test "v=DMARC1; rua=mailto:d@nop.test"
txt _dmarc.twice.test "v=DMARC1; p=none"
txt _dmarc.twice.test "v=DMARC1; p=reject"
txt digits.test "v=spf1 a:mail.example.123 -all"
pw_start_dns || pw_bail "unbound started"
pw_write_conf

run() { out=$("$PW_CTL" -c "$T/pw/postwarden.conf" dns-check "$@" 2>&1); rc=$?; }
has() { grep -qF -- "$1" <<<"$out" || { diag "output:" "$out"; return 1; }; }

run good.test
check "good.test: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || diag "rc=$rc" "$out"
check "good.test: SPF -all explained" has '"-all": mail from any other host fails SPF'
check "good.test: 3 lookups counted through include:" has "3 of at most 10 DNS-querying terms used"
check "good.test: DMARC p=reject parsed" has "policy p=reject"
check "good.test: RSA key from the KeyTable matches" has "matches our private key"
check "good.test: both KeyTable keys checked (rsa + ed25519)" test "$(grep -c 'matches our private key' <<<"$out")" = 2
check "good.test: 0 problems" has "result: 0 problems"

run bad.test
check "bad.test: exit 1" test "$rc" = 1
check "bad.test: SPF syntax error reported" has "error: syntax"
check "bad.test: p=none warned" has "warning: p=none"
check "bad.test: published key differs from our private key" has "does NOT match our private key"
run bad.test --selector s1 --key-table "file:/dev/null"
check "bad.test s1: revoked key" has "the key is revoked"
run bad.test --selector nosuch --key-table "file:/dev/null"
check "bad.test nosuch: missing key" has "no key published for selector nosuch"

run many.test
check "many.test: two SPF records is an error" has "more than one SPF record"
run deep.many.test
check "deep.many.test: 11 lookups > 10" has "11 DNS-querying terms"
check "deep.many.test: exit 1" test "$rc" = 1

run x.refused.test
check "refused: temporary failure exits 75" test "$rc" = 75
check "refused: says so" has "DNS lookup failed temporarily"

run spaced.test
check "spaced.test: \"v = DMARC1; p = reject\" is a record" has "policy p=reject"
check "spaced.test: not \"no DMARC record\"" test "$(grep -c 'no DMARC record' <<<"$out")" = 0
run nop.test
check "nop.test: rua without p is p=none" has "is read as p=none"
check "nop.test: policy p=none shown" has "policy p=none"
run twice.test
check "twice.test: two DMARC records: none applies" has "more than one DMARC record"
check "twice.test: exit 1" test "$rc" = 1
run digits.test
check "digits.test: all-digit top label is an SPF syntax error" has "error: syntax"
check "digits.test: exit 1" test "$rc" = 1

run a b
check "two domains: usage error 64" test "$rc" = 64
pw_done

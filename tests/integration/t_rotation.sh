#!/bin/bash
# t_rotation.sh - DKIM key rotation without an outage (issue 15):
# postwarden-ctl key rotate / key status, the signer's phases through the
# real Postfix and the test unbound, and the -n warnings about published
# records.  Time is moved with the test hook PW_TEST_CLOCK_FILE
# (--enable-test-hooks builds), not by waiting for the overlap.
#
#   record absent    -> old selector only
#   wrong record     -> warning, old selector only
#   record published -> old and new (and after a restart, still both)
#   overlap over     -> new selector only; key status says when the old
#                       record may go
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
"$PW_POSTWARDEN" -V >/dev/null || pw_bail "daemon built"
CLOCK=$T/clock
echo 0 >"$CLOCK"
export PW_TEST_CLOCK_FILE=$CLOCK
STATE=$T/pw/rotation
UC="unbound-control -c $T/dns/unbound.conf"

# A SOA with a 1 s minimum: the resolver keeps "no such record" for 1 s
# (without one, libunbound keeps a negative answer 5 s).
pw_dns_add "example.test. 1 IN SOA ns.example.test. hostmaster.example.test. 1 60 60 60 1"
k1=$(pw_key rsa example.test sel1) || pw_bail "key sel1"
pw_keytable sel1 example.test sel1 "$k1"
pw_signing '*@example.test' sel1
pw_conf "dkim_rotation_state = $STATE"
pw_conf "dkim_rotation_overlap = 7d"
pw_conf "dkim_rotation_check_interval = 0"
pw_write_conf
ctl() { "$PW_CTL" -c "$T/pw/postwarden.conf" "$@"; }

# ---- -n: the published records of the keys that sign ----------------------
pw_start_dns || pw_bail "unbound started"
cp "$T/pw/KeyTable" "$T/pw/KeyTable.good"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/keys/other.key" 2>/dev/null
chmod 600 "$T/keys/other.key"
[ -z "$PW_USER" ] || chown "$PW_USER" "$T/keys/other.key"
other=$(openssl pkey -in "$T/keys/other.key" -pubout -outform DER 2>/dev/null | base64 -w0)
# sel8: unpublished; sel9: published, but another key
pw_keytable sel8 example.test sel8 "$T/keys/other.key"
pw_keytable sel9 example.test sel9 "$k1"
pw_dns_add "sel9._domainkey.example.test. 60 IN TXT $(pw_txt_quote "v=DKIM1; k=rsa; p=$other")"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "-n: exit 0 (warnings only)" test $? = 0 || diag "$out"
check "-n: warns that sel8's record is missing" \
    grep -q 'sel8._domainkey.example.test (signing): no key record published' <<<"$out" || diag "$out"
check "-n: warns that sel9's record is not our key" \
    grep -q 'sel9._domainkey.example.test (signing): the published key is not ours' <<<"$out" || diag "$out"
check "-n: no warning for sel1 (published, matches)" \
    test -z "$(grep 'sel1._domainkey' <<<"$out")" || diag "$out"
cp "$T/pw/KeyTable.good" "$T/pw/KeyTable"

# ---- start, rotate --------------------------------------------------------------
pw_start_sink || pw_bail "sink"
pw_start_milter || pw_bail "postwarden started"
pw_start_postfix || pw_bail "postfix started"

hup_and_wait() {
	local n i
	n=$(wc -l <"$T/pw/log")
	kill -HUP "$PW_MILTER_PID"
	for i in $(seq 1 30); do
		tail -n +"$((n + 1))" "$T/pw/log" | grep -Eqi 'reloaded|reload failed' && return 0
		sleep 0.1
	done
}
# send TAG: one signed message; sets F (sink file) and SELS (its s= values)
send() {
	F= SELS=
	pw_send_smtp --from "user@example.test" --header "Subject: rotation $1"
	F=$(pw_wait_sent "$PW_QID") || return 1
	SELS=$(for i in $(seq 0 $(($(pw_nsigs "$F") - 1))); do pw_sig_tag "$F" "$i" s; done | sort | tr '\n' ' ')
	SELS=${SELS% }
}

out=$(ctl key rotate --domain example.test 2>&1)
check "key rotate: exit 0" test $? = 0 || diag "$out"
check "key rotate: prints the TXT record of the next selector (sel2)" \
    grep -q '^sel2._domainkey.example.test.[[:space:]]*IN[[:space:]]*TXT' <<<"$out" || diag "$out"
check "key rotate: the new key is next to the old one, mode 0600" \
    test "$(stat -c %a "$T/keys/sel2.private" 2>/dev/null)" = 600
check "key rotate: recorded as pending" \
    grep -q "^example.test sel1 sel2 $T/keys/sel2.private pending [0-9]*\$" "$STATE"
out=$(ctl key rotate --domain example.test 2>&1)
check "key rotate again while pending: refused" \
    grep -q 'rotation sel1 -> sel2 is still pending' <<<"$out" || diag "$out"
out=$(ctl key status)
check "key status: sel1 signing, sel2 pending" \
    test -n "$(grep -E '^example.test +sel1 +signing' <<<"$out")" -a \
    -n "$(grep -E '^example.test +sel2 +pending +replaces sel1' <<<"$out")" || diag "$out"
hup_and_wait

# 1. record absent: the old selector only
send absent
check "record absent: signed with sel1 only" test "$SELS" = sel1 || diag "s= $SELS"
check "record absent: verifies" pw_verify_dkimpy "$F"

# 2. a wrong record: warning, still the old selector only
new=$(sed -n 's/.*"\(.*\)".*/\1/p' "$T/keys/sel2.txt" | tr -d '\n')
pw_dns_add "sel2._domainkey.example.test. 1 IN TXT $(pw_txt_quote "v=DKIM1; k=rsa; p=$other")"
sleep 1.2
# As below: the absent record may still be cached for a moment.
WARN='dkim rotation example.test: sel2._domainkey.example.test: the published key is not ours: still signing with sel1 only'
for i in 1 2 3 4 5 6; do
	send wrong
	[ "$SELS" = sel1 ] || break
	grep -q "$WARN" "$T/pw/log" && break
	sleep 1
done
check "wrong record: signed with sel1 only" test "$SELS" = sel1 || diag "s= $SELS"
check "wrong record: a warning names it (message $i)" grep -q "$WARN" "$T/pw/log"
check "wrong record: still pending in the state file" grep -q ' sel2 .* pending ' "$STATE"

# 3. the right record: both selectors
$UC local_data_remove sel2._domainkey.example.test. >/dev/null
pw_dns_add "sel2._domainkey.example.test. 1 IN TXT $(pw_txt_quote "$(awk -F'"' '{for (i = 2; i <= NF; i += 2) printf "%s", $i}' "$T/keys/sel2.txt")")"
sleep 1.2
# The wrong record may still be cached (TTL 1 s, postwarden's cache and
# libunbound's): the rotation moves once a lookup sees the new one, so
# allow a few seconds for that, one message a second.
for i in 1 2 3 4 5 6; do
	send published
	[ "$SELS" = "sel1 sel2" ] && break
	sleep 1
done
check "published: signed with sel1 and sel2 (message $i)" test "$SELS" = "sel1 sel2" || diag "s= $SELS"
check "published: both signatures verify (dkimpy)" pw_verify_dkimpy "$F"
check "published: the state file says overlap" grep -q ' sel2 .* overlap ' "$STATE"
check "published: the log says until when" \
    grep -q 'dkim rotation example.test: the record of sel2 matches the new key: signing with sel1 and sel2 until' "$T/pw/log"

# 4. the phase survives a restart
pw_stop_milter || nok "milter stopped"
pw_start_milter || pw_bail "postwarden restarted"
send restarted
check "after a restart: still sel1 and sel2" test "$SELS" = "sel1 sel2" || diag "s= $SELS"
out=$(ctl key status)
check "key status: overlap, sel2 alone from a date" \
    grep -qE '^example.test +sel2 +overlap +signing with sel1 since .*, sel2 alone from ' <<<"$out" || diag "$out"

# 5. six days later: still both; eight days later: the new one only
echo $((6 * 86400)) >"$CLOCK"
send day6
check "6 days into a 7-day overlap: still both" test "$SELS" = "sel1 sel2" || diag "s= $SELS"
echo $((8 * 86400)) >"$CLOCK"
send day8
check "after the overlap: signed with sel2 only" test "$SELS" = sel2 || diag "s= $SELS"
check "after the overlap: verifies" pw_verify_dkimpy "$F"
check "after the overlap: the log says when sel1's record may go" \
    grep -q 'selector sel1 no longer signs, sel2 does; the DNS record sel1._domainkey.example.test may be removed after' "$T/pw/log"
check "after the overlap: done in the state file" grep -q ' sel2 .* done ' "$STATE"
out=$(ctl key status)
check "key status: sel1 retired, sel2 signing, remove sel1's record after a date" \
    test -n "$(grep -E '^example.test +sel1 +retired' <<<"$out")" -a \
    -n "$(grep -E '^example.test +sel2 +done +signing since .*; sel1 retired: remove sel1._domainkey.example.test after ' <<<"$out")" || diag "$out"
hup_and_wait
send reloaded
check "after a reload: sel2 only" test "$SELS" = sel2 || diag "s= $SELS"

# 6. the next rotation starts from sel2
out=$(ctl key rotate --domain example.test --type ed25519 2>&1)
check "next rotation: from sel2 to sel3 (ed25519)" \
    grep -q ' sel2 sel3 .*sel3.private pending ' "$STATE" || diag "$out"
out=$(ctl key rotate --domain nosuch.test 2>&1)
check "rotate an unknown domain: a clear error" grep -q 'no key for nosuch.test' <<<"$out" || diag "$out"
echo 'example.test sel1 sel2 relative/path pending 0' >>"$STATE"
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
check "a bad state line is a FILE:LINE error" \
    grep -q "$STATE:[0-9]*: KEY_PATH must be absolute" <<<"$out" || diag "$out"

pw_done

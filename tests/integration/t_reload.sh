#!/bin/bash
# t_reload.sh - SIGHUP reloads config, tables and keys without a restart:
# after switching the KeyTable/SigningTable to a new selector, the next
# message is signed with it; a broken new config keeps the old one.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

k1=$(pw_key rsa example.test sel1) || pw_bail "key sel1 generated"
pw_keytable sel1 example.test sel1 "$k1"
pw_signing '*@example.test' sel1
pw_setup
pid=$PW_MILTER_PID

# hup_and_wait: SIGHUP, then wait until the log says the reload is over
# ("reloaded ..." or "reload failed ..."), at most 3 s
hup_and_wait() {
	local n i
	n=$(wc -l <"$T/pw/log")
	kill -HUP "$PW_MILTER_PID"
	for i in $(seq 1 30); do
		tail -n +"$((n + 1))" "$T/pw/log" | grep -Eqi 'reloaded|reload failed' && return 0
		sleep 0.1
	done
	diag "no 'reloaded' or 'reload failed' log line 3 s after SIGHUP"
}

# send_sel TAG: send one message; sets LAST (sink file) and s (the
# selector of its first signature)
send_sel() {
	s=
	pw_send_smtp --header "Subject: reload $1" --body "reload test $1"
	LAST=$(pw_wait_sent "$PW_QID") || return 1
	s=$(pw_sig_tag "$LAST" 0 s)
}

send_sel before
check "before reload: signed with s=sel1" test "$s" = sel1
check "before reload: verifies" pw_verify_dkimpy "$LAST"

# New key and selector; the old key stays published (mail in transit).
k2=$(pw_key rsa example.test sel2) || nok "key sel2 generated"
check "DNS serves the new selector (added at run time)" \
    grep -q '^v=DKIM1; k=rsa; p=' <(pw_dns_txt sel2._domainkey.example.test)
printf 'sel2 example.test:sel2:%s\n' "$k2" >"$T/pw/KeyTable"
printf '*@example.test sel2\n' >"$T/pw/SigningTable"
hup_and_wait
check "daemon still running after SIGHUP (same pid)" kill -0 "$pid"
send_sel after
check "after reload: signed with the new selector s=sel2" test "$s" = sel2 || diag "got s=$s"
check "after reload: dkimpy verifies" pw_verify_dkimpy "$LAST"
check "after reload: OpenDKIM verifies" pw_verify_odkim "$LAST"

# A broken new config is refused and the running one stays in force.
cp "$T/pw/postwarden.conf" "$T/pw/postwarden.conf.good"
echo "no_such_key = 1" >>"$T/pw/postwarden.conf"
printf 'sel3 example.test:sel3:%s/keys/missing.key\n' "$T" >"$T/pw/KeyTable"
printf '*@example.test sel3\n' >"$T/pw/SigningTable"
n=$(wc -l <"$T/pw/log")
hup_and_wait
check "bad reload: daemon still running" kill -0 "$pid"
check "bad reload: the error is logged with FILE:LINE" \
    grep -q "postwarden.conf:[0-9]*:.*no_such_key" <(tail -n +"$((n + 1))" "$T/pw/log")
send_sel bad-config
check "bad reload: still signing with the old key s=sel2" test "$s" = sel2 || diag "got s=$s"
check "bad reload: signature verifies" pw_verify_dkimpy "$LAST"

# Back to a good config: reload works again after a refused one.
cp "$T/pw/postwarden.conf.good" "$T/pw/postwarden.conf"
printf 'sel1 example.test:sel1:%s\n' "$k1" >"$T/pw/KeyTable"
printf '*@example.test sel1\n' >"$T/pw/SigningTable"
hup_and_wait
send_sel back
check "reload after a refused one: s=sel1 again" test "$s" = sel1 || diag "got s=$s"
check "same daemon process throughout" test "$PW_MILTER_PID" = "$pid"
pw_done

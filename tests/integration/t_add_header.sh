#!/bin/bash
# t_add_header.sh - the signature covers the headers as delivered,
# including one that another (compliance-phase) policy adds at end of
# message: the test-only policy (configure --enable-test-hooks,
# `test_add_header = Name: value`) appends List-Unsubscribe before
# dkim_sign runs.  Proves the SIGN phase sees the final header set.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

k=$(pw_key rsa example.test sel1) || pw_bail "key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
k=$(pw_key ed25519 example.test ed1) || pw_bail "key generated"
pw_keytable ed1 example.test ed1 "$k"
pw_signing '*@example.test' ed1
ADDED='List-Unsubscribe: <mailto:unsub@example.test?subject=unsubscribe>'
pw_conf "test_add_header = $ADDED"
pw_write_conf
out=$("$PW_POSTWARDEN" -n -c "$T/pw/postwarden.conf" 2>&1)
[ $? -eq 0 ] || { diag "$out"; pw_bail "test_add_header accepted (build with --enable-test-hooks)"; }
pw_setup

# added_checks WHAT FILE
added_checks() {
	local w=$1 f=$2 i
	check "$w: delivered" test -n "$f"
	check "$w: the added header is in the delivered message" \
	    grep -qF "$ADDED" "$f"
	check "$w: two signatures (RSA + Ed25519)" test "$(pw_nsigs "$f")" = 2
	for i in 0 1; do
		# present once + oversigned once (RFC 6376 8.15)
		check "$w: signature $i h= covers List-Unsubscribe (twice: present + oversigned)" \
		    test "$(pw_h_count "$f" $i List-Unsubscribe)" = 2
	done
	check "$w: dkimpy verifies both signatures" pw_verify_dkimpy "$f"
	check "$w: OpenDKIM verifies both signatures" pw_verify_odkim "$f"
	check "$w: DKIM-Signature is still the topmost header" \
	    pw_first_header_is "$f" DKIM-Signature
	# Removing the added header must break the signature: it was signed.
	local bad=$T/msg/removed.$RANDOM.eml
	grep -vF "$ADDED" "$f" >"$bad"
	check "$w: removing the added header breaks both signatures" \
	    test "$("$PW_PY" "$PW_IT/dkimverify.py" "$bad" "$PW_DNS_PORT" | grep -c ': fail ')" = 2
}

pw_send_smtp --header 'Subject: policy adds a header' --body 'added header test'
f=$(pw_wait_sent "$PW_QID")
added_checks "SMTP" "$f"

m=$(pw_compose alice@example.test bob@remote.test 'policy adds a header (local)')
pw_send_local alice@example.test bob@remote.test "$m"
f=$(pw_wait_sent "$PW_QID")
added_checks "sendmail" "$f"

# Inbound mail is still not signed with the extra policy active
pw_send_smtp --xclient 198.51.100.7 --to bob@example.net --header 'Subject: inbound'
f=$(pw_wait_sent "$PW_QID")
check "inbound: not signed" test "$(pw_nsigs "$f")" = 0
check "milter still running" pw_milter_running
pw_done

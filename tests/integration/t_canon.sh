#!/bin/bash
# t_canon.sh - simple/simple canonicalization (RFC 6376 3.4.1, 3.4.3) with
# folded headers and trailing white space: the MTA hands the milter folded
# values with bare LF, the signer must sign them as delivered (CRLF).
# (relaxed/relaxed, the default, is covered by t_sign.sh and t_malformed.sh.)
# Also: an admin's own dkim_sign_headers / dkim_oversign_headers that omit
# the unsubscribe headers still get them signed (RFC 8058 section 4).
. "$(dirname "$0")/lib.sh"

pw_init
k=$(pw_key rsa example.test sel1) || pw_bail "RSA key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
k=$(pw_key ed25519 example.test ed1) || pw_bail "Ed25519 key generated"
pw_keytable ed1 example.test ed1 "$k"
pw_signing '*@example.test' ed1
pw_conf "dkim_canonicalization = simple/simple"
pw_conf "dkim_sign_headers = From, To, Subject, Date, Message-ID"
pw_conf "dkim_oversign_headers = From"
pw_setup

f=$(mktemp "$T/msg/m.XXXXXX")
{
	printf 'From: Alice <alice@example.test>\nTo: bob@remote.test\n'
	printf 'Subject: a long subject that is folded\n  onto a second line\n'
	printf '\tand a third with trailing space   \n'
	printf 'Date: %s\nMessage-ID: <%s>\n\n' "$(date -R)" "$(pw_msgid)"
	printf 'body line with trailing space   \n\n\n'
} >"$f"

pw_send_local alice@example.test bob@remote.test "$f" || nok "queued"
s=$(pw_wait_sent "$PW_QID") || pw_bail "delivered"
check "c=simple/simple in the signatures" grep -q 'c=simple/simple' "$s"
check "folded headers, simple: dkimpy verifies both signatures" pw_verify_dkimpy "$s"
check "folded headers, simple: OpenDKIM verifies both signatures" pw_verify_odkim "$s"
h=$(pw_sig_tag "$s" 0 h)
check "h= has List-Unsubscribe-Post although the admin's list omits it" \
    grep -qi 'list-unsubscribe-post' <<<"$h"
sed 's/onto a second line/onto a 2nd line/' "$s" >"$s.tampered"
check "folded header changed: dkimpy fails" ! pw_verify_dkimpy "$s.tampered"
pw_done

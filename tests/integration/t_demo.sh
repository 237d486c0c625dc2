#!/bin/bash
# t_demo.sh - README command 1 (scripts/demo.sh, issue 15) run
# non-interactively: the demo starts postwarden and its private Postfix,
# sends a message, and must show the delivered DKIM-Signature with
# dkimpy's "pass"; then, with the demo left running, "scripts/demo.sh send"
# (README's second terminal) must do the same for another message.
#
# Ports: PW_PORT_BASE+40 (demo Postfix), +41 (its sink), +42 (milter).
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
export DEMO_DIR=$T/demo DEMO_SKIP_DEPS=1 SELECTOR=demo1
export DEMO_SMTP_PORT=$((PW_PORT_BASE + 40)) DEMO_SINK_PORT=$((PW_PORT_BASE + 41))
export DEMO_MILTER_PORT=$((PW_PORT_BASE + 42))
# The startup check of the key's DNS record asks the test's own unbound,
# never the machine's resolvers (loopback only in tests).
export DEMO_DNS=127.0.0.1@$PW_DNS_PORT
for p in $DEMO_SMTP_PORT $DEMO_SINK_PORT $DEMO_MILTER_PORT; do
	pw_port_free "$p" || pw_bail "port $p is free"
done
DEMO=$PW_TOP/scripts/demo.sh

# ---- 1. --check: start, send, verify, stop --------------------------------------
out=$(timeout 300 "$DEMO" --check demo.test 2>&1)
rc=$?
check "demo --check exits 0" test $rc = 0 || diag "$out"
check "prints the DNS record to publish" \
    grep -q '^demo1\._domainkey\.demo\.test\.[[:space:]]*IN[[:space:]]*TXT' <<<"$out"
check "shows the delivered DKIM-Signature (d=demo.test, s=demo1)" \
    grep -qE '^DKIM-Signature: v=1; a=rsa-sha256; .*d=demo\.test; s=demo1;' <<<"$out"
check "dkimpy verifies it" \
    grep -q '^dkimpy (python3-dkim): signature 0 d=demo.test s=demo1 a=rsa-sha256: pass$' <<<"$out"
check "shows postwarden's summary line (signed)" \
    grep -q 'dir=out .*signed=demo.test/demo1(rsa)' <<<"$out"
check "the demo Postfix is stopped afterwards" pw_port_free "$DEMO_SMTP_PORT"
check "postwarden is stopped afterwards" pw_port_free "$DEMO_MILTER_PORT"
f=$(ls "$DEMO_DIR"/sink/*.eml 2>/dev/null | head -1)
check "the message went through the demo Postfix (Received: by mx.demo.test)" \
    grep -q 'by mx.demo.test (Postfix)' "$f"
# The verifier must be able to say FAIL: the same message, body changed.
sed 's/Hello from the postwarden demo\./Hello from someone else./' "$f" >"$T/tampered.eml"
out2=$("$PW_PY" "$PW_TOP/scripts/demo_verify.py" "$T/tampered.eml" "$DEMO_DIR/keys/demo1.txt")
rc=$?
check "a changed body fails dkimpy's check (exit 1, FAIL)" \
    test $rc = 1 -a -n "$(grep ': FAIL (body hash mismatch' <<<"$out2")" || diag "$out2"

# ---- 2. left running; "demo.sh send" from a second terminal -------------------
"$DEMO" demo.test >"$T/demo.out" 2>&1 &
dpid=$!
PW_PIDS+=($dpid)
for i in $(seq 1 600); do
	grep -q 'keeps running' "$T/demo.out" && break
	sleep 0.1
done
check "running demo: says it keeps running, names the second command" \
    grep -q 'scripts/demo.sh send' "$T/demo.out" || diag "$(cat "$T/demo.out")"
check "running demo: postwarden still listens" pw_wait_tcp "$DEMO_MILTER_PORT" 10
out=$(timeout 120 "$DEMO" send someone-else@example.net 2>&1)
rc=$?
check "demo.sh send exits 0" test $rc = 0 || diag "$out"
check "send: dkimpy verifies the second message" \
    grep -q '^dkimpy (python3-dkim): signature 0 d=demo.test s=demo1 a=rsa-sha256: pass$' <<<"$out"
check "send: two messages in this run's sink (start, send)" \
    test "$(ls "$DEMO_DIR"/sink/*.eml | wc -l)" = 2
check "send: the key made by the first run was kept (same selector)" \
    test "$(ls "$DEMO_DIR"/keys/*.private | wc -l)" = 1
# SIGTERM: a background job of a script ignores SIGINT (Ctrl-C in a
# terminal takes the same trap).
kill -TERM "$dpid"
pw_wait_gone "$dpid" 100
check "SIGTERM stops postwarden and the demo Postfix" \
    pw_port_free "$DEMO_MILTER_PORT" && pw_port_free "$DEMO_SMTP_PORT"
out=$("$DEMO" send 2>&1)
check "send without a running demo: a clear error" \
    grep -q 'no demo running' <<<"$out" || diag "$out"
pw_done

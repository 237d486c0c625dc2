#!/bin/bash
# t_milter_down.sh - faults: with the milter stopped and
# milter_default_action = tempfail, Postfix answers 4xx and nothing is
# lost (the SMTP client keeps its mail; a local submission waits in the
# queue and leaves signed once the milter is back).  SIGTERM lets a
# message that is in flight finish.
. "$(dirname "$0")/lib.sh"

k=$(pw_key rsa example.test sel1) || pw_bail "key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
pw_setup

pw_send_smtp --header 'Subject: before stop'
f=$(pw_wait_sent "$PW_QID")
check "milter up: signed and verifies" pw_verify_dkimpy "$f"

# ---- SIGTERM while a message is in flight --------------------------------
# The client opens a transaction and sends the header; the daemon gets
# SIGTERM; then the client finishes DATA.  The message must be accepted
# and signed (or, at worst, tempfailed: never accepted unsigned/broken).
cat >"$T/msg/inflight.py" <<'EOF'
import smtplib, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.example.test")
s.mail("alice@example.test"); s.rcpt("bob@remote.test")
code, _ = s.docmd("DATA")
assert code == 354, code
s.send(b"From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: in flight\r\n"
       b"Message-ID: <inflight." + str(time.time()).encode() + b"@example.test>\r\n")
open(flag, "w").close()            # tell the shell: now send SIGTERM
time.sleep(1.5)
s.send(b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\nbody sent after SIGTERM\r\n.\r\n")
code, msg = s.getreply()
print(code, msg.decode())
s.quit()
EOF
"$PW_PY" "$T/msg/inflight.py" "$PW_SMTP_PORT" "$T/msg/flag" >"$T/msg/inflight.out" 2>&1 &
cl=$!
for i in $(seq 1 100); do [ -f "$T/msg/flag" ] && break; sleep 0.1; done
t0=$(date +%s.%N)
kill -TERM "$PW_MILTER_PID"
wait "$cl"
reply=$(cat "$T/msg/inflight.out")
qid=$(sed -n 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$reply")
case $reply in
250*)
	f=$(pw_wait_sent "$qid")
	check "in-flight message finished after SIGTERM: signed and verifies" pw_verify_dkimpy "$f"
	;;
4*)
	nok "in-flight message finished after SIGTERM (got a tempfail: $reply)"
	;;
*)
	nok "in-flight message: unexpected reply: $reply"
	;;
esac
pw_wait_gone "$PW_MILTER_PID" 150
check "daemon exited after SIGTERM" ! pw_milter_running
diag "exit took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after SIGTERM"
wait "$PW_MILTER_PID"
rc=$?
check "daemon exit status 0 after SIGTERM" test "$rc" = 0 || diag "exit status $rc"
PW_MILTER_PID=

# ---- milter stopped: SMTP gets 4xx ------------------------------------------
before=$(pw_sink_count)
pw_send_smtp --header 'Subject: while stopped'
rc=$?
code=$(sed -n 's/^<\*\* *\([0-9][0-9][0-9]\)[ -].*/\1/p' "$PW_SWAKS" | head -1)
case $code in
4*) ok "milter stopped: SMTP client gets a 4xx ($code)" ;;
*) nok "milter stopped: SMTP client gets a 4xx (got '${code:-none}', swaks rc $rc)" ;;
esac
check "milter stopped: nothing queued for the SMTP message" test -z "$PW_QID"
check "milter stopped: Postfix logged the milter failure" \
    grep -q 'Milter service.*\(Connection refused\|No such file\)' "$T/pf/maillog"

# ---- milter stopped: local submission waits in the queue ---------------------------
m=$(pw_compose alice@example.test bob@remote.test 'local while stopped')
mid=$(sed -n 's/^Message-ID: <\(.*\)>/\1/p' "$m")
/usr/sbin/sendmail -C "$T/pf/etc" -f alice@example.test bob@remote.test <"$m"
check "milter stopped: sendmail accepted the submission (exit 0)" test $? = 0
sleep 2
check "milter stopped: nothing delivered meanwhile" test "$(pw_sink_count)" = "$before"
check "milter stopped: the submission is still in Postfix's queue" \
    grep -rqF "$mid" "$T/pf/spool/maildrop" "$T/pf/spool/incoming" \
    "$T/pf/spool/deferred" "$T/pf/spool/active" "$T/pf/spool/hold"

# ---- milter back: the queued local submission leaves signed ----------------------
pw_start_milter || nok "milter restarted"
postqueue -c "$T/pf/etc" -f >/dev/null 2>&1
# pickup rescans maildrop every 60 s at most; a new sendmail run wakes it
qid=$(pw_qid_by_msgid "$mid" 400)
f=$(pw_wait_sent "$qid" 400)
check "milter back: the queued submission was delivered" test -n "$f"
check "milter back: it is signed and verifies" pw_verify_dkimpy "$f"
pw_send_smtp --header 'Subject: after restart'
f=$(pw_wait_sent "$PW_QID")
check "milter back: SMTP mail signed and verifies" pw_verify_dkimpy "$f"

# ---- SIGTERM with a session open: its next message gets 451 4.3.2 --------------
# The session's milter connection is open when SIGTERM comes; the message
# that starts afterwards is refused with a temporary error at whatever
# stage the MTA waits for us (MAIL, RCPT or end of DATA: postwarden tells
# Postfix not to wait at MAIL FROM when no check acts there), never
# accepted unchecked; the daemon exits once the session ends.
cat >"$T/msg/late.py" <<'EOF2'
import smtplib, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.example.test")
open(flag, "w").close()            # now send SIGTERM
time.sleep(1.5)
def say(stage, r):
    print(stage, r[0], r[1].decode())
    if r[0] >= 400:
        s.quit(); sys.exit(0)
say("MAIL", s.mail("alice@example.test"))
say("RCPT", s.rcpt("bob@remote.test"))
say("DATA", s.docmd("DATA"))
s.send(b"From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: late\r\n"
       b"\r\nstarted after SIGTERM\r\n.\r\n")
say("END", s.getreply())
s.quit()
EOF2
before=$(pw_sink_count)
rm -f "$T/msg/flag"
"$PW_PY" "$T/msg/late.py" "$PW_SMTP_PORT" "$T/msg/flag" >"$T/msg/late.out" 2>&1 &
cl=$!
for i in $(seq 1 100); do [ -f "$T/msg/flag" ] && break; sleep 0.1; done
pid=$PW_MILTER_PID
kill -TERM "$pid"
wait "$cl"
late=$(tail -n 1 "$T/msg/late.out")
diag "after SIGTERM: $(tr '\n' ' ' <"$T/msg/late.out")"
case $late in
*" 451 4.3.2 postwarden is restarting"*)
	ok "message begun after SIGTERM: 451 4.3.2 (${late%% *})" ;;
*)	nok "message begun after SIGTERM: 451 4.3.2 (got: $late)" ;;
esac
pw_wait_gone "$pid" 150
check "daemon exited once the session ended" ! kill -0 "$pid" 2>/dev/null
check "message begun after SIGTERM: nothing delivered" \
    test "$(pw_sink_count)" = "$before"
PW_MILTER_PID=
pw_start_milter || nok "milter restarted"

# ---- idle SIGTERM: exits promptly -------------------------------------------------
t0=$(date +%s%N)
pid=$PW_MILTER_PID
pw_stop_milter
ms=$(pw_ms_since "$t0")
check "idle daemon exits within 10 s of SIGTERM (took $ms ms)" test "$ms" -lt 10000
check "no process left with that pid" ! kill -0 "$pid" 2>/dev/null
pw_done

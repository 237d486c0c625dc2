#!/bin/bash
# t_protocol.sh - what postwarden asks of the MTA in option negotiation,
# read off the wire (milterclient.py plays Postfix 3.7's side), and the
# worker threads milter_linger_ms keeps on sessions.
#   - no reply wanted at MAIL FROM unless a check can act there
#     (spf_reject_fail = yes), nor at end of headers unless some mail has
#     no check at all (then it is accepted at end of headers, body unsent);
#   - a verdict kept for the next reply is covered by t_milter_down.sh
#     (451 4.3.2 at end of DATA) and t_inbound.sh (From checks);
#   - Postwarden-Class is removed from mail in either direction, also
#     when no policy applies to the message.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

NR_MAIL=$((0x4000)) NR_EOH=$((0x40000))
k=$(pw_key rsa example.test sel1) || pw_bail "key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
pw_setup
sock=$(pw_milter_addr postwarden)

# proto: the protocol flags postwarden returns to one negotiation
proto() {
	"$PW_PY" "$PW_IT/milterclient.py" "$sock" 1 0 |
	    sed -n 's/.*protocol=\(0x[0-9a-f]*\).*/\1/p'
}
# restart CONF-LINES...: the milter with only these extra settings
restart() {
	local l
	pw_stop_milter
	: >"$T/pw/extra.conf"
	for l in "$@"; do pw_conf "$l"; done
	pw_start_milter || pw_bail "milter restarted with: $*"
}
has() { [ $(($1 & $2)) != 0 ]; }

p=$(proto)
diag "default: protocol=$p"
check "signing + verification: no reply wanted at MAIL FROM" has "$p" $NR_MAIL
check "signing + verification: no reply wanted at end of headers" has "$p" $NR_EOH

# Postwarden-Class is an instruction to postwarden: removed from every
# message, in every direction, whoever set it (no organisations here).
# cls_sent DESC SWAKS-ARGS...: send with two such headers; check that the
# delivered copy has neither, and the summary says so
cls_sent() {
	local d=$1
	shift
	pw_send_smtp "$@" --add-header 'Postwarden-Class: transactional' \
	    --add-header 'postwarden-class: other'
	f=$(pw_wait_sent "$PW_QID")
	check "$d: delivered" test -n "$f"
	check "$d: Postwarden-Class removed" ! grep -qi '^Postwarden-Class:' "$f"
	check "$d: the other headers kept" grep -q '^Subject: private header' "$f"
	check "$d: summary removed=Postwarden-Class:2" \
	    grep -q 'removed=Postwarden-Class:2' <<<"$(pw_summary "$PW_QID")"
}
cls_sent "inbound, verification on" --xclient 192.0.2.77 --from a@example.net \
    --header 'Subject: private header, inbound'
cls_sent "outbound" --header 'Subject: private header, outbound'
check "outbound: still signed (dkimpy)" pw_verify_dkimpy "$f"

restart "spf_reject_fail = yes"
p=$(proto)
check "spf_reject_fail = yes: reply wanted at MAIL FROM" ! has "$p" $NR_MAIL
check "spf_reject_fail = yes: still none at end of headers" has "$p" $NR_EOH
pw_send_smtp --xclient 192.0.2.77 --from bounce@example.net --header 'Subject: spf fail'
f=$(pw_wait_sent "$PW_QID")
check "spf_reject_fail = yes: a message without an SPF record still goes" test -n "$f"

# No inbound check at all: inbound mail is idle, so end of headers keeps
# its reply (accept there, the body is not sent to us).
restart "spf_verify = no" "dkim_verify = no" "dmarc_mode = off" \
    "auth_results_header = no" "auth_results_remove_forged = no"
p=$(proto)
diag "verification off: protocol=$p"
check "verification off: reply wanted at end of headers" ! has "$p" $NR_EOH
check "verification off: none at MAIL FROM" has "$p" $NR_MAIL
pw_send_smtp --xclient 192.0.2.77 --from a@example.net --header 'Subject: idle'
f=$(pw_wait_sent "$PW_QID")
check "verification off: inbound mail delivered" test -n "$f"
check "verification off: and logged as accepted at end of headers" \
    grep -aq "$PW_QID: .*accept (no policy applies)" "$T/pw/log"
check "verification off: no Authentication-Results added" \
    test -z "$(pw_header "$f" Authentication-Results)"
# no policy for inbound mail, but the header still goes: the message is
# kept to end of message for that one edit (its body still unsent)
cls_sent "inbound, verification off" --xclient 192.0.2.77 --from a@example.net \
    --header 'Subject: private header, idle inbound'
check "inbound, verification off: accepted at end of message" \
    grep -q 'action=accept removed=' <<<"$(pw_summary "$PW_QID")"
pw_send_smtp --header 'Subject: outbound while inbound is idle'
f=$(pw_wait_sent "$PW_QID")
check "verification off: outbound mail still signed" pw_verify_dkimpy "$f"

# ---- milter_linger_ms -------------------------------------------------------
# Six sessions that negotiated and then wait: with a long linger each
# keeps the worker thread that served it; with none they go back to the
# pool within 1 ms and the pool shrinks to its two spare workers.
threads() { ls "/proc/$PW_MILTER_PID/task" | wc -l; }
hold6() {	# threads while six negotiated sessions wait
	local out=$T/msg/hold.out n
	"$PW_PY" "$PW_IT/milterclient.py" "$sock" 6 2 >"$out" 2>&1 &
	for i in $(seq 1 50); do grep -q held "$out" && break; sleep 0.1; done
	sleep 0.5
	n=$(threads)
	wait $!
	echo "$n"
}
linger() {	# MS: restart with it; sets base (threads idle) and n
	restart "milter_linger_ms = $1"
	sleep 0.5
	base=$(threads)
	n=$(hold6)
	diag "milter_linger_ms = $1: $base threads idle, $n with six waiting sessions"
}
linger 5000
check "milter_linger_ms = 5000: a worker stays with each waiting session" \
    test "$n" -ge $((base + 4))
linger 0
check "milter_linger_ms = 0: waiting sessions go back to libmilter's pool" \
    test "$n" -le $((base + 2))
pw_send_smtp --header 'Subject: no linger'
f=$(pw_wait_sent "$PW_QID")
check "milter_linger_ms = 0: mail still signed" pw_verify_dkimpy "$f"
pw_done

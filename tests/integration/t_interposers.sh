#!/bin/bash
# t_interposers.sh - the interposers (milter/interposers.h) are in effect
# on real mail through the real Postfix, not only present.
#
# Each of them keeps mail working when it stops applying -- only the CPU
# per message goes up -- so this test counts what they save:
#   - startup: the daemon's line names milterio keycache pubkeycache and
#     warns about none; postwarden -n prints the same (quickack too for an
#     inet socket);
#   - milterio: read system calls of the whole daemon per message, from
#     the kernel (/proc/PID/io syscr, which counts read/pread/readv),
#     stay far below the ~55 of libmilter reading unbuffered;
#   - keycache: 20 signed messages and 2 keys: at most 2 private-key PEM
#     parses reach OpenSSL, and at least 20 are answered from the cache
#     (the counters the daemon logs when it stops);
#   - pubkeycache: 6 inbound messages signed with one key: at most one
#     public-key decode reaches OpenSSL, at least 5 come from the cache.
# With PW_MILTER_SOCKET=inet the daemon's own line must name quickack too.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }

N=20			# signed outbound messages
NIN=6			# verified inbound messages
MAX_READS=20		# read system calls per message, buffered (about 10)
IP=198.51.100.7		# an external client (inbound)
AC="$PW_PY $PW_IT/authcheck.py"

k=$(pw_key rsa example.test sel1) || pw_bail "RSA key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
k=$(pw_key ed25519 ed.example.test ed1) || pw_bail "Ed25519 key generated"
pw_keytable ed1 ed.example.test ed1 "$k"
pw_signing '*@ed.example.test' ed1
kin=$(pw_key rsa k.test rsa1) || pw_bail "RSA key for inbound mail"
NKEYS=2
pw_setup
# as t_inbound.sh: cleanup must not rewrite the external client's headers
postconf -c "$T/pf/etc" -e 'local_header_rewrite_clients =' &&
    postfix -c "$T/pf/etc" reload >/dev/null 2>&1 || pw_bail "postfix reload"

# ---- startup ----------------------------------------------------------------
line=$(grep -a 'interposers: ' "$T/pw/log" | head -1)
diag "startup: ${line:-<none>}"
check "startup line names milterio keycache pubkeycache" \
    grep -aq 'interposers: milterio keycache pubkeycache\( \|$\)' <<<"$line"
if [ "$PW_MILTER_SOCKET" = inet ]; then
	check "startup line, inet socket: quickack active too" \
	    grep -aq 'interposers: milterio keycache pubkeycache quickack$' <<<"$line"
fi
check "startup: no interposer reported inactive" \
    ! grep -aqi 'not active' "$T/pw/log"

n_out=$("$PW_POSTWARDEN" -c "$T/pw/postwarden.conf" -n 2>&1 >/dev/null)
check "postwarden -n prints the same line" \
    grep -q 'interposers: milterio keycache pubkeycache\( \|$\)' <<<"$n_out"
sed 's/^milter_socket = .*/milter_socket = inet:1@127.0.0.1/' \
    "$T/pw/postwarden.conf" >"$T/pw/inet.conf"
n_out=$("$PW_POSTWARDEN" -c "$T/pw/inet.conf" -n 2>&1 >/dev/null)
check "postwarden -n, inet socket: quickack active too" \
    grep -qx 'interposers: milterio keycache pubkeycache quickack' <<<"$n_out" ||
    diag "$n_out"

# syscr PID: read system calls of the process so far (all its threads)
syscr() { awk '$1 == "syscr:" { print $2 }' "/proc/$1/io"; }

# ---- outbound: N signed messages ---------------------------------------------
r0=$(syscr "$PW_MILTER_PID")
qids=()
for i in $(seq 1 $N); do
	if [ $((i % 2)) = 0 ]; then
		pw_send_smtp --header "Subject: interposers $i" --body "m $i" >/dev/null
	else
		pw_send_smtp --from carol@ed.example.test \
		    --h-From 'carol@ed.example.test' \
		    --header "Subject: interposers $i" --body "m $i" >/dev/null
	fi
	qids+=("$PW_QID")
done
# swaks got its 250 after the milter's end-of-message: the reads are done
r1=$(syscr "$PW_MILTER_PID")
reads=$(awk -v n="$((r1 - r0))" -v m=$N 'BEGIN { printf "%.1f", n / m }')
diag "read system calls: $((r1 - r0)) for $N messages, $reads per message"
check "milterio: $reads read system calls per message <= $MAX_READS (unbuffered: about 55)" \
    test -n "$r0" -a "$((r1 - r0))" -le $((N * MAX_READS))

signed=0
for q in "${qids[@]}"; do
	f=$(pw_wait_sent "$q") && [ "$(pw_nsigs "$f")" = 1 ] && signed=$((signed + 1))
done
check "all $N messages delivered with one signature" test "$signed" = "$N"
f=$(pw_wait_sent "${qids[0]}")
check "the first one verifies (OpenDKIM)" pw_verify_odkim "$f"

# ---- inbound: NIN messages signed with one key ------------------------------------
verified=0
for i in $(seq 1 $NIN); do
	f=$(mktemp "$T/msg/in.XXXXXX")
	printf 'From: a@k.test\nTo: bob@remote.test\nSubject: in %s\nDate: %s\nMessage-ID: <%s>\n\nhello %s\n' \
	    "$i" "$(date -R)" "$(pw_msgid)" "$i" >"$f"
	$AC sign "$f" "$f.s" "$kin" k.test rsa1 rsa && mv "$f.s" "$f"
	pw_send_smtp --xclient "$IP" --from a@k.test --data "@$f" >/dev/null
	d=$(pw_wait_sent "$PW_QID") && a=$($AC ar "$d" mx.example.test) &&
	    grep -q 'dkim=pass header.d=k.test' <<<"$a" && verified=$((verified + 1))
done
check "all $NIN inbound messages: dkim=pass" test "$verified" = "$NIN"

# ---- the caches' counters, logged when the daemon stops ---------------------
check "postwarden stopped" pw_stop_milter
c=$(grep -a 'interposers: keycache' "$T/pw/log" | tail -1)
diag "counters: ${c:-<none>}"
read -r kh kd ph pd <<<"$(sed -n 's/.*keycache \([0-9]*\) hits \([0-9]*\) decodes, pubkeycache \([0-9]*\) hits \([0-9]*\) decodes.*/\1 \2 \3 \4/p' <<<"$c")"
check "counters logged at stop" test -n "${pd:-}"
check "keycache: private-key PEM parses by OpenSSL ${kd:-?} <= $NKEYS keys (not one per message)" \
    test -n "${kd:-}" -a "${kd:-99}" -le $NKEYS
check "keycache: ${kh:-?} signatures answered from the cache >= $N" \
    test -n "${kh:-}" -a "${kh:-0}" -ge $N
check "pubkeycache: public-key decodes by OpenSSL ${pd:-?} <= 1 key" \
    test -n "${pd:-}" -a "${pd:-99}" -le 1
check "pubkeycache: ${ph:-?} decodes answered from the cache >= $((NIN - 1))" \
    test -n "${ph:-}" -a "${ph:-0}" -ge $((NIN - 1))

pw_done

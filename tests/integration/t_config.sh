#!/bin/bash
# t_config.sh - configuration and key checks: `postwarden -n` reports every
# error as FILE:LINE and exits non-zero; table errors name the table file
# and line; a group- or world-readable private key is refused at startup
# with a clear message unless dkim_allow_unsafe_keys = yes.
# Needs no Postfix, DNS or sink: only the daemon binary.
. "$(dirname "$0")/lib.sh"

[ "$PW_MILTER_IMPL" = postwarden ] || { ok "skipped: postwarden-specific"; pw_done; }
[ -x "$PW_POSTWARDEN" ] || pw_bail "daemon built at $PW_POSTWARDEN"

k=$(pw_key rsa example.test sel1 1024) || pw_bail "key generated"
pw_keytable sel1 example.test sel1 "$k"
pw_signing '*@example.test' sel1
pw_write_conf
C=$T/pw/postwarden.conf

# run_n CONF: postwarden -n; sets out (stdout+stderr) and rc
run_n() {
	out=$("$PW_POSTWARDEN" -n -c "$1" 2>&1 </dev/null)
	rc=$?
}
# has_line REGEX: some output line matches (extended regex)
has_line() { grep -Eq "$1" <<<"$out" || { diag "output was:" "$out"; return 1; }; }
# has_where FILE LINE [REGEX]: a "FILE:LINE: message" line (after an
# optional "postwarden: " program-name prefix)
has_where() { has_line "^(postwarden: )?$1:$2: ${3:-}"; }

run_n "$C"
check "-n on a good config exits 0" test "$rc" = 0 || diag "$out"

# ---- a config with several errors ------------------------------------------
B=$T/pw/broken.conf
cp "$C" "$B"
cat >>"$B" <<'EOF'
# line after the generated ones
no_such_key = 1
max_header_bytes = lots
dkim_allow_unsafe_keys = maybe
this line has no equals sign
EOF
n=$(wc -l <"$C")
run_n "$B"
check "-n on a broken config exits non-zero" test "$rc" -ne 0
check "-n exit status is 78 (EX_CONFIG)" test "$rc" = 78 || diag "rc=$rc"
check "unknown key reported as FILE:LINE" has_where "$B" $((n + 2)) ".*no_such_key"
check "bad size value reported as FILE:LINE" has_where "$B" $((n + 3)) ".*max_header_bytes"
check "bad yes/no value reported as FILE:LINE" has_where "$B" $((n + 4)) ".*dkim_allow_unsafe_keys"
check "line without '=' reported as FILE:LINE" has_where "$B" $((n + 5))
check "no crash on the broken config (no signal exit)" test "$rc" -lt 128

# ---- missing config file ---------------------------------------------------------
run_n "$T/pw/does-not-exist.conf"
check "-n on a missing config file exits non-zero" test "$rc" -ne 0
check "missing config file is named" has_line "does-not-exist.conf"

# ---- table errors ------------------------------------------------------------------
KT=$T/pw/KeyTable.bad
ST=$T/pw/SigningTable.bad
printf 'sel1 example.test:sel1:%s\nnokey example.test:sel9:%s/keys/missing.key\n' "$k" "$T" >"$KT"
# table_conf KEYTABLE SIGNINGTABLE: a config using those tables
table_conf() {
	sed -e "s|^dkim_key_table = .*|dkim_key_table = file:$1|" \
	    -e "s|^dkim_signing_table = .*|dkim_signing_table = refile:$2|" "$C" >"$T/pw/tables.conf"
	echo "$T/pw/tables.conf"
}
run_n "$(table_conf "$KT" "$T/pw/SigningTable")"
check "-n with a missing key file exits non-zero" test "$rc" -ne 0
check "missing key file reported as KeyTable:2" has_where "$KT" 2 ".*missing.key"
printf '*@example.test sel1\n*@other.test ghost\n' >"$ST"
run_n "$(table_conf "$T/pw/KeyTable" "$ST")"
check "-n with an unknown key name exits non-zero" test "$rc" -ne 0
check "SigningTable entry with no KeyTable match reported as SigningTable:2" has_where "$ST" 2 ".*ghost"
printf 'sel1 example.test-no-colons\n' >"$KT"
run_n "$(table_conf "$KT" "$T/pw/SigningTable")"
check "-n with a malformed KeyTable line exits non-zero" test "$rc" -ne 0
check "malformed KeyTable line reported as KeyTable:1" has_where "$KT" 1

# ---- unsafe key permissions ------------------------------------------------------------
chmod 640 "$k"
run_n "$C"
check "-n refuses a group-readable key" test "$rc" -ne 0
check "the message names the key file" has_line "$(basename "$k")"
check "the message says why (group/world readable, unsafe)" \
    has_line "[Gg]roup|[Rr]eadable|[Uu]nsafe|permission|mode"
# and the daemon itself refuses to start
pw_start_milter >/dev/null 2>&1
sleep 0.5
check "daemon with a group-readable key exits at startup" ! pw_milter_running
grep -Eq "$(basename "$k")" "$T/pw/log" &&
    ok "daemon startup error names the key file" ||
    { nok "daemon startup error names the key file"; diag "$(tail -5 "$T/pw/log")"; }
pw_stop_milter

chmod 604 "$k"
run_n "$C"
check "-n refuses a world-readable key" test "$rc" -ne 0

chmod 640 "$k"
pw_conf "dkim_allow_unsafe_keys = yes"
pw_write_conf
run_n "$C"
check "dkim_allow_unsafe_keys = yes accepts the group-readable key" test "$rc" = 0 || diag "$out"
chmod 600 "$k"

pw_done

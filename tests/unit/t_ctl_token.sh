#!/bin/sh
# t_ctl_token.sh - postwarden-ctl token newkey/mint/verify.  TAP output;
# run from the build directory (make check does).
set -u
CTL=${PW_CTL:-./tools/postwarden-ctl}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
R="--ring $T/ring"
n=0
fails=0
ok() {	# ok DESCRIPTION COMMAND...: pass if COMMAND succeeds
	n=$((n + 1))
	d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fails=$((fails + 1)); fi
}
echo "1..10"

ok "newkey creates the ring" sh -c "$CTL token newkey $R | grep -q 'key 0 added'"
ok "the ring is mode 0600" sh -c "test \"\$(stat -c %a '$T/ring')\" = 600"
ok "second key gets the next id" sh -c "$CTL token newkey $R | grep -q 'key 1 added'"
ok "existing id refused" sh -c "! $CTL token newkey $R --id 1 2>/dev/null"
tok0=$($CTL token mint $R --org acme --id 0 Bob@Example.COM)
tok1=$($CTL token mint $R --org acme --list news bob@example.com)
ok "mint: URL-safe, no address in clear" sh -c "echo '$tok0' | grep -Eq '^[A-Za-z0-9_-]{40,}$' && ! echo '$tok0' | grep -qi bob"
ok "verify: old key still verifies, normalised recipient" sh -c "$CTL token verify $R --org acme '$tok0' | grep -q '^recipient: bob@example.com'"
ok "verify: newest key by default, list bound" sh -c "$CTL token verify $R '$tok1' | grep -q '^list: news' && $CTL token verify $R '$tok1' | grep -q '^key: 1'"
ok "verify: wrong organisation exits 1" sh -c "out=\$($CTL token verify $R --org other '$tok1'); rc=\$?;
	echo \"\$out\" | grep -q '^status: wrong organisation' && test \$rc = 1"
c=$(printf %s "$tok1" | cut -c31)
[ "$c" = A ] && r=B || r=A
bad=$(printf %s "$tok1" | cut -c1-30)$r$(printf %s "$tok1" | cut -c32-)
ok "verify: altered token rejected" sh -c "test '$bad' != '$tok1' && ! $CTL token verify $R '$bad' >/dev/null"
chmod 644 "$T/ring"
ok "verify: group/world-readable ring refused" sh -c "$CTL token verify $R '$tok1' 2>&1 | grep -q 'must not be group or world accessible'"
[ $fails = 0 ]

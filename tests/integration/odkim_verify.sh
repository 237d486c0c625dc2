#!/bin/bash
# odkim_verify.sh - verify every DKIM-Signature of a stored message with
# OpenDKIM, independently of dkimpy (dkimverify.py).
#
# Usage: odkim_verify.sh FILE DNSPORT
#
# Runs Debian's opendkim in test mode (`opendkim -t FILE`) with a
# verify-only configuration: the keys come from the test unbound on
# 127.0.0.1:DNSPORT through a libunbound ResolverConfiguration (opendkim's
# Nameservers option cannot reach *.test, harness-notes 3.3/4d), and
# InternalHosts names an address that is not the fake test-mode client
# 127.0.0.1, so the message is verified, not signed (harness-notes 3.4).
# OpenDKIM reports its result in the Authentication-Results header it
# would insert; `-vvv` prints it.  One `dkim=` result per signature.
#
# Prints one line per signature: `sig: pass|fail|... header.d=... header.s=...`
# and exits 0 only if there is at least one signature and every one
# has dkim=pass; 1 otherwise; 2 on usage or setup errors.
set -u
[ $# -eq 2 ] || { echo "usage: odkim_verify.sh FILE DNSPORT" >&2; exit 2; }
file=$1
port=$2
[ -r "$file" ] || { echo "odkim_verify.sh: cannot read $file" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/odkimv.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# libunbound treats test. as a local zone (RFC 6761): undo that, and send
# every query to the test server.
cat >"$tmp/ub.conf" <<EOF
server:
    local-zone: "test." nodefault
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$port
EOF
cat >"$tmp/opendkim.conf" <<EOF
Mode                    v
Syslog                  no
InternalHosts           192.0.2.99
ResolverConfiguration   $tmp/ub.conf
AlwaysAddARHeader       yes
AuthservID              verifier.test
MinimumKeyBits          1024
EOF

# The test mode reads the message with stdio and takes LF or CRLF; strip
# smtp-sink's pseudo headers (X-Client-Addr: ... + its Received:) and
# normalise line ends to LF so both sinks' files look the same.
tr -d '\r' <"$file" | awk '
	NR == 1 && /^X-Client-Addr:/ { skip = 1 }
	skip == 1 && /^Received:/ { skip = 2; next }
	skip == 2 && /^[ \t]/ { next }
	skip == 2 { skip = 0 }
	skip == 1 { next }
	{ print }' >"$tmp/msg"

out=$(opendkim -vvv -x "$tmp/opendkim.conf" -t "$tmp/msg" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
	printf '%s\n' "$out" | sed 's/^/# /' >&2
	echo "odkim_verify.sh: opendkim -t exited $rc" >&2
	exit 2
fi
# The A-R header value, e.g. "verifier.test; dkim=pass (2048-bit key;
# unprotected) header.d=example.test header.i=@example.test
# header.b=AbCd; dkim=fail ...".  With several signatures opendkim may
# insert one header with several results or several headers: take all.
ar=$(printf '%s\n' "$out" | awk '
	/hname=.Authentication-Results. hvalue=/ { on = 1; sub(/.*hvalue=./, "") }
	on && /\047$/ { sub(/\047$/, ""); print; on = 0; next }
	on { print }' |
    tr '\n\t' '  ')
if [ -z "$ar" ]; then
	printf '%s\n' "$out" | sed 's/^/# /' >&2
	echo "sig -: fail (no Authentication-Results from opendkim)"
	exit 1
fi
# Drop RFC 8601 comments "(2048-bit key; unprotected)" first: they may
# contain ';', which separates the results.
res=$(printf '%s\n' "$ar" | sed 's/([^)]*)//g' | tr ';' '\n' |
    sed -n 's/^[ \t]*dkim=//p')
n=0
bad=0
while read -r r rest; do
	[ -n "$r" ] || continue
	d=$(printf '%s\n' "$rest" | grep -o 'header\.d=[^ ]*')
	s=$(printf '%s\n' "$rest" | grep -o 'header\.s=[^ ]*')
	a=$(printf '%s\n' "$rest" | grep -o 'header\.a=[^ ]*')
	echo "sig $n: $r ${d:-} ${s:-} ${a:-}$(printf '%s\n' "$rest" | grep -o 'reason="[^"]*"' | sed 's/^/ /')"
	[ "$r" = pass ] || bad=$((bad + 1))
	n=$((n + 1))
done <<EOF
$res
EOF
[ $n -gt 0 ] || { echo "sig -: fail (no dkim= result: $ar)"; exit 1; }
# Every signature must have been evaluated, not just the first one.
nsig=$(grep -ci '^DKIM-Signature:' "$tmp/msg")
if [ "$n" -ne "$nsig" ]; then
	echo "sig -: fail (opendkim reported $n results for $nsig signatures)"
	exit 1
fi
# A message with no signature gets dkim=none, which is not a pass.
[ $bad -eq 0 ]

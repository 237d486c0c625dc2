#!/bin/bash
# t_keygen.sh - "postwarden-ctl keygen": key files, DNS records, errors.
#
# Usage: tests/integration/t_keygen.sh     (prints ok / not ok lines and a
# final "N passed, N failed"; exit 0 only if nothing failed)
#
# Real parts: the keys made by postwarden-ctl are checked with the openssl
# command (not with our own code), their TXT records are served by unbound
# on 127.0.0.1:$PW_KEYGEN_DNS_PORT (default 5351) exactly as written to
# SELECTOR.txt, messages are signed with dkimpy from the key files and
# verified with dkimpy against that DNS, and opendkim-testkey (libopendkim
# + libunbound) compares the RSA key with its published record.
#
# Does not need the rest of the harness (lib.sh): no Postfix, no daemon.
# Root is needed only for the --owner and unwritable-directory checks,
# which are skipped (not counted) otherwise.
#
# Environment: PW_CTL (the binary), PW_BUILD_DIR (where it was built),
# PW_KEYGEN_DNS_PORT, PW_KEEP=1 (keep the temp dir).

set -u
umask 022

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IT=$TOP/tests/integration
PY=/usr/bin/python3		# Debian's python3-dkim, not pyenv's python3
DNS_PORT=${PW_KEYGEN_DNS_PORT:-5351}
if [ -z "${PW_BUILD_DIR:-}" ]; then
	if [ -x "$TOP/build/tools/postwarden-ctl" ]; then
		PW_BUILD_DIR=$TOP/build
	else
		PW_BUILD_DIR=$TOP
	fi
fi
CTL=${PW_CTL:-$PW_BUILD_DIR/tools/postwarden-ctl}

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }
done_() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

UNBOUND_PID=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$UNBOUND_PID" ]; then
		kill "$UNBOUND_PID" 2>/dev/null
		wait "$UNBOUND_PID" 2>/dev/null
	fi
	if [ "$fail" -eq 0 ] && [ "${PW_KEEP:-0}" != 1 ]; then
		rm -rf "$T"
	else
		echo "# kept $T" >&2
	fi
	exit "$rc"
}

[ -x "$CTL" ] || { nok "postwarden-ctl built ($CTL)"; done_; }
T=$(mktemp -d "${TMPDIR:-/tmp}/pw-keygen.XXXXXX") || exit 1
chmod 755 "$T"			# so that user nobody can reach $T/ro below
trap cleanup EXIT
trap 'exit 130' INT TERM
K=$T/keys
mkdir -p "$K" "$T/dns"

# --- helpers -------------------------------------------------------------

# mode FILE: octal permission bits
mode() { stat -c %a "$1"; }
# txt_value FILE.txt: the record's strings joined, as a verifier sees it
txt_value() {
	sed -e 's/^[^"]*//' -e 's/"[^"]*$/"/' "$1" | tr -d '\n\t' |
	    sed -e 's/" *"//g' -e 's/"//g'
}
# txt_tag FILE.txt TAG
txt_tag() { txt_value "$1" | tr -d ' ' | tr ';' '\n' | sed -n "s/^$2=//p"; }
# spki_b64 KEY: base64 DER SubjectPublicKeyInfo derived by openssl
spki_b64() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }
# raw_ed25519_b64 KEY: the raw 32-octet public key (RFC 8463 section 4.2),
# the tail of the 44-octet SPKI
raw_ed25519_b64() {
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0
}
# strings_ok FILE.txt: every quoted string is at most 255 octets
strings_ok() {
	local n
	n=$(grep -o '"[^"]*"' "$1" | awk '{ if (length($0) - 2 > 255) print }' | wc -l)
	[ "$n" -eq 0 ] && grep -q '"' "$1"
}
# run NAME ARGS...: run the tool, keep stdout/stderr/status in $T/NAME.*
run() {
	local name=$1; shift
	"$CTL" "$@" >"$T/$name.out" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
}
rc() { cat "$T/$1.rc"; }
no_files() { [ -z "$(ls -A "$1")" ]; }

# --- RSA -----------------------------------------------------------------

run rsa keygen --domain example.test --selector rsa1 --dir "$K"
check "rsa: exit 0" [ "$(rc rsa)" = 0 ]
check "rsa: private key is a regular file with mode 0600" \
    eval '[ -f "$K/rsa1.private" ] && [ "$(mode "$K/rsa1.private")" = 600 ]'
check "rsa: PKCS#8 PEM" grep -qx -- '-----BEGIN PRIVATE KEY-----' "$K/rsa1.private"
check "rsa: openssl accepts the key and finds 2048 bits" \
    eval 'openssl pkey -in "$K/rsa1.private" -noout -text 2>/dev/null | grep -q "Private-Key: (2048 bit"'
check "rsa: rsa1.txt written, mode 0644" \
    eval '[ -f "$K/rsa1.txt" ] && [ "$(mode "$K/rsa1.txt")" = 644 ]'
check "rsa: TXT name and tags" \
    eval 'grep -q "^rsa1\._domainkey\.example\.test\.[[:space:]]*IN[[:space:]]*TXT[[:space:]]*( \"v=DKIM1; k=rsa; \"" "$K/rsa1.txt"'
check "rsa: p= is the key's SubjectPublicKeyInfo (openssl)" \
    [ "$(txt_tag "$K/rsa1.txt" p)" = "$(spki_b64 "$K/rsa1.private")" ]
check "rsa: character-strings <= 255 octets (RFC 1035 3.3.14)" strings_ok "$K/rsa1.txt"
check "rsa: stdout has the same TXT record" \
    eval 'grep -q "^rsa1\._domainkey\.example\.test\." "$T/rsa.out" &&
        [ "$(grep -A20 "^rsa1\._domainkey" "$T/rsa.out" | sed "/)/q" | tr -d "\n")" = "$(tr -d "\n" <"$K/rsa1.txt")" ]'
check "rsa: KeyTable line with the absolute path" \
    grep -qx "rsa1._domainkey.example.test example.test:rsa1:$K/rsa1.private" "$T/rsa.out"
check "rsa: SigningTable line" \
    grep -qx '\*@example.test rsa1._domainkey.example.test' "$T/rsa.out"

run rsa4 keygen -d example.test -s rsa4k -b 4096 -D "$K"
check "rsa --bits 4096 (short options)" \
    eval '[ "$(rc rsa4)" = 0 ] && openssl pkey -in "$K/rsa4k.private" -noout -text 2>/dev/null | grep -q "Private-Key: (4096 bit"'
check "rsa 4096: p= matches, strings <= 255 octets" \
    eval '[ "$(txt_tag "$K/rsa4k.txt" p)" = "$(spki_b64 "$K/rsa4k.private")" ] && strings_ok "$K/rsa4k.txt"'

run weak keygen -d example.test -s weak -b 1024 -D "$K"
check "rsa --bits 1024 works but warns" \
    eval '[ "$(rc weak)" = 0 ] && grep -q "warning: 1024-bit RSA keys are weak" "$T/weak.err"'

# umask 000 must not loosen the key: mode comes from open(..., 0600).
(umask 000; "$CTL" keygen -d example.test -s umask0 -t ed25519 -D "$K" >/dev/null 2>&1)
check "umask 000: private key still 0600" [ "$(mode "$K/umask0.private")" = 600 ]

# --- Ed25519 -------------------------------------------------------------

run ed keygen --domain example.test --selector ed1 --type ed25519 --dir "$K"
check "ed25519: exit 0" [ "$(rc ed)" = 0 ]
check "ed25519: private key mode 0600" [ "$(mode "$K/ed1.private")" = 600 ]
check "ed25519: PKCS#8 PEM that openssl reads as ED25519" \
    eval 'grep -qx -- "-----BEGIN PRIVATE KEY-----" "$K/ed1.private" &&
        openssl pkey -in "$K/ed1.private" -noout -text 2>/dev/null | grep -q "ED25519 Private-Key"'
check "ed25519: k=ed25519" [ "$(txt_tag "$K/ed1.txt" k)" = ed25519 ]
check "ed25519: p= is the raw 32-octet public key (RFC 8463 4.2)" \
    eval '[ "$(txt_tag "$K/ed1.txt" p)" = "$(raw_ed25519_b64 "$K/ed1.private")" ] &&
        [ "$(txt_tag "$K/ed1.txt" p | base64 -d | wc -c)" = 32 ]'
check "ed25519: KeyTable line" \
    grep -qx "ed1._domainkey.example.test example.test:ed1:$K/ed1.private" "$T/ed.out"

# --- refusing to overwrite ------------------------------------------------

sum_before=$(sha256sum "$K/rsa1.private" "$K/rsa1.txt")
run again keygen -d example.test -s rsa1 -D "$K"
check "existing key: exit 1 with a clear message" \
    eval '[ "$(rc again)" = 1 ] && grep -q "rsa1.private already exists; refusing to overwrite" "$T/again.err"'
check "existing key: files unchanged" [ "$(sha256sum "$K/rsa1.private" "$K/rsa1.txt")" = "$sum_before" ]
run again2 keygen -d example.test -s ed1 -t ed25519 -D "$K"
check "existing ed25519 key: refused too" [ "$(rc again2)" = 1 ]

# Only the .txt exists: refused before anything is written.
echo stale >"$K/half.txt"
run half keygen -d example.test -s half -D "$K"
check "existing .txt: refused, no private key left behind" \
    eval '[ "$(rc half)" = 1 ] && [ ! -e "$K/half.private" ] && [ "$(cat "$K/half.txt")" = stale ]'
rm -f "$K/half.txt"
# A symlink in the key's place is not followed.
ln -s "$T/elsewhere" "$K/link.private"
run link keygen -d example.test -s link -D "$K"
check "symlink in place of the key: refused, target not created" \
    eval '[ "$(rc link)" = 1 ] && [ ! -e "$T/elsewhere" ]'
rm -f "$K/link.private"
check "no temporary files left in the key directory" \
    eval '[ -z "$(ls -A "$K" | grep -v -E "^[a-z0-9]+\.(private|txt)$")" ]'

# --- bad names and arguments ----------------------------------------------

mkdir "$T/empty"
i=0
for sel in "-bad" "bad-" "a/b" ".lead" "trail." "a..b" "under_score" "sp ace" "" \
    "$(printf 'x%.0s' $(seq 64))"; do
	i=$((i + 1))
	run badsel$i keygen -d example.test -s "$sel" -D "$T/empty"
	check "bad selector '$sel' rejected (exit 1, message, no files)" \
	    eval '[ "$(rc badsel$i)" = 1 ] && grep -q "selector" "$T/badsel$i.err" && no_files "$T/empty"'
done
for dom in "example.test." ".example.test" "exa mple.test" "ex*ample.test" "-x.test"; do
	i=$((i + 1))
	run baddom$i keygen -d "$dom" -s ok1 -D "$T/empty"
	check "bad domain '$dom' rejected" \
	    eval '[ "$(rc baddom$i)" = 1 ] && grep -q "domain" "$T/baddom$i.err" && no_files "$T/empty"'
done
run dotsel keygen -d sub.example.test -s 2026.jan -t ed25519 -D "$T/empty"
check "selector with dots (RFC 6376 3.1) accepted" \
    eval '[ "$(rc dotsel)" = 0 ] && grep -q "^2026\.jan\._domainkey\.sub\.example\.test\." "$T/empty/2026.jan.txt"'
rm -f "$T/empty"/*

usage() {
	local name=$1; shift
	run "$name" "$@"
	check "usage error exits 64: $*" \
	    eval '[ "$(rc "$name")" = 64 ] && grep -q "usage:" "$T/$name.err"'
}
usage u1 keygen -d example.test
usage u2 keygen -d example.test -s x -t dsa
usage u3 keygen -d example.test -s x -b 512
usage u4 keygen -d example.test -s x -b 9000
usage u5 keygen -d example.test -s x -b 2k
usage u6 keygen -d example.test -s x -t ed25519 -b 2048
usage u7 keygen -d example.test -s x --frobnicate
usage u8 keygen -d example.test -s x extra-arg
usage u9 no-such-command
usage u10
check "no files from usage errors" no_files "$T/empty"
run help help
check "help: exit 0, lists keygen" eval '[ "$(rc help)" = 0 ] && grep -q keygen "$T/help.out"'

run nodir keygen -d example.test -s x -D "$T/no/such/dir"
check "missing directory: exit 1, names it" \
    eval '[ "$(rc nodir)" = 1 ] && grep -q "$T/no/such/dir" "$T/nodir.err"'
run nouser keygen -d example.test -s x -D "$T/empty" --owner no-such-user-pw
check "unknown --owner: exit 1, no files" \
    eval '[ "$(rc nouser)" = 1 ] && grep -q "no such user" "$T/nouser.err" && no_files "$T/empty"'

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir "$T/ro" && chmod 755 "$T/ro"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$CTL" keygen -d example.test -s x -D "$T/ro" >/dev/null 2>"$T/ro.err"
	r=$?
	check "unwritable directory: exit 1, clear message, no files" \
	    eval '[ $r = 1 ] && grep -q "cannot create files in $T/ro" "$T/ro.err" && no_files "$T/ro"'
	run owner keygen -d example.test -s owned -t ed25519 -D "$K" --owner nobody
	check "--owner nobody: owned by nobody, mode 0600" \
	    eval '[ "$(rc owner)" = 0 ] && [ "$(stat -c %U "$K/owned.private")" = nobody ] &&
	        [ "$(mode "$K/owned.private")" = 600 ]'
else
	diag "not root: --owner and unwritable-directory checks skipped"
fi

# --- the records in DNS, signatures that verify -----------------------------

if ! command -v unbound >/dev/null || ! "$PY" -c 'import dkim, dns.resolver, nacl' 2>/dev/null; then
	nok "unbound, python3-dkim, python3-dnspython and python3-nacl installed"
	done_
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$DNS_PORT") 2>/dev/null; then
	nok "port $DNS_PORT is free for unbound"
	done_
fi
{
	cat <<EOF
server:
    interface: 127.0.0.1
    port: $DNS_PORT
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$T/dns"
    pidfile: "$T/dns/unbound.pid"
    use-syslog: no
    logfile: ""
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    local-zone: "." static
    local-zone: "example.test." static
EOF
	# Each record exactly as keygen wrote it: the quoted strings of
	# SELECTOR.txt become one unbound local-data value (harness-notes 3.2).
	for s in rsa1 rsa4k ed1; do
		printf "    local-data: '%s._domainkey.example.test. 60 IN TXT %s'\n" "$s" \
		    "$(sed -e 's/^[^"]*//' -e 's/"[^"]*$/"/' "$K/$s.txt" | tr -d '\n\t' | sed 's/""/" "/g')"
	done
} >"$T/dns/unbound.conf"
if ! unbound-checkconf "$T/dns/unbound.conf" >"$T/dns/check" 2>&1; then
	nok "unbound accepts the records from the .txt files"
	diag "$(cat "$T/dns/check")"
	done_
fi
unbound -d -c "$T/dns/unbound.conf" >"$T/dns/log" 2>&1 &
UNBOUND_PID=$!
for _ in $(seq 1 50); do
	[ -n "$(dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 ed1._domainkey.example.test TXT 2>/dev/null)" ] && break
	sleep 0.1
done
dnstxt() {
	dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$1" TXT |
	    sed -e 's/" "//g' -e 's/"//g'
}
for s in rsa1 rsa4k ed1; do
	check "DNS serves $s._domainkey.example.test as written to $s.txt" \
	    [ "$(dnstxt "$s._domainkey.example.test")" = "$(txt_value "$K/$s.txt")" ]
done

cat >"$T/msg.eml" <<'EOF'
From: Alice <alice@example.test>
To: Bob <bob@remote.test>
Subject: keygen round trip
Date: Wed, 25 Nov 2026 15:00:00 +0000
Message-ID: <keygen.1@example.test>

Signed with a key from postwarden-ctl keygen.
EOF
# dksign KEY SELECTOR ALG OUT: sign msg.eml with dkimpy.  RSA takes the PEM
# as is; dkimpy's Ed25519 signer wants the base64 of the 32-octet seed,
# which is the tail of the 48-octet PKCS#8 DER (RFC 8410 section 7).
dksign() {
	"$PY" - "$@" "$T/msg.eml" <<'EOF'
import base64, subprocess, sys
import dkim
key, sel, alg, out, msgf = sys.argv[1:6]
pem = open(key, "rb").read()
if alg == "ed25519-sha256":
    der = subprocess.run(["openssl", "pkey", "-in", key, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    pem = base64.b64encode(der[-32:])
msg = open(msgf, "rb").read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, sel.encode(), b"example.test", pem,
                signature_algorithm=alg.encode(),
                include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"])
open(out, "wb").write(sig + msg)
EOF
}
for s in rsa1:rsa-sha256 rsa4k:rsa-sha256 ed1:ed25519-sha256; do
	sel=${s%%:*}
	alg=${s#*:}
	if dksign "$K/$sel.private" "$sel" "$alg" "$T/$sel.eml" 2>"$T/$sel.sign.err"; then
		check "$alg with $sel: dkimpy verifies against DNS on port $DNS_PORT" \
		    eval '"$PY" "$IT/dkimverify.py" "$T/$sel.eml" "$DNS_PORT" >"$T/$sel.vfy" 2>&1'
		sed 's/^Signed with/Signed by/' "$T/$sel.eml" >"$T/$sel.bad.eml"
		check "$alg with $sel: altered body fails" \
		    eval '! "$PY" "$IT/dkimverify.py" "$T/$sel.bad.eml" "$DNS_PORT" >/dev/null 2>&1'
	else
		nok "$alg with $sel: dkimpy signs with the key file"
		diag "$(cat "$T/$sel.sign.err")"
	fi
done
# A signature by another key (rsa4k) under rsa1's name must not verify.
dksign "$K/rsa4k.private" rsa1 rsa-sha256 "$T/wrong.eml" 2>/dev/null
check "signature by a different key fails against DNS" \
    eval '! "$PY" "$IT/dkimverify.py" "$T/wrong.eml" "$DNS_PORT" >/dev/null 2>&1'

# opendkim-testkey: libopendkim loads the private key and compares it with
# the published record (RSA only: it cannot test Ed25519 keys).  It resolves
# with libunbound, which has a built-in empty "test." zone: drop it and
# forward to our unbound (harness-notes 3.3).
if command -v opendkim-testkey >/dev/null; then
	printf 'server:\n    local-zone: "test." nodefault\nforward-zone:\n    name: "."\n    forward-addr: 127.0.0.1@%s\n' \
	    "$DNS_PORT" >"$T/ub.conf"
	echo "ResolverConfiguration $T/ub.conf" >"$T/testkey.conf"
	check "opendkim-testkey: rsa1 key matches its DNS record" \
	    eval 'opendkim-testkey -x "$T/testkey.conf" -d example.test -s rsa1 -k "$K/rsa1.private" >"$T/tk.out" 2>&1'
	check "opendkim-testkey: a different key does not match" \
	    eval '! opendkim-testkey -x "$T/testkey.conf" -d example.test -s rsa1 -k "$K/weak.private" >/dev/null 2>&1'
fi

done_

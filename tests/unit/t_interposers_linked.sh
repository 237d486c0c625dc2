#!/bin/sh
# t_interposers_linked.sh - the daemon itself defines every function it
# interposes (milter/interposers.h), so none depends on some unrelated
# reference pulling its object from libpolicies.a.  TAP.
bin=${PW_BUILDDIR:-.}/milter/postwarden
[ -x "$bin" ] || { echo "1..0 # SKIP no $bin"; exit 0; }
syms="accept read poll close writev PEM_read_bio_PrivateKey d2i_PUBKEY_bio"
echo "1..7"
i=0
rc=0
nm --defined-only "$bin" 2>/dev/null | awk '$2 == "T" { print $3 }' >linked.tmp
for s in $syms; do
	i=$((i + 1))
	if grep -qx "$s" linked.tmp; then
		echo "ok $i - milter/postwarden defines $s"
	else
		echo "not ok $i - milter/postwarden does not define $s"
		rc=1
	fi
done
rm -f linked.tmp
exit $rc

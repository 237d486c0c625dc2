#!/bin/sh
# t_exports.sh - house rule (shared/STYLE.md 3.1): a policy file exports
# exactly one symbol, its "pol_<name>", and nothing from policies/ links
# libmilter.  TAP output, one point per policy object.
lib=${PW_BUILDDIR:-.}/policies/libpolicies.a
[ -f "$lib" ] || { echo "1..0 # SKIP no $lib"; exit 0; }
# __odr_asan.*: ASan's one-definition-rule markers (--enable-sanitizers),
# one per global, emitted by the compiler, not by our code.
nm -g --defined-only "$lib" 2>/dev/null |
    awk '/:$/ { f = $1; next }
	NF == 3 && $3 !~ /^__odr_asan/ { n[f]++; s[f] = s[f] " " $3 }
	END { for (f in n) print f, n[f], s[f] }' | sort >exports.tmp
grep ' pol_' exports.tmp >policies.tmp
total=$(($(wc -l <policies.tmp) + 1))
echo "1..$total"
i=0
rc=0
while read -r obj count syms; do
	i=$((i + 1))
	if [ "$count" -eq 1 ]; then
		echo "ok $i - ${obj%:} exports only${syms# }"
	else
		echo "not ok $i - ${obj%:} exports $count symbols:$syms"
		rc=1
	fi
done <policies.tmp
i=$((i + 1))
if nm -u "$lib" 2>/dev/null | grep -q ' smfi_'; then
	echo "not ok $i - policies/ must not use libmilter (smfi_*)"
	rc=1
else
	echo "ok $i - no libmilter symbol used in policies/"
fi
rm -f exports.tmp policies.tmp
exit $rc

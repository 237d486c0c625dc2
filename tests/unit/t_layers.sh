#!/bin/sh
# t_layers.sh - the layer rule (shared/DESIGN.md "Layers", README "Layout"):
#
#   a file includes only headers of its own layer or of lower ones.
#
#   0 base         policies/base/        configuration, logging, memory
#   1 parsers      policies/parsers/     mail formats; include only base
#   2 services     policies/dns/ store/ keys/ compliance/
#   3 contract     policies/*            msg, policy.h, the snapshot's
#     and checks                         services, the registry, the checks
#   4 glue         milter/ tools/        (neither includes the other)
#
# and only milter/ includes libmilter.  Every #include "..." of every
# .c and .h below policies/, milter/ and tools/ is checked; an include
# must name its folder ("dns/dns.h"), except a glue folder's own headers.
# TAP output: one point per file, plus one for libmilter.
top=${PW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1

# layer FILE-OR-HEADER-PATH: the layer number, or "?" for an unknown place
layer() {
	case $1 in
	policies/base/*) echo 0 ;;
	policies/parsers/*) echo 1 ;;
	policies/dns/* | policies/store/* | policies/keys/* | \
	    policies/compliance/*) echo 2 ;;
	policies/*/*) echo "?" ;;
	policies/*) echo 3 ;;
	milter/* | tools/*) echo 4 ;;
	*) echo "?" ;;
	esac
}

files=$(find policies milter tools -name '*.[ch]' | sort)
n=$(($(echo "$files" | wc -l) + 1))
echo "1..$n"
i=0
rc=0
for f in $files; do
	i=$((i + 1))
	own=$(layer "$f")
	dir=$(dirname "$f")
	bad=
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		[ "$inc" = autoconf.h ] && continue
		case $dir in
		milter | tools)
			# a glue folder's own headers, by plain name
			if [ -f "$dir/$inc" ]; then continue; fi ;;
		esac
		if [ ! -f "policies/$inc" ]; then
			bad="$bad $inc(not under policies/, or no folder named)"
			continue
		fi
		l=$(layer "policies/$inc")
		if [ "$l" = "?" ] || [ "$own" = "?" ] || [ "$l" -gt "$own" ]; then
			bad="$bad $inc(layer $l above $own)"
		fi
	done
	if [ -n "$bad" ]; then
		echo "not ok $i - $f includes a higher layer:$bad"
		rc=1
	else
		echo "ok $i - $f (layer $own)"
	fi
done
i=$((i + 1))
milter_users=$(grep -rl 'include <libmilter/' policies tools 2>/dev/null)
if [ -n "$milter_users" ]; then
	echo "not ok $i - only milter/ includes libmilter:" $milter_users
	rc=1
else
	echo "ok $i - only milter/ includes libmilter"
fi
exit $rc

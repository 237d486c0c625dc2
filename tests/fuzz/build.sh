#!/bin/sh
# build.sh - build the libFuzzer harnesses (clang, ASan + UBSan) and,
# with --run, give each a short fixed-seed run (the CI smoke test).
#
#   tests/fuzz/build.sh [--run [SECONDS]] [NAME...]
#
# NAME is a harness without prefix (addr, unsub, ...); default: every
# tests/fuzz/fuzz_*.c.  Binaries go to $PW_FUZZ_DIR (default
# ./build-fuzz).  Each harness is linked against every .c object below
# policies/, built once with -fsanitize=fuzzer-no-link, so a harness needs
# no list of its own sources; the linker drops what it does not use.
# A harness of code outside policies/ names those files in a comment,
#   /* fuzz-sources: tools/ctl_csv.c [MORE.c ...] */
# (paths from the top of the tree; several such lines add up); they are
# compiled the same way and linked into that harness alone.  -I at the
# top lets it include their headers by path ("tools/ctl_csv.h").
# Needs an autoconf.h: taken from $PW_BUILD_DIR (a configured build
# tree), else a minimal one is written.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${PW_FUZZ_DIR:-$PWD/build-fuzz}
run=0
secs=20
if [ "${1:-}" = --run ]; then
	run=1
	shift
	case ${1:-} in [0-9]*) secs=$1; shift ;; esac
fi
names=$*
[ -n "$names" ] || names=$(cd "$top/tests/fuzz" && ls fuzz_*.c |
    sed 's/^fuzz_//; s/\.c$//')
command -v clang >/dev/null || { echo "build.sh: clang not found" >&2; exit 1; }

mkdir -p "$out/obj"
if [ -n "${PW_BUILD_DIR:-}" ] && [ -f "$PW_BUILD_DIR/autoconf.h" ]; then
	cp "$PW_BUILD_DIR/autoconf.h" "$out/autoconf.h"
elif [ ! -f "$out/autoconf.h" ]; then
	cat >"$out/autoconf.h" <<'H'
#define _GNU_SOURCE 1
#define PW_PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
H
fi
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 -std=gnu11 -fno-omit-frame-pointer $SAN -I$out -I$top/policies"
CFLAGS="$CFLAGS -I$top"
CFLAGS="$CFLAGS -I/usr/include/opendkim -DPW_SYSCONFDIR=\"/etc/postwarden\""
CFLAGS="$CFLAGS -DPW_STATEDIR=\"/var/lib/postwarden\""
LIBS="-lopendkim -lspf2 -lopendmarc -lpsl -lunbound -lsqlite3 -lcrypto -lssl -lidn2 -lpthread"
# identify.c parses MIME with GMime 3
CFLAGS="$CFLAGS $(pkg-config --cflags gmime-3.0)"
LIBS="$LIBS $(pkg-config --libs gmime-3.0)"
# store_pg.c (the PostgreSQL store) uses libpq
CFLAGS="$CFLAGS $(pkg-config --cflags libpq)"
LIBS="$LIBS $(pkg-config --libs libpq)"

objs=
# a changed header (a struct layout) rebuilds every object
newest_h=$(ls -t $(find "$top/policies" -name '*.h') "$out/autoconf.h" |
    head -n 1)
for c in $(find "$top/policies" -name '*.c' | sort); do
	# policies/dns/dns.c -> obj/dns_dns.o: one name per file
	rel=${c#"$top"/policies/}
	o=$out/obj/$(echo "${rel%.c}" | tr / _).o
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
		clang $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o"
	fi
	objs="$objs $o"
done
rm -f "$out/libfuzzpol.a"
ar cr "$out/libfuzzpol.a" $objs

# extra_objs HARNESS: compile the files its "fuzz-sources:" lines name
# (when changed, or a header beside them or below policies/ is newer);
# prints the objects
extra_objs() {
	for rel in $(sed -n 's|.*/\* *fuzz-sources: *\(.*\)\*/.*|\1|p' "$1"); do
		c=$top/$rel
		case $rel in
		/* | *..* | *[!A-Za-z0-9_./-]*) c= ;;
		esac
		if [ -z "$c" ] || [ ! -f "$c" ]; then
			echo "build.sh: $1: no source \"$rel\"" >&2
			return 1
		fi
		o=$out/obj/extra_$(echo "${rel%.c}" | tr / _).o
		h=$(ls -t "$newest_h" $(find "$(dirname "$c")" -maxdepth 1 \
		    -name '*.h') | head -n 1)
		if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$h" -nt "$o" ]; then
			clang $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o" ||
			    return 1
		fi
		echo "$o"
	done
}

rc=0
for n in $names; do
	src=$top/tests/fuzz/fuzz_$n.c
	[ -f "$src" ] || { echo "build.sh: no $src" >&2; exit 2; }
	extra=$(extra_objs "$src") || exit 2
	clang $CFLAGS -fsanitize=fuzzer "$src" $extra "$out/libfuzzpol.a" \
	    $LIBS -o "$out/fuzz_$n"
	echo "built $out/fuzz_$n"
	if [ $run = 1 ]; then
		dict=
		[ -f "$top/tests/fuzz/dict/$n" ] && dict=-dict=$top/tests/fuzz/dict/$n
		mkdir -p "$out/corpus/$n"
		if ! "$out/fuzz_$n" $dict -seed=1 -max_total_time="$secs" \
		    -artifact_prefix="$out/" \
		    -max_len=4096 "$out/corpus/$n" "$top/tests/fuzz/seeds/$n" \
		    >"$out/fuzz_$n.log" 2>&1; then
			echo "FAIL fuzz_$n (see $out/fuzz_$n.log)"
			tail -30 "$out/fuzz_$n.log"
			rc=1
		else
			echo "ok fuzz_$n: $(grep -c . "$out/fuzz_$n.log") log lines," \
			    "$(ls "$out/corpus/$n" | wc -l) corpus files"
		fi
	fi
done
exit $rc

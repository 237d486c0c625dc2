#!/bin/bash
# test.sh - README command 2: install what is needed, build, run the whole
# test suite, and end with exactly one line "N passed, N failed".
#
#   sudo bash scripts/test.sh
#
# Steps: scripts/install-deps.sh (Debian packages), ./autogen.sh,
# configure in build/ with --enable-test-hooks, make, `make check` (the
# cmocka unit tests through automake's TAP driver), then every
# tests/integration/t_*.sh (a private Postfix, unbound and a sink on
# loopback ports PW_PORT_BASE+25.., default 25000; needs root).
# Counts: unit tests from the automake summary (# PASS / # FAIL /
# # ERROR), integration tests from each script's last line.  Exits
# non-zero on any failure.  Logs: build/test-logs/.
#
# Environment: PW_BUILD (build directory, default build), PW_PORT_BASE
# (ports), PW_SKIP_DEPS=1 (do not run install-deps.sh), PW_TESTS (the
# integration scripts to run, default tests/integration/t_*.sh), PW_KEEP=1
# (keep the integration temp dirs), PW_TMPDIR (where they go),
# PW_TEST_TIMEOUT (seconds per integration script, default 600),
# PW_SANITIZERS=0 (skip the sanitizer pass, step 6), PW_SAN_TESTS (its
# integration scripts).
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
t_start=$(date +%s)
passed=0
failed=0
build=${PW_BUILD:-build}
logs=$top/$build/test-logs

say() { printf '%s\n' "$*"; }
# finish: print the only un-prefixed "N passed, N failed" line and exit
finish() {
	say "# suite took $(($(date +%s) - t_start)) s"
	say "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}
# step NAME COMMAND...: run a build step, logging; a failure ends the run
step() {
	local name=$1 log
	shift
	log=$logs/$name.log
	say "# $name: $*"
	if ! "$@" >"$log" 2>&1 </dev/null; then
		tail -n 30 "$log" | sed 's/^/#   /'
		say "not ok - $name failed (log: $log)"
		failed=$((failed + 1))
		finish
	fi
}

mkdir -p "$logs"
jobs=$(nproc 2>/dev/null || echo 2)

# 1. packages (root only; a non-root run assumes they are installed)
if [ "${PW_SKIP_DEPS:-0}" != 1 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		step install-deps sh scripts/install-deps.sh
	else
		say "# not root: skipping scripts/install-deps.sh"
	fi
fi

# 2. build
step autogen ./autogen.sh
mkdir -p "$build"
step configure sh -c "cd '$build' && '$top/configure' --enable-test-hooks"
step make make -C "$build" -j"$jobs"

# sanitizer reports (step 6): the files in $san_dir; "" outside step 6
san_dir=
# san_reports WHAT: count a failure for each new report file and show
# its head; then empty the directory for the next test
san_reports() {
	local f
	[ -n "$san_dir" ] || return 0
	for f in "$san_dir"/*; do
		[ -f "$f" ] || continue
		say "not ok - $1: sanitizer report $(basename "$f")"
		grep -E 'ERROR|runtime error|SUMMARY|#[0-9] ' "$f" | head -12 |
		    sed 's/^/#   /'
		cp "$f" "$logs/" 2>/dev/null
		rm -f "$f"
		failed=$((failed + 1))
	done
}

# unit_tests DIR LABEL: make check in DIR (cmocka through the TAP driver)
unit_tests() {
	local dir=$1 label=$2 check_rc counts u_pass u_fail
	say "# make check ($label)"
	make -C "$dir" -j"$jobs" check >"$logs/$label.log" 2>&1 </dev/null
	check_rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$logs/$label.log" | sed 's/^/#   /'
	counts=$(awk '/^# PASS:/ { p = $3 } /^# FAIL:/ { f = $3 } /^# ERROR:/ { e = $3 }
		/^# XPASS:/ { x = $3 }
		END { printf "%d %d", p, f + e + x }' "$logs/$label.log")
	u_pass=${counts% *}
	u_fail=${counts#* }
	if [ "$check_rc" -ne 0 ] && [ "$u_fail" -eq 0 ]; then
		# make check failed before the summary (e.g. a test did not build)
		grep -E 'error|Error' "$logs/$label.log" | head -20 | sed 's/^/#   /'
		u_fail=1
	fi
	say "# unit tests ($label): $u_pass passed, $u_fail failed"
	passed=$((passed + u_pass))
	failed=$((failed + u_fail))
	san_reports "$label"
}

# 3. unit tests (cmocka through the TAP driver).  The store tests run on
#    SQLite and, with a private PostgreSQL 15 cluster (tests/integration/
#    pg.sh, root only), on PostgreSQL too: PW_TEST_PG_URI and friends.
pg_unit=
if [ "$(id -u)" -eq 0 ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
	. tests/integration/pg.sh
	pg_unit=$(mktemp -d "${PW_TMPDIR:-/tmp}/pw-unitpg.XXXXXX")
	chmod 755 "$pg_unit"
	trap 'pg_stop' EXIT	# also when this script is stopped
	if PW_BUILD_DIR=$top/$build pg_start "$pg_unit" >"$logs/pg.log" 2>&1; then
		export PW_TEST_PG_URI=$PW_PG_OWNER_URI
		export PW_TEST_PG_MILTER_URI=$PW_PG_MILTER_URI
		export PW_TEST_PG_READER_URI=$PW_PG_READER_URI
		export PW_TEST_PG_REPORT_URI=$PW_PG_REPORT_URI
		say "# PostgreSQL for the unit tests on 127.0.0.1:$PW_PG_PORT"
	else
		sed 's/^/#   /' "$logs/pg.log"
		say "not ok - the PostgreSQL cluster for the unit tests did not start"
		failed=$((failed + 1))
	fi
else
	say "# no PostgreSQL (not root, or no postgresql-15): store tests on SQLite only"
fi
unit_tests "$build" check
if [ -n "$pg_unit" ]; then
	pg_stop
	rm -rf "$pg_unit"
	unset PW_TEST_PG_URI PW_TEST_PG_MILTER_URI PW_TEST_PG_READER_URI \
	    PW_TEST_PG_REPORT_URI
fi

# 4. fuzz smoke: every libFuzzer harness, a short fixed-seed run each
#    (PW_FUZZ_SECONDS, default 5; 0 skips).  A crash or sanitizer report
#    counts as a failure.
fz=${PW_FUZZ_SECONDS:-5}
if [ "$fz" != 0 ]; then
	say "# fuzz smoke: ${fz} s per harness"
	PW_BUILD_DIR=$top/build PW_FUZZ_DIR=$top/build/fuzz \
	    sh tests/fuzz/build.sh --run "$fz" >"$logs/fuzz.log" 2>&1 </dev/null
	f_rc=$?
	f_pass=$(grep -c '^ok fuzz_' "$logs/fuzz.log")
	f_fail=$(grep -c '^FAIL fuzz_' "$logs/fuzz.log")
	if [ "$f_rc" -ne 0 ] && [ "$f_fail" -eq 0 ]; then
		tail -n 20 "$logs/fuzz.log" | sed 's/^/#   /'
		f_fail=1	# the harnesses did not build
	fi
	grep -E '^(ok|FAIL) fuzz_' "$logs/fuzz.log" | sed 's/^/#   /'
	say "# fuzz smoke: $f_pass passed, $f_fail failed"
	passed=$((passed + f_pass))
	failed=$((failed + f_fail))
fi

# 5. integration tests
if [ "$(id -u)" -ne 0 ]; then
	say "not ok - integration tests need root (Postfix, sendmail -C)"
	failed=$((failed + 1))
	finish
fi
export PW_BUILD_DIR=$top/$build
# One port range for the whole run (lib.sh: base+25 Postfix, +26 sink,
# +27 inet milter, +30 DNS); another run needs another base.
export PW_PORT_BASE=${PW_PORT_BASE:-25000}
# integration PREFIX SCRIPT...: run each script, count its result line
integration() {
	local prefix=$1 t name t0 rc last p f
	shift
	for t in "$@"; do
	name=$prefix$(basename "$t" .sh)
	t0=$(date +%s)
	say "# $name"
	# The script's own "N passed, N failed" line becomes a comment so
	# that the last line of this script is the only plain one.
	# A hung script is stopped (SIGTERM: its trap still cleans up).
	timeout -k 30 "${PW_TEST_TIMEOUT:-600}" bash "$t" </dev/null 2>&1 |
	    tee "$logs/$name.log" |
	    sed -E 's/^([0-9]+ passed, [0-9]+ failed)$/# '"$name"': \1/'
	rc=${PIPESTATUS[0]}
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/$name.log" | tail -1)
	if [ -z "$last" ]; then
		say "not ok - $name ended without a result line (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${last%% passed*}
	f=${last#*, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		say "not ok - $name exited $rc"
		failed=$((failed + 1))
	fi
	# The daemons' sanitizer reports go to files, but a child's stderr
	# may carry one too.
	if [ -n "$san_dir" ] &&
	    grep -qE 'runtime error|ERROR: (Address|Leak)Sanitizer' "$logs/$name.log"; then
		say "not ok - $name: sanitizer report in its output"
		failed=$((failed + 1))
	fi
	san_reports "$name"
	say "# $name took $(($(date +%s) - t0)) s"
	done
}
integration "" ${PW_TESTS:-tests/integration/t_*.sh}

# 6. sanitizer pass (issue 14): the tree again with --enable-sanitizers
#    (ASan with LeakSanitizer, and UBSan) in $build-san, then the unit
#    tests and the integration tests of signing, inbound, compliance,
#    unsubscribe and the DMARC report job (two threads) against it.  Any report fails the run: they go to files in
#    $san_dir (log_path: a daemon's stderr is its log), counted after
#    each test; UBSan stops at the first error (-fno-sanitize-recover in
#    configure.ac).  libmilter, libopendkim and the other libraries are
#    not instrumented.  PW_SANITIZERS=0 skips this.
if [ "${PW_SANITIZERS:-1}" != 0 ]; then
	sbuild=$build-san
	mkdir -p "$sbuild"
	step san-configure sh -c "cd '$sbuild' && '$top/configure' --enable-test-hooks --enable-sanitizers"
	step san-make make -C "$sbuild" -j"$jobs"
	san_dir=$logs/sanitizers
	rm -rf "$san_dir"
	mkdir -p "$san_dir"
	chmod 1777 "$san_dir"	# the daemons write as their user
	export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$san_dir/asan"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan"
	unit_tests "$sbuild" san-check
	export PW_BUILD_DIR=$top/$sbuild
	integration san- ${PW_SAN_TESTS:-tests/integration/t_sign.sh \
	    tests/integration/t_inbound.sh tests/integration/t_consent.sh \
	    tests/integration/t_unsubd.sh tests/integration/t_unsubd_attack.sh \
	    tests/integration/t_dmarc_report.sh}
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi
finish

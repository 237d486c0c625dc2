#!/bin/bash
# package-test.sh - build the Debian package, check it with lintian,
# install it on this machine, run one signing check against the installed
# service, and remove it again.  Run as root on Debian 12:
#
#   scripts/package-test.sh            # ends with "N passed, N failed"
#
# The build runs in a copy of the source tree (the files git tracks plus
# untracked, not ignored ones) under $PW_TMPDIR (default /tmp), so the
# repository and its build/ directory are not touched; the .deb files stay
# there with PW_KEEP=1.  Lintian errors fail the run; its warnings are
# printed.  A machine that already has the postwarden package installed is
# left alone (the script stops).  The signing check is
# tests/package/check_installed.sh (ports from PW_PORT_BASE, as the
# integration tests).  Purging keeps /var/lib/postwarden and the
# postwarden user, as the package does for a real store; this script
# removes them when they did not exist before it ran.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
# check DESCRIPTION [!] COMMAND...: ok if the command succeeds (with !: fails)
check() {
	local d=$1 neg=0 rc
	shift
	[ "$1" = "!" ] && { neg=1; shift; }
	"$@"
	rc=$?
	if [ $neg = 1 ]; then [ $rc -ne 0 ]; else [ $rc -eq 0 ]; fi && ok "$d" || nok "$d"
}
done_() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ] && [ "$pass" -gt 0 ]; exit $?; }

[ "$(id -u)" = 0 ] || { nok "package-test.sh runs as root"; done_; }
if dpkg-query -W -f='${Status}' postwarden 2>/dev/null | grep -q 'installed'; then
	nok "postwarden is not installed already (remove it first; this script would purge it)"
	done_
fi
for c in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$c" >/dev/null || { nok "$c is installed (scripts/install-deps.sh)"; done_; }
done

mkdir -p "${PW_TMPDIR:-/tmp}"
W=$(mktemp -d "${PW_TMPDIR:-/tmp}/pw-pkg.XXXXXX") || exit 1
chmod 755 "$W"
had_user=0
getent passwd postwarden >/dev/null && had_user=1
had_state=0
[ -e /var/lib/postwarden ] && had_state=1
installed=0
cleanup() {
	local rc=$?
	if [ $installed = 1 ]; then
		apt-get purge -y -q -o DPkg::Lock::Timeout=300 postwarden >"$W/purge.log" 2>&1
	fi
	[ $had_state = 1 ] || rm -rf /var/lib/postwarden
	[ $had_user = 1 ] || ! getent passwd postwarden >/dev/null ||
	    deluser --quiet --system postwarden >/dev/null 2>&1
	getent group postwarden >/dev/null && [ $had_user = 0 ] &&
	    delgroup --quiet --system postwarden >/dev/null 2>&1
	if [ "$fail" = 0 ] && [ "${PW_KEEP:-0}" != 1 ]; then
		rm -rf "$W"
	else
		echo "# kept $W" >&2
	fi
	exit $rc
}
trap cleanup EXIT

# ---- build in a copy ---------------------------------------------------------------
ver=$(sed -n '1s/^postwarden (\([^)]*\)).*/\1/p' "$top/debian/changelog")
src=$W/postwarden-$ver
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    tar -cf - --null -T -) | tar -xf - -C "$src"
else
	tar -C "$top" --exclude=./build -cf - . | tar -xf - -C "$src"
fi
t0=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1
rc=$?
check "dpkg-buildpackage -us -uc -b (in $(($(date +%s) - t0)) s)" test $rc = 0 ||
    tail -30 "$W/build.log" | sed 's/^/# /'
deb=$(ls "$W"/postwarden_"$ver"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { nok "postwarden_${ver}_*.deb built"; done_; }
ok "built $(basename "$deb")"

# ---- lintian ----------------------------------------------------------------------------
lintian "$W"/postwarden_"$ver"_*.changes >"$W/lintian.txt" 2>&1
sed 's/^/# lintian: /' "$W/lintian.txt" | grep -v 'running with root' >&2
check "lintian: no errors" ! grep -q '^E: ' "$W/lintian.txt"

# ---- the package's contents --------------------------------------------------------------
c=$(dpkg-deb -c "$deb" | awk '{print $6}')
for p in ./usr/sbin/postwarden ./usr/sbin/postwarden-ctl ./usr/sbin/postwarden-unsubd \
    ./usr/share/man/man8/postwarden.8.gz ./usr/share/man/man8/postwarden-ctl.8.gz \
    ./usr/share/man/man5/postwarden.conf.5.gz ./lib/systemd/system/postwarden.service \
    ./lib/systemd/system/postwarden-unsubd.service \
    ./lib/systemd/system/postwarden-dmarc-report.service \
    ./lib/systemd/system/postwarden-dmarc-report.timer \
    ./usr/share/doc/postwarden/examples/postwarden-roles.sql ./var/lib/postwarden/; do
	check "the .deb holds $p" grep -qxF "$p" <<<"$c"
done
cf=$(dpkg-deb -f "$deb" Package >/dev/null && dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)
check "conffiles: /etc/postwarden/postwarden.conf and the samples" \
    test "$(grep -c '^/etc/postwarden/' <<<"$cf")" = 4
u=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/postwarden.service)
for l in User=postwarden NoNewPrivileges=yes ProtectSystem=strict \
    'ReadWritePaths=/var/lib/postwarden /run/postwarden -/var/spool/postfix/postwarden'; do
	check "postwarden.service: $l" grep -qxF "$l" <<<"$u"
done

# ---- install -------------------------------------------------------------------------------
apt-get install -y -q -o DPkg::Lock::Timeout=300 "$deb" >"$W/install.log" 2>&1
rc=$?
installed=1
check "apt-get install ./$(basename "$deb")" test $rc = 0 || tail -20 "$W/install.log" | sed 's/^/# /'
check "system user postwarden, no login shell" \
    eval 'getent passwd postwarden | grep -q ":/usr/sbin/nologin$\|:/bin/false$"'
check "/var/lib/postwarden belongs to postwarden, 0750" \
    test "$(stat -c '%U:%G %a' /var/lib/postwarden)" = "postwarden:postwarden 750"
check "man postwarden-ctl finds the page" eval 'man -w postwarden-ctl >/dev/null 2>&1'
check "postwarden -n accepts the shipped configuration" \
    eval '/usr/sbin/postwarden -n -c /etc/postwarden/postwarden.conf >/dev/null'
# after the install: verify also checks that the binaries and man pages exist
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/postwarden.service \
	    /lib/systemd/system/postwarden-unsubd.service \
	    /lib/systemd/system/postwarden-dmarc-report.service \
	    /lib/systemd/system/postwarden-dmarc-report.timer >"$W/verify.txt" 2>&1
	check "systemd-analyze verify: the installed units" test $? = 0
	sed 's/^/# /' "$W/verify.txt"
fi

# ---- start it as the unit and sign one message ---------------------------------------
PW_TMPDIR=$W bash "$top/tests/package/check_installed.sh" >"$W/check.log" 2>&1
rc=$?
sed 's/^/    /' "$W/check.log"
check "tests/package/check_installed.sh ($(grep 'passed,' "$W/check.log" | tail -1))" test $rc = 0

# ---- remove ---------------------------------------------------------------------------------
apt-get purge -y -q -o DPkg::Lock::Timeout=300 postwarden >"$W/purge.log" 2>&1
rc=$?
installed=0
check "apt-get purge postwarden" test $rc = 0
check "binaries and /etc/postwarden gone" \
    eval '[ ! -e /usr/sbin/postwarden ] && [ ! -e /etc/postwarden ]'
done_

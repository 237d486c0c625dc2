#!/bin/sh
# install-deps.sh - install every Debian 12 package that postwarden's build,
# tests and benchmarks need.  Non-interactive; safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
# Postfix asks for its mail name and configuration type: answer before it asks.
if command -v debconf-set-selections >/dev/null 2>&1; then
	printf '%s\n' \
	    'postfix postfix/main_mailer_type select No configuration' \
	    'postfix postfix/mailname string localhost' |
	    debconf-set-selections
fi
# m4, libwrap0, util-linux (unshare): t_sendmail.sh, which downloads and
# unpacks sendmail-bin/-base/-cf itself: never install sendmail-bin here,
# it would remove postfix.  chromium, poppler-utils (pdftotext),
# fonts-dejavu-core: t_report_html.sh renders the auditor's page.
# debhelper, lintian, fakeroot, dpkg-dev: scripts/package-test.sh.
# dmarc-cat: t_dmarc_report.sh reads the sent aggregate reports with it.
PKGS="
autoconf automake libtool pkg-config make gcc clang libclang-rt-14-dev
libmilter-dev libopendkim-dev libspf2-dev libopendmarc-dev publicsuffix libpsl-dev
libunbound-dev libevent-dev libsqlite3-dev libssl-dev libcmocka-dev libidn2-dev
libgmime-3.0-dev libmicrohttpd-dev libjansson-dev libpq-dev sqlite3
libxml2-dev zlib1g-dev libxml2-utils dmarc-cat
postgresql-15 postgresql-client-15
postfix swaks opendkim opendkim-tools opendmarc miltertest unbound bind9-dnsutils
python3 python3-dkim python3-dnspython python3-aiosmtpd python3-authres python3-spf python3-yaml
iproute2 procps psmisc curl openssl wrk
m4 libwrap0 util-linux
chromium poppler-utils fonts-dejavu-core
debhelper lintian fakeroot dpkg-dev
python3-prometheus-client python3-yaml
"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -o DPkg::Lock::Timeout=300 >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends $missing
fi

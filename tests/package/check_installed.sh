#!/bin/bash
# check_installed.sh - one signing check against the INSTALLED package
# (run by scripts/package-test.sh after it installed postwarden_*.deb).
#
# The daemon is /usr/sbin/postwarden started as its systemd unit says:
# with systemctl when systemd runs, otherwise by hand exactly as the unit
# would (User=/Group= from /lib/systemd/system/postwarden.service, its
# RuntimeDirectory, ExecStartPre, then ExecStart, with no new privileges).
# Its configuration is /etc/postwarden/postwarden.conf (the conffile is
# saved and put back at exit); the mail goes through the harness's private
# Postfix (milter over inet), and dkimpy verifies the signature against
# the key the test unbound publishes.
PW_MILTER_SOCKET=inet
. "$(dirname "$0")/../integration/lib.sh"

UNIT=/lib/systemd/system/postwarden.service
CONF=/etc/postwarden/postwarden.conf
[ -x /usr/sbin/postwarden ] && [ -f "$UNIT" ] || pw_bail "the package is installed"
unit() { sed -n "s/^$1=//p" "$UNIT" | head -1; }
USER_=$(unit User)
GROUP_=$(unit Group)
check "the unit runs the daemon as a user of its own (User=$USER_)" \
    test -n "$USER_" -a "$USER_" != root
id "$USER_" >/dev/null 2>&1 || pw_bail "user $USER_ exists"

# ---- configuration: saved, replaced, restored at exit ---------------------------------
cp -p "$CONF" "$T/conf.orig"
SYSTEMD=0
[ -d /run/systemd/system ] && command -v systemctl >/dev/null && SYSTEMD=1
DPID=
eval "pw_cleanup_lib$(declare -f pw_cleanup | sed 1s/^pw_cleanup//)"
pw_cleanup() {
	local rc=$?
	if [ $SYSTEMD = 1 ]; then
		systemctl stop postwarden 2>/dev/null
	elif [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		pw_wait_gone "$DPID" 150
	fi
	cp -p "$T/conf.orig" "$CONF"
	rm -rf /etc/postwarden/pkgtest
	(exit $rc)
	pw_cleanup_lib
}

k=$(pw_key rsa example.test pkg) || pw_bail "key generated"
install -d -o "$USER_" -g "$GROUP_" -m 0750 /etc/postwarden/pkgtest
install -o "$USER_" -g "$GROUP_" -m 0600 "$k" /etc/postwarden/pkgtest/pkg.key
echo "pkg example.test:pkg:/etc/postwarden/pkgtest/pkg.key" >/etc/postwarden/pkgtest/KeyTable
echo "*@example.test pkg" >/etc/postwarden/pkgtest/SigningTable
cat >"$CONF" <<EOF
# written by tests/package/check_installed.sh (the original is restored)
milter_socket = inet:$PW_MILTER_PORT@127.0.0.1
internal_hosts = 127.0.0.0/8
authserv_id = mx.example.test
dns_nameservers = 127.0.0.1@$PW_DNS_PORT
log = stderr
dkim_key_table = file:/etc/postwarden/pkgtest/KeyTable
dkim_signing_table = refile:/etc/postwarden/pkgtest/SigningTable
EOF

pw_start_dns || pw_bail "unbound started"
pw_start_sink || pw_bail "sink started"

# ---- start as the unit ---------------------------------------------------------------
if [ $SYSTEMD = 1 ]; then
	systemctl daemon-reload
	check "systemctl start postwarden" systemctl start postwarden
	DPID=$(systemctl show -p MainPID --value postwarden)
else
	diag "no systemd here: starting as $UNIT would"
	rd=$(unit RuntimeDirectory)
	if [ -n "$rd" ]; then
		install -d -o "$USER_" -g "$GROUP_" -m "$(unit RuntimeDirectoryMode || echo 0755)" "/run/$rd"
	fi
	as_unit() {
		setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups \
		    --no-new-privs -- "$@"
	}
	# shellcheck disable=SC2046
	check "ExecStartPre ($(unit ExecStartPre)) accepts the configuration" \
	    eval 'as_unit $(unit ExecStartPre) >"$T/pw/pre.out"'
	# not through as_unit: $! must be the daemon (setpriv execs it), not a
	# subshell whose end would leave the daemon running
	# shellcheck disable=SC2046
	setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups --no-new-privs \
	    -- $(unit ExecStart) >>"$T/pw/log" 2>&1 &
	DPID=$!
	PW_PIDS+=($DPID)
fi
for i in $(seq 1 100); do
	pw_wait_tcp "$PW_MILTER_PORT" 1 && break
	sleep 0.1
done
check "postwarden listens on 127.0.0.1:$PW_MILTER_PORT" pw_wait_tcp "$PW_MILTER_PORT" 1 ||
    diag "$(tail -5 "$T/pw/log")"
check "the daemon runs as $USER_ (pid $DPID)" \
    test "$(ps -o uid= -p "$DPID" 2>/dev/null | tr -d ' ')" = "$(id -u "$USER_")"

pw_start_postfix || pw_bail "postfix started"
pw_send_smtp --header 'Subject: signed by the installed package'
f=$(pw_wait_sent "$PW_QID")
check "a message through Postfix reached the sink" test -n "$f"
check "it carries d=example.test s=pkg" \
    test "$(pw_sig_tag "$f" 0 d)/$(pw_sig_tag "$f" 0 s)" = example.test/pkg
check "the signature verifies (dkimpy)" pw_verify_dkimpy "$f"
pw_done

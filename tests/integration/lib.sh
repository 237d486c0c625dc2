# lib.sh - shared harness for the postwarden integration tests (bash).
#
# Each tests/integration/t_*.sh sources this file, sets up what it needs and
# prints TAP-ish "ok - ..." / "not ok - ..." lines, then pw_done prints the
# final "N passed, N failed" line and exits 0 only if nothing failed.
# Must run as root (Postfix's private instance, sendmail -C, smtp-sink -u).
#
# Real parts only: a private Postfix on loopback (harness-notes section 1),
# unbound serving a per-test zone (section 3.2), a byte-exact sink
# (rawsink.py, section 2), and postwarden itself (built tree), verified
# with dkimpy (dkimverify.py) and OpenDKIM (odkim_verify.sh).
#
# Ports: everything derives from PW_PORT_BASE (default 25000) so that
# several suites can run at once with different bases:
#   PW_PORT_BASE+25  Postfix smtpd              (PW_SMTP_PORT,   25025)
#   PW_PORT_BASE+26  sink                       (PW_SINK_PORT,   25026)
#   PW_PORT_BASE+27  milter, only if PW_MILTER_SOCKET=inet (25027)
#   PW_PORT_BASE+30  unbound DNS, UDP and TCP   (PW_DNS_PORT,    25030)
#   PW_PORT_BASE+80  postwarden-unsubd in t_unsubd and t_loop (+81 TLS)
# The milter socket is a unix socket in the temp dir by default
# ($T/pw/milter.sock, or the path in PW_SOCK_PATH); PW_MILTER_SOCKET=inet
# uses inet:PORT@127.0.0.1.
#
# Other environment knobs:
#   PW_BUILD_DIR     where milter/postwarden and tools/postwarden-ctl were
#                    built (default: $top/build if it has them, else $top)
#   PW_POSTWARDEN    explicit path of the daemon
#   PW_MILTER_IMPL   postwarden (default) or opendkim: Debian's opendkim
#                    fed the same KeyTable/SigningTable (harness self-test)
#   PW_SINK          raw (default, rawsink.py) or smtp-sink
#   PW_MILTER_VERBOSE 1 (default): postwarden -v (debug lines in the log);
#                    0: the production log (benchmarks)
#   PW_USER          user postwarden drops to after binding (default
#                    postfix: it owns the unix socket then, so Postfix can
#                    connect, and the keys are chowned to it); empty =
#                    stay root with milter_socket_mode = 0666
#   PW_KEEP=1        keep the temp dir even when every check passed
#                    (it is always kept, and its path printed, on failure)
#   PW_TMPDIR        parent of the temp dir (default /tmp)
#   PW_STORE         the daemon's store (default sqlite:$T/pw/postwarden.db;
#                    t_pgstore.sh: postgresql://..., see pg.sh)
#
# Layout of the temp dir $T (chmod 755: Postfix runs as user postfix):
#   $T/dns/   unbound.conf, zone.conf (local-data lines), log
#   $T/sink/  NNNNNN.eml + NNNNNN.env per delivered message
#   $T/pf/    etc/{main,master}.cf, spool/, data/, maillog
#   $T/pw/    postwarden.conf, KeyTable, SigningTable, extra.conf, log,
#             milter.sock, postwarden.pid, db
#   $T/keys/  private keys (0600) and their DNS records
#   $T/msg/   messages composed by the tests
#
# Main functions (see each for details):
#   pw_setup [--no-milter]    start dns, sink, postwarden, Postfix
#   pw_key rsa|ed25519 DOMAIN SELECTOR [BITS]   make key, publish TXT
#   pw_keytable NAME DOMAIN SELECTOR KEYFILE / pw_signing PATTERN NAME
#   pw_send_smtp [--xclient ADDR] [swaks args]  sets PW_QID, PW_SWAKS
#   pw_send_local FROM TO FILE                  sets PW_QID
#   pw_wait_sent QID            prints the sink file (fails if none)
#   pw_verify_dkimpy FILE / pw_verify_odkim FILE
#   ok / nok / check / pw_done

set -u
umask 022

PW_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PW_IT=$PW_TOP/tests/integration
. "$PW_IT/postfix.sh"
PW_PY=/usr/bin/python3		# Debian's python3-dkim; not pyenv's python3
PW_PORT_BASE=${PW_PORT_BASE:-25000}
PW_SMTP_PORT=$((PW_PORT_BASE + 25))
PW_SINK_PORT=$((PW_PORT_BASE + 26))
PW_MILTER_PORT=$((PW_PORT_BASE + 27))
PW_DNS_PORT=$((PW_PORT_BASE + 30))
export PW_DNS_PORT
PW_MILTER_SOCKET=${PW_MILTER_SOCKET:-unix}
PW_MILTER_IMPL=${PW_MILTER_IMPL:-postwarden}
PW_SINK=${PW_SINK:-raw}
PW_MILTER_VERBOSE=${PW_MILTER_VERBOSE:-1}
PW_USER=${PW_USER-postfix}

if [ -z "${PW_BUILD_DIR:-}" ]; then
	if [ -x "$PW_TOP/build/milter/postwarden" ]; then
		PW_BUILD_DIR=$PW_TOP/build
	else
		PW_BUILD_DIR=$PW_TOP
	fi
fi
PW_POSTWARDEN=${PW_POSTWARDEN:-$PW_BUILD_DIR/milter/postwarden}
PW_CTL=${PW_CTL:-$PW_BUILD_DIR/tools/postwarden-ctl}

pw_pass=0
pw_fail=0
PW_PIDS=()		# every background process we started
PW_MILTER_PID=
PW_QID=
PW_SWAKS=

# --- results -------------------------------------------------------------

ok() { pw_pass=$((pw_pass + 1)); echo "ok - $*"; }
nok() { pw_fail=$((pw_fail + 1)); echo "not ok - $*"; }
# check DESCRIPTION [!] COMMAND...: ok if the command succeeds (with !:
# if it fails)
check() {
	local d=$1 neg=0 rc
	shift
	[ "$1" = "!" ] && { neg=1; shift; }
	"$@"
	rc=$?
	if [ $neg = 1 ]; then [ $rc -ne 0 ]; else [ $rc -eq 0 ]; fi && ok "$d" || nok "$d"
}
# diag: comment lines on stderr (ignored by the counters)
diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }
pw_done() {
	echo "$pw_pass passed, $pw_fail failed"
	[ "$pw_fail" -eq 0 ] && [ "$pw_pass" -gt 0 ]
	exit $?
}
# pw_bail WHAT: a precondition failed: count it as a failure and stop
pw_bail() { nok "$*"; pw_done; }

# --- process helpers -----------------------------------------------------

# pw_wait_tcp PORT [TENTHS]: until 127.0.0.1:PORT accepts (postfix.sh)
# pw_wait_gone PID [TENTHS]
pw_wait_gone() {
	local i
	for i in $(seq 1 "${2:-100}"); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
pw_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pw_cleanup() {
	local rc=$? p m= t0
	trap - EXIT INT TERM
	t0=$(date +%s%N)
	# Stop everything at once, then wait: libmilter daemons and Postfix
	# take seconds each to exit (harness-notes appendix B).
	if [ -n "${T:-}" ] && [ -f "$T/pf/spool/pid/master.pid" ]; then
		m=$(tr -d ' ' <"$T/pf/spool/pid/master.pid")
		postfix -c "$T/pf/etc" stop >/dev/null 2>&1
	fi
	for p in "${PW_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PW_PIDS[@]}" $m; do
		if ! pw_wait_gone "$p" 150; then
			echo "# pid $p did not exit after 15 s, killing" >&2
			kill -KILL "$p" 2>/dev/null
		fi
	done
	for p in "${PW_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# what other harness files registered (pg.sh: stop PostgreSQL)
	for p in ${pw_cleanup_hooks[@]+"${pw_cleanup_hooks[@]}"}; do "$p"; done
	[ -z "$m" ] || diag "cleanup took $(pw_ms_since "$t0") ms"
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ "$pw_fail" -eq 0 ] && [ "${PW_KEEP:-0}" != 1 ] && [ "$rc" -eq 0 ]; then
			rm -rf "$T"
		else
			echo "# kept $T" >&2
		fi
	fi
	exit "$rc"
}

# --- temp dir ------------------------------------------------------------

pw_init() {
	[ "$(id -u)" -eq 0 ] || { echo "not ok - integration tests need root"; echo "0 passed, 1 failed"; exit 1; }
	T=$(mktemp -d "${PW_TMPDIR:-/tmp}/pw-it.XXXXXX") || exit 1
	chmod 755 "$T"	# mktemp gives 0700; user postfix must traverse it
	mkdir -p "$T/dns" "$T/sink" "$T/pf/etc" "$T/pf/spool" "$T/pw" \
	    "$T/keys" "$T/msg"
	chmod 700 "$T/keys"
	# the daemon (after dropping to PW_USER) reads its tables and keys
	# and writes its store under $T/pw
	[ -z "$PW_USER" ] || chown "$PW_USER" "$T/keys" "$T/pw"
	: >"$T/dns/zone.conf"
	: >"$T/pw/KeyTable"
	: >"$T/pw/SigningTable"
	: >"$T/pw/extra.conf"
	trap pw_cleanup EXIT
	trap 'exit 130' INT TERM
	local p mp=
	[ "$PW_MILTER_SOCKET" = inet ] && mp=$PW_MILTER_PORT
	for p in $PW_SMTP_PORT $PW_SINK_PORT $PW_DNS_PORT $mp; do
		pw_port_free "$p" || pw_bail "port $p is free (PW_PORT_BASE=$PW_PORT_BASE)"
	done
}

# --- DNS -----------------------------------------------------------------

# pw_dns_add 'NAME TTL IN TYPE DATA': one unbound local-data record (the
# DATA of a TXT record in double quotes).  Before unbound starts it goes
# into the zone file; afterwards it is also added at run time.
pw_dns_add() {
	printf "    local-data: '%s'\n" "$1" >>"$T/dns/zone.conf"
	if [ -f "$T/dns/unbound.pid" ]; then
		unbound-control -c "$T/dns/unbound.conf" local_data "$1" >/dev/null
	fi
}

# pw_txt_quote STRING: one TXT value as quoted strings of <= 255 octets
# (RFC 1035 3.3.14; a 2048-bit RSA p= is longer than one string).
pw_txt_quote() {
	local s=$1 out=
	while [ ${#s} -gt 250 ]; do
		out="$out\"${s:0:250}\" "
		s=${s:250}
	done
	printf '%s"%s"' "$out" "$s"
}

pw_start_dns() {
	cat >"$T/dns/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $PW_DNS_PORT
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
    # answer everything locally: nothing leaves the machine
    local-zone: "." static
    local-zone: "example.test." static
    local-zone: "example.net." static
    local-zone: "remote.test." static
    include: "$T/dns/zone.conf"
remote-control:
    control-enable: yes
    control-interface: "$T/dns/unbound.ctl"
    control-use-cert: no
EOF
	# -c with an absolute path: unbound re-reads it on SIGHUP.
	unbound -d -c "$T/dns/unbound.conf" >"$T/dns/log" 2>&1 &
	PW_PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		dig +short +time=1 +tries=1 -p "$PW_DNS_PORT" @127.0.0.1 \
		    example.test SOA >/dev/null 2>&1 && [ -f "$T/dns/unbound.pid" ] && return 0
		sleep 0.1
	done
	diag "unbound did not start:" "$(tail -5 "$T/dns/log")"
	return 1
}

# pw_dns_txt NAME: the TXT data as one string (for checks)
pw_dns_txt() {
	dig +short +time=1 +tries=1 -p "$PW_DNS_PORT" @127.0.0.1 "$1" TXT |
	    sed -e 's/" "//g' -e 's/"//g'
}

# --- keys ----------------------------------------------------------------

# pw_key rsa|ed25519 DOMAIN SELECTOR [BITS]: write $T/keys/SELECTOR.DOMAIN.key
# (mode 0600, PEM), publish SELECTOR._domainkey.DOMAIN TXT and print the
# key path.
pw_key() {
	local type=$1 dom=$2 sel=$3 bits=${4:-2048} key pub
	key=$T/keys/$sel.$dom.key
	case $type in
	rsa)
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" \
		    -out "$key" 2>/dev/null || return 1
		# p= is the base64 DER SubjectPublicKeyInfo (RFC 6376 3.6.1)
		pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
		;;
	ed25519)
		openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null || return 1
		# p= is the raw 32-octet public key (RFC 8463 section 4):
		# the last 32 octets of the 44-octet DER SubjectPublicKeyInfo.
		pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null |
		    tail -c 32 | base64 -w0)
		;;
	*)
		echo "pw_key: unknown type $type" >&2
		return 1
		;;
	esac
	chmod 600 "$key"
	# the daemon reads keys again on SIGHUP, after dropping privileges
	[ -z "$PW_USER" ] || chown "$PW_USER" "$key"
	printf 'v=DKIM1; k=%s; p=%s' "$type" "$pub" >"$key.txt"
	pw_dns_add "$sel._domainkey.$dom. 60 IN TXT $(pw_txt_quote "$(cat "$key.txt")")"
	printf '%s\n' "$key"
}

# OpenDKIM KeyTable / SigningTable lines (postwarden reads the same format)
pw_keytable() { printf '%s %s:%s:%s\n' "$1" "$2" "$3" "$4" >>"$T/pw/KeyTable"; }
pw_signing() { printf '%s %s\n' "$1" "$2" >>"$T/pw/SigningTable"; }
# pw_conf 'name = value': extra postwarden.conf line (before the start)
pw_conf() { printf '%s\n' "$1" >>"$T/pw/extra.conf"; }
# pw_pf_conf 'name = value': extra Postfix main.cf line (before the start;
# e.g. inet_protocols = all, which a reload does not apply)
pw_pf_conf() { printf '%s\n' "$1" >>"$T/pf/extra.cf"; }

# --- sink ----------------------------------------------------------------

pw_start_sink() {
	case $PW_SINK in
	raw)
		"$PW_PY" "$PW_IT/rawsink.py" 127.0.0.1 "$PW_SINK_PORT" "$T/sink" \
		    >"$T/sink.log" 2>&1 &
		PW_PIDS+=($!)
		;;
	smtp-sink)
		chown nobody "$T/sink"
		smtp-sink -u nobody -d "$T/sink/%Y%m%d%H%M%S." -h sink.test \
		    "127.0.0.1:$PW_SINK_PORT" 64 >"$T/sink.log" 2>&1 &
		PW_PIDS+=($!)
		;;
	esac
	pw_wait_tcp "$PW_SINK_PORT" || { diag "sink did not start:" "$(tail -5 "$T/sink.log")"; return 1; }
}
# number of messages in the sink
pw_sink_count() { find "$T/sink" -maxdepth 1 -type f ! -name '*.env' ! -name '*.tmp' | wc -l; }

# --- postwarden ----------------------------------------------------------

# milter socket as postwarden and Postfix spell it
pw_milter_addr() {
	if [ "$PW_MILTER_SOCKET" = inet ]; then
		case $1 in
		postfix) echo "inet:127.0.0.1:$PW_MILTER_PORT" ;;
		*) echo "inet:$PW_MILTER_PORT@127.0.0.1" ;;
		esac
	else
		echo "unix:${PW_SOCK_PATH:-$T/pw/milter.sock}"
	fi
}

pw_write_conf() {
	cat >"$T/pw/postwarden.conf" <<EOF
# generated by tests/integration/lib.sh
milter_socket = $(pw_milter_addr postwarden)
internal_hosts = 127.0.0.0/8, ::1
authserv_id = mx.example.test
dns_nameservers = 127.0.0.1@$PW_DNS_PORT
pid_file = $T/pw/postwarden.pid
log = stderr
$(if [ -n "$PW_USER" ]; then echo "user = $PW_USER"; else echo "milter_socket_mode = 0666"; fi)
store = ${PW_STORE:-sqlite:$T/pw/postwarden.db}
temp_dir = $T/pw
dkim_key_table = file:$T/pw/KeyTable
dkim_signing_table = refile:$T/pw/SigningTable
EOF
	cat "$T/pw/extra.conf" >>"$T/pw/postwarden.conf"
}

pw_write_odkim_conf() {
	printf 'server:\n    local-zone: "test." nodefault\nforward-zone:\n    name: "."\n    forward-addr: 127.0.0.1@%s\n' \
	    "$PW_DNS_PORT" >"$T/pw/ub.conf"
	cat >"$T/pw/opendkim.conf" <<EOF
Mode                    sv
KeyTable                file:$T/pw/KeyTable
SigningTable            refile:$T/pw/SigningTable
RequireSafeKeys         false
Socket                  $(pw_milter_addr postwarden | sed 's/^unix:/local:/')
PidFile                 $T/pw/postwarden.pid
Background              no
Syslog                  no
Canonicalization        relaxed/relaxed
InternalHosts           127.0.0.0/8
OversignHeaders         From,Subject,Date,To,List-Unsubscribe,List-Unsubscribe-Post
ResolverConfiguration   $T/pw/ub.conf
AlwaysAddARHeader       yes
AuthservID              mx.example.test
UMask                   000
MultipleSignatures      yes
EOF
}

# pw_start_milter: start postwarden (or the opendkim stand-in) in the
# foreground with log = stderr into $T/pw/log; wait until it listens.
pw_start_milter() {
	local sock=${PW_SOCK_PATH:-$T/pw/milter.sock} i
	rm -f "$sock"
	if [ "$PW_MILTER_IMPL" = opendkim ]; then
		pw_write_odkim_conf
		opendkim -f -x "$T/pw/opendkim.conf" >>"$T/pw/log" 2>&1 &
	else
		[ -x "$PW_POSTWARDEN" ] || { diag "no daemon at $PW_POSTWARDEN (build first)"; return 1; }
		pw_write_conf
		# The daemon sets the socket mode (milter_socket_mode) and owner
		# (user) itself: Postfix runs as user postfix.
		"$PW_POSTWARDEN" -c "$T/pw/postwarden.conf" -f \
		    $([ "$PW_MILTER_VERBOSE" = 1 ] && echo -v) >>"$T/pw/log" 2>&1 &
	fi
	PW_MILTER_PID=$!
	PW_PIDS+=($PW_MILTER_PID)
	for i in $(seq 1 100); do
		kill -0 "$PW_MILTER_PID" 2>/dev/null || break
		if [ "$PW_MILTER_SOCKET" = inet ]; then
			pw_wait_tcp "$PW_MILTER_PORT" 1 && return 0
		elif [ -S "$sock" ] && ss -lxn 2>/dev/null | grep -qF "$sock"; then
			return 0
		fi
		sleep 0.1
	done
	diag "milter did not start:" "$(tail -20 "$T/pw/log")"
	return 1
}

# pw_stop_milter: SIGTERM and wait until it has exited
pw_stop_milter() {
	[ -n "$PW_MILTER_PID" ] || return 0
	kill -TERM "$PW_MILTER_PID" 2>/dev/null
	pw_wait_gone "$PW_MILTER_PID" 150 || return 1
	wait "$PW_MILTER_PID" 2>/dev/null
	PW_MILTER_PID=
	return 0
}

# pw_milter_running: still alive?
pw_milter_running() { [ -n "$PW_MILTER_PID" ] && kill -0 "$PW_MILTER_PID" 2>/dev/null; }

# --- Postfix -------------------------------------------------------------

pw_start_postfix() {
	local D=$T/pf milt
	milt=$(pw_milter_addr postfix)
	{
		echo "# generated by tests/integration/lib.sh (harness-notes section 1)"
		pw_pf_main_cf "$D/spool" "$D/maillog" mx.example.test example.test \
		    "$PW_SINK_PORT"
		cat <<EOF
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtputf8_enable = no
smtpd_milters = $milt
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 15s
EOF
		cat "$D/extra.cf" 2>/dev/null
	} >"$D/etc/main.cf"
	{
		echo "127.0.0.1:$PW_SMTP_PORT inet n - n - - smtpd"
		pw_pf_services
	} >"$D/etc/master.cf"
	# check creates the queue tree; with maillog_file set, errors go
	# only to the maillog (harness-notes section 1, pitfall 2).
	postfix -c "$D/etc" check >/dev/null 2>&1 &&
	    postfix -c "$D/etc" start >/dev/null 2>&1 ||
	    { diag "postfix did not start:" "$(tail -5 "$D/maillog" 2>/dev/null)"; return 1; }
	pw_wait_tcp "$PW_SMTP_PORT" || { diag "postfix not listening:" "$(tail -5 "$D/maillog")"; return 1; }
}

# pw_setup [--no-milter]: the whole path; bails out when a part fails
pw_setup() {
	local milter=1 t0
	t0=$(date +%s%N)
	[ "${1:-}" = --no-milter ] && milter=0
	pw_start_dns || pw_bail "unbound started"
	pw_start_sink || pw_bail "sink started"
	if [ $milter = 1 ]; then
		pw_start_milter || pw_bail "$PW_MILTER_IMPL started"
	fi
	pw_start_postfix || pw_bail "postfix started"
	diag "setup took $(pw_ms_since "$t0") ms"
}
# pw_ms_since NS: milliseconds since a `date +%s%N` value
pw_ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# --- sending -------------------------------------------------------------

# pw_msgid: a unique Message-ID (without <>)
pw_msgid() {
	# may run in a subshell: no counters, time in ns plus randomness
	echo "$(date +%s.%N).$RANDOM.$$@example.test"
}

# pw_send_smtp [--xclient ADDR] [swaks options...]
# Sends through the private Postfix with swaks (defaults: helo
# client.example.test, from alice@example.test, to bob@remote.test; the
# caller's options override).  --xclient ADDR makes Postfix see ADDR as
# the client (inbound when ADDR is not in internal_hosts).
# Sets PW_SWAKS (transcript file) and PW_QID (empty if not queued);
# returns swaks's exit status.
pw_send_smtp() {
	local x=() rc
	if [ "${1:-}" = --xclient ]; then
		x=(--xclient-addr "$2" --xclient-name ext.example.net)
		shift 2
	fi
	PW_SWAKS=$(mktemp "$T/msg/swaks.XXXXXX") || return 1
	swaks --server "127.0.0.1:$PW_SMTP_PORT" --helo client.example.test \
	    --from alice@example.test --to bob@remote.test \
	    --timeout 60 "${x[@]}" "$@" </dev/null >"$PW_SWAKS" 2>&1
	rc=$?
	PW_QID=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$PW_SWAKS" | tail -1)
	return $rc
}

# pw_compose FROM TO SUBJECT [BODY]: write a small RFC 5322 message with a
# unique Message-ID into $T/msg and print its path
pw_compose() {
	local f
	f=$(mktemp "$T/msg/m.XXXXXX") || return 1
	{
		printf 'From: %s\nTo: %s\nSubject: %s\n' "$1" "$2" "$3"
		printf 'Date: %s\nMessage-ID: <%s>\n\n' "$(date -R)" "$(pw_msgid)"
		printf '%s\n' "${4:-Hello from the postwarden test suite.}"
	} >"$f"
	echo "$f"
}

# pw_send_local FROM TO FILE: submit FILE with Postfix's sendmail command
# (pickup -> cleanup -> non_smtpd_milters).  FILE must carry a unique
# Message-ID (pw_msgid); sets PW_QID from the cleanup log line.
pw_send_local() {
	local mid
	PW_QID=
	mid=$(sed -n 's/^Message-I[Dd]: *<\(.*\)>.*/\1/p' "$3" | head -1)
	/usr/sbin/sendmail -C "$T/pf/etc" -f "$1" "$2" <"$3" || return 1
	[ -n "$mid" ] || return 0
	PW_QID=$(pw_qid_by_msgid "$mid")
	[ -n "$PW_QID" ]
}

# pw_qid_by_msgid MID [TENTHS]: queue id whose cleanup logged message-id=<MID>
pw_qid_by_msgid() {
	local i q
	for i in $(seq 1 "${2:-200}"); do
		q=$(grep -F "message-id=<$1>" "$T/pf/maillog" 2>/dev/null |
		    sed -n 's/.*: \([0-9A-Za-z]*\): message-id=.*/\1/p' | head -1)
		[ -n "$q" ] && { echo "$q"; return 0; }
		sleep 0.1
	done
	return 1
}

# pw_wait_sent QID [TENTHS]: wait for "QID: ... status=sent", print the
# sink file that holds it.  Fails on timeout or bounce.
pw_wait_sent() {
	local q=$1 i f
	[ -n "$q" ] || return 1
	for i in $(seq 1 "${2:-200}"); do
		if grep -q " $q: .*status=sent" "$T/pf/maillog" 2>/dev/null; then
			# Postfix's Received: header says "with ESMTP id QID" or
			# "id QID;": find the stored copy by it.
			f=$(grep -lE "id $q([; "$'\r'"]|\$)" "$T"/sink/* 2>/dev/null |
			    grep -v '\.env$' | head -1)
			[ -n "$f" ] && { echo "$f"; return 0; }
		fi
		grep -q " $q: .*status=bounced" "$T/pf/maillog" 2>/dev/null && break
		sleep 0.1
	done
	diag "no delivery of $q:" "$(grep " $q: " "$T/pf/maillog" 2>/dev/null | tail -5)"
	return 1
}

# pw_summary QID: postwarden's per-message summary line (log = stderr;
# the line may carry a timestamp and "postwarden: " before the queue id)
pw_summary() { grep -a "\(^\|: \)$1: .*dir=" "$T/pw/log" | tail -1; }
# pw_summary_count QID: how many summary lines name QID
pw_summary_count() { grep -ac "\(^\|: \)$1: .*dir=" "$T/pw/log"; }

# --- message inspection --------------------------------------------------

# pw_strip FILE: the message as delivered, LF line ends, without
# smtp-sink's pseudo headers and its own Received: (PW_SINK=smtp-sink)
pw_strip() {
	[ -f "${1:-}" ] || return 1
	tr -d '\r' <"$1" | awk '
		NR == 1 && /^X-Client-Addr:/ { skip = 1 }
		skip == 1 && /^Received:/ { skip = 2; next }
		skip == 2 && /^[ \t]/ { next }
		skip == 2 { skip = 0 }
		skip == 1 { next }
		{ print }'
}
# pw_first_header_is FILE NAME: the topmost header field is NAME
pw_first_header_is() { pw_strip "$1" | head -1 | grep -qi "^$2:"; }

# pw_header FILE NAME: unfolded values of every NAME header, one per line
pw_header() {
	pw_strip "$1" | awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" '
		/^$/ { exit }
		/^[ \t]/ { if (cur) v = v " " $0; next }
		{ if (cur) print v; cur = 0
		  i = index($0, ":"); h = tolower(substr($0, 1, i - 1))
		  if (h == n) { cur = 1; v = substr($0, i + 1) } }
		END { if (cur) print v }' | sed -e 's/^[ \t]*//' -e 's/[ \t]\+/ /g'
}
# pw_nsigs FILE: number of DKIM-Signature headers
pw_nsigs() { pw_header "$1" DKIM-Signature | grep -c .; }
# pw_sig_tag FILE N TAG: tag value of the Nth (0-based) DKIM-Signature
pw_sig_tag() {
	pw_header "$1" DKIM-Signature | sed -n "$(($2 + 1))p" | tr -d ' \t' |
	    tr ';' '\n' | sed -n "s/^$3=//p"
}
# pw_h_count FILE N HEADER: how often HEADER appears in h= of signature N
pw_h_count() {
	pw_sig_tag "$1" "$2" h | tr ':' '\n' | grep -ci "^$3\$"
}

# pw_verify_dkimpy FILE / pw_verify_odkim FILE: 0 if every signature
# verifies; their per-signature lines go to stderr as "# sig ..." comments
pw_verify_dkimpy() {
	"$PW_PY" "$PW_IT/dkimverify.py" "${1:-/nonexistent}" "$PW_DNS_PORT" 2>&1 | sed 's/^/# /' >&2
	return "${PIPESTATUS[0]}"
}
pw_verify_odkim() {
	"$PW_IT/odkim_verify.sh" "${1:-/nonexistent}" "$PW_DNS_PORT" 2>&1 | sed 's/^/# /' >&2
	return "${PIPESTATUS[0]}"
}

pw_init

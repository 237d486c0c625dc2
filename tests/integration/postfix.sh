# postfix.sh - the private Postfix instance shared by tests/integration/
# lib.sh and the benchmarks in bench/ (bash; source it, it defines
# functions only).  See shared/research/harness-notes.md section 1.
#
#   pw_pf_main_cf QUEUE_DIR MAILLOG HOSTNAME DOMAIN SINK_PORT
#       the main.cf lines every instance has: loopback only, relays
#       everything to a sink on 127.0.0.1:SINK_PORT, no DNS, no TLS,
#       short retry times.  Callers append their own lines (milters...).
#   pw_pf_services
#       master.cf lines for every service but the smtpd listeners
#   pw_wait_tcp PORT [TENTHS]
#       wait until 127.0.0.1:PORT accepts a connection (default 10 s)

pw_pf_main_cf() {
	cat <<EOF2
# NB: no end-of-line comments in main.cf
compatibility_level = 3.6
queue_directory = $1
data_directory = $(dirname "$1")/data
maillog_file = $2
maillog_file_prefixes = $(dirname "$2")
myhostname = $3
mydomain = $4
myorigin = \$mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
relay_domains = static:ALL
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:$5
relay_transport = relay:[127.0.0.1]:$5
smtp_dns_support_level = disabled
smtpd_tls_security_level = none
smtp_tls_security_level = none
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
delay_warning_time = 0
in_flow_delay = 0
EOF2
}

pw_pf_services() {
	local s
	for s in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" \
	    "qmgr unix n - n 300 1 qmgr" "tlsmgr unix - - n 1000? 1 tlsmgr" \
	    "rewrite unix - - n - - trivial-rewrite" "bounce unix - - n - 0 bounce" \
	    "defer unix - - n - 0 bounce" "trace unix - - n - 0 bounce" \
	    "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" \
	    "proxymap unix - - n - - proxymap" "proxywrite unix - - n - 1 proxymap" \
	    "smtp unix - - n - - smtp" "relay unix - - n - - smtp" \
	    "showq unix n - n - - showq" "error unix - - n - - error" \
	    "retry unix - - n - - error" "discard unix - - n - - discard" \
	    "local unix - n n - - local" "virtual unix - n n - - virtual" \
	    "lmtp unix - - n - - lmtp" "anvil unix - - n - 1 anvil" \
	    "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd"; do
		echo "$s"
	done
}

pw_wait_tcp() {
	local i
	for i in $(seq 1 "${2:-100}"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

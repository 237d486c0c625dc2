# pg.sh - a private PostgreSQL 15 cluster for the tests that need one
# (bash, sourced; needs root, or to be the postgres user).
#
# Debian's postgresql-15 binaries (scripts/install-deps.sh).  initdb refuses
# to run as root, so the cluster belongs to the postgres user that the
# package creates.  It lives under DIR (the run's temp dir): DIR/pg/data,
# listens on 127.0.0.1:PW_PG_PORT only, and its unix socket is in
# DIR/pg/sock (never /var/run/postgresql: the machine's own cluster, if
# any, is left alone).  Socket connections are trusted (the directory is
# 0700, postgres's); TCP ones need a password (scram-sha-256).
#
# pg_start DIR creates the roles and the database with
# conf/postwarden-roles.sql, random passwords in DIR/pg/pgpass (0600), and
# `postwarden-ctl store init` as the owner; then it sets
#   PW_PG_PORT          default PW_PORT_BASE + 432
#   PW_PG_OWNER_URI     postgresql://postwarden_owner@127.0.0.1:PORT/postwarden?...
#   PW_PG_MILTER_URI    ... as postwarden_milter
#   PW_PG_READER_URI    ... as postwarden_reader
#   PW_PG_REPORT_URI    ... as postwarden_report (postwarden-ctl dmarc report)
#   PW_PG_PASSFILE      DIR/pg/pgpass, named by passfile= in each URI
# pg_stop stops it (fast shutdown); pg_start again on the same DIR starts
# the same cluster again (or only sets the variables if it runs).  pg_kill: SIGKILL of the postmaster.
# pg_sql [ROLE] SQL: psql -At over the socket (default ROLE postgres).
#
# The caller stops it on exit: lib.sh's pw_cleanup calls pg_stop when this
# file was sourced (pw_cleanup_hooks).

PW_PG_BIN=${PW_PG_BIN:-/usr/lib/postgresql/15/bin}
PW_PG_PORT=${PW_PG_PORT:-$((${PW_PORT_BASE:-25000} + 432))}
PW_PG_DIR=
PW_PG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# as the postgres user, from a directory it can read
pg_as() { (cd / && runuser -u postgres -- "$@"); }

pg_sql() {
	local role=postgres
	[ $# -ge 2 ] && { role=$1; shift; }
	pg_as "$PW_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PW_PG_DIR/sock" \
	    -p "$PW_PG_PORT" -U "$role" -d "${PW_PG_DB:-postwarden}" -c "$1"
}

pg_uri() {
	printf 'postgresql://%s@127.0.0.1:%s/postwarden?sslmode=disable&passfile=%s' \
	    "$1" "$PW_PG_PORT" "$PW_PG_PASSFILE"
}

pg_start() {
	local dir=$1 fresh=0 pw_o pw_m pw_r pw_p ctl
	PW_PG_DIR=$dir/pg
	PW_PG_PASSFILE=$PW_PG_DIR/pgpass
	if ! id postgres >/dev/null 2>&1 || [ ! -x "$PW_PG_BIN/initdb" ]; then
		echo "pg_start: no postgres user or $PW_PG_BIN/initdb (scripts/install-deps.sh)" >&2
		return 1
	fi
	if [ ! -d "$PW_PG_DIR/data" ]; then
		fresh=1
		mkdir -p "$PW_PG_DIR/data" "$PW_PG_DIR/sock"
		chown postgres: "$PW_PG_DIR" "$PW_PG_DIR/data" "$PW_PG_DIR/sock"
		chmod 700 "$PW_PG_DIR/data" "$PW_PG_DIR/sock"
		chmod 755 "$PW_PG_DIR"
		pg_as "$PW_PG_BIN/initdb" -D "$PW_PG_DIR/data" -U postgres \
		    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
		    --no-locale >"$PW_PG_DIR/initdb.log" 2>&1 || {
			echo "pg_start: initdb failed:" >&2
			tail -5 "$PW_PG_DIR/initdb.log" >&2
			return 1
		}
	fi
	pg_running || pg_as "$PW_PG_BIN/pg_ctl" -D "$PW_PG_DIR/data" -l "$PW_PG_DIR/log" -w \
	    -t 60 -o "-c listen_addresses=127.0.0.1 -p $PW_PG_PORT -k $PW_PG_DIR/sock" \
	    start >/dev/null || {
		echo "pg_start: the server did not start:" >&2
		tail -5 "$PW_PG_DIR/log" >&2
		return 1
	}
	PW_PG_OWNER_URI=$(pg_uri postwarden_owner)
	PW_PG_MILTER_URI=$(pg_uri postwarden_milter)
	PW_PG_READER_URI=$(pg_uri postwarden_reader)
	PW_PG_REPORT_URI=$(pg_uri postwarden_report)
	export PW_PG_PORT PW_PG_PASSFILE PW_PG_OWNER_URI PW_PG_MILTER_URI \
	    PW_PG_READER_URI PW_PG_REPORT_URI
	[ "$fresh" = 1 ] || return 0
	pw_o=$(openssl rand -hex 16)
	pw_m=$(openssl rand -hex 16)
	pw_r=$(openssl rand -hex 16)
	pw_p=$(openssl rand -hex 16)
	(umask 077; printf '127.0.0.1:%s:*:%s:%s\n' \
	    "$PW_PG_PORT" postwarden_owner "$pw_o" \
	    "$PW_PG_PORT" postwarden_milter "$pw_m" \
	    "$PW_PG_PORT" postwarden_reader "$pw_r" \
	    "$PW_PG_PORT" postwarden_report "$pw_p" >"$PW_PG_PASSFILE")
	PW_PG_DB=postgres pg_as "$PW_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
	    -h "$PW_PG_DIR/sock" -p "$PW_PG_PORT" -U postgres -d postgres \
	    -v owner_password="'$pw_o'" -v milter_password="'$pw_m'" \
	    -v reader_password="'$pw_r'" -v report_password="'$pw_p'" \
	    -f - <"$PW_PG_TOP/conf/postwarden-roles.sql" >"$PW_PG_DIR/roles.log" 2>&1 || {
		echo "pg_start: conf/postwarden-roles.sql failed:" >&2
		tail -5 "$PW_PG_DIR/roles.log" >&2
		return 1
	}
	ctl=${PW_CTL:-${PW_BUILD_DIR:-$PW_PG_TOP/build}/tools/postwarden-ctl}
	if [ "${PW_PG_NO_INIT:-0}" != 1 ]; then
		"$ctl" store init "$PW_PG_OWNER_URI" >"$PW_PG_DIR/init.log" 2>&1 || {
			echo "pg_start: postwarden-ctl store init failed:" >&2
			tail -5 "$PW_PG_DIR/init.log" >&2
			return 1
		}
	fi
}

# pid_alive PID: running, and not a zombie (a killed postmaster whose
# parent -- the container's init, or a subreaper -- has not reaped it yet
# still answers kill -0)
pid_alive() {
	kill -0 "$1" 2>/dev/null &&
	    [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

pg_running() {
	[ -n "$PW_PG_DIR" ] && [ -f "$PW_PG_DIR/data/postmaster.pid" ] &&
	    pid_alive "$(head -1 "$PW_PG_DIR/data/postmaster.pid")"
}

pg_stop() {
	pg_running || return 0
	pg_as "$PW_PG_BIN/pg_ctl" -D "$PW_PG_DIR/data" -m fast -w -t 60 stop \
	    >/dev/null 2>&1
}

pg_kill() {
	local pid i
	pg_running || return 0
	pid=$(head -1 "$PW_PG_DIR/data/postmaster.pid")
	kill -KILL "$pid"
	for i in $(seq 50); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	# An unreaped (zombie) postmaster still holds its pid: PostgreSQL
	# would take its lock files (data dir and socket) for a live server
	# and refuse to start.
	pid_alive "$pid" || rm -f "$PW_PG_DIR/data/postmaster.pid" \
	    "$PW_PG_DIR/sock/.s.PGSQL.$PW_PG_PORT" \
	    "$PW_PG_DIR/sock/.s.PGSQL.$PW_PG_PORT.lock"
}

# lib.sh's pw_cleanup runs these on exit
pw_cleanup_hooks+=(pg_stop)

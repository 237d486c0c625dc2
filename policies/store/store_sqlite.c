/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_sqlite - the embedded store: "sqlite:/path/postwarden.db".
 *
 * WAL mode, so that the milter's readers never wait for a writer
 * (https://sqlite.org/wal.html); synchronous=FULL, because an audit row
 * that a power cut can take back is no evidence.  A busy timeout bounds
 * every wait on a lock; past it the call returns -1 and the caller
 * tempfails.  Every statement that carries data is prepared and bound
 * (sqlite3_prepare_v3, SQLITE_PREPARE_PERSISTENT), once per connection.
 *
 * Connections: SQLite connections must not be used by two threads at
 * once, and libmilter runs one thread per SMTP connection, so the store
 * keeps a pool; a thread takes a connection for one call and gives it
 * back.  Before each call the file's accessibility is checked, because an
 * open descriptor would otherwise keep working after an operator made the
 * file unreadable, and the issue wants that to tempfail.
 *
 * Writers of one process take turns on a mutex (wlock) before SQLite's
 * write lock.  SQLite's own wait is a busy handler that sleeps and tries
 * again (up to 100 ms between tries): with ten threads committing every
 * few milliseconds a sleeper kept losing the lock to threads that had
 * just arrived, and gave up after the whole busy timeout though the lock
 * had been free many times (3 of 3,000 appends by ten threads failed with
 * the 2 s timeout; the 1,000,000-message soak saw "database is locked"
 * tempfails).  The mutex is waited on for the busy timeout too; between
 * processes (postwarden-ctl, unsubd) the busy handler still decides.
 *
 * The schema version is in PRAGMA user_version; a newer file is refused,
 * an older one is migrated by postwarden-ctl store init only (opts.init),
 * as for PostgreSQL: the daemons refuse it and name the command (v2:
 * feedback_event, issue 17; v3: the report columns of dmarc_eval,
 * nullable, issue 11; v4: dmarc_report_sent, and old dmarc_eval rows may
 * be deleted, issue 11; v5: microsecond twins of the recorded times,
 * issue 10; v6: quota_delta, issue 17; v7: complaint_hold and an index
 * on audit(time), issue 17).
 * Consent events, suppressions, audit and DMARC rows are append-only:
 * triggers refuse UPDATE and DELETE (defence against mistakes; the audit
 * hash chain is what detects deliberate edits).  The one exception, from
 * version 4: DMARC rows (dmarc_eval, dmarc_report_sent) older than
 * PW_DMARC_KEEP_MIN_DAYS may be deleted, by the report job's
 * dmarc_keep_days; the trigger still refuses younger ones and any UPDATE.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/util.h"
#include "store/store.h"

#define SCHEMA_VERSION 7
#define PW_STR_(x)	#x
#define PW_STR(x)	PW_STR_(x)

/* Records are evidence: refuse UPDATE and DELETE. */
#define APPEND_ONLY(t)                                                         \
	"CREATE TRIGGER " t "_no_update BEFORE UPDATE ON " t                   \
	" BEGIN SELECT RAISE(ABORT, '" t " is append-only'); END;"             \
	"CREATE TRIGGER " t "_no_delete BEFORE DELETE ON " t                   \
	" BEGIN SELECT RAISE(ABORT, '" t " is append-only'); END;"

static const char schema_v1[] =
    "CREATE TABLE consent_event ("
    " id INTEGER PRIMARY KEY,"
    " org TEXT NOT NULL, address TEXT NOT NULL,"
    " list TEXT NOT NULL DEFAULT '',"
    " type TEXT NOT NULL CHECK (type IN ('express','implied-purchase',"
    "  'implied-contract','implied-inquiry','implied','withdrawn')),"
    " obtained_at INTEGER NOT NULL, expires_at INTEGER,"
    " relationship_date INTEGER,"
    " source TEXT NOT NULL, proof TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, recorded_us INTEGER NOT NULL);"
    "CREATE INDEX consent_event_key ON consent_event(org, address);"
    "CREATE TABLE suppression ("
    " id INTEGER PRIMARY KEY,"
    " org TEXT NOT NULL, address TEXT NOT NULL,"
    " list TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL, requested_at INTEGER NOT NULL,"
    " token_id TEXT, created_at INTEGER NOT NULL,"
    " recorded_us INTEGER NOT NULL);"
    "CREATE INDEX suppression_key ON suppression(org, address);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " queue_id TEXT NOT NULL, message_id TEXT, org TEXT, recipient TEXT,"
    " class TEXT, class_source TEXT, consent TEXT,"
    " basis_id INTEGER NOT NULL DEFAULT 0, basis_type TEXT,"
    " basis_expires INTEGER NOT NULL DEFAULT 0, reason TEXT, token_id TEXT,"
    " dkim_d TEXT, dkim_s TEXT, action TEXT NOT NULL,"
    " prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE dmarc_eval ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " from_domain TEXT NOT NULL, source_ip TEXT, policy TEXT,"
    " disposition TEXT, spf_result TEXT, spf_domain TEXT,"
    " dkim_result TEXT, dkim_domain TEXT);"
    "CREATE INDEX dmarc_eval_time ON dmarc_eval(time, "
    "from_domain);" APPEND_ONLY("consent_event") APPEND_ONLY("suppression")
	APPEND_ONLY("audit")
	    APPEND_ONLY("dmarc_eval") "PRAGMA user_version = 1;";

/* Version 2 (issue 17): bounces and complaints, per recipient. */
static const char schema_v2[] =
    "CREATE TABLE feedback_event ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " org TEXT NOT NULL, address TEXT NOT NULL, kind TEXT NOT NULL,"
    " status TEXT, message_id TEXT, source TEXT NOT NULL);"
    "CREATE INDEX feedback_event_key ON feedback_event(org, address, kind,"
    " time);"
    "CREATE INDEX feedback_event_time ON feedback_event(org, time);"
    /* a DSN or ARF report is matched to the audit rows of its recipient */
    "CREATE INDEX IF NOT EXISTS audit_recipient ON audit(org, recipient);"
    APPEND_ONLY("feedback_event") "PRAGMA user_version = 2;";

/* Version 3 (issue 11): what an RFC 9990 aggregate report needs. */
#define DMARC_REPORT_COLS "env_from, spf_scope, dkim_selector, dmarc_result, "  \
	"spf_aligned, dkim_aligned, override, pub_domain, pub_record, "     \
	"discovery"
static const char schema_v3[] =
    "ALTER TABLE dmarc_eval ADD COLUMN env_from TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN spf_scope TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN dkim_selector TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN dmarc_result TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN spf_aligned TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN dkim_aligned TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN override TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN pub_domain TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN pub_record TEXT;"
    "ALTER TABLE dmarc_eval ADD COLUMN discovery TEXT;"
    "PRAGMA user_version = 3;";

/* Version 4 (issue 11): what postwarden-ctl dmarc report sent, one row per
   attempt, and dmarc_eval rows may be deleted once they are older than
   PW_DMARC_KEEP_MIN_DAYS (dmarc_keep_days, by the report job): the
   reports are evidence for a few days, not forever.  Rows younger than
   that, and any UPDATE, are still refused by a trigger.  (SQLite has no
   roles: whoever can write the file can also drop a trigger; PostgreSQL
   adds the grants, store_pg.c.) */
#define KEEP_SECONDS_SQL "CAST(strftime('%s', 'now') AS INTEGER) - "           \
	PW_STR(PW_DMARC_KEEP_MIN_DAYS) " * 86400"
#define KEEP_ONLY_OLD(t)                                                       \
	"CREATE TRIGGER " t "_keep BEFORE DELETE ON " t                        \
	" WHEN old.time > " KEEP_SECONDS_SQL                                   \
	" BEGIN SELECT RAISE(ABORT, '" t ": rows younger than "                \
	PW_STR(PW_DMARC_KEEP_MIN_DAYS) " days cannot be deleted'); END;"
static const char schema_v4[] =
    "CREATE TABLE dmarc_report_sent ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " report_id TEXT NOT NULL, domain TEXT NOT NULL, rua TEXT NOT NULL,"
    " period_begin INTEGER NOT NULL, period_end INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('sent', 'failed')),"
    " detail TEXT, bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX dmarc_report_sent_key ON dmarc_report_sent(report_id,"
    " rua);"
    "CREATE TRIGGER dmarc_report_sent_no_update BEFORE UPDATE ON"
    " dmarc_report_sent BEGIN SELECT RAISE(ABORT,"
    " 'dmarc_report_sent is append-only'); END;"
    KEEP_ONLY_OLD("dmarc_report_sent")
    "DROP TRIGGER dmarc_eval_no_delete;"
    KEEP_ONLY_OLD("dmarc_eval")
    "PRAGMA user_version = 4;";
/* Version 5 (issue 10): times in microseconds.  Additive: a nullable twin
   column per time recorded as it happens; rows from before keep NULL
   there, which for an audit row also means "hashed in the v1 format with
   whole seconds" (compliance/audit_chain.c), so no row is rewritten and
   the chain spans the migration.  Consent events have had recorded_us
   since version 1; a suppression's effective time is its recorded_us. */
static const char schema_v5[] =
    "ALTER TABLE audit ADD COLUMN time_us INTEGER;"
    "ALTER TABLE suppression ADD COLUMN requested_us INTEGER;"
    "ALTER TABLE feedback_event ADD COLUMN time_us INTEGER;"
    "ALTER TABLE dmarc_eval ADD COLUMN time_us INTEGER;"
    "PRAGMA user_version = 5;";
/* Version 6 (issue 17): sending quota deltas, one row per (host, org,
   hour bucket) flush.  Summed by hour bucket for a window (all orgs at
   once: quota_delta_hour), or for one org (postwarden-ctl quota show). */
static const char schema_v6[] =
    "CREATE TABLE quota_delta ("
    " id INTEGER PRIMARY KEY, org TEXT NOT NULL,"
    " hour_start INTEGER NOT NULL, messages INTEGER NOT NULL,"
    " recipients INTEGER NOT NULL, host TEXT NOT NULL,"
    " recorded_at INTEGER NOT NULL);"
    "CREATE INDEX quota_delta_hour ON quota_delta(hour_start, org);"
    "CREATE INDEX quota_delta_org ON quota_delta(org, hour_start);"
    APPEND_ONLY("quota_delta") "PRAGMA user_version = 6;";
/* Version 7 (issue 17): complaint-rate holds and their releases, and the
   audit index the per-minute complaint-rate count walks (every
   organisation's rows of the last day). */
static const char schema_v7[] =
    "CREATE TABLE complaint_hold ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL, org TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('hold','release')),"
    " complaints INTEGER NOT NULL DEFAULT 0,"
    " delivered INTEGER NOT NULL DEFAULT 0, since INTEGER,"
    " actor TEXT NOT NULL, note TEXT);"
    "CREATE INDEX complaint_hold_org ON complaint_hold(org, id);"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit(time);"
    APPEND_ONLY("complaint_hold") "PRAGMA user_version = 7;";

enum sq_stmt {
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_CONSENT_INSERT,
	ST_CONSENT_EVENTS,
	ST_SUPP_EVENTS,
	ST_CONSENT_EXPORT_ORG,
	ST_CONSENT_EXPORT_ADDR,
	ST_SUPP_INSERT,
	ST_SUPP_LIST,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_AUDIT_ALL,
	ST_DMARC_INSERT,
	ST_AUDIT_LIST,
	ST_SYNC_NORMAL,
	ST_SYNC_FULL,
	ST_CONSENT_EXPORT_ALL,
	ST_SUPP_LIST_ALL,
	ST_DMARC_ALL,
	ST_DMARC_GROUPS,
	ST_DMARC_NEWEST,
	ST_FB_INSERT,
	ST_FB_COUNT,
	ST_SUPP_REASON,
	ST_FB_LIST,
	ST_SENT_INSERT,
	ST_SENT_CHECK,
	ST_EXPIRE_EVAL,
	ST_EXPIRE_SENT,
	ST_QUOTA_INSERT,
	ST_QUOTA_SUM_ORG,
	ST_QUOTA_SUM_ALL,
	ST_CHOLD_INSERT,
	ST_CHOLD_LIST,
	ST_CRATE_COUNTS,
	ST_SENT_ALL,
	ST_QUOTA_ALL,
	ST_MAX
};

#define CONSENT_COLS                                                           \
	"id, org, address, list, type, obtained_at, expires_at, "              \
	"relationship_date, source, proof, created_at, recorded_us"
#define AUDIT_COLS                                                             \
	"id, time, queue_id, message_id, org, recipient, class, "              \
	"class_source, consent, basis_id, basis_type, basis_expires, reason, " \
	"token_id, dkim_d, dkim_s, action, prev_hash, hash, time_us"
#include "store/dmarc_groups_sql.h"

static const char *const sq_sql[ST_MAX] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_CONSENT_INSERT] =
	"INSERT INTO consent_event (org, address, list, "
	"type, obtained_at, expires_at, relationship_date, source, proof, "
	"created_at, recorded_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_CONSENT_EVENTS] = "SELECT id, list, type, obtained_at, expires_at, "
			  "relationship_date, recorded_us FROM consent_event "
			  "WHERE org = ? AND address = ?",
    [ST_SUPP_EVENTS] = "SELECT id, list, requested_at, recorded_us "
		       "FROM suppression WHERE org = ? AND address = ?",
    [ST_CONSENT_EXPORT_ORG] = "SELECT " CONSENT_COLS " FROM consent_event "
			      "WHERE org = ? ORDER BY id",
    [ST_CONSENT_EXPORT_ADDR] = "SELECT " CONSENT_COLS " FROM consent_event "
			       "WHERE org = ? AND address = ? ORDER BY id",
    [ST_SUPP_INSERT] = "INSERT INTO suppression (org, address, list, "
		       "reason, requested_at, token_id, created_at, "
		       "recorded_us, requested_us) VALUES (?, ?, ?, ?, ?, ?, "
		       "?, ?, ?)",
    [ST_SUPP_LIST] =
	"SELECT id, org, address, list, reason, requested_at, "
	"token_id, created_at, recorded_us, requested_us FROM suppression "
	"WHERE org = ? ORDER BY id",
    /* store copy: every row */
    [ST_CONSENT_EXPORT_ALL] = "SELECT " CONSENT_COLS " FROM consent_event "
			      "ORDER BY id",
    [ST_SUPP_LIST_ALL] = "SELECT id, org, address, list, reason, "
			 "requested_at, token_id, created_at, recorded_us, "
			 "requested_us FROM suppression ORDER BY id",
    [ST_DMARC_ALL] = "SELECT time, from_domain, source_ip, policy, "
		     "disposition, spf_result, spf_domain, dkim_result, "
		     "dkim_domain, " DMARC_REPORT_COLS ", time_us FROM "
		     "dmarc_eval ORDER BY id",
    [ST_DMARC_GROUPS] = DMARC_GROUPS_SQL("?1", "?2", ""),
    [ST_DMARC_NEWEST] = DMARC_NEWEST_SQL("?1"),
    [ST_FB_INSERT] = "INSERT INTO feedback_event (time, org, address, kind, "
		     "status, message_id, source, time_us) VALUES (?, ?, ?, ?, "
		     "?, ?, ?, ?)",
    [ST_FB_COUNT] = "SELECT count(*) FROM feedback_event WHERE org = ? AND "
		    "address = ? AND kind = ? AND time >= ?",
    [ST_SUPP_REASON] = "SELECT reason FROM suppression WHERE id = ?",
    /* reports: a NULL bound is open */
    [ST_FB_LIST] = "SELECT id, time, org, address, kind, status, message_id, "
		   "source, time_us FROM feedback_event WHERE (?1 IS NULL OR "
		   "org = ?1) AND (?2 IS NULL OR time >= ?2) AND (?3 IS NULL OR time < ?3) "
		   "ORDER BY id",
    [ST_SENT_INSERT] = "INSERT INTO dmarc_report_sent (time, report_id, "
		       "domain, rua, period_begin, period_end, status, detail, "
		       "bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_SENT_CHECK] = "SELECT EXISTS (SELECT 1 FROM dmarc_report_sent WHERE "
		      "report_id = ? AND rua = ? AND status = 'sent')",
    [ST_EXPIRE_EVAL] = "DELETE FROM dmarc_eval WHERE time < ?",
    [ST_EXPIRE_SENT] = "DELETE FROM dmarc_report_sent WHERE time < ?",
    /* sending quotas (issue 17): an open bound is bound as the extreme */
    [ST_QUOTA_INSERT] = "INSERT INTO quota_delta (org, hour_start, messages, "
			"recipients, host, recorded_at) VALUES (?, ?, ?, ?, ?, "
			"?)",
    [ST_QUOTA_SUM_ORG] = "SELECT org, sum(messages), sum(recipients) FROM "
			 "quota_delta WHERE org = ?1 AND hour_start >= ?2 AND "
			 "hour_start < ?3 GROUP BY org",
    [ST_QUOTA_SUM_ALL] = "SELECT org, sum(messages), sum(recipients) FROM "
			 "quota_delta WHERE hour_start >= ?2 AND "
			 "hour_start < ?3 GROUP BY org",
    [ST_CHOLD_INSERT] = "INSERT INTO complaint_hold (id, time, org, action, "
			"complaints, delivered, since, actor, note) VALUES "
			"(?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_CHOLD_LIST] = "SELECT id, time, org, action, complaints, delivered, "
		      "since, actor, note FROM complaint_hold WHERE "
		      "(?1 IS NULL OR org = ?1) ORDER BY id",
    /* complaint_watch: one pass over the last day of both tables */
    [ST_CRATE_COUNTS] = "SELECT org, sum(c), sum(d) FROM ("
			"SELECT org, count(*) AS c, 0 AS d FROM feedback_event "
			"WHERE kind = 'complaint' AND time >= ?1 AND "
			"(?2 IS NULL OR org = ?2) GROUP BY org UNION ALL "
			"SELECT org, 0, count(*) FROM audit WHERE time >= ?1 "
			"AND action = 'delivered' AND class = 'commercial' AND "
			"org IS NOT NULL AND (?2 IS NULL OR org = ?2) GROUP BY "
			"org) GROUP BY org ORDER BY org",
    /* store copy: every row, in the order written */
    [ST_SENT_ALL] = "SELECT time, report_id, domain, rua, period_begin, "
		    "period_end, status, detail, bytes FROM dmarc_report_sent "
		    "ORDER BY id",
    [ST_QUOTA_ALL] = "SELECT id, org, hour_start, messages, recipients, host, "
		     "recorded_at FROM quota_delta ORDER BY id",
    [ST_AUDIT_LAST] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLS ") VALUES (?, ?, "
			"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			"?)",
    [ST_AUDIT_ALL] = "SELECT " AUDIT_COLS " FROM audit ORDER BY id",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [ST_DMARC_INSERT] =
	"INSERT INTO dmarc_eval (time, from_domain, "
	"source_ip, policy, disposition, spf_result, spf_domain, "
	"dkim_result, dkim_domain, " DMARC_REPORT_COLS ", time_us) VALUES "
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* reports: a NULL parameter matches every row */
    [ST_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE "
		      "(?1 IS NULL OR org = ?1) AND "
		      "(?2 IS NULL OR recipient = ?2) AND "
		      "(?3 IS NULL OR time >= ?3) AND "
		      "(?4 IS NULL OR time < ?4) ORDER BY id",
};

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_MAX];
	struct sq_conn *next;
	bool wlocked;		/* holds the store's wlock */
	bool wtimeout;		/* the wait for it timed out */
};

struct sq_store {
	struct pw_store base;
	char *path;
	struct pw_store_opts opts;
	pthread_mutex_t lock;
	struct sq_conn *pool; /* idle connections, under lock */
	pthread_mutex_t wlock; /* this process's writers, one at a time */
};

/* ---- connections ---------------------------------------------------- */

static void
conn_close(struct sq_conn *c)
{
	int i;

	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* sq_fail - record why, roll back an open transaction; always -1 */
static int
sq_fail(struct sq_store *s, struct sq_conn *c, const char *what)
{
	pw_store_set_error("%s: %s: %s", s->path, what,
			   c == NULL    ? "no connection"
			   : c->wtimeout ? "database is locked (by this "
					   "process's other writers)"
					 : sqlite3_errmsg(c->db));
	if (c != NULL && !sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void conn_put(struct sq_store *, struct sq_conn *);

/* sq_fail_put - sq_fail, then give the connection back; always -1 */
static int
sq_fail_put(struct sq_store *s, struct sq_conn *c, const char *what)
{
	sq_fail(s, c, what);
	conn_put(s, c);
	return -1;
}

static struct sq_conn *
conn_open(struct sq_store *s, char **error_r)
{
	struct sq_conn *c = pw_calloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_NOMUTEX, rc;

	flags |= s->opts.readonly
		     ? SQLITE_OPEN_READONLY
		     : SQLITE_OPEN_READWRITE |
			   (s->opts.create ? SQLITE_OPEN_CREATE : 0);
	if ((rc = sqlite3_open_v2(s->path, &c->db, flags, NULL)) != SQLITE_OK) {
		*error_r = pw_asprintf("%s: cannot open: %s", s->path,
				       c->db ? sqlite3_errmsg(c->db)
					     : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, s->opts.busy_timeout_ms);
	/* SQLite quietly opens a write-protected file read-only. */
	if (!s->opts.readonly && sqlite3_db_readonly(c->db, "main") == 1) {
		*error_r = pw_asprintf("%s: not writable", s->path);
		goto fail;
	}
	if (!s->opts.readonly &&
	    sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL,
			 NULL) != SQLITE_OK) {
		*error_r = pw_asprintf("%s: cannot enable WAL: %s", s->path,
				       sqlite3_errmsg(c->db));
		goto fail;
	}
	if (sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL,
			 NULL) != SQLITE_OK) {
		*error_r =
		    pw_asprintf("%s: %s", s->path, sqlite3_errmsg(c->db));
		goto fail;
	}
	return c;
fail:
	conn_close(c);
	return NULL;
}

/* conn_get - a connection for one call, or NULL (error set) */
static struct sq_conn *
conn_get(struct sq_store *s)
{
	struct sq_conn *c, *drop;
	char *err = NULL;

	if (access(s->path, s->opts.readonly ? R_OK : R_OK | W_OK) < 0) {
		pw_store_set_error("%s: %s", s->path, strerror(errno));
		/* The pooled descriptors would still work on a file that was
		   made unreadable or removed: drop them. */
		pthread_mutex_lock(&s->lock);
		drop = s->pool;
		s->pool = NULL;
		pthread_mutex_unlock(&s->lock);
		while ((c = drop) != NULL) {
			drop = c->next;
			conn_close(c);
		}
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if ((c = s->pool) != NULL)
		s->pool = c->next;
	pthread_mutex_unlock(&s->lock);
	if (c == NULL && (c = conn_open(s, &err)) == NULL) {
		pw_store_set_error("%s", err);
		free(err);
	}
	return c;
}

/* wlock - this process's write turn for c (see the top), held until
   conn_put; false after the busy timeout */
static bool
wlock(struct sq_store *s, struct sq_conn *c)
{
	struct timespec t;
	int ms = s->opts.busy_timeout_ms;

	if (c->wlocked)
		return true;
	if (pthread_mutex_trylock(&s->wlock) != 0) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += ms / 1000;
		t.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		if (pthread_mutex_timedlock(&s->wlock, &t) != 0) {
			c->wtimeout = true;
			return false;
		}
	}
	c->wlocked = true;
	return true;
}

/* begin_write - the write turn, then SQLite's write lock */
static bool exec1(struct sq_conn *, enum sq_stmt);

static bool
begin_write(struct sq_store *s, struct sq_conn *c)
{
	return wlock(s, c) && exec1(c, ST_BEGIN_IMMEDIATE);
}

static void
conn_put(struct sq_store *s, struct sq_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (c->wlocked)
		pthread_mutex_unlock(&s->wlock);
	c->wlocked = c->wtimeout = false;
	pthread_mutex_lock(&s->lock);
	c->next = s->pool;
	s->pool = c;
	pthread_mutex_unlock(&s->lock);
}

static sqlite3_stmt *
stmt(struct sq_conn *c, enum sq_stmt which)
{
	if (c->st[which] == NULL &&
	    sqlite3_prepare_v3(c->db, sq_sql[which], -1,
			       SQLITE_PREPARE_PERSISTENT, &c->st[which],
			       NULL) != SQLITE_OK)
		return NULL;
	sqlite3_reset(c->st[which]);
	sqlite3_clear_bindings(c->st[which]);
	return c->st[which];
}

/* exec1 - run a statement without results (BEGIN, COMMIT...) */
static bool
exec1(struct sq_conn *c, enum sq_stmt which)
{
	sqlite3_stmt *st = stmt(c, which);
	bool ok = st != NULL && sqlite3_step(st) == SQLITE_DONE;

	if (st != NULL)
		sqlite3_reset(st);
	return ok;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* bind_us - a microsecond time; 0 (not recorded) is NULL */
static void
bind_us(sqlite3_stmt *st, int i, pw_time_us us)
{
	if (us == PW_NOTIME_US)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, (sqlite3_int64)us);
}

static void
bind_time(sqlite3_stmt *st, int i, time_t t)
{
	if (t == PW_NOTIME)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, (sqlite3_int64)t);
}

/* recorded_us - the recording clock: orders a withdrawal and a consent
   that carry the same obtained time (consent.h).  Strictly increasing
   within the process, so two records of one process never tie. */
static sqlite3_int64
recorded_us(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static sqlite3_int64 last;
	struct timespec ts;
	sqlite3_int64 us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (sqlite3_int64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	pthread_mutex_lock(&lock);
	if (us <= last)
		us = last + 1;
	last = us;
	pthread_mutex_unlock(&lock);
	return us;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* ---- open, close, schema --------------------------------------------- */

static int
schema_init(struct sq_store *s, struct sq_conn *c, char **error_r)
{
	sqlite3_stmt *st = NULL;
	int version;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		*error_r = pw_asprintf("%s: cannot read schema version: %s",
				       s->path, sqlite3_errmsg(c->db));
		sqlite3_finalize(st);
		return -1;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == SCHEMA_VERSION)
		return 0;
	if (version > SCHEMA_VERSION) {
		*error_r = pw_asprintf("%s: schema version %d is newer than "
				       "this postwarden (%d)",
				       s->path, version, SCHEMA_VERSION);
		return -2;
	}
	if (version > 0 && !s->opts.init) {
		*error_r = pw_asprintf("%s: schema version %d is older than "
		    "this postwarden (%d): run postwarden-ctl store init",
		    s->path, version, SCHEMA_VERSION);
		return -2;
	}
	if (s->opts.readonly) {
		*error_r = version == 0 ?
		    pw_asprintf("%s: no postwarden schema", s->path) :
		    pw_asprintf("%s: schema version %d is older than this "
			"postwarden (%d): open it read-write once "
			"(postwarden-ctl store init)", s->path, version,
			SCHEMA_VERSION);
		return -1;
	}
	/* version 0: a new file; older: migrate.  Under the write lock,
	   re-checked. */
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version == 0 &&
	    sqlite3_exec(c->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version <= 1 &&
	    sqlite3_exec(c->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version <= 2 &&
	    sqlite3_exec(c->db, schema_v3, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version <= 3 &&
	    sqlite3_exec(c->db, schema_v4, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version <= 4 &&
	    sqlite3_exec(c->db, schema_v5, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version < 6 &&
	    sqlite3_exec(c->db, schema_v6, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (version < 7 &&
	    sqlite3_exec(c->db, schema_v7, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	*error_r = pw_asprintf("%s: cannot create schema: %s", s->path,
			       sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void sq_close(struct pw_store *);

static int
sq_open(const char *where, const struct pw_store_opts *opts,
	struct pw_store **store_r, char **error_r)
{
	struct sq_store *s;
	struct sq_conn *c;
	int fd, rc = -1;

	if (where[0] != '/') {
		*error_r =
		    pw_asprintf("sqlite:%s: the path must be absolute", where);
		return -1;
	}
	s = pw_calloc(1, sizeof(*s));
	s->base.ops = &pw_store_sqlite_ops;
	s->path = pw_strdup(where);
	s->opts = *opts;
	if (s->opts.busy_timeout_ms < 0)
		s->opts.busy_timeout_ms = 0;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	/* Memory statistics take a global mutex on every allocation, which
	   serialises the milter's threads; we never read them.  Only
	   possible before SQLite initialises: a no-op (SQLITE_MISUSE)
	   afterwards. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* Consent records are personal data: a new file is 0600 whatever
	   the umask (SQLite gives -wal and -shm the same mode). */
	if (s->opts.create && !s->opts.readonly &&
	    (fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       0600)) >= 0)
		close(fd);
	if ((c = conn_open(s, error_r)) == NULL ||
	    (rc = schema_init(s, c, error_r)) < 0) {
		if (c != NULL)
			conn_close(c);
		sq_close(&s->base);
		return c != NULL && rc == -2 ? -2 : -1;
	}
	s->pool = c;
	*store_r = &s->base;
	return 0;
}

static void
sq_close(struct pw_store *base)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;

	while ((c = s->pool) != NULL) {
		s->pool = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wlock);
	free(s->path);
	free(s);
}

/* ---- consent ------------------------------------------------------------ */

static int
sq_consent_add(struct pw_store *base, struct pw_consent_record *rec, size_t n)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	time_t now = time(NULL);
	size_t i;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!begin_write(s, c)) {
		sq_fail(s, c, "consent: begin");
		conn_put(s, c);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((st = stmt(c, ST_CONSENT_INSERT)) == NULL)
			break;
		bind_text(st, 1, rec[i].org);
		bind_text(st, 2, rec[i].address);
		bind_text(st, 3, rec[i].list ? rec[i].list : "");
		bind_text(st, 4, pw_consent_type_name(rec[i].type));
		bind_time(st, 5, rec[i].obtained_at);
		bind_time(st, 6, rec[i].expires_at);
		bind_time(st, 7, rec[i].relationship_date);
		bind_text(st, 8, rec[i].source);
		bind_text(st, 9, rec[i].proof ? rec[i].proof : "");
		sqlite3_bind_int64(st, 10, (sqlite3_int64)now);
		rec[i].recorded_us = recorded_us();
		sqlite3_bind_int64(st, 11, rec[i].recorded_us);
		if (sqlite3_step(st) != SQLITE_DONE)
			break;
		rec[i].id = (int64_t)sqlite3_last_insert_rowid(c->db);
		rec[i].created_at = now;
	}
	if (i < n || !exec1(c, ST_COMMIT)) {
		sq_fail(s, c, "consent: insert");
		conn_put(s, c);
		for (i = 0; i < n; i++)
			rec[i].id = 0;
		return -1;
	}
	conn_put(s, c);
	return 0;
}

static int
sq_consent_events(struct pw_store *base, const char *org, const char *address,
		  struct pw_consent_events *ev)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_buf pool = {0};
	struct pw_consent_event e = {0};
	struct sq_conn *c;
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc = SQLITE_DONE, type;

	memset(ev, 0, sizeof(*ev));
	if ((c = conn_get(s)) == NULL)
		return -1;
	/* one read transaction: both tables from the same snapshot */
	if (!exec1(c, ST_BEGIN) || (st = stmt(c, ST_CONSENT_EVENTS)) == NULL)
		goto fail;
	bind_text(st, 1, org);
	bind_text(st, 2, address);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((type = pw_consent_type_parse(col_text(st, 2))) < 0)
			continue; /* CHECK constraint makes this moot */
		e.id = sqlite3_column_int64(st, 0);
		e.type = (enum pw_consent_type)type;
		e.obtained_at = (time_t)sqlite3_column_int64(st, 3);
		e.expires_at = (time_t)sqlite3_column_int64(st, 4);
		e.relationship_date = (time_t)sqlite3_column_int64(st, 5);
		e.seq = sqlite3_column_int64(st, 6);
		pw_store_events_push(ev, &cap, &pool, e, col_text(st, 1));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || (st = stmt(c, ST_SUPP_EVENTS)) == NULL)
		goto fail;
	bind_text(st, 1, org);
	bind_text(st, 2, address);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e.id = -sqlite3_column_int64(st, 0);
		e.type = PW_CONSENT_WITHDRAWN;
		e.obtained_at = (time_t)sqlite3_column_int64(st, 2);
		e.expires_at = PW_NOTIME;
		e.relationship_date = PW_NOTIME;
		e.seq = sqlite3_column_int64(st, 3);
		pw_store_events_push(ev, &cap, &pool, e, col_text(st, 1));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || !exec1(c, ST_COMMIT))
		goto fail;
	conn_put(s, c);
	pw_store_events_finish(ev, &pool);
	return ev->n > 0 ? 1 : 0;
fail:
	sq_fail(s, c, "consent: lookup");
	conn_put(s, c);
	pw_buf_free(&pool);
	pw_consent_events_free(ev);
	return -1;
}

static int
sq_consent_export(struct pw_store *base, const char *org, const char *address,
		  int (*cb)(const struct pw_consent_record *, void *),
		  void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_consent_record r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc, type;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, org == NULL	  ? ST_CONSENT_EXPORT_ALL
			  : address ? ST_CONSENT_EXPORT_ADDR
				    : ST_CONSENT_EXPORT_ORG)) == NULL)
		return sq_fail_put(s, c, "consent: export");
	if (org != NULL)
		bind_text(st, 1, org);
	if (org != NULL && address != NULL)
		bind_text(st, 2, address);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((type = pw_consent_type_parse(col_text(st, 4))) < 0)
			continue;
		r.id = sqlite3_column_int64(st, 0);
		r.org = col_text(st, 1);
		r.address = col_text(st, 2);
		r.list = col_text(st, 3);
		r.type = (enum pw_consent_type)type;
		r.obtained_at = (time_t)sqlite3_column_int64(st, 5);
		r.expires_at = (time_t)sqlite3_column_int64(st, 6);
		r.relationship_date = (time_t)sqlite3_column_int64(st, 7);
		r.source = col_text(st, 8);
		r.proof = col_text(st, 9);
		r.created_at = (time_t)sqlite3_column_int64(st, 10);
		r.recorded_us = sqlite3_column_int64(st, 11);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "consent: export");
	conn_put(s, c);
	return 0;
}

/* ---- feedback (issue 17) ------------------------------------------------ */

static int
sq_feedback_add(struct pw_store *base, struct pw_feedback_row *row)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!wlock(s, c) || (st = stmt(c, ST_FB_INSERT)) == NULL)
		return sq_fail_put(s, c, "feedback");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)row->time);
	bind_text(st, 2, row->org);
	bind_text(st, 3, row->address);
	bind_text(st, 4, row->kind);
	bind_text(st, 5, row->status);
	bind_text(st, 6, row->message_id);
	bind_text(st, 7, row->source);
	bind_us(st, 8, row->time_us);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return sq_fail_put(s, c, "feedback");
	}
	row->id = (int64_t)sqlite3_last_insert_rowid(c->db);
	sqlite3_reset(st);
	conn_put(s, c);
	return 0;
}

static int
sq_feedback_count(struct pw_store *base, const char *org,
    const char *address, const char *kind, time_t since, int64_t *n_r)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_FB_COUNT)) == NULL)
		return sq_fail_put(s, c, "feedback: count");
	bind_text(st, 1, org);
	bind_text(st, 2, address);
	bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)since);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return sq_fail_put(s, c, "feedback: count");
	}
	*n_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	conn_put(s, c);
	return 0;
}

static int
sq_feedback_list(struct pw_store *base, const char *org, time_t since,
    time_t until, int (*cb)(const struct pw_feedback_row *, void *),
    void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_feedback_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_FB_LIST)) == NULL)
		return sq_fail_put(s, c, "feedback: list");
	bind_text(st, 1, org);
	if (since != PW_NOTIME)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	if (until != PW_NOTIME)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.time = (time_t)sqlite3_column_int64(st, 1);
		r.org = col_text(st, 2);
		r.address = col_text(st, 3);
		r.kind = col_text(st, 4);
		r.status = col_text(st, 5);
		r.message_id = col_text(st, 6);
		r.source = col_text(st, 7);
		r.time_us = sqlite3_column_int64(st, 8);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "feedback: list");
	conn_put(s, c);
	return 0;
}

/* ---- complaint-rate holds (issue 17) ------------------------------------ */

static int
sq_chold_add(struct pw_store *base, struct pw_chold_row *row)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!wlock(s, c) || (st = stmt(c, ST_CHOLD_INSERT)) == NULL)
		return sq_fail_put(s, c, "complaint hold");
	/* an id is given by store copy only */
	if (row->id > 0)
		sqlite3_bind_int64(st, 1, row->id);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)row->time);
	bind_text(st, 3, row->org);
	bind_text(st, 4, row->action);
	sqlite3_bind_int64(st, 5, row->complaints);
	sqlite3_bind_int64(st, 6, row->delivered);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)row->since);
	bind_text(st, 8, row->actor);
	bind_text(st, 9, row->note);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return sq_fail_put(s, c, "complaint hold");
	}
	row->id = (int64_t)sqlite3_last_insert_rowid(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	conn_put(s, c);
	return 0;
}

static int
sq_chold_list(struct pw_store *base, const char *org,
    int (*cb)(const struct pw_chold_row *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_chold_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_CHOLD_LIST)) == NULL)
		return sq_fail_put(s, c, "complaint hold: list");
	bind_text(st, 1, org);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.time = (time_t)sqlite3_column_int64(st, 1);
		r.org = col_text(st, 2);
		r.action = col_text(st, 3);
		r.complaints = sqlite3_column_int64(st, 4);
		r.delivered = sqlite3_column_int64(st, 5);
		r.since = (time_t)sqlite3_column_int64(st, 6);
		r.actor = col_text(st, 7);
		r.note = col_text(st, 8);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "complaint hold: list");
	conn_put(s, c);
	return 0;
}

static int
sq_complaint_counts(struct pw_store *base, const char *org, time_t since,
    int (*cb)(const char *, int64_t, int64_t, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_CRATE_COUNTS)) == NULL)
		return sq_fail_put(s, c, "complaint counts");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	bind_text(st, 2, org);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(col_text(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "complaint counts");
	conn_put(s, c);
	return 0;
}

static int
sq_suppression_reason(struct pw_store *base, int64_t id, char **reason_r)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_SUPP_REASON)) == NULL)
		return sq_fail_put(s, c, "suppression: reason");
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*reason_r = pw_strdup(col_text(st, 0) ? col_text(st, 0) : "");
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail_put(s, c, "suppression: reason");
	conn_put(s, c);
	return rc == SQLITE_ROW;
}

/* ---- suppression ----------------------------------------------------------
 */

static int
sq_suppression_add(struct pw_store *base, struct pw_suppression *sup)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	time_t now = time(NULL);

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!wlock(s, c) || (st = stmt(c, ST_SUPP_INSERT)) == NULL)
		return sq_fail_put(s, c, "suppression");
	bind_text(st, 1, sup->org);
	bind_text(st, 2, sup->address);
	bind_text(st, 3, sup->list ? sup->list : "");
	bind_text(st, 4, sup->reason);
	bind_time(st, 5, sup->requested_at);
	bind_text(st, 6, sup->token_id);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
	sup->recorded_us = recorded_us();
	sqlite3_bind_int64(st, 8, sup->recorded_us);
	bind_us(st, 9, sup->requested_us);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return sq_fail_put(s, c, "suppression");
	}
	sup->id = (int64_t)sqlite3_last_insert_rowid(c->db);
	sup->created_at = now;
	sqlite3_reset(st);
	conn_put(s, c);
	return 0;
}

static int
sq_suppression_list(struct pw_store *base, const char *org,
		    int (*cb)(const struct pw_suppression *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_suppression r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, org ? ST_SUPP_LIST : ST_SUPP_LIST_ALL)) == NULL)
		return sq_fail_put(s, c, "suppression: list");
	if (org != NULL)
		bind_text(st, 1, org);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.org = col_text(st, 1);
		r.address = col_text(st, 2);
		r.list = col_text(st, 3);
		r.reason = col_text(st, 4);
		r.requested_at = (time_t)sqlite3_column_int64(st, 5);
		r.token_id = col_text(st, 6);
		r.created_at = (time_t)sqlite3_column_int64(st, 7);
		r.recorded_us = sqlite3_column_int64(st, 8);
		r.requested_us = sqlite3_column_int64(st, 9);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "suppression: list");
	conn_put(s, c);
	return 0;
}

/* ---- audit ------------------------------------------------------------------
 */

static int
sq_audit_append(struct pw_store *base, struct pw_audit_row *row)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int64_t prev_id = 0;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	/* The write lock is taken before reading the head, so two writers
	   cannot both link to the same previous row. */
	if (!begin_write(s, c) ||
	    (st = stmt(c, ST_AUDIT_LAST)) == NULL)
		goto fail;
	memset(row->prev_hash, 0, sizeof(row->prev_hash));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		prev_id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) != 32) {
			sqlite3_reset(st);
			pw_store_set_error("%s: audit row %lld: bad hash",
					   s->path, (long long)prev_id);
			conn_put(s, c);
			return -1;
		}
		memcpy(row->prev_hash, sqlite3_column_blob(st, 1), 32);
	} else if (rc != SQLITE_DONE) {
		goto fail;
	}
	sqlite3_reset(st);
	row->id = prev_id + 1;
	if (pw_audit_hash(row->prev_hash, row, row->hash) < 0 ||
	    (st = stmt(c, ST_AUDIT_INSERT)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)row->time);
	bind_text(st, 3, row->queue_id);
	bind_text(st, 4, row->message_id);
	bind_text(st, 5, row->org);
	bind_text(st, 6, row->recipient);
	bind_text(st, 7, row->class);
	bind_text(st, 8, row->class_source);
	bind_text(st, 9, row->consent);
	sqlite3_bind_int64(st, 10, row->basis_id);
	bind_text(st, 11, row->basis_type);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)row->basis_expires);
	bind_text(st, 13, row->reason);
	bind_text(st, 14, row->token_id);
	bind_text(st, 15, row->dkim_d);
	bind_text(st, 16, row->dkim_s);
	bind_text(st, 17, row->action);
	sqlite3_bind_blob(st, 18, row->prev_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 19, row->hash, 32, SQLITE_STATIC);
	bind_us(st, 20, row->time_us);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || !exec1(c, ST_COMMIT))
		goto fail;
	conn_put(s, c);
	return 0;
fail:
	sq_fail(s, c, "audit: append");
	conn_put(s, c);
	row->id = 0;
	return -1;
}

/* audit_row_read - one row of AUDIT_COLS; strings point into st */
static void
audit_row_read(sqlite3_stmt *st, struct pw_audit_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->time = (time_t)sqlite3_column_int64(st, 1);
	r->queue_id = col_text(st, 2);
	r->message_id = col_text(st, 3);
	r->org = col_text(st, 4);
	r->recipient = col_text(st, 5);
	r->class = col_text(st, 6);
	r->class_source = col_text(st, 7);
	r->consent = col_text(st, 8);
	r->basis_id = sqlite3_column_int64(st, 9);
	r->basis_type = col_text(st, 10);
	r->basis_expires = (time_t)sqlite3_column_int64(st, 11);
	r->reason = col_text(st, 12);
	r->token_id = col_text(st, 13);
	r->dkim_d = col_text(st, 14);
	r->dkim_s = col_text(st, 15);
	r->action = col_text(st, 16);
	r->time_us = sqlite3_column_int64(st, 19);	/* NULL: 0, v1 row */
}

static int
sq_audit_list(struct pw_store *base, const struct pw_audit_filter *f,
	      int (*cb)(const struct pw_audit_row *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_audit_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_AUDIT_LIST)) == NULL)
		return sq_fail_put(s, c, "audit: list");
	bind_text(st, 1, f->org);
	bind_text(st, 2, f->recipient);
	bind_time(st, 3, f->since);
	bind_time(st, 4, f->until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_read(st, &r);
		if (sqlite3_column_bytes(st, 17) == 32)
			memcpy(r.prev_hash, sqlite3_column_blob(st, 17), 32);
		if (sqlite3_column_bytes(st, 18) == 32)
			memcpy(r.hash, sqlite3_column_blob(st, 18), 32);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "audit: list");
	conn_put(s, c);
	return 0;
}

static int
sq_audit_verify(struct pw_store *base, int64_t *bad_id_r, unsigned char *head_r)
{
	struct sq_store *s = (struct sq_store *)base;
	unsigned char prev[32] = {0}, h[32];
	struct pw_audit_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int64_t last_id = 0;
	int rc, result = 1;

	*bad_id_r = 0;
	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!exec1(c, ST_BEGIN) || (st = stmt(c, ST_AUDIT_ALL)) == NULL) {
		sq_fail(s, c, "audit: verify");
		conn_put(s, c);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_read(st, &r);
		/* ids run without gaps; each row links to the one before and
		   its hash is what its content says */
		if (r.id != last_id + 1 || sqlite3_column_bytes(st, 17) != 32 ||
		    memcmp(sqlite3_column_blob(st, 17), prev, 32) != 0 ||
		    sqlite3_column_bytes(st, 18) != 32 ||
		    pw_audit_hash(prev, &r, h) < 0 ||
		    memcmp(sqlite3_column_blob(st, 18), h, 32) != 0) {
			*bad_id_r = r.id;
			result = 0;
			rc = SQLITE_DONE;
			break;
		}
		memcpy(prev, h, 32);
		last_id = r.id;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		sq_fail(s, c, "audit: verify");
		conn_put(s, c);
		return -1;
	}
	(void)exec1(c, ST_COMMIT);
	conn_put(s, c);
	if (result == 1 && head_r != NULL)
		memcpy(head_r, prev, 32);
	return result;
}

/* ---- DMARC rows
 * ---------------------------------------------------------------- */

/* sync_mode - switch PRAGMA synchronous with a prepared statement (an
   sqlite3_exec() would parse it for every message) */
static void
sync_mode(struct sq_conn *c, enum sq_stmt which)
{
	sqlite3_stmt *st = stmt(c, which);

	if (st == NULL)
		return;
	(void)sqlite3_step(st);
	sqlite3_reset(st);
}

static int
sq_dmarc_add(struct pw_store *base, const struct pw_dmarc_row *rows, size_t n)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	size_t i;
	int rc = SQLITE_DONE;

	if ((c = conn_get(s)) == NULL)
		return -1;
	/* DMARC rows feed aggregate reports: losing the last few to a power
	   cut is acceptable, an fdatasync per inbound message is not (~12 %
	   of the milter's CPU in bench-inbound.sh).  In WAL mode a NORMAL
	   commit is written but not synced; the next FULL commit (an audit
	   row) syncs it along with its own. */
	sync_mode(c, ST_SYNC_NORMAL);
	if (!begin_write(s, c)) {
		sync_mode(c, ST_SYNC_FULL);
		return sq_fail_put(s, c, "dmarc: begin");
	}
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		const struct pw_dmarc_row *row = &rows[i];

		if ((st = stmt(c, ST_DMARC_INSERT)) == NULL)
			break;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pw_time_us_sec(
		    pw_time_us_pick(row->time, row->time_us)));
		bind_text(st, 2, row->from_domain ? row->from_domain : "");
		bind_text(st, 3, row->source_ip);
		bind_text(st, 4, row->policy);
		bind_text(st, 5, row->disposition);
		bind_text(st, 6, row->spf_result);
		bind_text(st, 7, row->spf_domain);
		bind_text(st, 8, row->dkim_result);
		bind_text(st, 9, row->dkim_domain);
		bind_text(st, 10, row->env_from);
		bind_text(st, 11, row->spf_scope);
		bind_text(st, 12, row->dkim_selector);
		bind_text(st, 13, row->dmarc_result);
		bind_text(st, 14, row->spf_aligned);
		bind_text(st, 15, row->dkim_aligned);
		bind_text(st, 16, row->override);
		bind_text(st, 17, row->pub_domain);
		bind_text(st, 18, row->pub_record);
		bind_text(st, 19, row->discovery);
		sqlite3_bind_int64(st, 20,
		    pw_time_us_pick(row->time, row->time_us));
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (i < n || rc != SQLITE_DONE || !exec1(c, ST_COMMIT)) {
		sq_fail(s, c, "dmarc");	/* rolls back */
		sync_mode(c, ST_SYNC_FULL);
		conn_put(s, c);
		return -1;
	}
	sync_mode(c, ST_SYNC_FULL);
	conn_put(s, c);
	return 0;
}

/* ---- sending quotas (issue 17) ----------------------------------------- */

static int
sq_quota_add(struct pw_store *base, const struct pw_quota_row *rows, size_t n)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	size_t i;
	int rc = SQLITE_DONE;

	if ((c = conn_get(s)) == NULL)
		return -1;
	/* Counts, not evidence: a power cut may take back the last flush
	   (a few seconds of counting), as it may for DMARC rows. */
	sync_mode(c, ST_SYNC_NORMAL);
	if (!begin_write(s, c)) {
		sync_mode(c, ST_SYNC_FULL);
		return sq_fail_put(s, c, "quota: begin");
	}
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		if ((st = stmt(c, ST_QUOTA_INSERT)) == NULL)
			break;
		bind_text(st, 1, rows[i].org);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)rows[i].hour_start);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)rows[i].messages);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)rows[i].recipients);
		bind_text(st, 5, rows[i].host);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)rows[i].recorded_at);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (i < n || rc != SQLITE_DONE || !exec1(c, ST_COMMIT)) {
		sq_fail(s, c, "quota");	/* rolls back */
		sync_mode(c, ST_SYNC_FULL);
		conn_put(s, c);
		return -1;
	}
	sync_mode(c, ST_SYNC_FULL);
	conn_put(s, c);
	return 0;
}

static int
sq_quota_sum(struct pw_store *base, const char *org, time_t since,
    time_t until, int (*cb)(const struct pw_quota_sum *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_quota_sum q;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, org ? ST_QUOTA_SUM_ORG : ST_QUOTA_SUM_ALL)) == NULL)
		return sq_fail_put(s, c, "quota: sum");
	if (org != NULL)
		bind_text(st, 1, org);
	sqlite3_bind_int64(st, 2, since != PW_NOTIME ? (sqlite3_int64)since :
	    INT64_MIN);
	sqlite3_bind_int64(st, 3, until != PW_NOTIME ? (sqlite3_int64)until :
	    INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		q.org = col_text(st, 0);
		q.messages = sqlite3_column_int64(st, 1);
		q.recipients = sqlite3_column_int64(st, 2);
		if (cb(&q, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "quota: sum");
	conn_put(s, c);
	return 0;
}

static int
sq_quota_list(struct pw_store *base,
    int (*cb)(int64_t, const struct pw_quota_row *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_quota_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_QUOTA_ALL)) == NULL)
		return sq_fail_put(s, c, "quota: list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.org = col_text(st, 1);
		r.hour_start = (time_t)sqlite3_column_int64(st, 2);
		r.messages = sqlite3_column_int64(st, 3);
		r.recipients = sqlite3_column_int64(st, 4);
		r.host = col_text(st, 5);
		r.recorded_at = (time_t)sqlite3_column_int64(st, 6);
		if (cb(sqlite3_column_int64(st, 0), &r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "quota: list");
	conn_put(s, c);
	return 0;
}

static int
sq_dmarc_list(struct pw_store *base,
	      int (*cb)(const struct pw_dmarc_row *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_dmarc_row r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_DMARC_ALL)) == NULL)
		return sq_fail_put(s, c, "dmarc: list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.time = (time_t)sqlite3_column_int64(st, 0);
		r.time_us = sqlite3_column_int64(st, 19);
		r.from_domain = col_text(st, 1);
		r.source_ip = col_text(st, 2);
		r.policy = col_text(st, 3);
		r.disposition = col_text(st, 4);
		r.spf_result = col_text(st, 5);
		r.spf_domain = col_text(st, 6);
		r.dkim_result = col_text(st, 7);
		r.dkim_domain = col_text(st, 8);
		r.env_from = col_text(st, 9);
		r.spf_scope = col_text(st, 10);
		r.dkim_selector = col_text(st, 11);
		r.dmarc_result = col_text(st, 12);
		r.spf_aligned = col_text(st, 13);
		r.dkim_aligned = col_text(st, 14);
		r.override = col_text(st, 15);
		r.pub_domain = col_text(st, 16);
		r.pub_record = col_text(st, 17);
		r.discovery = col_text(st, 18);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "dmarc: list");
	conn_put(s, c);
	return 0;
}

static int
sq_dmarc_sent_add(struct pw_store *base, const struct pw_dmarc_sent *r)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!wlock(s, c) || (st = stmt(c, ST_SENT_INSERT)) == NULL)
		return sq_fail_put(s, c, "dmarc report record");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->time);
	bind_text(st, 2, r->report_id);
	bind_text(st, 3, r->domain);
	bind_text(st, 4, r->rua);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->begin);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->end);
	bind_text(st, 7, r->status);
	bind_text(st, 8, r->detail);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->bytes);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_reset(st);
		return sq_fail_put(s, c, "dmarc report record");
	}
	sqlite3_reset(st);
	conn_put(s, c);
	return 0;
}

static int
sq_dmarc_sent_list(struct pw_store *base,
    int (*cb)(const struct pw_dmarc_sent *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_dmarc_sent r;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_SENT_ALL)) == NULL)
		return sq_fail_put(s, c, "dmarc report record: list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.time = (time_t)sqlite3_column_int64(st, 0);
		r.report_id = col_text(st, 1);
		r.domain = col_text(st, 2);
		r.rua = col_text(st, 3);
		r.begin = (time_t)sqlite3_column_int64(st, 4);
		r.end = (time_t)sqlite3_column_int64(st, 5);
		r.status = col_text(st, 6);
		r.detail = col_text(st, 7);
		r.bytes = sqlite3_column_int64(st, 8);
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "dmarc report record: list");
	conn_put(s, c);
	return 0;
}

static int
sq_dmarc_sent_check(struct pw_store *base, const char *report_id,
    const char *rua)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int sent;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_SENT_CHECK)) == NULL)
		return sq_fail_put(s, c, "dmarc report record");
	bind_text(st, 1, report_id);
	bind_text(st, 2, rua);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return sq_fail_put(s, c, "dmarc report record");
	}
	sent = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	conn_put(s, c);
	return sent;
}

/* sq_dmarc_expire - one transaction: both deletions or neither (a row
   the trigger protects aborts it) */
static int
sq_dmarc_expire(struct pw_store *base, time_t before, int64_t *rows_r,
    int64_t *sent_r)
{
	struct sq_store *s = (struct sq_store *)base;
	static const enum sq_stmt del[2] = { ST_EXPIRE_EVAL, ST_EXPIRE_SENT };
	int64_t *n[2] = { rows_r, sent_r };
	struct sq_conn *c;
	sqlite3_stmt *st;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!begin_write(s, c))
		return sq_fail_put(s, c, "dmarc: delete: begin");
	for (int i = 0; i < 2; i++) {
		if ((st = stmt(c, del[i])) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			goto fail;
		}
		*n[i] = sqlite3_changes(c->db);
		sqlite3_reset(st);
	}
	if (!exec1(c, ST_COMMIT))
		goto fail;
	conn_put(s, c);
	return 0;
fail:
	sq_fail(s, c, "dmarc: delete");	/* rolls back */
	conn_put(s, c);
	return -1;
}

/* ---- withdrawals in groups (postwarden-unsubd) ---------------------------
 */

/* sq_suppression_add_batch - n suppressions in one write transaction:
   one WAL fsync (synchronous=FULL) for the group instead of one each.
   Each row is bound as sq_suppression_add binds one. */
static int
sq_suppression_add_batch(struct pw_store *base, struct pw_suppression *sup,
			 size_t n)
{
	struct sq_store *s = (struct sq_store *)base;
	struct sq_conn *c;
	sqlite3_stmt *st;
	time_t now = time(NULL);
	size_t i;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if (!begin_write(s, c))
		return sq_fail_put(s, c, "suppression: begin");
	for (i = 0; i < n; i++) {
		if ((st = stmt(c, ST_SUPP_INSERT)) == NULL)
			break;
		bind_text(st, 1, sup[i].org);
		bind_text(st, 2, sup[i].address);
		bind_text(st, 3, sup[i].list ? sup[i].list : "");
		bind_text(st, 4, sup[i].reason);
		bind_time(st, 5, sup[i].requested_at);
		bind_text(st, 6, sup[i].token_id);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
		sup[i].recorded_us = recorded_us();
		sqlite3_bind_int64(st, 8, sup[i].recorded_us);
		bind_us(st, 9, sup[i].requested_us);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			break;
		}
		sqlite3_reset(st);
		sup[i].id = (int64_t)sqlite3_last_insert_rowid(c->db);
		sup[i].created_at = now;
	}
	if (i < n || !exec1(c, ST_COMMIT)) {
		sq_fail(s, c, "suppression: insert");
		conn_put(s, c);
		for (i = 0; i < n; i++)
			sup[i].id = 0;
		return -1;
	}
	conn_put(s, c);
	return 0;
}

/* sq_newest - the domain's newest row (pw_dmarc_gbuf), by a statement
   of its own on the walk's connection: the strings stay valid until its
   next step */
static int
sq_newest(void *nctx, int64_t id, struct pw_dmarc_group *g)
{
	struct sq_conn *c = nctx;
	sqlite3_stmt *st;

	if ((st = stmt(c, ST_DMARC_NEWEST)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	g->pub_domain = col_text(st, 0);
	g->pub_record = col_text(st, 1);
	g->discovery = col_text(st, 2);
	return 0;
}

/* Auxiliary threads SQLite may use for the report's sort (PRAGMA
   threads): the sorted runs are made and merged beside the reading
   thread.  Only on the report's walk, which is the only large sort.
   10,000,000 rows, 2 cores, interleaved: 0 threads 51-57 s, 1 thread
   50-52 s, 2 threads 43 s (bench/bench-dmarc-report.sh). */
#ifndef PW_SQLITE_SORT_THREADS
#define PW_SQLITE_SORT_THREADS	2
#endif

/* sq_dmarc_groups - the report groups of a period (store.h); the sort
   that groups them spills to temporary files past the cache (temp_store
   is the default, a file), so memory stays small whatever the rows */
static int
sq_dmarc_groups(struct pw_store *base, time_t since, time_t until,
		int (*cb)(const struct pw_dmarc_group *, void *), void *ctx)
{
	struct sq_store *s = (struct sq_store *)base;
	struct pw_dmarc_gbuf b;
	struct pw_dmarc_group g;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc, brc, threads;

	if ((c = conn_get(s)) == NULL)
		return -1;
	if ((st = stmt(c, ST_DMARC_GROUPS)) == NULL)
		return sq_fail_put(s, c, "dmarc: groups");
	memset(&b, 0, sizeof(b));
	b.cb = cb;
	b.ctx = ctx;
	b.newest = sq_newest;
	b.nctx = c;
	memset(&g, 0, sizeof(g));
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)until);
	threads = sqlite3_limit(c->db, SQLITE_LIMIT_WORKER_THREADS,
	    PW_SQLITE_SORT_THREADS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g.source_ip = col_text(st, 1);
		g.disposition = col_text(st, 2);
		g.dkim_aligned = col_text(st, 3);
		g.spf_aligned = col_text(st, 4);
		g.override = col_text(st, 5);
		g.env_from = col_text(st, 6);
		g.from_domain = col_text(st, 7);
		g.dkim_domain = col_text(st, 8);
		g.dkim_selector = col_text(st, 9);
		g.dkim_result = col_text(st, 10);
		g.spf_domain = col_text(st, 11);
		g.spf_scope = col_text(st, 12);
		g.spf_result = col_text(st, 13);
		g.count = sqlite3_column_int64(st, 14);
		if (pw_store_dmarc_gbuf_push(&b, col_text(st, 0),
		    sqlite3_column_int64(st, 15), &g) != 0) {
			rc = b.failed ? SQLITE_ERROR : SQLITE_DONE;
			break;
		}
	}
	if (rc == SQLITE_DONE) {
		brc = pw_store_dmarc_gbuf_end(&b);
		rc = brc < 0 ? SQLITE_ERROR : rc;
	} else {
		b.stop = true;	/* a domain cut short is not handed over */
		(void)pw_store_dmarc_gbuf_end(&b);
	}
	if ((st = c->st[ST_DMARC_NEWEST]) != NULL)
		sqlite3_reset(st);
	st = c->st[ST_DMARC_GROUPS];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	(void)sqlite3_limit(c->db, SQLITE_LIMIT_WORKER_THREADS, threads);
	if (rc != SQLITE_DONE)
		return sq_fail_put(s, c, "dmarc: groups");
	conn_put(s, c);
	return 0;
}

const struct pw_store_ops pw_store_sqlite_ops = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .consent_add = sq_consent_add,
    .consent_events = sq_consent_events,
    .consent_export = sq_consent_export,
    .suppression_add = sq_suppression_add,
    .suppression_list = sq_suppression_list,
    .feedback_add = sq_feedback_add,
    .feedback_count = sq_feedback_count,
    .suppression_reason = sq_suppression_reason,
    .feedback_list = sq_feedback_list,
    .audit_append = sq_audit_append,
    .audit_verify = sq_audit_verify,
    .dmarc_add = sq_dmarc_add,
    .audit_list = sq_audit_list,
    .dmarc_list = sq_dmarc_list,
    .dmarc_sent_add = sq_dmarc_sent_add,
    .dmarc_sent_check = sq_dmarc_sent_check,
    .dmarc_expire = sq_dmarc_expire,
    .quota_add = sq_quota_add,
    .quota_sum = sq_quota_sum,
    .dmarc_sent_list = sq_dmarc_sent_list,
    .quota_list = sq_quota_list,
    .chold_add = sq_chold_add,
    .chold_list = sq_chold_list,
    .complaint_counts = sq_complaint_counts,
    .suppression_add_batch = sq_suppression_add_batch,
    .dmarc_groups = sq_dmarc_groups,
};

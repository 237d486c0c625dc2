/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_store - the SQLite store on a temporary file: consent and
 * suppression round trips, all-or-nothing batches, locked and unreadable
 * files (-1), the audit hash chain (intact, modified, deleted rows),
 * append-only triggers, DMARC rows, concurrent writers.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/log.h"
#include "base/util.h"
#include "compliance/consent_state.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/t_store.XXXXXX";
static int dbn;

struct fixture {
	char *path;
	char *spec;
	struct pw_store *store;
};

static time_t
T(const char *s)
{
	time_t t;

	if (pw_date_parse(s, &t) < 0)
		fail_msg("bad date %s", s);
	return t;
}

static int
setup(void **state)
{
	struct fixture *f = pw_calloc(1, sizeof(*f));
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	char *err = NULL;

	o.busy_timeout_ms = 50;
	f->path = pw_asprintf("%s/db%d.sqlite", tmpdir, ++dbn);
	f->spec = pw_asprintf("sqlite:%s", f->path);
	if (pw_store_open(f->spec, &o, &f->store, &err) < 0)
		fail_msg("open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *p;

	pw_store_close(&f->store);
	unlink(f->path);
	p = pw_asprintf("%s-wal", f->path);
	unlink(p);
	free(p);
	p = pw_asprintf("%s-shm", f->path);
	unlink(p);
	free(p);
	free(f->path);
	free(f->spec);
	free(f);
	return 0;
}

/* raw - a second, independent connection: the operator or an attacker */
static sqlite3 *
raw(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 1000);
	return db;
}

static long long
count(const char *path, const char *table)
{
	sqlite3 *db = raw(path);
	sqlite3_stmt *st;
	char *sql = pw_asprintf("SELECT count(*) FROM %s", table);
	long long n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(sql);
	return n;
}

static struct pw_consent_record
rec(const char *addr, const char *list, enum pw_consent_type type,
    const char *obtained)
{
	struct pw_consent_record r = {0};

	r.org = "acme";
	r.address = addr;
	r.list = list;
	r.type = type;
	r.obtained_at = T(obtained);
	r.source = "test";
	r.proof = "form:1";
	return r;
}

static void
t_schema(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = raw(f->path);
	sqlite3_stmt *st;
	struct stat sb;

	/* personal data: not readable by others, whatever the umask */
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* a file from a newer postwarden is refused */
	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	{
		struct pw_store *s2 = NULL;
		char *err = NULL;

		assert_int_equal(pw_store_open(f->spec, NULL, &s2, &err), -1);
		assert_non_null(strstr(err, "newer"));
		free(err);
		assert_int_equal(
		    pw_store_open("sqlite:relative.db", NULL, &s2, &err), -1);
		free(err);
		assert_int_equal(pw_store_open("pgsql:x", NULL, &s2, &err), -1);
		assert_non_null(strstr(err, "unknown type"));
		free(err);
		assert_int_equal(pw_store_open("/var/x.db", NULL, &s2, &err),
				 -1);
		free(err);
	}
}

static void
t_consent(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r[3];
	struct pw_consent_result res;
	struct pw_consent_events ev;
	struct pw_suppression sup = {0};
	time_t now = T("2025-06-01");

	r[0] = rec("alice@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	r[1] = rec("bob@example.com", "news", PW_CONSENT_IMPLIED_INQUIRY,
		   "2024-01-01");
	r[2] = rec("carol@example.com", NULL, PW_CONSENT_IMPLIED_PURCHASE,
		   "2025-02-01");
	assert_int_equal(pw_store_consent_add(f->store, r, 3), 0);
	assert_true(r[0].id > 0 && r[1].id > r[0].id && r[2].id > r[1].id);

	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"alice@example.com", "news",
						now, &res, &ev),
			 1);
	assert_int_equal(res.state, PW_CSTATE_EXPRESS);
	assert_int_equal(res.basis->id, r[0].id);
	pw_consent_events_free(&ev);
	/* another organisation: nothing */
	assert_int_equal(pw_store_consent_check(f->store, "other",
						"alice@example.com", NULL, now,
						&res, &ev),
			 0);
	assert_int_equal(res.state, PW_CSTATE_NONE);
	pw_consent_events_free(&ev);
	/* inquiry of 2024-01-01 lapsed on 2024-07-01 */
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"bob@example.com", "news", now,
						&res, &ev),
			 0);
	assert_int_equal(res.state, PW_CSTATE_EXPIRED);
	pw_consent_events_free(&ev);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"carol@example.com", NULL, now,
						&res, &ev),
			 1);
	assert_int_equal(res.state, PW_CSTATE_IMPLIED);
	assert_int_equal(res.valid_until, T("2027-02-01"));
	pw_consent_events_free(&ev);

	/* unsubscribe: withdrawn, basis is the suppression (negative id) */
	sup.org = "acme";
	sup.address = "carol@example.com";
	sup.reason = "one_click_post";
	sup.requested_at = T("2025-03-01");
	sup.token_id = "0123456789abcdef";
	assert_int_equal(pw_store_suppression_add(f->store, &sup), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"carol@example.com", NULL, now,
						&res, &ev),
			 0);
	assert_int_equal(res.state, PW_CSTATE_WITHDRAWN);
	assert_int_equal(res.basis->id, -sup.id);
	pw_consent_events_free(&ev);
	/* re-consent after withdrawal */
	r[0] = rec("carol@example.com", NULL, PW_CONSENT_EXPRESS, "2025-04-01");
	assert_int_equal(pw_store_consent_add(f->store, r, 1), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"carol@example.com", NULL, now,
						&res, &ev),
			 1);
	assert_int_equal(res.state, PW_CSTATE_EXPRESS);
	assert_int_equal(ev.n, 3);
	pw_consent_events_free(&ev);

	/* unsubscribe and re-subscribe stamped with the same second: the
	   order they were recorded in decides */
	sup.address = "dave@example.com";
	sup.requested_at = T("2025-05-01T12:00:00Z");
	assert_int_equal(pw_store_suppression_add(f->store, &sup), 0);
	r[0] = rec("dave@example.com", NULL, PW_CONSENT_EXPRESS,
		   "2025-05-01T12:00:00Z");
	assert_int_equal(pw_store_consent_add(f->store, r, 1), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"dave@example.com", NULL, now,
						&res, &ev),
			 1);
	pw_consent_events_free(&ev);
	assert_int_equal(pw_store_suppression_add(f->store, &sup), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"dave@example.com", NULL, now,
						&res, &ev),
			 0);
	assert_int_equal(res.state, PW_CSTATE_WITHDRAWN);
	pw_consent_events_free(&ev);
}

/* A batch with one bad record writes nothing. */
static void
t_batch_atomic(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r[3];

	r[0] = rec("a@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	r[1] = rec("b@example.com", NULL, PW_CONSENT_IMPLIED, "2025-01-01");
	r[2] = rec("c@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	/* implied without a review date: rejected before any write */
	assert_int_equal(pw_store_consent_add(f->store, r, 3), -1);
	assert_non_null(strstr(pw_store_strerror(), "record 2"));
	assert_int_equal(count(f->path, "consent_event"), 0);
	/* a failure inside the transaction (NOT NULL, on the second row,
	   past the front-end checks) rolls the first row back too */
	r[1].type = PW_CONSENT_EXPRESS;
	r[1].source = NULL;
	assert_int_equal(f->store->ops->consent_add(f->store, r, 3), -1);
	assert_int_equal(r[0].id, 0);
	assert_int_equal(count(f->path, "consent_event"), 0);
	r[1].source = "test";
	assert_int_equal(pw_store_consent_add(f->store, r, 3), 0);
	assert_int_equal(count(f->path, "consent_event"), 3);
}

static void
t_locked(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r =
	    rec("a@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	struct pw_audit_row row = {0};
	struct pw_consent_result res;
	struct pw_consent_events ev;
	sqlite3 *db = raw(f->path);

	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pw_store_consent_add(f->store, &r, 1), -1);
	assert_non_null(strstr(pw_store_strerror(), "locked"));
	row.time = T("2025-06-01");
	row.queue_id = "4Q1";
	row.action = "delivered";
	assert_int_equal(pw_store_audit_append(f->store, &row), -1);
	/* WAL: readers are not blocked by a writer */
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"a@example.com", NULL,
						T("2025-06-01"), &res, &ev),
			 0);
	pw_consent_events_free(&ev);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	/* and the same connections work again afterwards */
	assert_int_equal(pw_store_consent_add(f->store, &r, 1), 0);
	assert_int_equal(pw_store_audit_append(f->store, &row), 0);
}

/* unreadable_run - as an unprivileged user (root reads anything):
   returns 0 if every expectation held, else the step that failed */
static int
unreadable_run(const char *dir)
{
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	struct pw_consent_record r;
	struct pw_consent_result res;
	struct pw_consent_events ev;
	struct pw_audit_row row = {0};
	struct pw_store *s = NULL, *s2 = NULL;
	char *path = pw_asprintf("%s/nobody.db", dir), *spec, *err = NULL;

	o.busy_timeout_ms = 50;
	spec = pw_asprintf("sqlite:%s", path);
	if (pw_store_open(spec, &o, &s, &err) < 0)
		return 1;
	r = rec("a@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	if (pw_store_consent_add(s, &r, 1) != 0)
		return 2;
	if (pw_store_consent_check(s, "acme", "a@example.com", NULL,
				   T("2025-06-01"), &res, &ev) != 1)
		return 3;
	pw_consent_events_free(&ev);
	if (chmod(path, 0) < 0)
		return 4;
	if (pw_store_consent_check(s, "acme", "a@example.com", NULL,
				   T("2025-06-01"), &res, &ev) != -1)
		return 5;
	row.queue_id = "4Q1";
	row.action = "delivered";
	if (pw_store_audit_append(s, &row) != -1)
		return 6;
	if (strstr(pw_store_strerror(), "Permission denied") == NULL)
		return 7;
	if (pw_store_open(spec, &o, &s2, &err) != -1)
		return 8;
	free(err);
	/* readable again: works again */
	if (chmod(path, 0600) < 0)
		return 9;
	if (pw_store_consent_check(s, "acme", "a@example.com", NULL,
				   T("2025-06-01"), &res, &ev) != 1)
		return 10;
	pw_consent_events_free(&ev);
	pw_store_close(&s);
	return 0;
}

static void
t_unreadable(void **state)
{
	char *dir = pw_asprintf("%s/nobody", tmpdir);
	pid_t pid;
	int status;

	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	if (geteuid() != 0) {
		assert_int_equal(unreadable_run(dir), 0);
		free(dir);
		return;
	}
	if ((pid = fork()) == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(100);
		_exit(unreadable_run(dir));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("unprivileged run failed at step %d",
			 WEXITSTATUS(status));
	free(dir);
}

/* A store file deleted under the daemon: -1, not writes into an unlinked
   inode that nobody will ever read; back in place, it works again. */
static void
t_removed(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r =
	    rec("a@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	struct pw_audit_row row = {0};
	struct pw_consent_result res;
	struct pw_consent_events ev;
	char *moved = pw_asprintf("%s.moved", f->path);

	assert_int_equal(pw_store_consent_add(f->store, &r, 1), 0);
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"a@example.com", NULL,
						T("2025-06-01"), &res, &ev),
			 -1);
	row.queue_id = "4Q1";
	row.action = "delivered";
	assert_int_equal(pw_store_audit_append(f->store, &row), -1);
	assert_non_null(strstr(pw_store_strerror(), "No such file"));
	assert_int_equal(rename(moved, f->path), 0);
	assert_int_equal(pw_store_consent_check(f->store, "acme",
						"a@example.com", NULL,
						T("2025-06-01"), &res, &ev),
			 1);
	pw_consent_events_free(&ev);
	assert_int_equal(pw_store_audit_append(f->store, &row), 0);
	free(moved);
}

static int
append_rows(struct pw_store *s, int n, const char *qid)
{
	int i, failed = 0;

	for (i = 0; i < n; i++) {
		struct pw_audit_row row = {0};
		char rcpt[64];

		snprintf(rcpt, sizeof(rcpt), "r%d@example.com", i);
		row.time = T("2025-06-01") + i;
		row.queue_id = qid;
		row.message_id = "<m@example.com>";
		row.org = "acme";
		row.recipient = rcpt;
		row.class = "commercial";
		row.class_source = "organisation";
		row.consent = "express";
		row.basis_id = 42;
		row.basis_type = "express";
		row.token_id = "0123456789abcdef";
		row.dkim_d = "example.com";
		row.dkim_s = "s2025";
		row.action = i % 2 ? "delivered" : "refused_rcpt";
		row.reason = i % 2 ? NULL : "no consent";
		if (pw_store_audit_append(s, &row) != 0)
			failed++;
	}
	return failed;
}

static void
t_audit_chain(void **state)
{
	struct fixture *f = *state;
	unsigned char head[32], head2[32];
	int64_t bad;
	sqlite3 *db;

	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 1);
	assert_int_equal(append_rows(f->store, 6, "4QAAA"), 0);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 1);
	assert_int_equal(append_rows(f->store, 1, "4QAAB"), 0);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head2), 1);
	assert_memory_not_equal(head, head2, 32);

	db = raw(f->path);
	/* append-only: the trigger refuses an edit... */
	assert_int_not_equal(sqlite3_exec(db,
					  "UPDATE audit SET action = "
					  "'delivered' WHERE id = 3",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	/* ...and whoever drops it is caught by the chain */
	assert_int_equal(sqlite3_exec(db,
				      "DROP TRIGGER audit_no_update; "
				      "DROP TRIGGER audit_no_delete",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE audit SET action = "
				      "'delivered' WHERE id = 3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 0);
	assert_int_equal(bad, 3);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE audit SET action = "
				      "'refused_rcpt' WHERE id = 3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 1);
	/* changing the hash column alone breaks the next link */
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE audit SET basis_expires = 1 "
				      "WHERE id = 5",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 0);
	assert_int_equal(bad, 5);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE audit SET basis_expires = 0 "
				      "WHERE id = 5",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	/* a deleted row */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM audit WHERE id = 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(pw_store_audit_verify(f->store, &bad, head), 0);
	assert_int_equal(bad, 3);
	sqlite3_close(db);
}

static void
t_append_only(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r =
	    rec("a@example.com", NULL, PW_CONSENT_EXPRESS, "2025-01-01");
	sqlite3 *db;

	struct pw_suppression sup = {0};

	sup.org = "acme";
	sup.address = "a@example.com";
	sup.reason = "manual";
	sup.requested_at = T("2025-01-01");
	assert_int_equal(pw_store_suppression_add(f->store, &sup), 0);
	assert_int_equal(pw_store_consent_add(f->store, &r, 1), 0);
	db = raw(f->path);
	assert_int_not_equal(sqlite3_exec(db,
					  "UPDATE consent_event SET "
					  "type = 'withdrawn'",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "DELETE FROM consent_event", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "DELETE FROM suppression", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(count(f->path, "consent_event"), 1);
}

struct collect {
	int n;
	char last[128];
};

static int
collect_cb(const struct pw_consent_record *r, void *ctx)
{
	struct collect *c = ctx;

	c->n++;
	snprintf(c->last, sizeof(c->last), "%s %s %s %s", r->address, r->list,
		 pw_consent_type_name(r->type), r->source);
	return 0;
}

static int
collect_supp(const struct pw_suppression *s, void *ctx)
{
	struct collect *c = ctx;

	c->n++;
	snprintf(c->last, sizeof(c->last), "%s %s", s->address, s->reason);
	return 0;
}

static void
t_export_dmarc(void **state)
{
	struct fixture *f = *state;
	struct pw_consent_record r[2];
	struct pw_suppression sup = {0};
	struct pw_dmarc_row d = {0};
	struct collect c = {0};

	r[0] = rec("a@example.com", "news", PW_CONSENT_EXPRESS, "2025-01-01");
	r[1] = rec("b@example.com", NULL, PW_CONSENT_IMPLIED_PURCHASE,
		   "2025-01-01");
	r[1].org = "other";
	assert_int_equal(pw_store_consent_add(f->store, r, 2), 0);
	assert_int_equal(
	    pw_store_consent_export(f->store, "acme", NULL, collect_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.last, "a@example.com news express test");
	c.n = 0;
	assert_int_equal(pw_store_consent_export(
			     f->store, "acme", "b@example.com", collect_cb, &c),
			 0);
	assert_int_equal(c.n, 0);
	sup.org = "acme";
	sup.address = "z@example.com";
	sup.reason = "manual";
	sup.requested_at = T("2025-01-01");
	assert_int_equal(pw_store_suppression_add(f->store, &sup), 0);
	assert_int_equal(
	    pw_store_suppression_list(f->store, "acme", collect_supp, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.last, "z@example.com manual");

	d.time = T("2025-06-01");
	d.from_domain = "example.com";
	d.source_ip = "192.0.2.1";
	d.policy = "reject";
	d.disposition = "reject";
	d.spf_result = "fail";
	d.spf_domain = "example.com";
	d.dkim_result = "none";
	assert_int_equal(pw_store_dmarc_add(f->store, &d, 1), 0);
	assert_int_equal(count(f->path, "dmarc_eval"), 1);
	{
		struct pw_dmarc_row many[3] = {d, d, d};

		many[2].from_domain = "example.net";
		assert_int_equal(pw_store_dmarc_add(f->store, many, 3), 0);
		assert_int_equal(count(f->path, "dmarc_eval"), 4);
		assert_int_equal(pw_store_dmarc_add(f->store, many, 0), 0);
		assert_int_equal(count(f->path, "dmarc_eval"), 4);
	}
}

static void *
writer(void *arg)
{
	return (void *)(intptr_t)append_rows(arg, 25, "4QTHREAD");
}

static void
t_concurrent(void **state)
{
	struct fixture *f = *state;
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT; /* 2 s timeout */
	struct pw_store *s = NULL;
	pthread_t th[4];
	int64_t bad;
	char *err = NULL;
	void *failed;
	int i;

	if (pw_store_open(f->spec, &o, &s, &err) < 0)
		fail_msg("open: %s", err);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, s), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &failed);
		assert_int_equal((intptr_t)failed, 0);
	}
	assert_int_equal(count(f->path, "audit"), 100);
	assert_int_equal(pw_store_audit_verify(s, &bad, NULL), 1);
	pw_store_close(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_consent, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_batch_atomic, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_locked, setup, teardown),
	    cmocka_unit_test(t_unreadable),
	    cmocka_unit_test_setup_teardown(t_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_audit_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_append_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_export_dmarc, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_concurrent, setup, teardown),
	};
	char *cmd;
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	pw_log_init("t_store", 1, LOG_MAIL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cmd = pw_asprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	free(cmd);
	return rc;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_audit_chain - the per-row chain check (audit_chain.h) on rows built
 * in memory (a table of tamperings, each of which must be caught at the
 * right row with the right status) and on a real SQLite store through
 * pw_store_audit_list (filters; a row changed or deleted with the
 * append-only triggers dropped, as an attacker with file access would);
 * the report helpers of evidence.h; the two hash formats (v1, whole
 * seconds, before schema version 5; v2 with microseconds) spelled out, and
 * a chain that holds both (audit_chain.c).
 */
#include "unit.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include "base/util.h"
#include "compliance/audit_chain.h"
#include "compliance/consent_state.h"
#include "compliance/evidence.h"
#include "compliance/org.h"
#include "store/store.h"

#define NROWS 5

/* chain - NROWS valid rows, hashed as the store does */
static void
chain(struct pw_audit_row *v)
{
	static const char *const rcpt[NROWS] = {"a@x.test", "b@x.test",
	    "c@x.test", "a@x.test", "d@x.test"};
	unsigned char prev[32] = {0};

	for (int i = 0; i < NROWS; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].id = i + 1;
		v[i].time = 1700000000 + i;
		v[i].queue_id = "QID";
		v[i].org = "acme";
		v[i].recipient = rcpt[i];
		v[i].class = "commercial";
		v[i].action = "delivered";
		memcpy(v[i].prev_hash, prev, 32);
		assert_int_equal(pw_audit_hash(prev, &v[i], v[i].hash), 0);
		memcpy(prev, v[i].hash, 32);
	}
}

/* walk - feed rows; returns the status of the first bad row (id in
   *bad_r) or OK */
static enum pw_chain_status
walk(struct pw_audit_chain *c, const struct pw_audit_row *v, size_t n,
    int64_t *bad_r)
{
	enum pw_chain_status st;

	pw_audit_chain_init(c);
	*bad_r = 0;
	for (size_t i = 0; i < n; i++)
		if ((st = pw_audit_chain_step(c, &v[i])) != PW_CHAIN_OK) {
			*bad_r = v[i].id;
			return st;
		}
	return PW_CHAIN_OK;
}

enum tamper { T_NONE, T_FIELD, T_FIELD_REHASH, T_DELETE, T_SWAP, T_PREV };

static const struct t_case {
	const char		*name;
	enum tamper		 how;
	int			 row;		/* 0-based */
	enum pw_chain_status	 want;
	int64_t			 bad;		/* id named */
} cases[] = {
    {"intact", T_NONE, 0, PW_CHAIN_OK, 0},
    {"recipient changed", T_FIELD, 2, PW_CHAIN_HASH, 3},
    {"first row changed", T_FIELD, 0, PW_CHAIN_HASH, 1},
    {"changed and rehashed: next link breaks", T_FIELD_REHASH, 1,
	PW_CHAIN_LINK, 3},
    {"middle row deleted", T_DELETE, 2, PW_CHAIN_GAP, 4},
    {"first row deleted", T_DELETE, 0, PW_CHAIN_GAP, 2},
    {"two rows swapped", T_SWAP, 1, PW_CHAIN_GAP, 3},
    {"prev_hash changed", T_PREV, 3, PW_CHAIN_LINK, 4},
};

static void
test_chain_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *t = &cases[i];
		struct pw_audit_row v[NROWS], tmp;
		struct pw_audit_chain c;
		size_t n = NROWS;
		int64_t bad;

		chain(v);
		switch (t->how) {
		case T_NONE:
			break;
		case T_FIELD:
			v[t->row].recipient = "mallory@x.test";
			break;
		case T_FIELD_REHASH:
			v[t->row].action = "refused_rcpt";
			pw_audit_hash(v[t->row].prev_hash, &v[t->row],
			    v[t->row].hash);
			break;
		case T_DELETE:
			memmove(&v[t->row], &v[t->row + 1],
			    (NROWS - t->row - 1) * sizeof(v[0]));
			n--;
			break;
		case T_SWAP:
			tmp = v[t->row];
			v[t->row] = v[t->row + 1];
			v[t->row + 1] = tmp;
			break;
		case T_PREV:
			v[t->row].prev_hash[7] ^= 1;
			break;
		}
		if (walk(&c, v, n, &bad) != t->want || bad != t->bad)
			fail_msg("%s: got status %d at row %lld, want %d at "
			    "%lld", t->name, walk(&c, v, n, &bad),
			    (long long)bad, t->want, (long long)t->bad);
		/* the walk stops at the last good row */
		if (t->want == PW_CHAIN_HASH || t->want == PW_CHAIN_LINK)
			assert_int_equal(c.last_id, t->bad - 1);
	}
}

static void
test_anchor(void **state)
{
	struct pw_audit_row v[NROWS];
	struct pw_audit_chain c;
	unsigned char head3[32];

	(void)state;
	chain(v);
	memcpy(head3, v[2].hash, 32);
	/* an anchor recorded at row 3: found while rows 1-3 remain */
	pw_audit_chain_init(&c);
	pw_audit_chain_anchor(&c, head3);
	for (int i = 0; i < NROWS; i++)
		assert_int_equal(pw_audit_chain_step(&c, &v[i]), PW_CHAIN_OK);
	assert_true(pw_audit_chain_anchor_found(&c));
	assert_int_equal(c.anchor_id, 3);
	/* the newest rows deleted down to row 2: a valid chain, but the
	   anchor is gone */
	pw_audit_chain_init(&c);
	pw_audit_chain_anchor(&c, head3);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pw_audit_chain_step(&c, &v[i]), PW_CHAIN_OK);
	assert_false(pw_audit_chain_anchor_found(&c));
	/* no anchor: always "found" */
	pw_audit_chain_init(&c);
	assert_true(pw_audit_chain_anchor_found(&c));
}

static void
test_hex(void **state)
{
	unsigned char h[32], back[32];
	char hex[65];

	(void)state;
	for (int i = 0; i < 32; i++)
		h[i] = (unsigned char)(i * 37 + 5);
	pw_hex32(h, hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(pw_unhex32(hex, back), 0);
	assert_memory_equal(h, back, 32);
	hex[5] = 'g';
	assert_int_equal(pw_unhex32(hex, back), -1);
	assert_int_equal(pw_unhex32("abcd", back), -1);
	assert_int_equal(pw_unhex32("", back), -1);
}

/* ---- hash formats (audit_chain.c) -------------------------------------- */

/* sha - SHA-256(prev || text), computed here, not by the code under test */
static void
sha(const unsigned char *prev, const char *text, unsigned char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;

	assert_non_null(ctx);
	assert_true(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, prev, 32) &&
	    EVP_DigestUpdate(ctx, text, strlen(text)) &&
	    EVP_DigestFinal_ex(ctx, out, &len) && len == 32);
	EVP_MD_CTX_free(ctx);
}

/* The canonical text of both formats, written out: v1 is what every
   postwarden before schema version 5 hashed (its rows must verify
   unchanged), v2 adds time_us after time. */
static void
test_formats(void **state)
{
	struct pw_audit_row r = {0};
	unsigned char prev[32], want[32], got[32];
	static const char rest[] = "queue_id=5:4QAAA\nmessage_id=-\n"
	    "org=4:acme\nrecipient=8:a@x.test\nclass=10:commercial\n"
	    "class_source=-\nconsent=-\nbasis_id=42\nbasis_type=-\n"
	    "basis_expires=0\nreason=-\ntoken_id=-\ndkim_d=-\ndkim_s=-\n"
	    "action=9:delivered\n";
	char *text;

	(void)state;
	for (int i = 0; i < 32; i++)
		prev[i] = (unsigned char)i;
	r.id = 7;
	r.time = 1700000000;
	r.queue_id = "4QAAA";
	r.org = "acme";
	r.recipient = "a@x.test";
	r.class = "commercial";
	r.basis_id = 42;
	r.action = "delivered";
	text = pw_asprintf("pw-audit-v1\nid=7\ntime=1700000000\n%s", rest);
	sha(prev, text, want);
	free(text);
	assert_int_equal(pw_audit_hash(prev, &r, got), 0);
	assert_memory_equal(got, want, 32);
	r.time_us = INT64_C(1700000000123456);
	text = pw_asprintf("pw-audit-v2\nid=7\ntime=1700000000\n"
	    "time_us=1700000000123456\n%s", rest);
	sha(prev, text, want);
	free(text);
	assert_int_equal(pw_audit_hash(prev, &r, got), 0);
	assert_memory_equal(got, want, 32);
}

/* mixed - rows 1-3 as written before version 5 (v1), 4-5 after (v2) */
static void
mixed(struct pw_audit_row *v)
{
	unsigned char prev[32] = {0};

	chain(v);
	for (int i = 0; i < NROWS; i++) {
		if (i >= 3)
			v[i].time_us = (pw_time_us)v[i].time * 1000000 +
			    123456 * i;
		memcpy(v[i].prev_hash, prev, 32);
		assert_int_equal(pw_audit_hash(prev, &v[i], v[i].hash), 0);
		memcpy(prev, v[i].hash, 32);
	}
}

static void
test_mixed_chain(void **state)
{
	static const struct {
		const char	*name;
		int		 row;	/* 0-based */
		int		 how;
	} tamper[] = {
	    {"old row's time", 1, 0},
	    {"old row given microseconds (marker set)", 1, 1},
	    {"new row's microseconds", 3, 2},
	    {"new row's microseconds cleared (marker cleared)", 4, 3},
	    {"new row's seconds alone", 3, 4},
	};
	struct pw_audit_row v[NROWS];
	struct pw_audit_chain c;
	int64_t bad;

	(void)state;
	mixed(v);
	assert_int_equal(walk(&c, v, NROWS, &bad), PW_CHAIN_OK);
	assert_int_equal(c.rows, NROWS);
	/* the formats really differ: the same row hashed as v1 is another
	   hash */
	{
		struct pw_audit_row r = v[3];
		unsigned char h[32];

		r.time_us = 0;
		assert_int_equal(pw_audit_hash(r.prev_hash, &r, h), 0);
		assert_memory_not_equal(h, v[3].hash, 32);
	}
	/* a v1 row after v2 rows (a daemon started before the migration
	   that has not been restarted yet) is a well-formed link */
	{
		unsigned char prev[32];

		mixed(v);
		memcpy(prev, v[3].hash, 32);
		v[4].time_us = 0;
		memcpy(v[4].prev_hash, prev, 32);
		assert_int_equal(pw_audit_hash(prev, &v[4], v[4].hash), 0);
		assert_int_equal(walk(&c, v, NROWS, &bad), PW_CHAIN_OK);
	}
	for (size_t i = 0; i < sizeof(tamper) / sizeof(tamper[0]); i++) {
		struct pw_audit_row *r;

		mixed(v);
		r = &v[tamper[i].row];
		switch (tamper[i].how) {
		case 0:
			r->time++;
			break;
		case 1:
			r->time_us = (pw_time_us)r->time * 1000000;
			break;
		case 2:
			r->time_us++;
			break;
		case 3:
			r->time_us = 0;
			break;
		case 4:
			r->time++;
			break;
		}
		if (walk(&c, v, NROWS, &bad) != PW_CHAIN_HASH ||
		    bad != tamper[i].row + 1)
			fail_msg("%s: not caught at row %d (status %d at "
			    "%lld)", tamper[i].name, tamper[i].row + 1,
			    walk(&c, v, NROWS, &bad), (long long)bad);
	}
}

/* ---- through the SQLite store --------------------------------------- */

static int
count_cb(const struct pw_audit_row *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

struct vctx {
	struct pw_audit_chain c;
	enum pw_chain_status st;
	int64_t bad;
};

static int
verify_cb(const struct pw_audit_row *r, void *ctx)
{
	struct vctx *v = ctx;

	if ((v->st = pw_audit_chain_step(&v->c, r)) == PW_CHAIN_OK)
		return 0;
	v->bad = r->id;
	return 1;
}

static void
sql(const char *path, const char *q)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
	sqlite3_close(db);
}

static void
test_store(void **state)
{
	char *path = t_tmpfile("audit.db", "", 0600), *spec, *err = NULL;
	const struct pw_audit_filter all = {NULL, NULL, PW_NOTIME, PW_NOTIME};
	struct pw_audit_filter f = all;
	struct pw_store *s;
	struct vctx v;
	int n;

	(void)state;
	unlink(path);
	spec = pw_asprintf("sqlite:%s", path);
	assert_int_equal(pw_store_open(spec, NULL, &s, &err), 0);
	for (int i = 0; i < 6; i++) {
		struct pw_audit_row r = {0};

		r.time = 1700000000 + 100 * i;
		r.queue_id = "Q";
		r.org = i % 2 ? "boreal" : "acme";
		r.recipient = i < 3 ? "a@x.test" : "b@x.test";
		r.class = "commercial";
		r.action = "delivered";
		assert_int_equal(pw_store_audit_append(s, &r), 0);
	}
	/* filters: org, recipient, [since, until) */
	n = 0;
	assert_int_equal(pw_store_audit_list(s, &all, count_cb, &n), 0);
	assert_int_equal(n, 6);
	f.org = "acme";
	n = 0;
	assert_int_equal(pw_store_audit_list(s, &f, count_cb, &n), 0);
	assert_int_equal(n, 3);
	f.recipient = "a@x.test";
	n = 0;
	assert_int_equal(pw_store_audit_list(s, &f, count_cb, &n), 0);
	assert_int_equal(n, 2);
	f = all;
	f.since = 1700000100;
	f.until = 1700000400;
	n = 0;
	assert_int_equal(pw_store_audit_list(s, &f, count_cb, &n), 0);
	assert_int_equal(n, 3);
	/* intact */
	pw_audit_chain_init(&v.c);
	v.st = PW_CHAIN_OK;
	assert_int_equal(pw_store_audit_list(s, &all, verify_cb, &v), 0);
	assert_int_equal(v.st, PW_CHAIN_OK);
	assert_int_equal(v.c.rows, 6);
	pw_store_close(&s);
	/* an attacker with the file: drop the triggers, change row 4 */
	sql(path, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
		  "UPDATE audit SET action = 'refused_rcpt' WHERE id = 4;");
	assert_int_equal(pw_store_open(spec, NULL, &s, &err), 0);
	pw_audit_chain_init(&v.c);
	assert_int_equal(pw_store_audit_list(s, &all, verify_cb, &v), 0);
	assert_int_equal(v.st, PW_CHAIN_HASH);
	assert_int_equal(v.bad, 4);
	pw_store_close(&s);
	/* put it back, delete row 2 */
	sql(path, "UPDATE audit SET action = 'delivered' WHERE id = 4;"
		  "DELETE FROM audit WHERE id = 2;");
	assert_int_equal(pw_store_open(spec, NULL, &s, &err), 0);
	pw_audit_chain_init(&v.c);
	assert_int_equal(pw_store_audit_list(s, &all, verify_cb, &v), 0);
	assert_int_equal(v.st, PW_CHAIN_GAP);
	assert_int_equal(v.bad, 3);
	pw_store_close(&s);
	unlink(path);
	free(spec);
	free(path);
}

/* ---- evidence.h -------------------------------------------------------- */

static const struct s_case {
	const char	*class;
	const char	*action;
	time_t		 time;
	int64_t		 basis;
	bool		 want;
} sent_cases[] = {
    {"commercial", "delivered", 1000, 5, true},	/* same second counts */
    {"commercial", "delivered", 1001, 5, true},
    {"commercial", "delivered", 999, 5, false},	/* before the request */
    {"transactional", "delivered", 1001, 0, false},	/* CASL s.6(6) */
    {"commercial", "refused_rcpt", 1001, 0, false},
    {"commercial", "removed", 1001, 0, false},
    {"commercial", "delivered", 1001, 42, false},	/* re-consent */
    {NULL, "delivered", 1001, 0, false},
    {"commercial", NULL, 1001, 0, false},
};

static void
test_sent_after(void **state)
{
	const int64_t reconsent[] = {42, 43};

	(void)state;
	for (size_t i = 0; i < sizeof(sent_cases) / sizeof(sent_cases[0]);
	     i++) {
		struct pw_audit_row r = {0};

		r.class = sent_cases[i].class;
		r.action = sent_cases[i].action;
		r.time = sent_cases[i].time;
		r.basis_id = sent_cases[i].basis;
		if (pw_evidence_sent_after(&r, 1000, reconsent, 2) !=
		    sent_cases[i].want)
			fail_msg("sent_after case %zu", i);
	}
	assert_int_equal(pw_evidence_delay(1000, 1000), 0);
	assert_int_equal(pw_evidence_delay(1000, 1003), 3);
	assert_int_equal(pw_evidence_delay(1000, 990), 0);	/* clock step */
}

static void
test_profile(void **state)
{
	struct pw_org a = {0}, b = {0};
	char pa[24], pb[24];

	(void)state;
	assert_null(pw_evidence_profile(NULL, pa));
	assert_null(pw_evidence_profile(&a, pa));
	a.business_name = b.business_name = (char *)"Acme";
	a.mailing_address = b.mailing_address = (char *)"1 Main St";
	assert_non_null(pw_evidence_profile(&a, pa));
	assert_non_null(pw_evidence_profile(&b, pb));
	assert_string_equal(pa, pb);
	assert_int_equal(strlen(pa), 23);
	assert_memory_equal(pa, "sha256:", 7);
	/* fields cannot be shifted into each other */
	b.business_name = (char *)"Acme1";
	b.mailing_address = (char *)" Main St";
	pw_evidence_profile(&b, pb);
	assert_string_not_equal(pa, pb);
	b = a;
	b.contact_phone = (char *)"+1 555 0100";
	pw_evidence_profile(&b, pb);
	assert_string_not_equal(pa, pb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_cases),
	    cmocka_unit_test(test_anchor),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_mixed_chain),
	    cmocka_unit_test(test_store),
	    cmocka_unit_test(test_sent_after),
	    cmocka_unit_test(test_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

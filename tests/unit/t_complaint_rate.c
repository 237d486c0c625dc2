/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_complaint_rate - the complaint-rate arithmetic (issue 17): parsing
 * "0.3%", the level of complaints out of delivered at the thresholds'
 * edges, the minimum volume, formatting, an organisation's own limits
 * (and soft-bounce limits) from the organisations file, and the watcher
 * thread on a real SQLite store: it holds at the hold rate (a row in the
 * store), sees a release, and counts again from it.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include "base/util.h"
#include "compliance/complaint_rate.h"
#include "compliance/complaint_watch.h"
#include "compliance/org.h"
#include "store/store.h"

static const struct {
	const char	*text;
	long		 ppm;	/* -3: an error */
} parse_cases[] = {
    {"0.1%", 1000},
    {"0.3%", 3000},
    {".5%", 5000},
    {"1%", 10000},
    {"100%", 1000000},
    {"0.0001%", 1},
    {"off", PW_RATE_OFF},
    {"OFF", PW_RATE_OFF},
    {"0.3", -3},	/* ambiguous without the sign */
    {"0%", -3},
    {"100.0001%", -3},
    {"1000%", -3},
    {"0.00001%", -3},	/* below 1 per million */
    {"%", -3},
    {"", -3},
    {"1.%", -3},
    {"0.3% ", -3},
    {"-1%", -3},
    {"abc", -3},
};

static void
t_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		long ppm = -99;
		const char *why = NULL;
		int rc = pw_rate_parse(parse_cases[i].text, &ppm, &why);

		if (parse_cases[i].ppm == -3) {
			if (rc != -1 || why == NULL)
				fail_msg("\"%s\": accepted as %ld",
				    parse_cases[i].text, ppm);
		} else if (rc != 0 || ppm != parse_cases[i].ppm)
			fail_msg("\"%s\": rc %d ppm %ld, want %ld (%s)",
			    parse_cases[i].text, rc, ppm, parse_cases[i].ppm,
			    why ? why : "");
	}
}

/* defaults: warn 0.1%, hold 0.3%, judged from 1000 delivered */
static const struct {
	const char		*name;
	int64_t			 complaints, delivered;
	long			 warn, hold, min;
	enum pw_crate_level	 want;
} level_cases[] = {
    {"3 of 1000 is exactly the hold rate", 3, 1000, 1000, 3000, 1000,
	PW_CRATE_HOLD},
    {"2 of 1000 is under hold, over warn", 2, 1000, 1000, 3000, 1000,
	PW_CRATE_WARN},
    {"1 of 1000 is exactly the warn rate", 1, 1000, 1000, 3000, 1000,
	PW_CRATE_WARN},
    {"1 of 1001 is just under warn", 1, 1001, 1000, 3000, 1000,
	PW_CRATE_OK},
    {"3 of 1001 is just under hold", 3, 1001, 1000, 3000, 1000,
	PW_CRATE_WARN},
    {"none", 0, 5000, 1000, 3000, 1000, PW_CRATE_OK},
    {"1 of 10: low volume, not judged", 1, 10, 1000, 3000, 1000,
	PW_CRATE_LOW_VOLUME},
    {"900 of 999: still low volume", 900, 999, 1000, 3000, 1000,
	PW_CRATE_LOW_VOLUME},
    {"nothing delivered", 4, 0, 1000, 3000, 1, PW_CRATE_LOW_VOLUME},
    {"more complaints than deliveries", 30, 20, 1000, 3000, 20,
	PW_CRATE_HOLD},
    {"hold off: warn at most", 50, 1000, 1000, PW_RATE_OFF, 1000,
	PW_CRATE_WARN},
    {"both off", 50, 1000, PW_RATE_OFF, PW_RATE_OFF, 1000, PW_CRATE_OK},
    {"warn off, hold on", 2, 1000, PW_RATE_OFF, 3000, 1000, PW_CRATE_OK},
    {"large volume, no overflow", 3000000, 1000000000, 1000, 3000, 1000,
	PW_CRATE_HOLD},
    {"large volume, just under", 2999999, 1000000000, 1000, 3000, 1000,
	PW_CRATE_WARN},
};

static void
t_level(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(level_cases) / sizeof(level_cases[0]);
	     i++) {
		struct pw_crate_limits l = {level_cases[i].warn,
		    level_cases[i].hold, level_cases[i].min};
		enum pw_crate_level got = pw_crate_level(
		    level_cases[i].complaints, level_cases[i].delivered, &l);

		if (got != level_cases[i].want)
			fail_msg("%s: got %s, want %s", level_cases[i].name,
			    pw_crate_level_name(got),
			    pw_crate_level_name(level_cases[i].want));
	}
}

static void
t_format(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(pw_crate_format(b, sizeof(b), 3, 1000), "0.3000%");
	assert_string_equal(pw_crate_format(b, sizeof(b), 1, 3), "33.3333%");
	assert_string_equal(pw_crate_format(b, sizeof(b), 0, 7), "0.0000%");
	assert_string_equal(pw_crate_format(b, sizeof(b), 2, 0), "-");
	assert_string_equal(pw_rate_format(b, sizeof(b), 3000), "0.3%");
	assert_string_equal(pw_rate_format(b, sizeof(b), 10000), "1%");
	assert_string_equal(pw_rate_format(b, sizeof(b), 1), "0.0001%");
	assert_string_equal(pw_rate_format(b, sizeof(b), PW_RATE_OFF), "off");
}

#define ORG(name, dom)                                                         \
	"[org " name "]\ndomains = " dom "\nbusiness_name = X\n"               \
	"mailing_address = 1 Main St\ncontact_email = i@" dom "\n"             \
	"unsubscribe_url = https://u." dom "/u/\n"

/* An organisation's own values win over postwarden.conf's; the others
   take the defaults. */
static void
t_org_limits(void **state)
{
	char *path = t_tmpfile("org.conf", ORG("acme", "acme.example")
	    "complaint_rate_warn = 0.05%\ncomplaint_rate_hold = off\n"
	    "complaint_rate_min_messages = 20\nbounce_soft_limit = 2\n"
	    "bounce_soft_days = 3\n" ORG("beta", "beta.example"), 0644);
	struct pw_crate_limits def = {1000, 3000, 1000}, l;
	struct pw_buf err = {0};
	struct pw_orgs *o = pw_orgs_load(path, &err);
	const struct pw_org *a, *b;

	(void)state;
	if (o == NULL)
		fail_msg("%s", err.data);
	a = pw_orgs_by_name(o, "acme");
	b = pw_orgs_by_name(o, "beta");
	pw_crate_limits_of(a, &def, &l);
	assert_int_equal(l.warn_ppm, 500);
	assert_int_equal(l.hold_ppm, PW_RATE_OFF);
	assert_int_equal(l.min_delivered, 20);
	assert_int_equal(a->bounce_soft_limit, 2);
	assert_int_equal(a->bounce_soft_days, 3);
	pw_crate_limits_of(b, &def, &l);
	assert_int_equal(l.warn_ppm, 1000);
	assert_int_equal(l.hold_ppm, 3000);
	assert_int_equal(l.min_delivered, 1000);
	assert_int_equal(b->bounce_soft_limit, 0);	/* the default */
	pw_orgs_free(&o);
	free(path);
}

/* Bad values: FILE:LINE and what is expected, all of them. */
static void
t_org_errors(void **state)
{
	char *path = t_tmpfile("org.conf", ORG("acme", "acme.example")
	    "complaint_rate_hold = 0.3\nbounce_soft_limit = 0\n"
	    "bounce_soft_days = lots\ncomplaint_rate_min_messages = -5\n",
	    0644);
	struct pw_buf err = {0};

	(void)state;
	assert_null(pw_orgs_load(path, &err));
	assert_non_null(strstr(err.data, ":7: complaint_rate_hold = 0.3: "
	    "expected a percentage with its % sign"));
	assert_non_null(strstr(err.data, ":8: bounce_soft_limit = 0: "
	    "expected a number 1..1000"));
	assert_non_null(strstr(err.data, ":9: bounce_soft_days = lots: "
	    "expected a number 1..365"));
	assert_non_null(strstr(err.data, ":10: complaint_rate_min_messages = "
	    "-5: expected a number"));
	pw_buf_free(&err);
	free(path);
}

static void
audit_rows(struct pw_store *st, int n, time_t t)
{
	for (int i = 0; i < n; i++) {
		struct pw_audit_row row = {0};

		row.time = t;
		row.queue_id = "4QW";
		row.org = "acme";
		row.recipient = "r@example.com";
		row.class = "commercial";
		row.action = "delivered";
		assert_int_equal(pw_store_audit_append(st, &row), 0);
	}
}

static void
complaint_rows(struct pw_store *st, int n, time_t t)
{
	for (int i = 0; i < n; i++) {
		struct pw_feedback_row r = {0};

		r.time = t;
		r.org = "acme";
		r.address = "r@example.com";
		r.kind = "complaint";
		r.source = "arf";
		assert_int_equal(pw_store_feedback_add(st, &r), 0);
	}
}

static int
hold_seen(const struct pw_chold_row *h, void *ctx)
{
	if (strcmp(h->action, "hold") == 0 &&
	    strncmp(h->actor, "postwarden@", 11) == 0)
		(*(int *)ctx)++;
	return 0;
}

/* wait_state - poke and wait (3 s at most) until held is as wanted */
static bool
wait_state(struct pw_cwatch *w, bool held, struct pw_crate_eval *e)
{
	for (int i = 0; i < 60; i++) {
		pw_cwatch_poke(w);
		usleep(50000);
		if (pw_cwatch_get(w, "acme", e) == 1 && e->held == held)
			return true;
	}
	return false;
}

static void
t_watch(void **state)
{
	char *orgs_path = t_tmpfile("watch.conf", ORG("acme", "acme.example")
	    "complaint_rate_min_messages = 4\n" ORG("beta", "beta.example"),
	    0644);
	char *db = t_tmpfile("watch.db", "", 0600), *spec;
	struct pw_cwatch_conf conf = {{1000, 3000, 1000}, 1};
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	struct pw_chold_row rel = {0};
	struct pw_buf err = {0};
	struct pw_store_handle *h;
	struct pw_store *st = NULL;
	struct pw_crate_eval e;
	struct pw_orgs *orgs;
	struct pw_cwatch *w;
	time_t now = time(NULL);
	char *e2 = NULL;
	int holds = 0;

	(void)state;
	unlink(db);
	spec = pw_asprintf("sqlite:%s", db);
	assert_non_null(orgs = pw_orgs_load(orgs_path, &err));
	assert_int_equal(pw_store_open(spec, &o, &st, &e2), 0);
	h = pw_store_handle_new(spec, NULL);
	assert_non_null(w = pw_cwatch_new(orgs, h, &conf));
	/* 1 of 3 (33%): under acme's minimum of 4 */
	audit_rows(st, 3, now - 10);
	complaint_rows(st, 1, now - 10);
	assert_int_equal(pw_cwatch_get(w, "acme", &e), 1);
	assert_int_equal(e.level, PW_CRATE_LOW_VOLUME);
	assert_false(e.held);
	assert_int_equal(pw_cwatch_get(w, "nobody", &e), 0);
	/* an old day does not count: 1 of 4 in the last 24 hours */
	complaint_rows(st, 5, now - PW_RATE_WINDOW - 60);
	audit_rows(st, 1, now - 5);
	assert_true(wait_state(w, true, &e));
	assert_int_equal(e.complaints, 1);
	assert_int_equal(e.delivered, 4);
	assert_int_equal(e.level, PW_CRATE_HOLD);
	assert_int_equal(pw_store_chold_list(st, "acme", hold_seen, &holds), 0);
	assert_int_equal(holds, 1);
	/* computed again: still one hold row */
	pw_cwatch_poke(w);
	usleep(300000);
	holds = 0;
	assert_int_equal(pw_store_chold_list(st, "acme", hold_seen, &holds), 0);
	assert_int_equal(holds, 1);
	/* beta, nothing sent: untouched */
	assert_int_equal(pw_cwatch_get(w, "beta", &e), 1);
	assert_false(e.held);
	/* released: counted from the release, so not held again */
	rel.time = now;
	rel.org = "acme";
	rel.action = "release";
	rel.actor = "alice";
	assert_int_equal(pw_store_chold_add(st, &rel), 0);
	assert_true(wait_state(w, false, &e));
	assert_int_equal(e.since, now);
	assert_int_equal(e.complaints, 0);
	assert_int_equal(e.delivered, 0);
	usleep(300000);
	assert_int_equal(pw_cwatch_get(w, "acme", &e), 1);
	assert_false(e.held);
	pw_cwatch_free(&w);
	assert_null(w);
	pw_store_handle_free(&h);
	pw_store_close(&st);
	pw_orgs_free(&orgs);
	free(spec);
	free(db);
	free(orgs_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse),
		cmocka_unit_test(t_level),
		cmocka_unit_test(t_format),
		cmocka_unit_test(t_org_limits),
		cmocka_unit_test(t_org_errors),
		cmocka_unit_test(t_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

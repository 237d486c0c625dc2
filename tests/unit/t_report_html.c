/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_report_html - the auditor's page (tools/ctl_report_html.c) from rows
 * built in memory: the counted cells, messages counted apart when refused
 * before queueing, text from the store escaped (a reason or queue id that
 * holds markup must never become markup), nothing that loads or runs, the
 * empty period, and the unsubscribe median and maximum.
 */
#include "unit.h"

#include "compliance/consent_state.h"
#include "ctl_report_html.h"
#include "store/store.h"

/* page - the HTML for rows[n] and info, malloc'd */
static char *
page(const struct pw_audit_row *rows, size_t n, struct pw_html_info *in)
{
	struct pw_html_agg *a = pw_html_agg_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(pw_html_agg_row(&rows[i], a), 0);
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(pw_html_write(fp, a, in), 0);
	fclose(fp);
	pw_html_agg_free(&a);
	assert_null(a);
	return buf;
}

/* has - the page holds this exact text */
static int
has(const char *p, const char *s)
{
	return strstr(p, s) != NULL;
}

static struct pw_audit_row
row(time_t t, const char *qid, const char *cls, const char *act,
    const char *basis, const char *reason)
{
	struct pw_audit_row r;

	memset(&r, 0, sizeof(r));
	r.time = t;
	r.queue_id = qid;
	r.org = "acme";
	r.recipient = "x@remote.test";
	r.class = cls;
	r.action = act;
	r.basis_type = basis;
	r.reason = reason;
	return r;
}

static void
test_counts(void **state)
{
	/* 2026-12-01T10:00:00Z and the next day */
	const time_t d1 = 1796119200, d2 = d1 + 86400;
	struct pw_audit_row r[] = {
	    row(d1, "Q1", "commercial", "delivered", "express", NULL),
	    row(d1, "Q1", "commercial", "delivered", "express", NULL),
	    row(d1, "NOQUEUE", "commercial", "refused_rcpt", NULL,
		"no consent on record"),
	    row(d2, "NOQUEUE", "commercial", "refused_rcpt", NULL,
		"no consent on record"),
	    row(d2, "Q2", "transactional", "delivered", NULL, NULL),
	    row(d2, "Q3", "commercial", "rejected", "implied-purchase",
		"commercial message lacks sender identification (CASL)"),
	};
	struct pw_html_info in = {0};
	char *p;

	(void)state;
	in.org = "acme";
	in.chain_ok = true;
	in.chain_text = "intact: 6 rows";
	in.chain_rows = 6;
	strcpy(in.chain_head, "ab12");
	p = page(r, sizeof(r) / sizeof(r[0]), &in);
	assert_true(has(p, "data-key=\"total/rows\">6<"));
	/* Q1 twice is one message; each NOQUEUE refusal is one of its own */
	assert_true(has(p, "data-key=\"total/messages\">5<"));
	assert_true(has(p, "data-key=\"day/2026-12-01/commercial/delivered\">2<"));
	assert_true(has(p, "data-key=\"day/2026-12-01/commercial/refused_rcpt\">1<"));
	assert_true(has(p, "data-key=\"day/2026-12-02/transactional/delivered\">1<"));
	assert_true(has(p, "data-key=\"class/commercial\">5<"));
	assert_true(has(p, "data-key=\"action/delivered\">3<"));
	/* basis mix: commercial rows only */
	assert_true(has(p, "data-key=\"basis/express\">2<"));
	assert_true(has(p, "data-key=\"basis/(none)\">2<"));
	assert_true(has(p, "data-key=\"basis/implied-purchase\">1<"));
	assert_true(has(p, "data-key=\"refusal/refused_rcpt/no consent on record\">2<"));
	assert_true(has(p, "data-key=\"ident/rows\">1<"));
	assert_true(has(p, "data-key=\"chain/head\">ab12<"));
	assert_true(has(p, "data-key=\"unsub/requests\">0<"));
	assert_true(has(p, "not recorded"));
	assert_true(has(p, "@media print"));
	free(p);
}

static void
test_escaping(void **state)
{
	struct pw_audit_row r[] = {
	    row(1796119200, "<img src=x>", "commercial", "rejected\"><script>",
		NULL, "<script>alert(1)</script> & \"quoted\" 'x'\001"),
	};
	struct pw_html_unsub u = {"<b>@x.test", 1796119200, 1796119201, 1, 0,
	    ""};
	struct pw_html_info in = {0};
	char *p;

	(void)state;
	in.org = "acme";
	in.chain_text = "BROKEN at row 3: <hash>";
	in.unsub = &u;
	in.nunsub = 1;
	p = page(r, 1, &in);
	assert_false(has(p, "<script"));
	assert_false(has(p, "<img"));
	assert_false(has(p, "<b>@"));
	assert_false(has(p, "src="));
	assert_false(has(p, "href="));
	assert_false(has(p, "\001"));
	assert_true(has(p, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
	    "&quot;quoted&quot; &#39;x&#39;"));
	assert_true(has(p, "&lt;b&gt;@x.test"));
	assert_true(has(p, "BROKEN at row 3: &lt;hash&gt;"));
	/* nothing may be fetched: the policy forbids it */
	assert_true(has(p, "default-src 'none'"));
	free(p);
}

static void
test_empty_and_unsub(void **state)
{
	struct pw_html_unsub u[] = {
	    {"a@x.test", 100, 160, 60, 0, ""},
	    {"b@x.test", 100, 100, 0, 0, ""},
	    {"c@x.test", 100, 400, 300, 2, "Q9/7 Q10/8"},
	    {"d@x.test", 100, 110, 10, 0, ""},
	};
	struct pw_html_info in = {0};
	char *p;

	(void)state;
	in.org = "acme";
	in.chain_ok = true;
	in.chain_text = "intact: 0 rows";
	in.unsub = u;
	in.nunsub = 4;
	p = page(NULL, 0, &in);
	assert_true(has(p, "data-key=\"total/rows\">0<"));
	assert_true(has(p, "No audit rows in this period."));
	assert_true(has(p, "data-key=\"chain/head\">none<"));
	assert_true(has(p, "data-key=\"unsub/requests\">4<"));
	/* sorted 0 10 60 300: the lower middle is 10 */
	assert_true(has(p, "data-key=\"unsub/median_s\">10<"));
	assert_true(has(p, "data-key=\"unsub/max_s\">300<"));
	assert_true(has(p, "data-key=\"unsub/sent_after\">2<"));
	assert_true(has(p, "Q9/7 Q10/8"));
	assert_true(has(p, "Not available"));	/* no organisations file */
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_empty_and_unsub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

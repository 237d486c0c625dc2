/* SPDX-License-Identifier: BSD-2-Clause */
/* t_msg - header edits replayed as the MTA applies them; verdicts; body. */
#include "unit.h"

#include "base/config.h"
#include "msg.h"
#include "policy.h"

static struct pw_config *cfg;

static int
setup(void **state)
{
	char *path = t_tmpfile("msg.conf", "body_memory_limit = 100\n"
	    "temp_dir = /tmp\n", 0644);
	struct pw_buf err = {0};

	(void)state;
	cfg = pw_policies_load(path, &err);
	free(path);
	return cfg == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	pw_config_release(&cfg);
	return 0;
}

/* render - "Name:value|..." of the final header list */
static char *
render(struct pw_msg *m)
{
	const struct pw_hdr *v;
	size_t n = pw_msg_final_hdrs(m, &v);
	struct pw_buf b = {0};

	for (size_t i = 0; i < n; i++)
		pw_buf_printf(&b, "%s%s:%s", i ? "|" : "", v[i].name,
		    v[i].value);
	return b.data ? b.data : pw_strdup("");
}

static void
test_edits(void **state)
{
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	char *s;

	(void)state;
	pw_msg_add_hdr(m, "Received", " by a");
	pw_msg_add_hdr(m, "From", " a@x.example");
	pw_msg_add_hdr(m, "Authentication-Results", " mx; spf=pass");
	pw_msg_add_hdr(m, "Subject", " hi");
	pw_msg_add_hdr(m, "Authentication-Results", " mx; dkim=pass");
	s = render(m);
	assert_string_equal(s, "Received: by a|From: a@x.example|"
	    "Authentication-Results: mx; spf=pass|Subject: hi|"
	    "Authentication-Results: mx; dkim=pass");
	free(s);

	pw_edit_delete_all(m, "Authentication-Results");
	pw_edit_insert(m, 0, "Authentication-Results", "mx; dmarc=pass");
	pw_edit_add(m, "List-Unsubscribe", "<https://u.example/t>");
	pw_edit_change(m, "Subject", 1, "changed");
	pw_edit_change(m, "X-Missing", 1, "appended");
	pw_edit_insert(m, 0, "DKIM-Signature", "v=1; d=x.example");
	s = render(m);
	assert_string_equal(s, "DKIM-Signature: v=1; d=x.example|"
	    "Authentication-Results: mx; dmarc=pass|Received: by a|"
	    "From: a@x.example|Subject: changed|"
	    "List-Unsubscribe: <https://u.example/t>|X-Missing: appended");
	free(s);
	/* Deletions were recorded last-first (index 2, then 1). */
	assert_int_equal(m->edits->op, PW_EDIT_DELETE);
	assert_int_equal(m->edits->index, 2);
	assert_int_equal(m->edits->next->index, 1);
	pw_msg_free(&m);
	assert_null(m);
}

static void
test_insert_middle(void **state)
{
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	char *s;

	(void)state;
	pw_msg_add_hdr(m, "A", " 1");
	pw_msg_add_hdr(m, "B", " 2");
	pw_edit_insert(m, 1, "X", " x");
	pw_edit_insert(m, 99, "Z", " z");	/* past the end: append */
	pw_edit_delete(m, "B", 2);		/* no 2nd B: nothing */
	s = render(m);
	assert_string_equal(s, "A: 1|X: x|B: 2|Z: z");
	free(s);
	pw_msg_free(&m);
}

static void
test_verdicts(void **state)
{
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);

	(void)state;
	assert_int_equal(pw_msg_decide(m, PW_DUNNO), PW_DUNNO);
	assert_int_equal(pw_msg_decide(m, PW_QUARANTINE), PW_DUNNO);
	assert_int_equal(m->verdict, PW_QUARANTINE);
	pw_msg_reply(m, "550", "5.7.1", "no %s", "way");
	assert_int_equal(pw_msg_decide(m, PW_REJECT), PW_REJECT);
	assert_string_equal(m->reply.text, "no way");
	pw_msg_defer_if_permit(m, "first %d", 1);
	pw_msg_defer_if_permit(m, "second");
	assert_true(m->defer);
	assert_string_equal(m->defer_reply.text, "first 1");
	assert_string_equal(m->defer_reply.rcode, "451");
	pw_msg_summary(m, "a=%d", 1);
	pw_msg_summary(m, "b=2");
	assert_string_equal(m->summary.data, " a=1 b=2");
	pw_msg_free(&m);
}

static int
collect(void *ctx, const unsigned char *p, size_t len)
{
	pw_buf_add(ctx, p, len);
	return 0;
}

static void
test_body_spill(void **state)
{
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	struct pw_buf got = {0}, want = {0};

	(void)state;
	for (int i = 0; i < 50; i++) {
		char line[32];

		snprintf(line, sizeof(line), "line %d\r\n", i);
		pw_msg_add_body(m, (unsigned char *)line, strlen(line));
		pw_buf_puts(&want, line);
	}
	assert_non_null(m->body.spill);	/* over body_memory_limit = 100 */
	assert_int_equal(pw_msg_body_foreach(m, collect, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	pw_buf_free(&got);
	pw_buf_free(&want);
	pw_msg_free(&m);
}

static void
test_header_limit(void **state)
{
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	char *big = malloc(2 << 20);

	(void)state;
	memset(big, 'a', (2 << 20) - 1);
	big[(2 << 20) - 1] = '\0';
	assert_true(pw_msg_add_hdr(m, "Subject", " ok"));
	assert_false(pw_msg_add_hdr(m, "X-Big", big));
	assert_true(m->hdrs_truncated);
	assert_false(pw_msg_add_hdr(m, "To", " a@b"));
	assert_int_equal(m->hdrs.n, 1);
	free(big);
	pw_msg_free(&m);
}

/* Postwarden-Class is removed from every message, also when it lies past
   max_header_bytes (counted, not kept), last one first. */
static void
test_private_hdrs(void **state)
{
	static const char *const hdrs[][2] = {
	    {"From", " a@x.example"}, {"postwarden-class", " commercial"},
	    {"Subject", " hi"}, {"Postwarden-Class", " other"},
	    {"X-Postwarden-Class", " kept"}, {"POSTWARDEN-CLASS", " late"},
	};
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	const struct pw_edit *e;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		pw_msg_seen_hdr(m, hdrs[i][0]);
		/* the last one as if past max_header_bytes: not kept */
		if (i + 1 < sizeof(hdrs) / sizeof(hdrs[0]))
			pw_msg_add_hdr(m, hdrs[i][0], hdrs[i][1]);
	}
	assert_int_equal(pw_msg_strip_private(m), 3);
	e = m->edits;
	for (int want = 3; want >= 1; want--, e = e->next) {
		assert_non_null(e);
		assert_int_equal(e->op, PW_EDIT_DELETE);
		assert_string_equal(e->name, "Postwarden-Class");
		assert_int_equal(e->index, want);
	}
	assert_null(e);
	s = render(m);
	assert_string_equal(s, "From: a@x.example|Subject: hi|"
	    "X-Postwarden-Class: kept");
	free(s);
	assert_non_null(strstr(m->summary.data, "removed=Postwarden-Class:3"));
	/* Recorded once: a second call adds nothing. */
	assert_int_equal(pw_msg_strip_private(m), 0);
	pw_msg_free(&m);

	m = pw_msg_new(cfg, &cl);
	pw_msg_seen_hdr(m, "Subject");
	assert_int_equal(pw_msg_strip_private(m), 0);
	assert_null(m->edits);
	assert_null(m->summary.data);
	pw_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edits),
	    cmocka_unit_test(test_insert_middle),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_body_spill),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_private_hdrs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

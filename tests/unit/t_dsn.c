/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dsn - the multipart/report reader and RFC 3464 DSNs: the samples in
 * tests/data/feedback/ (written from RFC 3464's examples), the table of
 * hard and soft failures, and reports that are not DSNs or are broken.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include "base/util.h"
#include "parsers/dsn.h"

/* slurp - a sample from tests/data/feedback (malloc'd) */
static char *
slurp(const char *name, size_t *len_r)
{
	const char *top = getenv("PW_SRCDIR");
	char path[1024];
	FILE *f;
	char *buf = pw_malloc(1 << 16);

	snprintf(path, sizeof(path), "%s/tests/data/feedback/%s",
	    top ? top : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len_r = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len_r] = '\0';
	fclose(f);
	return buf;
}

static void
t_simple(void **state)
{
	struct pw_dsn d;
	const char *why = NULL;
	size_t len;
	char *m = slurp("rfc3464-simple.eml", &len);

	(void)state;
	assert_int_equal(pw_dsn_parse(m, len, &d, &why), 1);
	assert_string_equal(d.reporting_mta, "dns; mx.remote.test");
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].final_rcpt, "louisl@remote.test");
	assert_string_equal(d.v[0].action, "failed");
	assert_string_equal(d.v[0].status, "5.1.1");
	assert_int_equal(d.v[0].kind, PW_DSN_HARD);
	/* folded Diagnostic-Code unfolded */
	assert_string_equal(d.v[0].diag,
	    "smtp; 550 5.1.1 <louisl@remote.test>... User   unknown");
	assert_true(d.orig.present);
	assert_string_equal(d.orig.message_id, "<orig-1@acme.test>");
	assert_non_null(strstr(d.orig.list_unsubscribe,
	    "https://unsub.acme.test/u/TOKEN123"));
	assert_non_null(strstr(d.orig.list_unsubscribe,
	    "mailto:unsubscribe+TOKEN123@acme.test"));
	assert_string_equal(d.orig.to, "louisl@remote.test");
	pw_dsn_free(&d);
	free(m);
}

static void
t_multi_base64_rfc822(void **state)
{
	struct pw_dsn d;
	const char *why = NULL;
	size_t len;
	char *m = slurp("rfc3464-multi.eml", &len);

	(void)state;
	assert_int_equal(pw_dsn_parse(m, len, &d, &why), 1);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].final_rcpt, "full@remote.test");
	assert_string_equal(d.v[0].status, "5.2.2");
	assert_int_equal(d.v[0].kind, PW_DSN_SOFT);
	/* <> removed; delayed is not a failure */
	assert_string_equal(d.v[1].final_rcpt, "delayed@remote.test");
	assert_string_equal(d.v[1].action, "delayed");
	assert_int_equal(d.v[1].kind, PW_DSN_OTHER);
	/* Action is case-insensitive; 5.7.1 is policy, not the address */
	assert_string_equal(d.v[2].action, "failed");
	assert_int_equal(d.v[2].kind, PW_DSN_OTHER);
	assert_string_equal(d.v[2].diag, "smtp; 550 5.7.1 spam");
	assert_int_equal(d.v[3].kind, PW_DSN_HARD);
	/* message/rfc822 original */
	assert_string_equal(d.orig.message_id, "<orig-2@acme.test>");
	assert_null(d.orig.list_unsubscribe);
	pw_dsn_free(&d);
	free(m);
}

static void
t_kind_table(void **state)
{
	static const struct { const char *s; enum pw_dsn_kind k; } v[] = {
		{"5.1.1", PW_DSN_HARD}, {"5.1.10", PW_DSN_HARD},
		{"5.1.2 (bad domain)", PW_DSN_HARD}, {"5.2.1", PW_DSN_HARD},
		{"5.2.2", PW_DSN_SOFT}, {"4.2.2", PW_DSN_SOFT},
		{"4.4.7", PW_DSN_SOFT}, {"5.4.4", PW_DSN_SOFT},
		{"5.3.0", PW_DSN_SOFT}, {"5.7.1", PW_DSN_OTHER},
		{"5.6.0", PW_DSN_OTHER}, {"5.5.0", PW_DSN_OTHER},
		{"2.0.0", PW_DSN_OTHER}, {"5.1", PW_DSN_OTHER},
		{"5..1", PW_DSN_OTHER}, {"5.1.1x", PW_DSN_OTHER},
		{"6.1.1", PW_DSN_OTHER}, {"", PW_DSN_OTHER},
		{"5.1111.1", PW_DSN_OTHER},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (pw_dsn_kind(v[i].s) != v[i].k)
			fail_msg("%s: %s, want %s", v[i].s,
			    pw_dsn_kind_name(pw_dsn_kind(v[i].s)),
			    pw_dsn_kind_name(v[i].k));
	}
	assert_int_equal(pw_dsn_kind(NULL), PW_DSN_OTHER);
}

static void
t_not_dsn(void **state)
{
	static const char *const v[] = {
		"",
		"Subject: hi\n\nplain text\n",
		"Content-Type: multipart/report; report-type=feedback-report; "
		    "boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x\n"
		    "Content-Type: text/plain\n\nhi\n--x--\n",
		"\x00\x01\x02garbage",
	};
	struct pw_dsn d;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(pw_dsn_parse(v[i], strlen(v[i]), &d, &why),
		    0);
		pw_dsn_free(&d);
	}
}

static void
t_broken(void **state)
{
	static const char *const v[] = {
		/* no machine-readable part */
		"Content-Type: multipart/report; report-type=delivery-status; "
		    "boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n",
		/* no Final-Recipient */
		"Content-Type: multipart/report; report-type=delivery-status; "
		    "boundary=x\n\n--x\nContent-Type: message/delivery-status"
		    "\n\nReporting-MTA: dns; a\n\nAction: failed\nStatus: "
		    "5.1.1\n--x--\n",
		/* an address type that is not rfc822 */
		"Content-Type: multipart/report; report-type=delivery-status; "
		    "boundary=x\n\n--x\nContent-Type: message/delivery-status"
		    "\n\nReporting-MTA: dns; a\n\nFinal-Recipient: x400; "
		    "c=us\nAction: failed\nStatus: 5.1.1\n--x--\n",
	};
	struct pw_dsn d;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		why = NULL;
		assert_int_equal(pw_dsn_parse(v[i], strlen(v[i]), &d, &why),
		    -1);
		assert_non_null(why);
		pw_dsn_free(&d);
	}
}

/* wrapped in multipart/mixed, CRLF line ends, no original */
static void
t_wrapped_crlf(void **state)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status"
	    "\r\n\r\nReporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822;"
	    "a@b.test\r\nAction: failed\r\nStatus: 4.2.2\r\n--x--\r\n--o--\r\n";
	struct pw_dsn d;
	const char *why = NULL;

	(void)state;
	assert_int_equal(pw_dsn_parse(m, sizeof(m) - 1, &d, &why), 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].final_rcpt, "a@b.test");
	assert_string_equal(d.v[0].status, "4.2.2");
	assert_int_equal(d.v[0].kind, PW_DSN_SOFT);
	assert_false(d.orig.present);
	pw_dsn_free(&d);
}

/* more groups than PW_REPORT_MAX_RCPTS: bounded, not an error */
static void
t_many(void **state)
{
	struct pw_buf b = {0};
	struct pw_dsn d;
	const char *why = NULL;

	(void)state;
	pw_buf_puts(&b, "Content-Type: multipart/report; report-type="
	    "delivery-status; boundary=x\n\n--x\nContent-Type: message/"
	    "delivery-status\n\nReporting-MTA: dns; a\n");
	for (int i = 0; i < 500; i++)
		pw_buf_printf(&b, "\nFinal-Recipient: rfc822; r%d@b.test\n"
		    "Action: failed\nStatus: 5.1.1\n", i);
	pw_buf_puts(&b, "--x--\n");
	assert_int_equal(pw_dsn_parse((const char *)b.data, b.len, &d, &why),
	    1);
	assert_int_equal(d.n, PW_REPORT_MAX_RCPTS);
	pw_dsn_free(&d);
	pw_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_simple),
		cmocka_unit_test(t_multi_base64_rfc822),
		cmocka_unit_test(t_kind_table),
		cmocka_unit_test(t_not_dsn),
		cmocka_unit_test(t_broken),
		cmocka_unit_test(t_wrapped_crlf),
		cmocka_unit_test(t_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

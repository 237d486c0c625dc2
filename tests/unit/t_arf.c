/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_arf - ARF complaints (RFC 5965): the RFC's example report
 * (tests/data/feedback/rfc5965-arf.eml), reports that are not ARF, and
 * broken ones.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include "base/util.h"
#include "parsers/arf.h"

static void
t_rfc_example(void **state)
{
	const char *top = getenv("PW_SRCDIR");
	char path[1024], *buf = pw_malloc(1 << 16);
	struct pw_arf a;
	const char *why = NULL;
	size_t len;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/feedback/rfc5965-arf.eml",
	    top ? top : ".");
	assert_non_null(f = fopen(path, "rb"));
	len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	assert_int_equal(pw_arf_parse(buf, len, &a, &why), 1);
	assert_string_equal(a.feedback_type, "abuse");
	assert_string_equal(a.user_agent, "SomeGenerator/1.0");
	assert_string_equal(a.version, "1");
	assert_string_equal(a.original_mail_from, "somespammer@example.net");
	assert_string_equal(a.original_rcpt_to, "user@example.com");
	assert_string_equal(a.source_ip, "192.0.2.1");
	assert_string_equal(a.reported_domain, "example.net");
	assert_true(a.orig.present);
	assert_string_equal(a.orig.message_id,
	    "8787KJKJ3K4J3K4J3K4J3.mail@example.net");
	assert_string_equal(a.orig.subject, "Earn money");
	pw_arf_free(&a);
	free(buf);
}

static void
t_not_arf(void **state)
{
	static const char dsn[] = "Content-Type: multipart/report; "
	    "report-type=delivery-status; boundary=x\n\n--x\nContent-Type: "
	    "message/delivery-status\n\nReporting-MTA: dns; a\n\n"
	    "Final-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n"
	    "--x--\n";
	struct pw_arf a;
	const char *why = NULL;

	(void)state;
	assert_int_equal(pw_arf_parse(dsn, sizeof(dsn) - 1, &a, &why), 0);
	pw_arf_free(&a);
	assert_int_equal(pw_arf_parse("Subject: x\n\nhi\n", 15, &a, &why), 0);
	pw_arf_free(&a);
}

static void
t_broken(void **state)
{
	static const char nofb[] = "Content-Type: multipart/report; "
	    "report-type=feedback-report; boundary=x\n\n--x\nContent-Type: "
	    "message/feedback-report\n\nUser-Agent: a/1\nVersion: 1\n--x--\n";
	static const char nopart[] = "Content-Type: multipart/report; "
	    "report-type=feedback-report; boundary=x\n\n--x\nContent-Type: "
	    "text/plain\n\nspam\n--x--\n";
	static const char crlf_headers[] = "Content-Type: multipart/report; "
	    "report-type=\"feedback-report\"; boundary=x\r\n\r\n--x\r\n"
	    "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: "
	    "Abuse\r\nOriginal-Rcpt-To: <u@r.test>\r\n\r\n--x\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <m@x>\r\n"
	    "List-Unsubscribe: <https://u.test/u/TOK>\r\n--x--\r\n";
	struct pw_arf a;
	const char *why;

	(void)state;
	why = NULL;
	assert_int_equal(pw_arf_parse(nofb, sizeof(nofb) - 1, &a, &why), -1);
	assert_string_equal(why, "no Feedback-Type");
	pw_arf_free(&a);
	why = NULL;
	assert_int_equal(pw_arf_parse(nopart, sizeof(nopart) - 1, &a, &why),
	    -1);
	assert_non_null(why);
	pw_arf_free(&a);
	assert_int_equal(pw_arf_parse(crlf_headers, sizeof(crlf_headers) - 1,
	    &a, &why), 1);
	assert_string_equal(a.feedback_type, "abuse");
	assert_string_equal(a.original_rcpt_to, "u@r.test");
	assert_string_equal(a.orig.message_id, "<m@x>");
	assert_string_equal(a.orig.list_unsubscribe, "<https://u.test/u/TOK>");
	pw_arf_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rfc_example),
		cmocka_unit_test(t_not_arf),
		cmocka_unit_test(t_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

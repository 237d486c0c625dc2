/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_quota - the windows of the sending quotas (compliance/quota_window.h): clock
 * hour, UTC day and calendar month, month and year ends, leap years,
 * times before 1970; and the organisations keys that set the limits.
 */
#include "unit.h"

#include <time.h>

#include "base/util.h"
#include "compliance/org.h"
#include "compliance/quota_window.h"

/* U - a UTC time from its parts, through timegm() (glibc's calendar,
   an independent check of the day-number arithmetic) */
static time_t
U(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static void
t_hour_day(void **state)
{
	time_t t = U(2026, 12, 5, 6, 59, 59);

	(void)state;
	assert_int_equal(pw_quota_window_start(PW_QUOTA_HOUR, t),
	    U(2026, 12, 5, 6, 0, 0));
	assert_int_equal(pw_quota_window_end(PW_QUOTA_HOUR, t),
	    U(2026, 12, 5, 7, 0, 0));
	/* the first second of an hour is in it, the last of the previous
	   one is not */
	assert_int_equal(pw_quota_window_start(PW_QUOTA_HOUR, t + 1), t + 1);
	assert_int_equal(pw_quota_window_start(PW_QUOTA_DAY, t),
	    U(2026, 12, 5, 0, 0, 0));
	assert_int_equal(pw_quota_window_end(PW_QUOTA_DAY, t),
	    U(2026, 12, 6, 0, 0, 0));
	/* 23:xx on the last day of a year: the next day is in the next
	   year */
	t = U(2026, 12, 31, 23, 30, 0);
	assert_int_equal(pw_quota_window_end(PW_QUOTA_HOUR, t),
	    U(2027, 1, 1, 0, 0, 0));
	assert_int_equal(pw_quota_window_end(PW_QUOTA_DAY, t),
	    U(2027, 1, 1, 0, 0, 0));
	/* before 1970: floor, not truncation towards zero */
	assert_int_equal(pw_quota_window_start(PW_QUOTA_HOUR, -1), -3600);
	assert_int_equal(pw_quota_window_start(PW_QUOTA_DAY, -1), -86400);
}

static void
t_month(void **state)
{
	(void)state;
	/* every month of a common and a leap year, first and last second */
	for (int y = 2023; y <= 2024; y++)
		for (int m = 1; m <= 12; m++) {
			time_t a = U(y, m, 1, 0, 0, 0);
			time_t b = m == 12 ? U(y + 1, 1, 1, 0, 0, 0) :
			    U(y, m + 1, 1, 0, 0, 0);

			assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
			    a), a);
			assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
			    a), b);
			assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
			    b - 1), a);
			assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
			    b - 1), b);
			assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
			    b), b);
		}
	/* leap years: 29 days in February 2024 and 2000, 28 in 2023 and
	   1900 and 2100 (divisible by 100, not by 400) */
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(2024, 2, 10, 0, 0, 0)) - U(2024, 2, 1, 0, 0, 0), 29 * 86400);
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(2000, 2, 10, 0, 0, 0)) - U(2000, 2, 1, 0, 0, 0), 29 * 86400);
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(2023, 2, 10, 0, 0, 0)) - U(2023, 2, 1, 0, 0, 0), 28 * 86400);
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(1900, 2, 10, 0, 0, 0)) - U(1900, 2, 1, 0, 0, 0), 28 * 86400);
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(2100, 2, 10, 0, 0, 0)) - U(2100, 2, 1, 0, 0, 0), 28 * 86400);
	/* 29 February itself, its last second, and the next day */
	assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
	    U(2024, 2, 29, 23, 59, 59)), U(2024, 2, 1, 0, 0, 0));
	assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
	    U(2024, 3, 1, 0, 0, 0)), U(2024, 3, 1, 0, 0, 0));
	/* a month before 1970 */
	assert_int_equal(pw_quota_window_start(PW_QUOTA_MONTH,
	    U(1969, 12, 31, 23, 59, 59)), U(1969, 12, 1, 0, 0, 0));
	assert_int_equal(pw_quota_window_end(PW_QUOTA_MONTH,
	    U(1969, 12, 31, 23, 59, 59)), 0);
}

/* every day from 1899 to 2101 round-trips and matches timegm() */
static void
t_days(void **state)
{
	int64_t z0 = pw_quota_days_from_civil(1899, 1, 1);
	int64_t z1 = pw_quota_days_from_civil(2101, 12, 31);

	(void)state;
	assert_int_equal(pw_quota_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(pw_quota_days_from_civil(2000, 3, 1), 11017);
	for (int64_t z = z0; z <= z1; z++) {
		int64_t y;
		unsigned m, d;

		pw_quota_civil_from_days(z, &y, &m, &d);
		assert_int_equal(pw_quota_days_from_civil(y, m, d), z);
		assert_int_equal((int64_t)U((int)y, (int)m, (int)d, 0, 0, 0),
		    z * 86400);
	}
}

static void
t_names(void **state)
{
	(void)state;
	assert_string_equal(pw_quota_window_name(PW_QUOTA_HOUR), "hour");
	assert_string_equal(pw_quota_window_adj(PW_QUOTA_MONTH), "monthly");
	assert_string_equal(pw_quota_unit_name(PW_QUOTA_RECIPIENTS),
	    "recipients");
}

/* the organisations keys: defaults, values, errors with file and line */
static void
t_org_keys(void **state)
{
	struct pw_buf err = {0};
	struct pw_orgs *orgs;
	const struct pw_org *o;
	char *path;

	(void)state;
	path = t_tmpfile("orgs-ok",
	    "[org acme]\n"
	    "domains = acme.example\n"
	    "identification_mode = off\n"
	    "unsub_mode = off\n"
	    "quota_hour = 100\n"
	    "quota_month = 1000000000000\n"
	    "quota_unit = recipients\n"
	    "quota_mode = warn\n"
	    "quota_month_action = tempfail\n"
	    "[org plain]\n"
	    "domains = plain.example\n"
	    "identification_mode = off\n"
	    "unsub_mode = off\n", 0644);
	orgs = pw_orgs_load(path, &err);
	if (orgs == NULL)
		fail_msg("%s", err.data);
	o = pw_orgs_by_name(orgs, "acme");
	assert_int_equal(o->quota[PW_QUOTA_HOUR], 100);
	assert_int_equal(o->quota[PW_QUOTA_DAY], 0);
	assert_true(o->quota[PW_QUOTA_MONTH] == 1000000000000LL);
	assert_int_equal(o->quota_unit, PW_QUOTA_RECIPIENTS);
	assert_int_equal(o->mode[PW_RULE_QUOTA], PW_MODE_WARN);
	assert_int_equal(o->quota_month_action, PW_QUOTA_MONTH_TEMPFAIL);
	o = pw_orgs_by_name(orgs, "plain");
	assert_int_equal(o->quota[PW_QUOTA_HOUR], 0);
	assert_int_equal(o->quota_unit, PW_QUOTA_MESSAGES);
	assert_int_equal(o->mode[PW_RULE_QUOTA], PW_MODE_ENFORCE);
	assert_int_equal(o->quota_month_action, PW_QUOTA_MONTH_REJECT);
	pw_orgs_free(&orgs);
	free(path);

	path = t_tmpfile("orgs-bad",
	    "[org acme]\n"
	    "domains = acme.example\n"
	    "quota_hour = 0\n"
	    "quota_day = 12x\n"
	    "quota_month = 1000000000001\n"
	    "quota_unit = bytes\n"
	    "quota_month_action = bounce\n"
	    "quota_mode = maybe\n", 0644);
	assert_null(pw_orgs_load(path, &err));
	assert_non_null(strstr(err.data, ":3: quota_hour = 0: expected a "
	    "number"));
	assert_non_null(strstr(err.data, ":4: quota_day = 12x:"));
	assert_non_null(strstr(err.data, ":5: quota_month = 1000000000001:"));
	assert_non_null(strstr(err.data, ":6: quota_unit = bytes: expected "
	    "messages | recipients"));
	assert_non_null(strstr(err.data, ":7: quota_month_action = bounce: "
	    "expected reject | tempfail"));
	assert_non_null(strstr(err.data, ":8: quota_mode = maybe: expected "
	    "off | warn | enforce"));
	pw_buf_free(&err);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_hour_day),
	    cmocka_unit_test(t_month),
	    cmocka_unit_test(t_days),
	    cmocka_unit_test(t_names),
	    cmocka_unit_test(t_org_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

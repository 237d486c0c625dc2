/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quota_window - the windows of an organisation's sending quotas (issue 17):
 * the clock hour, the day and the calendar month, all in UTC.
 *
 * Counts are kept per hour bucket (the start of the clock hour a message
 * was counted in); a day is its 24 buckets, a month every bucket from
 * 00:00Z of its first day to 00:00Z of the next month's first day.  The
 * arithmetic is done on day numbers (proleptic Gregorian calendar), not
 * with timegm(), so that it is the same on every host and testable.
 */
#ifndef PW_QUOTA_WINDOW_H
#define PW_QUOTA_WINDOW_H

#include <stdint.h>
#include <time.h>

enum pw_quota_window {
	PW_QUOTA_HOUR,
	PW_QUOTA_DAY,
	PW_QUOTA_MONTH,
	PW_QUOTA_NWIN
};

/* What an organisation's limits count (organisations key quota_unit). */
enum pw_quota_unit {
	PW_QUOTA_MESSAGES,	/* a message, however many recipients */
	PW_QUOTA_RECIPIENTS,	/* each accepted recipient */
};

/* Over the monthly limit (quota_month_action). */
enum pw_quota_month_action {
	PW_QUOTA_MONTH_REJECT,	/* 550 5.7.1: no retry this month helps */
	PW_QUOTA_MONTH_TEMPFAIL,	/* 452 4.7.1, as hour and day */
};

/* The start of the window of kind w that contains t; the start of the
   next one. */
time_t	pw_quota_window_start(enum pw_quota_window w, time_t t);
time_t	pw_quota_window_end(enum pw_quota_window w, time_t t);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), and
   back.  Exposed for the unit tests. */
int64_t	pw_quota_days_from_civil(int64_t y, unsigned m, unsigned d);
void	pw_quota_civil_from_days(int64_t z, int64_t *y, unsigned *m,
	    unsigned *d);

/* "hour" "day" "month"; "hourly" "daily" "monthly"; "messages"
   "recipients". */
const char *pw_quota_window_name(enum pw_quota_window);
const char *pw_quota_window_adj(enum pw_quota_window);
const char *pw_quota_unit_name(enum pw_quota_unit);

/* The quota clock: time(NULL), or with --enable-test-hooks moved on by
   the seconds written in the file named by $PW_TEST_CLOCK_FILE (the same
   hook as the key rotation clock: tests do not wait an hour). */
time_t	pw_quota_now(void);

#endif

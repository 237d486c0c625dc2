/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quota_window - window arithmetic and the clock of the sending quotas
 * (quota_window.h).
 */
#include "autoconf.h"

#include "base/util.h"
#include "compliance/quota_window.h"

/*
 * The day number of a civil date and back: Howard Hinnant's algorithms
 * ("chrono-Compatible Low-Level Date Algorithms"), eras of 400 years so
 * that leap years (every 4th, not every 100th, every 400th) fall out of
 * integer division, for any year.
 */
int64_t
pw_quota_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;				/* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void
pw_quota_civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r,
    unsigned *d_r)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = y + (*m_r <= 2);
}

/* floor_div - division rounding towards minus infinity (times before
   1970 have negative seconds) */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

time_t
pw_quota_window_start(enum pw_quota_window w, time_t t)
{
	int64_t days, y;
	unsigned m, d;

	switch (w) {
	case PW_QUOTA_HOUR:
		return (time_t)(floor_div(t, 3600) * 3600);
	case PW_QUOTA_DAY:
		return (time_t)(floor_div(t, 86400) * 86400);
	default:
		days = floor_div(t, 86400);
		pw_quota_civil_from_days(days, &y, &m, &d);
		return (time_t)(pw_quota_days_from_civil(y, m, 1) * 86400);
	}
}

time_t
pw_quota_window_end(enum pw_quota_window w, time_t t)
{
	int64_t y;
	unsigned m, d;

	switch (w) {
	case PW_QUOTA_HOUR:
		return pw_quota_window_start(w, t) + 3600;
	case PW_QUOTA_DAY:
		return pw_quota_window_start(w, t) + 86400;
	default:
		pw_quota_civil_from_days(floor_div(t, 86400), &y, &m, &d);
		if (m == 12) {
			y++;
			m = 1;
		} else
			m++;
		return (time_t)(pw_quota_days_from_civil(y, m, 1) * 86400);
	}
}

static const char *const win_names[] = {"hour", "day", "month"};
static const char *const win_adj[] = {"hourly", "daily", "monthly"};

const char *
pw_quota_window_name(enum pw_quota_window w)
{
	return w < PW_QUOTA_NWIN ? win_names[w] : "?";
}

const char *
pw_quota_window_adj(enum pw_quota_window w)
{
	return w < PW_QUOTA_NWIN ? win_adj[w] : "?";
}

const char *
pw_quota_unit_name(enum pw_quota_unit u)
{
	return u == PW_QUOTA_RECIPIENTS ? "recipients" : "messages";
}

time_t
pw_quota_now(void)
{
	return pw_clock_now();
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consent_expiry - implied-consent expiry and the derivation of the
 * current consent state from events.  The rules are stated in consent.h.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "compliance/consent_state.h"

#define DAY 86400L

static const char *const type_names[] = {
    [PW_CONSENT_EXPRESS] = "express",
    [PW_CONSENT_IMPLIED_PURCHASE] = "implied-purchase",
    [PW_CONSENT_IMPLIED_CONTRACT] = "implied-contract",
    [PW_CONSENT_IMPLIED_INQUIRY] = "implied-inquiry",
    [PW_CONSENT_IMPLIED] = "implied",
    [PW_CONSENT_WITHDRAWN] = "withdrawn",
};

/* ---- civil calendar (H. Hinnant's days_from_civil, proleptic Gregorian) */

static long
days_from_civil(long y, unsigned int m, unsigned int d)
{
	long era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void
civil_from_days(long z, long *y, unsigned int *m, unsigned int *d)
{
	long era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (long)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static unsigned int
month_days(long y, unsigned int m)
{
	static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30,
					      31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

static long
floor_div(long a, long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

time_t
pw_date_add_months(time_t t, int months)
{
	long y, mi;
	unsigned int m, d, dim;

	civil_from_days(floor_div((long)t, DAY), &y, &m, &d);
	mi = y * 12 + (long)(m - 1) + months;
	y = floor_div(mi, 12);
	m = (unsigned int)(mi - y * 12) + 1;
	if (d > (dim = month_days(y, m)))
		d = dim;
	return (time_t)(days_from_civil(y, m, d) * DAY);
}

int
pw_date_parse(const char *s, time_t *t_r)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	size_t len = strlen(s);

	if (len == 10) {
		if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
			return -1;
	} else if (len == 20 && (s[10] == 'T' || s[10] == ' ') &&
		   s[19] == 'Z') {
		if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d%n", &y, &mo, &d, &h,
			   &mi, &sec, &n) != 6 ||
		    n != 19)
			return -1;
	} else {
		return -1;
	}
	/* sscanf accepts signs and spaces: insist on digits */
	if (strspn(s, "0123456789") != 4 || s[4] != '-' || s[7] != '-' ||
	    strspn(s + 5, "0123456789") != 2 ||
	    strspn(s + 8, "0123456789") != 2)
		return -1;
	if (len == 20 && (strspn(s + 11, "0123456789") != 2 || s[13] != ':' ||
			  strspn(s + 14, "0123456789") != 2 || s[16] != ':' ||
			  strspn(s + 17, "0123456789") != 2))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned int)d > month_days(y, (unsigned int)mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	*t_r = (time_t)(days_from_civil(y, (unsigned int)mo, (unsigned int)d) *
			    DAY +
			h * 3600L + mi * 60L + sec);
	return 0;
}

char *
pw_date_format(time_t t, char *buf)
{
	long y, days = floor_div((long)t, DAY), secs;
	unsigned int m, d;
	char tmp[80];

	secs = (long)t - days * DAY;
	civil_from_days(days, &y, &m, &d);
	snprintf(tmp, sizeof(tmp), "%04ld-%02u-%02uT%02ld:%02ld:%02ldZ",
		 y % 10000, m, d, secs / 3600, secs / 60 % 60, secs % 60);
	memcpy(buf, tmp, 20);
	buf[20] = '\0';
	return buf;
}

char *
pw_date_format_us(int64_t us, char *buf)
{
	int64_t frac = us % 1000000;

	if (frac < 0)
		frac += 1000000;
	pw_date_format((time_t)((us - frac) / 1000000), buf);
	/* "...:SSZ" -> "...:SS.ffffffZ" */
	snprintf(buf + 19, 9, ".%06" PRId64 "Z", frac);
	return buf;
}

/* ---- names -------------------------------------------------------------- */

const char *
pw_consent_type_name(enum pw_consent_type type)
{
	if ((size_t)type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type];
	return "?";
}

int
pw_consent_type_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (pw_strcaseeq(s, type_names[i]))
			return (int)i;
	return -1;
}

const char *
pw_consent_state_name(enum pw_consent_state st)
{
	switch (st) {
	case PW_CSTATE_NONE:
		return "none";
	case PW_CSTATE_EXPRESS:
		return "express";
	case PW_CSTATE_IMPLIED:
		return "implied";
	case PW_CSTATE_EXPIRED:
		return "expired";
	case PW_CSTATE_WITHDRAWN:
		return "withdrawn";
	}
	return "?";
}

/* ---- expiry ---------------------------------------------------------------
 */

/* statutory - the CASL end of an implied basis, or PW_NOTIME if none */
static time_t
statutory(const struct pw_consent_event *ev)
{
	time_t rel = ev->relationship_date != PW_NOTIME ? ev->relationship_date
							: ev->obtained_at;

	switch (ev->type) {
	case PW_CONSENT_IMPLIED_PURCHASE:
	case PW_CONSENT_IMPLIED_CONTRACT:
		return pw_date_add_months(rel, 24); /* s.10(10)(a)-(d) */
	case PW_CONSENT_IMPLIED_INQUIRY:
		return pw_date_add_months(rel, 6); /* s.10(10)(e) */
	default:
		return PW_NOTIME;
	}
}

time_t
pw_consent_expiry(const struct pw_consent_event *ev)
{
	time_t law = statutory(ev);

	if (ev->expires_at == PW_NOTIME)
		return law;
	if (law != PW_NOTIME && ev->expires_at > law)
		return law;
	return ev->expires_at;
}

int
pw_consent_event_check(const struct pw_consent_event *ev, const char **why_r)
{
	time_t rel;

	if ((size_t)ev->type >= sizeof(type_names) / sizeof(type_names[0])) {
		*why_r = "unknown consent type";
		return -1;
	}
	if (ev->obtained_at == PW_NOTIME) {
		*why_r = "obtained_at is required";
		return -1;
	}
	if (ev->type == PW_CONSENT_WITHDRAWN) {
		if (ev->expires_at != PW_NOTIME) {
			*why_r = "a withdrawal does not expire";
			return -1;
		}
		return 0;
	}
	if (ev->type == PW_CONSENT_IMPLIED && ev->expires_at == PW_NOTIME) {
		*why_r = "implied consent without a statutory period needs "
			 "expires_at (a review date)";
		return -1;
	}
	rel = ev->relationship_date != PW_NOTIME ? ev->relationship_date
						 : ev->obtained_at;
	if (ev->expires_at != PW_NOTIME && ev->expires_at <= rel) {
		*why_r = "expires_at is not after the relationship date";
		return -1;
	}
	return 0;
}

/* ---- evaluation ------------------------------------------------------------
 */

static bool
applies(const struct pw_consent_event *ev, const char *list)
{
	if (ev->list == NULL || ev->list[0] == '\0')
		return true;
	return list != NULL && strcmp(ev->list, list) == 0;
}

/* after - was event a obtained after b?  Equal times: recording order,
   when both are known (consent.h). */
static bool
after(const struct pw_consent_event *a, const struct pw_consent_event *b)
{
	if (a->obtained_at != b->obtained_at)
		return a->obtained_at > b->obtained_at;
	return a->seq != 0 && b->seq != 0 && a->seq > b->seq;
}

/* later_expiry - is expiry a later than b?  PW_NOTIME is "never". */
static bool
later_expiry(time_t a, time_t b)
{
	if (a == b)
		return false;
	if (a == PW_NOTIME)
		return true;
	if (b == PW_NOTIME)
		return false;
	return a > b;
}

/* better - should candidate c replace the current best b? */
static bool
better(const struct pw_consent_event *c, time_t cexp,
       const struct pw_consent_event *b, time_t bexp)
{
	if (b == NULL || later_expiry(cexp, bexp))
		return true;
	if (cexp != bexp)
		return false;
	if ((c->type == PW_CONSENT_EXPRESS) != (b->type == PW_CONSENT_EXPRESS))
		return c->type == PW_CONSENT_EXPRESS;
	return c->obtained_at > b->obtained_at; /* newest evidence */
}

void
pw_consent_evaluate(const struct pw_consent_event *ev, size_t n,
		    const char *list, time_t now, struct pw_consent_result *r)
{
	const struct pw_consent_event *wd = NULL, *best = NULL, *lapsed = NULL;
	time_t exp, best_exp = PW_NOTIME, lapsed_exp = PW_NOTIME;
	const char *why;
	size_t i;

	/* the latest withdrawal in force */
	for (i = 0; i < n; i++)
		if (ev[i].type == PW_CONSENT_WITHDRAWN &&
		    pw_consent_event_check(&ev[i], &why) == 0 &&
		    applies(&ev[i], list) && ev[i].obtained_at <= now &&
		    (wd == NULL || after(&ev[i], wd)))
			wd = &ev[i];
	for (i = 0; i < n; i++) {
		if (ev[i].type == PW_CONSENT_WITHDRAWN ||
		    pw_consent_event_check(&ev[i], &why) < 0 ||
		    !applies(&ev[i], list) || ev[i].obtained_at > now)
			continue;
		if (wd != NULL &&
		    (ev[i].type != PW_CONSENT_EXPRESS || !after(&ev[i], wd)))
			continue;
		exp = pw_consent_expiry(&ev[i]);
		if (exp != PW_NOTIME && now >= exp) {
			if (lapsed == NULL || exp > lapsed_exp) {
				lapsed = &ev[i];
				lapsed_exp = exp;
			}
			continue;
		}
		if (better(&ev[i], exp, best, best_exp)) {
			best = &ev[i];
			best_exp = exp;
		}
	}
	if (best != NULL) {
		r->state = best->type == PW_CONSENT_EXPRESS ? PW_CSTATE_EXPRESS
							    : PW_CSTATE_IMPLIED;
		r->basis = best;
		r->valid_until = best_exp;
	} else if (lapsed != NULL) {
		r->state = PW_CSTATE_EXPIRED;
		r->basis = lapsed;
		r->valid_until = lapsed_exp;
	} else if (wd != NULL) {
		r->state = PW_CSTATE_WITHDRAWN;
		r->basis = wd;
		r->valid_until = PW_NOTIME;
	} else {
		r->state = PW_CSTATE_NONE;
		r->basis = NULL;
		r->valid_until = PW_NOTIME;
	}
}

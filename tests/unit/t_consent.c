/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_consent - implied-consent expiry and consent-state derivation
 * (consent.h): CASL periods, leap days, exactly-on-expiry, withdrawal
 * precedence, list scope.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "compliance/consent_state.h"

static time_t
T(const char *s)
{
	time_t t;

	if (pw_date_parse(s, &t) < 0)
		fail_msg("bad test date %s", s);
	return t;
}

static const struct {
	const char *type;
	const char *obtained;
	const char *relationship; /* NULL: none */
	const char *expires;	  /* NULL: none */
	const char *want;	  /* NULL: never */
} expiry_cases[] = {
    {"express", "2020-01-01", NULL, NULL, NULL},
    {"express", "2020-01-01", NULL, "2021-01-01", "2021-01-01"},
    {"implied-purchase", "2024-03-15T18:30:00Z", NULL, NULL, "2026-03-15"},
    /* leap day: Feb 29 + 2 years = Feb 28 (never longer than the law) */
    {"implied-purchase", "2024-02-29", NULL, NULL, "2026-02-28"},
    {"implied-contract", "2024-02-29T23:59:59Z", NULL, NULL, "2026-02-28"},
    {"implied-purchase", "2023-03-01", NULL, NULL, "2025-03-01"},
    /* the relationship date, not the import date, starts the clock */
    {"implied-purchase", "2025-06-01", "2024-01-10", NULL, "2026-01-10"},
    {"implied-contract", "2020-01-01", "2025-12-31", NULL, "2027-12-31"},
    /* inquiry: 6 months, day clamped to the end of a shorter month */
    {"implied-inquiry", "2025-08-31", NULL, NULL, "2026-02-28"},
    {"implied-inquiry", "2023-08-31", NULL, NULL, "2024-02-29"},
    {"implied-inquiry", "2025-12-15", NULL, NULL, "2026-06-15"},
    {"implied-inquiry", "2025-03-31", NULL, NULL, "2025-09-30"},
    /* explicit expiry: honoured if earlier, capped at the statute */
    {"implied-purchase", "2024-01-10", NULL, "2024-06-01", "2024-06-01"},
    {"implied-purchase", "2024-01-10", NULL, "2030-01-01", "2026-01-10"},
    {"implied-inquiry", "2024-01-10", "2024-01-01", "2025-01-01", "2024-07-01"},
    {"implied", "2024-01-10", NULL, "2029-01-01", "2029-01-01"},
};

static void
t_expiry(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(expiry_cases) / sizeof(expiry_cases[0]); i++) {
		struct pw_consent_event ev = {0};
		const char *why;
		time_t got, want;
		char b1[21], b2[21];

		ev.type = pw_consent_type_parse(expiry_cases[i].type);
		ev.obtained_at = T(expiry_cases[i].obtained);
		if (expiry_cases[i].relationship)
			ev.relationship_date = T(expiry_cases[i].relationship);
		if (expiry_cases[i].expires)
			ev.expires_at = T(expiry_cases[i].expires);
		assert_int_equal(pw_consent_event_check(&ev, &why), 0);
		got = pw_consent_expiry(&ev);
		want =
		    expiry_cases[i].want ? T(expiry_cases[i].want) : PW_NOTIME;
		if (got != want)
			fail_msg("case %zu: got %s want %s", i,
				 got ? pw_date_format(got, b1) : "never",
				 want ? pw_date_format(want, b2) : "never");
	}
}

/* One implied purchase, probed around its expiry. */
static void
t_exactly_on_expiry(void **state)
{
	struct pw_consent_event ev = {
	    7, NULL, PW_CONSENT_IMPLIED_PURCHASE, 0, 0, 0, 0};
	struct pw_consent_result r;

	ev.obtained_at = T("2024-02-29T10:00:00Z");
	pw_consent_evaluate(&ev, 1, NULL, T("2024-02-29T09:59:59Z"), &r);
	assert_int_equal(r.state, PW_CSTATE_NONE); /* not yet */
	pw_consent_evaluate(&ev, 1, NULL, T("2024-02-29T10:00:00Z"), &r);
	assert_int_equal(r.state, PW_CSTATE_IMPLIED);
	pw_consent_evaluate(&ev, 1, NULL, T("2026-02-27T23:59:59Z"), &r);
	assert_int_equal(r.state, PW_CSTATE_IMPLIED);
	assert_int_equal(r.basis->id, 7);
	assert_int_equal(r.valid_until, T("2026-02-28"));
	pw_consent_evaluate(&ev, 1, NULL, T("2026-02-28T00:00:00Z"), &r);
	assert_int_equal(r.state, PW_CSTATE_EXPIRED);
	assert_int_equal(r.basis->id, 7);
}

#define E(id, list, type, obt, exp)                                            \
	{                                                                      \
		(id), (list), PW_CONSENT_##type, (obt), (exp), 0, 0            \
	}

static void
t_withdrawal(void **state)
{
	time_t d1 = T("2025-01-01"), d2 = T("2025-02-01"), d3 = T("2025-03-01");
	time_t now = T("2025-06-01");
	struct pw_consent_result r;
	struct pw_consent_event ev[4];

	/* express, then withdrawn: withdrawn */
	struct pw_consent_event a[] = {E(1, NULL, EXPRESS, d1, 0),
				       E(2, NULL, WITHDRAWN, d2, 0)};
	pw_consent_evaluate(a, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);
	assert_int_equal(r.basis->id, 2);
	/* ... before the withdrawal, consent held */
	pw_consent_evaluate(a, 2, NULL, d2 - 1, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);

	/* re-consent after withdrawal: express again */
	struct pw_consent_event b[] = {E(1, NULL, EXPRESS, d1, 0),
				       E(2, NULL, WITHDRAWN, d2, 0),
				       E(3, NULL, EXPRESS, d3, 0)};
	pw_consent_evaluate(b, 3, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	assert_int_equal(r.basis->id, 3);

	/* a new purchase after the withdrawal does not revive consent */
	struct pw_consent_event c[] = {E(2, NULL, WITHDRAWN, d2, 0),
				       E(3, NULL, IMPLIED_PURCHASE, d3, 0)};
	pw_consent_evaluate(c, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);

	/* same instant: the withdrawal wins */
	struct pw_consent_event d[] = {E(3, NULL, EXPRESS, d2, 0),
				       E(2, NULL, WITHDRAWN, d2, 0)};
	pw_consent_evaluate(d, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);

	/* same instant, recording order known: the later record wins */
	d[0].seq = 6;
	d[1].seq = 5;
	pw_consent_evaluate(d, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	d[0].seq = 4;
	pw_consent_evaluate(d, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);
	d[1].seq = 0; /* one unknown: the withdrawal wins */
	d[0].seq = 6;
	pw_consent_evaluate(d, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);

	/* a withdrawal dated in the future is not yet in force, and a
	   future consent does not count yet */
	struct pw_consent_event e[] = {E(1, NULL, EXPRESS, d1, 0),
				       E(2, NULL, WITHDRAWN, now + 10, 0),
				       E(3, NULL, EXPRESS, now + 20, 0)};
	pw_consent_evaluate(e, 3, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	assert_int_equal(r.basis->id, 1);
	pw_consent_evaluate(e, 3, NULL, now + 15, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);
	pw_consent_evaluate(e, 3, NULL, now + 25, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	assert_int_equal(r.basis->id, 3);

	/* re-consent that has itself lapsed: expired, not express */
	struct pw_consent_event f[] = {E(2, NULL, WITHDRAWN, d1, 0),
				       E(3, NULL, EXPRESS, d2, d3)};
	pw_consent_evaluate(f, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPIRED);

	/* no events at all */
	pw_consent_evaluate(ev, 0, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_NONE);
	assert_null(r.basis);
}

static void
t_lists(void **state)
{
	time_t d1 = T("2025-01-01"), d2 = T("2025-02-01");
	time_t now = T("2025-06-01");
	struct pw_consent_result r;
	struct pw_consent_event a[] = {E(1, NULL, EXPRESS, d1, 0),
				       E(2, "news", WITHDRAWN, d2, 0)};
	struct pw_consent_event b[] = {E(1, "news", EXPRESS, d1, 0),
				       E(2, "", WITHDRAWN, d2, 0)};
	struct pw_consent_event c[] = {E(1, "news", EXPRESS, d1, 0)};

	/* a list withdrawal leaves the other lists alone */
	pw_consent_evaluate(a, 2, "news", now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);
	pw_consent_evaluate(a, 2, "offers", now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	pw_consent_evaluate(a, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	/* an organisation-wide withdrawal covers every list */
	pw_consent_evaluate(b, 2, "news", now, &r);
	assert_int_equal(r.state, PW_CSTATE_WITHDRAWN);
	/* consent to one list is not consent to another, or to all */
	pw_consent_evaluate(c, 1, "news", now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	pw_consent_evaluate(c, 1, "offers", now, &r);
	assert_int_equal(r.state, PW_CSTATE_NONE);
	pw_consent_evaluate(c, 1, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_NONE);
}

static void
t_best_basis(void **state)
{
	time_t now = T("2025-06-01");
	struct pw_consent_result r;
	struct pw_consent_event a[] = {
	    E(1, NULL, IMPLIED_INQUIRY, T("2025-05-01"), 0),
	    E(2, NULL, IMPLIED_PURCHASE, T("2024-01-01"), 0),
	    E(3, NULL, IMPLIED_PURCHASE, T("2022-01-01"), 0), /* lapsed */
	    E(4, NULL, IMPLIED, T("2025-01-01"), 0),	      /* invalid */
	};
	struct pw_consent_event b[] = {
	    E(1, NULL, IMPLIED_PURCHASE, T("2025-05-01"), 0),
	    E(2, NULL, EXPRESS, T("2020-01-01"), 0),
	};

	/* implied with the latest expiry: inquiry ends 2025-11-01, the
	   purchase 2026-01-01 */
	pw_consent_evaluate(a, 4, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_IMPLIED);
	assert_int_equal(r.basis->id, 2);
	assert_int_equal(r.valid_until, T("2026-01-01"));
	/* express beats implied */
	pw_consent_evaluate(b, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPRESS);
	assert_int_equal(r.basis->id, 2);
	assert_int_equal(r.valid_until, PW_NOTIME);
	/* only lapsed and invalid events: expired, basis the latest lapse */
	pw_consent_evaluate(a + 2, 2, NULL, now, &r);
	assert_int_equal(r.state, PW_CSTATE_EXPIRED);
	assert_int_equal(r.basis->id, 3);
}

static void
t_check(void **state)
{
	const char *why;
	struct pw_consent_event ev = {0};

	ev.type = PW_CONSENT_EXPRESS;
	assert_int_equal(pw_consent_event_check(&ev, &why), -1); /* no date */
	ev.obtained_at = T("2025-01-01");
	assert_int_equal(pw_consent_event_check(&ev, &why), 0);
	ev.type = PW_CONSENT_IMPLIED;
	assert_int_equal(pw_consent_event_check(&ev, &why), -1);
	ev.expires_at = T("2024-01-01");
	assert_int_equal(pw_consent_event_check(&ev, &why), -1); /* before */
	ev.expires_at = T("2025-01-01");
	assert_int_equal(pw_consent_event_check(&ev, &why), -1); /* equal */
	ev.type = PW_CONSENT_WITHDRAWN;
	assert_int_equal(pw_consent_event_check(&ev, &why), -1);
	ev.type = (enum pw_consent_type)42;
	assert_int_equal(pw_consent_event_check(&ev, &why), -1);
	assert_int_equal(pw_consent_type_parse("Implied-Inquiry"),
			 PW_CONSENT_IMPLIED_INQUIRY);
	assert_int_equal(pw_consent_type_parse("implied_inquiry"), -1);
	assert_string_equal(pw_consent_type_name(PW_CONSENT_WITHDRAWN),
			    "withdrawn");
}

static const struct {
	const char *in;
	const char *out; /* NULL: rejected */
} date_cases[] = {
    {"2024-02-29", "2024-02-29T00:00:00Z"},
    {"2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"},
    {"2000-02-29 12:00:00Z", "2000-02-29T12:00:00Z"},
    {"1970-01-01", "1970-01-01T00:00:00Z"},
    {"2100-12-31", "2100-12-31T00:00:00Z"},
    {"2025-02-29", NULL},
    {"1900-02-29", NULL},
    {"2024-13-01", NULL},
    {"2024-00-10", NULL},
    {"2024-1-01", NULL},
    {"+024-01-01", NULL},
    {"2024-01- 1", NULL},
    {"2024-01-01T24:00:00Z", NULL},
    {"2024-01-01T10:00:00", NULL},
    {"2024-01-01T10:00:00+01", NULL},
    {"1969-12-31", NULL},
    {"", NULL},
    {"yesterday", NULL},
};

static void
t_dates(void **state)
{
	size_t i;
	time_t t;
	char buf[21];

	for (i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		int rc = pw_date_parse(date_cases[i].in, &t);

		if (date_cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("date %s accepted", date_cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("date %s rejected", date_cases[i].in);
		assert_string_equal(pw_date_format(t, buf), date_cases[i].out);
	}
	assert_int_equal(T("2024-02-29"), 1709164800);
	assert_int_equal(pw_date_add_months(T("2024-01-31T13:00:00Z"), 1),
			 T("2024-02-29"));
	assert_int_equal(pw_date_add_months(T("2024-12-15"), 1),
			 T("2025-01-15"));
	assert_int_equal(pw_date_add_months(T("2024-01-15"), -1),
			 T("2023-12-15"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_expiry),
	    cmocka_unit_test(t_exactly_on_expiry),
	    cmocka_unit_test(t_withdrawal),
	    cmocka_unit_test(t_lists),
	    cmocka_unit_test(t_best_basis),
	    cmocka_unit_test(t_check),
	    cmocka_unit_test(t_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dmarc_record - the DMARC record parser (policies/dmarc_record.c):
 * what is a DMARC record at all (RFC 7489 6.6.3 step 2), the grammar's
 * white space (RFC 7489 6.4 *WSP around "=" and ";"), p/sp/np, pct,
 * adkim/aspf, the RFC 9989 tags, rua validity (what 6.6.3 step 6 needs)
 * and unknown tags.  Rows marked "libopendmarc 1.4.2" are records that
 * library gets wrong.
 */
#include "unit.h"

#include "parsers/dmarc_record.h"

enum { U = PW_DMARC_P_UNSET, N = PW_DMARC_P_NONE, Q = PW_DMARC_P_QUARANTINE,
    R = PW_DMARC_P_REJECT };

static const struct {
	const char	*txt;
	int		 rc;		/* 0 record, -1 discarded */
	int		 p, sp, np;
	int		 pct;
	unsigned int	 bad;
	unsigned int	 rua_valid;
	const char	*what;
} cases[] = {
    {"v=DMARC1; p=reject", 0, R, U, U, 100, 0, 0, "minimal"},
    {"v=DMARC1;p=quarantine", 0, Q, U, U, 100, 0, 0, "no space"},
    {"v=DMARC1", 0, U, U, U, 100, 0, 0, "v only"},
    {"v=DMARC1;", 0, U, U, U, 100, 0, 0, "v and ;"},
    /* regression (issue 11): spaces around "=" are the grammar's *WSP;
       the old prefix test "v=DMARC1" discarded the record: fail open */
    {"v = DMARC1; p = reject", 0, R, U, U, 100, 0, 0, "WSP around ="},
    {"v\t=\tDMARC1\t;\tp\t=\treject\t;", 0, R, U, U, 100, 0, 0, "tabs"},
    {"  v=DMARC1 ;p=reject ; ", 0, R, U, U, 100, 0, 0, "leading WSP"},
    {"V=DMARC1; P=Reject; SP=NONE", 0, R, N, U, 100, 0, 0,
	"tag names and keywords case-insensitive"},
    /* not DMARC records: discarded (step 2) */
    {"v=dmarc1; p=reject", -1, U, U, U, 100, 0, 0, "value is exact"},
    {"v=DMARC1p=reject", -1, U, U, U, 100, 0, 0, "no separator"},
    {"v=DMARC10; p=reject", -1, U, U, U, 100, 0, 0, "other version"},
    {"p=reject; v=DMARC1", -1, U, U, U, 100, 0, 0, "v not first"},
    {"google-site-verification=abc", -1, U, U, U, 100, 0, 0, "other TXT"},
    {"", -1, U, U, U, 100, 0, 0, "empty"},
    {"v=", -1, U, U, U, 100, 0, 0, "v empty"},
    /* p, sp, np */
    {"v=DMARC1; p=bogus", 0, U, U, U, 100, PW_DMARC_BAD_P, 0, "bad p"},
    {"v=DMARC1; p=", 0, U, U, U, 100, PW_DMARC_BAD_P, 0, "empty p"},
    {"v=DMARC1; p=reject; sp=bogus", 0, R, U, U, 100, PW_DMARC_BAD_SP, 0,
	"bad sp"},
    {"v=DMARC1; sp=reject; p=none", 0, N, R, U, 100, 0, 0,
	"p after sp (RFC 9989: order does not matter)"},
    {"v=DMARC1; p=none; p=reject", 0, N, U, U, 100, 0, 0,
	"repeated tag: the first one wins"},
    /* regression (issue 11, libopendmarc 1.4.2 refuses these): a valid
       rua and a missing or invalid p; the caller makes it p=none */
    {"v=DMARC1; rua=mailto:d@example.com", 0, U, U, U, 100, 0, 1,
	"no p, valid rua"},
    {"v=DMARC1; p=bogus; rua=mailto:d@example.com", 0, U, U, U, 100,
	PW_DMARC_BAD_P, 1, "bad p, valid rua"},
    {"v=DMARC1; rua=mailto:a@example.com!10m, mailto:b@example.com", 0, U,
	U, U, 100, 0, 2, "two URIs, one with a size limit"},
    {"v=DMARC1; rua=not a uri", 0, U, U, U, 100, PW_DMARC_BAD_RUA, 0,
	"rua: spaces"},
    {"v=DMARC1; rua=mailto:", 0, U, U, U, 100, PW_DMARC_BAD_RUA, 0,
	"rua: nothing after the scheme"},
    {"v=DMARC1; rua=d@example.com", 0, U, U, U, 100, PW_DMARC_BAD_RUA, 0,
	"rua: no scheme"},
    {"v=DMARC1; rua=mailto:d@example.com!x", 0, U, U, U, 100,
	PW_DMARC_BAD_RUA, 0, "rua: bad size"},
    {"v=DMARC1; rua=", 0, U, U, U, 100, PW_DMARC_BAD_RUA, 0, "rua empty"},
    {"v=DMARC1; rua=,mailto:d@example.com,", 0, U, U, U, 100, 0, 1,
	"rua: empty items around a valid one"},
    /* pct (libopendmarc 1.4.2 takes pct=abc) */
    {"v=DMARC1; p=reject; pct=0", 0, R, U, U, 0, 0, 0, "pct 0"},
    {"v=DMARC1; p=reject; pct=50", 0, R, U, U, 50, 0, 0, "pct 50"},
    {"v=DMARC1; p=reject; pct=abc", 0, R, U, U, 100, PW_DMARC_BAD_PCT, 0,
	"pct not a number"},
    {"v=DMARC1; p=reject; pct=101", 0, R, U, U, 100, PW_DMARC_BAD_PCT, 0,
	"pct over 100"},
    {"v=DMARC1; p=reject; pct=1000", 0, R, U, U, 100, PW_DMARC_BAD_PCT, 0,
	"pct 4 digits"},
    /* RFC 9989 tags: parsed, no effect on RFC 7489 evaluation */
    {"v=DMARC1; p=reject; np=quarantine; psd=n; t=y", 0, R, U, Q, 100, 0,
	0, "np psd t"},
    {"v=DMARC1; p=reject; np=x; psd=x; t=x", 0, R, U, U, 100,
	PW_DMARC_BAD_NP | PW_DMARC_BAD_PSD | PW_DMARC_BAD_T, 0,
	"bad np psd t"},
    /* unknown tags and junk terms are ignored */
    {"v=DMARC1; foo=bar; p=reject; x_y=1", 0, R, U, U, 100, 0, 0,
	"unknown tags"},
    {"v=DMARC1; garbage; p=reject;; =x; 9a=b", 0, R, U, U, 100, 0, 0,
	"junk terms"},
    {"v=DMARC1; p=reject; adkim=s; aspf=x", 0, R, U, U, 100,
	PW_DMARC_BAD_ASPF, 0, "bad aspf"},
};

static void
t_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct pw_dmarc_record r;
		const char *t = cases[i].txt;
		int rc = pw_dmarc_record_parse(t, strlen(t), &r);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d", i,
			    cases[i].what, rc, cases[i].rc);
		if (rc < 0)
			continue;
		if ((int)r.p != cases[i].p || (int)r.sp != cases[i].sp ||
		    (int)r.np != cases[i].np || r.pct != cases[i].pct ||
		    r.bad != cases[i].bad || r.rua_valid != cases[i].rua_valid)
			fail_msg("case %zu (%s): p %d sp %d np %d pct %d bad "
			    "%#x rua %u; want %d %d %d %d %#x %u", i,
			    cases[i].what, r.p, r.sp, r.np, r.pct, r.bad,
			    r.rua_valid, cases[i].p, cases[i].sp, cases[i].np,
			    cases[i].pct, cases[i].bad, cases[i].rua_valid);
	}
}

/* the values that are not in the table: alignment modes, psd, t, spans,
   counters */
static void
t_details(void **state)
{
	struct pw_dmarc_record r;
	const char *t = "v=DMARC1; p=reject; adkim=S; aspf=s; psd=Y; t=y; "
	    "rua=mailto:a@example.com; ruf=mailto:f@example.com; zz=1; "
	    "p=none; junk";

	(void)state;
	assert_int_equal(pw_dmarc_record_parse(t, strlen(t), &r), 0);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.psd, 'y');
	assert_true(r.testing);
	assert_int_equal(r.rua.len, strlen("mailto:a@example.com"));
	assert_memory_equal(r.rua.s, "mailto:a@example.com", r.rua.len);
	assert_int_equal(r.ruf_valid, 1);
	assert_int_equal(r.unknown, 2);
	assert_int_equal(r.dups, 1);

	t = "v=DMARC1; p=none";
	assert_int_equal(pw_dmarc_record_parse(t, strlen(t), &r), 0);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.psd, 'u');
	assert_false(r.testing);
	assert_null(r.rua.s);
}

/* the length is honoured: nothing past it is read, a NUL inside is data */
static void
t_length(void **state)
{
	struct pw_dmarc_record r;
	const char t[] = "v=DMARC1; p=reject; p=none";
	const char nul[] = "v=DMARC1\0; p=reject";

	(void)state;
	assert_int_equal(pw_dmarc_record_parse(t, strlen("v=DMARC1; p=re"),
	    &r), 0);
	assert_int_equal(r.p, PW_DMARC_P_UNSET);
	assert_int_equal(r.bad, PW_DMARC_BAD_P);
	assert_int_equal(pw_dmarc_record_parse(nul, sizeof(nul) - 1, &r), -1);
	assert_int_equal(pw_dmarc_record_parse(NULL, 0, &r), -1);
}

/* issue 11: the Subject of an aggregate report (no reports about report
   mail); RFC 7489 7.2.1.1's form, and what large reporters really write */
static void
t_report_subject(void **state)
{
	(void)state;
	assert_true(pw_dmarc_report_subject(" Report Domain: example.com "
	    "Submitter: mail.example.org Report-ID: <a.1@x>"));
	assert_true(pw_dmarc_report_subject(" Report domain: example.com "
	    "Submitter: google.com Report-ID: 123456789"));
	assert_true(pw_dmarc_report_subject(" Report\r\n\tDomain: a.test"
	    "\r\n Submitter: b.test\r\n Report-ID: <x>"));
	assert_false(pw_dmarc_report_subject(" Report Domain: a.test "
	    "Submitter: b.test"));	/* no Report-ID */
	assert_false(pw_dmarc_report_subject(" Re: Report Domain: a.test "
	    "Report-ID: <x>"));
	assert_false(pw_dmarc_report_subject(" ReportDomain: a.test "
	    "Report-ID: <x>"));
	assert_false(pw_dmarc_report_subject(" weekly report"));
	assert_false(pw_dmarc_report_subject(""));
	assert_false(pw_dmarc_report_subject(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cases),
		cmocka_unit_test(t_details),
		cmocka_unit_test(t_length),
		cmocka_unit_test(t_report_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

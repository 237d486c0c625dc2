/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint_rate - the arithmetic of an organisation's complaint rate
 * (issue 17): complaints / commercial recipients delivered over the last
 * 24 hours, against complaint_rate_warn and complaint_rate_hold, with a
 * minimum volume below which no rate is judged at all.
 *
 * Rates are kept in parts per million (0.1% = 1000 ppm) and compared by
 * cross-multiplication in 64-bit integers: no floating point, so 3
 * complaints out of 1000 is exactly 0.3% and holds at a 0.3% threshold.
 * Pure functions, no store: unit-tested in t_complaint_rate.
 */
#ifndef PW_COMPLAINT_RATE_H
#define PW_COMPLAINT_RATE_H

#include <stddef.h>
#include <stdint.h>

#define PW_RATE_UNSET	(-2L)	/* an organisation without its own value */
#define PW_RATE_OFF	(-1L)	/* "off": this threshold never acts */
#define PW_RATE_WINDOW	86400L	/* "per day": the last 24 hours */

struct pw_crate_limits {
	long	warn_ppm;	/* PW_RATE_OFF or 1..1000000 */
	long	hold_ppm;
	long	min_delivered;	/* judged only from this many on */
};

enum pw_crate_level {
	PW_CRATE_LOW_VOLUME,	/* under min_delivered: not judged */
	PW_CRATE_OK,
	PW_CRATE_WARN,
	PW_CRATE_HOLD,
};

/* Parse "off" or a percentage "N%", "N.NNNN%" (0 < N <= 100, at most 4
   decimals: 1 ppm).  Returns 0 with *ppm_r, or -1 with *why_r (static). */
int	pw_rate_parse(const char *, long *ppm_r, const char **why_r);

/* The level of complaints out of delivered under these limits: below
   min_delivered LOW_VOLUME; then HOLD when complaints / delivered >=
   hold, WARN when >= warn, else OK. */
enum pw_crate_level pw_crate_level(int64_t complaints, int64_t delivered,
		    const struct pw_crate_limits *);

/* "0.3000%" (4 decimals, rounded down), or "-" when delivered is 0; into
   buf, which it returns. */
char	*pw_crate_format(char *buf, size_t len, int64_t complaints,
	    int64_t delivered);
/* "0.3%", "off": a threshold as written. */
char	*pw_rate_format(char *buf, size_t len, long ppm);

const char *pw_crate_level_name(enum pw_crate_level);

#endif

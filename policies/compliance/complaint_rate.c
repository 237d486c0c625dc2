/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint_rate - rate parsing, levels and formatting (complaint_rate.h).
 */
#include "autoconf.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "compliance/complaint_rate.h"

int
pw_rate_parse(const char *s, long *ppm_r, const char **why_r)
{
	long whole = 0, frac = 0, scale = 10000;
	const char *p = s;
	int ndig = 0, nfrac = 0;

	if (pw_strcaseeq(s, "off")) {
		*ppm_r = PW_RATE_OFF;
		return 0;
	}
	/* "0.1" could be read as 0.1% or 10%: the sign is required */
	for (; isdigit((unsigned char)*p); p++, ndig++)
		if (ndig < 4)
			whole = whole * 10 + (*p - '0');
	if (ndig > 3) {
		*why_r = "a percentage above 0% and at most 100%";
		return -1;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) && nfrac < 4; p++, nfrac++)
			frac = frac * 10 + (*p - '0');
		if (nfrac == 0)
			ndig = 0;
	}
	if (ndig == 0 && nfrac == 0) {
		*why_r = "expected a percentage such as 0.3% or off";
		return -1;
	}
	if (isdigit((unsigned char)*p)) {
		*why_r = "at most 4 decimals (0.0001% = 1 per million)";
		return -1;
	}
	if (*p != '%' || p[1] != '\0') {
		*why_r = "expected a percentage with its % sign, such as 0.3%";
		return -1;
	}
	for (int i = nfrac; i < 4; i++)
		frac *= 10;
	*ppm_r = whole * scale + frac;
	if (*ppm_r <= 0 || *ppm_r > 1000000) {
		*why_r = "a percentage above 0% and at most 100%";
		return -1;
	}
	return 0;
}

/* at_least - complaints / delivered >= ppm / 1000000, exactly */
static int
at_least(int64_t complaints, int64_t delivered, long ppm)
{
	if (ppm == PW_RATE_OFF || ppm < 0)
		return 0;
	return complaints * 1000000 >= (int64_t)ppm * delivered;
}

enum pw_crate_level
pw_crate_level(int64_t complaints, int64_t delivered,
    const struct pw_crate_limits *l)
{
	/* One complaint out of ten messages is 10%, and says little: the
	   mailbox providers judge a day's volume, not a handful. */
	if (delivered <= 0 || delivered < l->min_delivered)
		return PW_CRATE_LOW_VOLUME;
	if (complaints > 0 && at_least(complaints, delivered, l->hold_ppm))
		return PW_CRATE_HOLD;
	if (complaints > 0 && at_least(complaints, delivered, l->warn_ppm))
		return PW_CRATE_WARN;
	return PW_CRATE_OK;
}

char *
pw_crate_format(char *buf, size_t len, int64_t complaints, int64_t delivered)
{
	int64_t r;

	if (delivered <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* in units of 0.0001% */
	r = complaints * 1000000 / delivered;
	snprintf(buf, len, "%" PRId64 ".%04" PRId64 "%%", r / 10000,
	    r % 10000);
	return buf;
}

char *
pw_rate_format(char *buf, size_t len, long ppm)
{
	int n;

	if (ppm < 0) {
		snprintf(buf, len, "off");
		return buf;
	}
	n = snprintf(buf, len, "%ld.%04ld", ppm / 10000, ppm % 10000);
	/* "0.3000" -> "0.3", "1.0000" -> "1" */
	while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && (size_t)n < len && buf[n - 1] == '.')
		buf[--n] = '\0';
	if ((size_t)n + 1 < len) {
		buf[n] = '%';
		buf[n + 1] = '\0';
	}
	return buf;
}

const char *
pw_crate_level_name(enum pw_crate_level l)
{
	switch (l) {
	case PW_CRATE_LOW_VOLUME:
		return "low_volume";
	case PW_CRATE_OK:
		return "ok";
	case PW_CRATE_WARN:
		return "warn";
	case PW_CRATE_HOLD:
		return "hold";
	}
	return "?";
}

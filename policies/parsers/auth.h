/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth - the typed results the VERIFY phase shares (msg->auth).
 *
 * spf_verify, dkim_verify and dmarc_verify write these in registry order;
 * dmarc_verify reads the SPF and DKIM outcomes from here (no strings
 * passed between policies), and the Authentication-Results header is
 * composed from them (authres.h).  Every string lives in the message
 * arena.  Plain data: the DNS budget the three share is msg->dns.
 */
#ifndef PW_AUTH_H
#define PW_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define PW_MAX_SIGS	16	/* hard ceiling of dkim_verify_max_signatures */

/* RFC 8601 section 2.7 result values (one set for every method). */
enum pw_auth_result {
	PW_AUTH_NONE = 0,	/* nothing to evaluate (also: not evaluated) */
	PW_AUTH_PASS,
	PW_AUTH_FAIL,
	PW_AUTH_SOFTFAIL,	/* spf */
	PW_AUTH_NEUTRAL,	/* spf, dkim */
	PW_AUTH_POLICY,		/* dkim: valid but not acceptable */
	PW_AUTH_TEMPERROR,	/* try again later: never a failure */
	PW_AUTH_PERMERROR,
};

struct pw_spf_res {
	bool			 done;		/* evaluated */
	enum pw_auth_result	 result;
	const char		*domain;	/* the domain evaluated */
	const char		*mailfrom;	/* smtp.mailfrom, NULL for <> */
	const char		*helo;		/* smtp.helo */
	const char		*reason;	/* for the A-R comment */
	const char		*explanation;	/* for a reject reply */
};

struct pw_dkim_res {
	enum pw_auth_result	 result;
	const char		*domain;	/* d= */
	const char		*selector;	/* s= */
	const char		*algorithm;	/* a=, "rsa-sha256" */
	const char		*b;		/* first 8 chars of b= (RFC 6008) */
	const char		*reason;	/* why not pass */
	unsigned int		 bits;		/* key size, 0 if unknown */
};

enum pw_dmarc_policy {
	PW_DMARC_P_UNSET = 0,	/* no record */
	PW_DMARC_P_NONE,
	PW_DMARC_P_QUARANTINE,
	PW_DMARC_P_REJECT,
};

struct pw_dmarc_res {
	bool			 done;
	enum pw_auth_result	 result;	/* none pass fail temperror
						   permerror */
	const char		*from_domain;	/* header.from */
	const char		*org_domain;
	enum pw_dmarc_policy	 policy;	/* p= (or sp=) that applies */
	enum pw_dmarc_policy	 disposition;	/* what we did or would do */
	bool			 spf_aligned;
	bool			 dkim_aligned;
	int			 pct;		/* unused since RFC 9989 */
	const char		*reason;
	const char		*policy_domain;	/* where the record was */
	bool			 testing;	/* t=y: policy not applied */
	bool			 nonexistent;	/* From NXDOMAIN: np applied */
};

struct pw_auth {
	struct pw_spf_res	 spf;		/* MAIL FROM (HELO for <>) */
	struct pw_spf_res	 spf_helo;	/* HELO identity */
	bool			 dkim_done;	/* verification ran */
	struct pw_dkim_res	 dkim[PW_MAX_SIGS];
	size_t			 ndkim;
	unsigned int		 dkim_skipped;	/* signatures over the cap */
	struct pw_dmarc_res	 dmarc;
};

#endif

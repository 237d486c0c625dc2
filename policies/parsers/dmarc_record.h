/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_record - parse one DMARC policy record (the TXT string at
 * _dmarc.<domain>): RFC 7489 section 6.3 tags, the RFC 9989 tags np, psd
 * and t, unknown tags ignored.  A pure function: no allocation, no DNS;
 * strings in the result point into the input.
 *
 * It only says what the record holds.  What a missing or invalid p means
 * (RFC 7489 6.6.3 step 6) is the caller's decision: see dmarc_verify.c.
 */
#ifndef PW_DMARC_RECORD_H
#define PW_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "parsers/auth.h"

/* Tags that were present with a value the grammar does not allow. */
#define PW_DMARC_BAD_P		0x0001
#define PW_DMARC_BAD_SP		0x0002
#define PW_DMARC_BAD_NP		0x0004
#define PW_DMARC_BAD_ADKIM	0x0008
#define PW_DMARC_BAD_ASPF	0x0010
#define PW_DMARC_BAD_PCT	0x0020
#define PW_DMARC_BAD_PSD	0x0040
#define PW_DMARC_BAD_T		0x0080
#define PW_DMARC_BAD_RUA	0x0100	/* no syntactically valid URI */
#define PW_DMARC_BAD_RUF	0x0200

struct pw_dmarc_span {
	const char	*s;		/* into the input; NULL: absent */
	size_t		 len;
};

struct pw_dmarc_record {
	enum pw_dmarc_policy	 p;	/* UNSET: absent or invalid */
	enum pw_dmarc_policy	 sp;	/* UNSET: absent or invalid */
	enum pw_dmarc_policy	 np;	/* RFC 9989; UNSET: absent/invalid */
	bool			 adkim_strict;
	bool			 aspf_strict;
	int			 pct;	/* 100 when absent or invalid */
	char			 psd;	/* RFC 9989: 'y', 'n' or 'u' */
	bool			 testing; /* RFC 9989 t=y */
	unsigned int		 rua_valid; /* syntactically valid URIs */
	unsigned int		 ruf_valid;
	struct pw_dmarc_span	 rua;
	struct pw_dmarc_span	 ruf;
	unsigned int		 bad;	/* PW_DMARC_BAD_* */
	unsigned int		 unknown; /* unknown or malformed terms */
	unsigned int		 dups;	/* repeated tags (first one wins) */
};

/* pw_dmarc_record_parse - 0 and *rec filled: a DMARC record (it starts
   with v=DMARC1); -1: not one, to be discarded (RFC 7489 6.6.3 step 2) */
int	pw_dmarc_record_parse(const char *txt, size_t len,
	    struct pw_dmarc_record *rec);

/* pw_dmarc_report_subject - whether a Subject field value (raw, folded)
   is an aggregate report's: "Report" FWS "Domain:" ... "Report-ID:"
   (RFC 7489 section 7.2.1.1; the dmarcbis aggregate-reporting drafts keep
   it).  Case-insensitive: large reporters write "Report domain:" and a
   Report-ID without angle brackets.  NULL: no. */
bool	pw_dmarc_report_subject(const char *subject);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_record - RFC 7208 record syntax, checked before libspf2 sees a
 * record, and the record rewritten into one that libspf2 1.2.10 evaluates
 * as RFC 7208 says.  libspf2 stays the evaluator; this corrects the
 * places where it deviates (each rewrite names its deviation in
 * spf_record.c):
 *
 *  - syntax libspf2 accepts but RFC 7208 forbids (domain-spec without a
 *    valid top label, empty domain-spec, bad macros, c/r/t outside exp=,
 *    duplicate redirect=/exp=, CIDR lengths with leading zeros, any octet
 *    outside printable ASCII, terms not separated by spaces): permerror;
 *  - syntax libspf2 refuses but RFC 7208 allows (unknown modifiers with
 *    dots or underscores, /0 prefix lengths): rewritten;
 *  - redirect= next to an "all" mechanism is dropped (6.1);
 *  - exp=SPEC becomes exp=PW_SPF_EXP_LABEL.%{d}.PW_SPF_EXP_SEP.SPEC:
 *    libspf2 then asks for it only where RFC 7208 6.2 wants it (the
 *    record the result came from: after a redirect=, the target's), with
 *    the domain-spec and the current domain expanded, and the DNS hook
 *    keeps the two instead of asking (dns_hooks.h).  postwarden fetches
 *    and expands the text itself (spf_macro.c: libspf2 1.2.10 mangles
 *    it), and a failed fetch changes nothing (6.2).
 *
 * A /0 on the address family of the client in "a" or "mx" ("any address
 * at all") has no libspf2 spelling: the target gets the label
 * PW_SPF_ANY_LABEL in front, and the DNS hook (dns_hooks.c) answers an
 * address query for such a name with the client's own address when the
 * real name has any address of that family.
 */
#ifndef PW_SPF_RECORD_H
#define PW_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define PW_SPF_ANY_LABEL	"_pw-any0"
#define PW_SPF_EXP_LABEL	"_pw-exp0"
#define PW_SPF_EXP_SEP		"_pw-exp1"

/* Is this TXT string (len octets) an SPF record: "v=spf1" then a space
   or the end (RFC 7208 4.5)? */
bool	pw_spf_record_is_spf(const char *rec, size_t len);

/* Check the SPF record rec (len octets, may hold NULs) against RFC 7208
   section 12's ABNF.  NULL if it is valid, with *out_r the malloc'd
   record for libspf2 (see above; family is the client's, AF_INET or
   AF_INET6); else a static reason and *out_r NULL. */
const char *pw_spf_record_check(const char *rec, size_t len, int family,
	    char **out_r);

/* The domain-spec syntax alone (RFC 7208 section 7.1): NULL or why not.
   explanation: the macro letters c, r and t are allowed. */
const char *pw_spf_domain_spec_check(const char *s, size_t len,
	    bool explanation);

#endif

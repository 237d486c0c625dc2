/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addrnorm - the canonical form of a recipient address, the key under
 * which consent, suppressions and tokens are stored (compliance-rules.md
 * §6.1).
 *
 *   domain      UTS #46 non-transitional mapping and IDNA2008 A-labels
 *               (libidn2), lower case: "Bücher.Example" becomes
 *               "xn--bcher-kva.example".  Address literals ("[192.0.2.1]")
 *               are kept, lower-cased.
 *   local part  compared case-insensitively, so ASCII letters are
 *               lower-cased (UTF-8 local parts, RFC 6531, keep their
 *               non-ASCII bytes: Unicode case folding of mailbox names is
 *               not something receivers agree on).  A quoted local part is
 *               unquoted when the quotes are not needed ("John"@x is
 *               john@x, RFC 5321 §4.1.2), else kept quoted with minimal
 *               escapes.  No provider-specific rewriting (dots, +tags).
 *
 * Malformed input is rejected: no '@', empty parts, bad dot-atoms, control
 * characters, local part over 64 or address over 254 octets (RFC 5321
 * §4.5.3.1), invalid IDNs.  One pair of angle brackets and surrounding
 * white space are accepted (an RCPT TO argument as libmilter passes it).
 * Thread-safe.
 */
#ifndef PW_ADDRNORM_H
#define PW_ADDRNORM_H

#include <stddef.h>

/* Returns 0 with *out_r (malloc'd), or -1 with *error_r (static text). */
int	pw_addr_normalise(const char *in, size_t len, char **out_r,
	    const char **error_r);

/* The domain part alone (also used for organisation sender domains). */
int	pw_domain_normalise(const char *in, size_t len, char **out_r,
	    const char **error_r);

#endif

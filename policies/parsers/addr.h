/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addr - RFC 5322 address-list parsing for From:, Sender: and friends.
 *
 * Strict where the DMARC bypasses were (CVE-2019-16378, CVE-2021-34555):
 * comments, quoted strings with quoted-pairs, groups and angle addresses
 * are tokenised properly; unbalanced quotes, parentheses or brackets make
 * the whole field unparseable rather than guessed at.  Pure; thread-safe.
 */
#ifndef PW_ADDR_H
#define PW_ADDR_H

#include <stddef.h>

struct pw_arena;

/* Parse a header value holding an address-list.  Returns the number of
   mailboxes (0 for none, e.g. an empty group), or -1 if the value cannot
   be parsed, with *error_r (static text).  When addrs_r is not NULL it gets
   an arena vector of "local@domain" addr-specs, comments and display names
   removed, domain lower-cased.  At most max mailboxes are returned (all
   are counted). */
int	pw_addr_parse_list(struct pw_arena *, const char *value,
	    const char ***addrs_r, const char **error_r);

/* The domain part of an addr-spec (after the last '@'), or NULL. */
const char *pw_addr_domain(const char *addr);

#endif

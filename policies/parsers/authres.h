/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authres - Authentication-Results (RFC 8601): compose ours from the
 * typed results in struct pw_auth, and read the authserv-id at the start
 * of an existing header, strictly, to remove forged ones claiming ours
 * (RFC 8601 section 5; CVE-2020-12272 was a lenient parser).  Pure;
 * thread-safe.
 */
#ifndef PW_AUTHRES_H
#define PW_AUTHRES_H

#include <stdbool.h>

#include "parsers/auth.h"

struct pw_arena;

#define PW_AUTHRES_HEADER "Authentication-Results"

const char *pw_auth_result_name(enum pw_auth_result);
const char *pw_dmarc_policy_name(enum pw_dmarc_policy);

/* The header value (after "Authentication-Results:", with its leading
   space), one resinfo per line folded with CRLF TAB.  Everything taken
   from the message is quoted or escaped, control characters dropped.
   Methods that did not run are left out; "none" if nothing ran. */
char	*pw_authres_compose(struct pw_arena *, const char *authserv_id,
	    const struct pw_auth *);

/* The authserv-id of an existing header value: [CFWS] value [CFWS
   [version] [CFWS]] ";" per RFC 8601 section 2.2, comments and folding
   allowed, quoted-string decoded.  Returns 0 and a malloc'd *id_r, or -1
   with *error_r (static text) when the start does not parse. */
int	pw_authres_parse_id(const char *value, char **id_r,
	    const char **error_r);

/* Does this header value claim to come from authserv_id?  True when the
   parsed id equals it (ASCII case-insensitive), and also when the value
   does not parse but its first word is our id: a downstream reader might
   be more lenient than we are, so such a header is removed too. */
bool	pw_authres_claims(const char *value, const char *authserv_id);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_http - the parts of an unsubscribe request that postwarden-unsubd
 * parses itself: the request path and the one-click POST body (RFC 8058
 * §3.1), plus HTML escaping for the pages.  libmicrohttpd parses the HTTP
 * framing; everything here works on bytes it hands over, so it is pure,
 * allocation-free except where stated, and fuzzed (fuzz_unsubd_body.c).
 *
 * The body is libmicrohttpd's to parse first (unsubd_body.c);
 * pw_unsubd_body_parse() here answers only where t_unsubd_body shows the
 * library differing from RFC 8058.
 *
 * Stateless; safe from any thread.
 */
#ifndef PW_UNSUBD_HTTP_H
#define PW_UNSUBD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct pw_buf;

/* Longest token accepted in a path (a v1 token for the longest org, list
   and address is about 650 characters). */
#define PW_UNSUBD_MAX_TOKEN	1024

/* What the path names, pointing into the path given. */
struct pw_unsubd_target {
	const char	*org;		/* NULL: BASE/TOKEN form */
	size_t		 org_len;
	const char	*token;
	size_t		 token_len;
};

/* Parse PATH against BASE ("/u", no trailing slash; "" for the root):
   BASE/TOKEN or BASE/ORG/TOKEN, with one optional trailing slash.  TOKEN
   is base64url (1..PW_UNSUBD_MAX_TOKEN), ORG is [A-Za-z0-9._-]{1,64}.
   Returns 0, or -1 when the path is not one of ours (404). */
int	pw_unsubd_path_parse(const char *path, const char *base,
	    struct pw_unsubd_target *t);

/* Body flags. */
#define PW_UNSUBD_ONECLICK	0x01	/* List-Unsubscribe=One-Click */
#define PW_UNSUBD_SCOPE_ALL	0x02	/* scope=all: every list of the org */

/* Parse a POST body by its Content-Type (NULL or empty: treated as
   application/x-www-form-urlencoded, which is what RFC 8058 receivers
   send).  Both application/x-www-form-urlencoded (WHATWG URL §5.1) and
   multipart/form-data (RFC 7578, RFC 2046 §5.1.1) are accepted, as RFC
   8058 §3.1 requires.  Returns the PW_UNSUBD_* flags found (0: a valid
   body without the one-click field), or -1 for an unsupported type or a
   malformed multipart body. */
int	pw_unsubd_body_parse(const char *content_type, const unsigned char *body,
	    size_t len);

/* The body types of RFC 8058 §3.1, by a Content-Type value (type and
   subtype case-insensitive, parameters after ';' ignored). */
#define PW_UNSUBD_TYPE_NONE		0	/* NULL or empty */
#define PW_UNSUBD_TYPE_URLENCODED	1
#define PW_UNSUBD_TYPE_MULTIPART	2
/* Returns one of the above, or -1 for any other type. */
int	pw_unsubd_body_type(const char *content_type);

/* Append s to b with & < > " ' escaped (HTML text and attribute values). */
void	pw_unsubd_html_escape(struct pw_buf *b, const char *s);
/* The same for a name that ends a sentence, then the full stop, unless the
   name already ends with one (or ! or ?): "Acme Widgets Inc." ends the
   sentence itself, "Acme Widgets Inc.." would be wrong. */
void	pw_unsubd_html_sentence_end(struct pw_buf *b, const char *s);

#endif

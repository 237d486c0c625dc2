/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsub_hdr - List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post
 * (RFC 8058) parsing, validation and generation.
 *
 * Parsing is tolerant where RFC 2369 §2 and RFC 5322 §3.2.2 are: folding,
 * white space and (nested) comments between the angle-bracketed URIs,
 * white space inside the brackets (which clients ignore), empty list
 * elements.  Validation is strict where RFC 8058 §3.1 and the mailbox
 * providers are (compliance-rules.md R10): exactly one https URI for
 * one-click, optional mailto, never plain http.
 *
 * Header values are the raw field bodies, possibly folded (CRLF or LF
 * followed by white space).  Pure functions; thread-safe.
 */
#ifndef PW_UNSUB_HDR_H
#define PW_UNSUB_HDR_H

#include <stdbool.h>
#include <stddef.h>

struct pw_arena;

#define PW_UNSUB_POST_VALUE	"List-Unsubscribe=One-Click"
#define PW_UNSUB_MAX_URIS	16
#define PW_UNSUB_MAX_URI	2048

enum pw_uri_scheme {
	PW_URI_HTTPS,
	PW_URI_HTTP,
	PW_URI_MAILTO,
	PW_URI_OTHER,
};

struct pw_unsub_uri {
	const char		*uri;	/* arena; inner white space removed */
	enum pw_uri_scheme	 scheme;
};

struct pw_unsub_hdr {
	struct pw_unsub_uri	*v;	/* arena; in header order */
	size_t			 n;
	size_t			 n_https, n_http, n_mailto, n_other;
};

/* Parse a List-Unsubscribe field body.  Returns 0 with *hdr_r filled, or
   -1 with *error_r (static text) when the syntax is wrong. */
int	pw_unsub_parse(struct pw_arena *, const char *value, size_t len,
	    struct pw_unsub_hdr *hdr_r, const char **error_r);

/* Is the parsed header acceptable?  oneclick: exactly one https URI (RFC
   8058 §3.1); otherwise at least one https or mailto URI.  Plain http is
   refused in both cases.  Returns 0, or -1 with *why_r (static). */
int	pw_unsub_check(const struct pw_unsub_hdr *, bool oneclick,
	    const char **why_r);

/* The first URI of a scheme, or NULL. */
const char *pw_unsub_find(const struct pw_unsub_hdr *, enum pw_uri_scheme);

/* Does a List-Unsubscribe-Post field body hold exactly the pair
   "List-Unsubscribe=One-Click" (surrounding white space and folding
   ignored)?  RFC 8058 §3.1. */
bool	pw_unsub_post_ok(const char *value, size_t len);

/* Check one URI as the parser does; returns its scheme or -1. */
int	pw_unsub_uri_check(const char *uri, size_t len);

/* Generated values.  Each returns an arena string, or NULL with *error_r
   (static text).
   https_uri: BASE + TOKEN; a '/' is added unless BASE ends in '/', '=' or
     '?'.  BASE must be an https URI.
   mailto_uri: "mailto:LOCAL+TOKEN@DOMAIN?subject=unsubscribe" (TOKEN may
     be NULL: the per-message form, the recipient is then the sender of
     the unsubscribe mail).
   build: "<https>, <mailto>" for List-Unsubscribe; either may be NULL,
     not both.  Not folded: one line stays under 998 octets (RFC 5322
     §2.1.1) or NULL is returned. */
char	*pw_unsub_https_uri(struct pw_arena *, const char *base,
	    const char *token, const char **error_r);
char	*pw_unsub_mailto_uri(struct pw_arena *, const char *addr,
	    const char *token, const char **error_r);
char	*pw_unsub_build(struct pw_arena *, const char *https_uri,
	    const char *mailto_uri, const char **error_r);

#endif

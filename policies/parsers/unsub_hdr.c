/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsub_hdr - List-Unsubscribe / List-Unsubscribe-Post parsing,
 * validation and generation (RFC 2369, RFC 8058).
 */
#include "autoconf.h"

#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/unsub_hdr.h"

#define MAX_LINE 998 /* RFC 5322 §2.1.1 */

struct cursor {
	const char *p;
	const char *end;
	const char *error;
};

static bool skip_cfws(struct cursor *);
static bool host_ok(const char *, size_t);

/* span - bytes of p[0..n) before the first byte in set (bounded strcspn) */
static size_t
span(const char *p, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n && strchr(set, p[i]) == NULL; i++)
		;
	return i;
}

/* is_fold - CRLF or LF followed by WSP at p: the length of the break */
static size_t
is_fold(const char *p, const char *end)
{
	if (p < end && *p == '\n' && p + 1 < end &&
	    (p[1] == ' ' || p[1] == '\t'))
		return 1;
	if (p + 1 < end && p[0] == '\r' && p[1] == '\n' && p + 2 < end &&
	    (p[2] == ' ' || p[2] == '\t'))
		return 2;
	return 0;
}

/* skip_cfws - white space, folding and nested comments (RFC 5322 §3.2.2) */
static bool
skip_cfws(struct cursor *c)
{
	size_t f;
	int depth;

	for (;;) {
		if (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
			c->p++;
		} else if ((f = is_fold(c->p, c->end)) > 0) {
			c->p += f;
		} else if (c->p < c->end && *c->p == '(') {
			for (depth = 0; c->p < c->end; c->p++) {
				if (*c->p == '\\' && c->p + 1 < c->end) {
					c->p++;
				} else if (*c->p == '(') {
					depth++;
				} else if (*c->p == ')') {
					if (--depth == 0)
						break;
				} else if ((*c->p == '\r' || *c->p == '\n') &&
					   is_fold(c->p, c->end) == 0) {
					c->error =
					    "line break inside a comment";
					return false;
				} else if (*c->p == '\0') {
					c->error = "NUL in header";
					return false;
				}
			}
			if (c->p == c->end) {
				c->error = "unterminated comment";
				return false;
			}
			c->p++;
		} else {
			return true;
		}
	}
}

static bool
host_ok(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return false;
	if (h[0] == '[') /* IP literal (RFC 3986 §3.2.2) */
		return len > 2 && h[len - 1] == ']';
	for (i = 0; i < len; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		      (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		      h[i] == '.'))
			return false;
	return h[0] != '.' && h[0] != '-';
}

int
pw_unsub_uri_check(const char *u, size_t len)
{
	size_t i, slen, hlen;
	const char *rest, *at, *q;

	if (len == 0 || len > PW_UNSUB_MAX_URI)
		return -1;
	/* RFC 3986: printable ASCII; no brackets or quotes in a header URI */
	for (i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 ||
		    (unsigned char)u[i] >= 0x7f || u[i] == '<' || u[i] == '>' ||
		    u[i] == '"')
			return -1;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	for (slen = 0; slen < len && u[slen] != ':'; slen++)
		if (!((u[slen] | 0x20) >= 'a' && (u[slen] | 0x20) <= 'z') &&
		    (slen == 0 || strchr("0123456789+-.", u[slen]) == NULL))
			return -1;
	if (slen == 0 || slen == len || slen + 1 == len)
		return -1;
	rest = u + slen + 1;
	if ((slen == 5 && pw_strncaseeq(u, "https", 5)) ||
	    (slen == 4 && pw_strncaseeq(u, "http", 4))) {
		if (len - slen - 1 < 3 || strncmp(rest, "//", 2) != 0)
			return -1;
		rest += 2;
		hlen = span(rest, len - (size_t)(rest - u), "/?#");
		/* no userinfo: a credential in a URI is never what we want */
		if (memchr(rest, '@', hlen) != NULL)
			return -1;
		/* strip :port */
		if ((q = memchr(rest, ':', hlen)) != NULL && rest[0] != '[') {
			for (i = (size_t)(q - rest) + 1; i < hlen; i++)
				if (rest[i] < '0' || rest[i] > '9')
					return -1;
			hlen = (size_t)(q - rest);
		}
		if (!host_ok(rest, hlen))
			return -1;
		return slen == 5 ? PW_URI_HTTPS : PW_URI_HTTP;
	}
	if (slen == 6 && pw_strncaseeq(u, "mailto", 6)) {
		/* RFC 6068: an addr-spec before any '?' */
		hlen = span(rest, len - slen - 1, "?");
		if ((at = memchr(rest, '@', hlen)) == NULL || at == rest ||
		    at + 1 == rest + hlen)
			return -1;
		return PW_URI_MAILTO;
	}
	return PW_URI_OTHER;
}

/* parse_uri - at '<': copy to '>' dropping white space and folding */
static bool
parse_uri(struct pw_arena *arena, struct cursor *c, struct pw_unsub_uri *out)
{
	struct pw_buf b = {0};
	size_t f;
	int scheme;

	for (c->p++; c->p < c->end && *c->p != '>'; c->p++) {
		if (*c->p == ' ' || *c->p == '\t')
			continue;
		if ((f = is_fold(c->p, c->end)) > 0) {
			c->p += f - 1;
			continue;
		}
		if (*c->p == '<' || (unsigned char)*c->p < 0x20) {
			c->error = "bad character inside <>";
			pw_buf_free(&b);
			return false;
		}
		pw_buf_add(&b, c->p, 1);
		if (b.len > PW_UNSUB_MAX_URI) {
			c->error = "URI too long";
			pw_buf_free(&b);
			return false;
		}
	}
	if (c->p == c->end) {
		c->error = "missing '>'";
		pw_buf_free(&b);
		return false;
	}
	c->p++;
	if (b.len == 0 || (scheme = pw_unsub_uri_check(b.data, b.len)) < 0) {
		c->error = "malformed URI";
		pw_buf_free(&b);
		return false;
	}
	out->uri = pw_arena_strndup(arena, b.data, b.len);
	out->scheme = (enum pw_uri_scheme)scheme;
	pw_buf_free(&b);
	return true;
}

int
pw_unsub_parse(struct pw_arena *arena, const char *value, size_t len,
	       struct pw_unsub_hdr *hdr, const char **error_r)
{
	struct cursor c = {value, value + len, NULL};
	struct pw_unsub_uri uris[PW_UNSUB_MAX_URIS];
	size_t i;

	memset(hdr, 0, sizeof(*hdr));
	for (;;) {
		if (!skip_cfws(&c))
			goto fail;
		if (c.p == c.end)
			break;
		if (*c.p == ',') { /* empty element (RFC 5322 §4.4) */
			c.p++;
			continue;
		}
		if (*c.p != '<') {
			c.error = "expected '<'";
			goto fail;
		}
		if (hdr->n == PW_UNSUB_MAX_URIS) {
			c.error = "too many URIs";
			goto fail;
		}
		if (!parse_uri(arena, &c, &uris[hdr->n]))
			goto fail;
		hdr->n++;
		if (!skip_cfws(&c))
			goto fail;
		if (c.p < c.end && *c.p != ',') {
			c.error = "expected ',' after '>'";
			goto fail;
		}
	}
	if (hdr->n == 0) {
		c.error = "no URI";
		goto fail;
	}
	hdr->v = pw_arena_alloc(arena, hdr->n * sizeof(*hdr->v));
	for (i = 0; i < hdr->n; i++) {
		hdr->v[i] = uris[i];
		switch (uris[i].scheme) {
		case PW_URI_HTTPS:
			hdr->n_https++;
			break;
		case PW_URI_HTTP:
			hdr->n_http++;
			break;
		case PW_URI_MAILTO:
			hdr->n_mailto++;
			break;
		case PW_URI_OTHER:
			hdr->n_other++;
			break;
		}
	}
	return 0;
fail:
	memset(hdr, 0, sizeof(*hdr));
	*error_r = c.error;
	return -1;
}

int
pw_unsub_check(const struct pw_unsub_hdr *hdr, bool oneclick,
	       const char **why_r)
{
	if (hdr->n_http > 0) {
		*why_r = "plain http URI (only https is accepted)";
		return -1;
	}
	if (oneclick && hdr->n_https != 1) {
		*why_r =
		    hdr->n_https == 0
			? "no https URI for one-click"
			: "more than one https URI (RFC 8058 requires one)";
		return -1;
	}
	if (hdr->n_https + hdr->n_mailto == 0) {
		*why_r = "neither an https nor a mailto URI";
		return -1;
	}
	return 0;
}

const char *
pw_unsub_find(const struct pw_unsub_hdr *hdr, enum pw_uri_scheme scheme)
{
	size_t i;

	for (i = 0; i < hdr->n; i++)
		if (hdr->v[i].scheme == scheme)
			return hdr->v[i].uri;
	return NULL;
}

bool
pw_unsub_post_ok(const char *value, size_t len)
{
	static const char want[] = PW_UNSUB_POST_VALUE;
	const char *p = value, *end = value + len;
	size_t f;

	for (;;) {
		if (p < end && (*p == ' ' || *p == '\t'))
			p++;
		else if ((f = is_fold(p, end)) > 0)
			p += f;
		else
			break;
	}
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return (size_t)(end - p) == sizeof(want) - 1 &&
	       memcmp(p, want, sizeof(want) - 1) == 0;
}

char *
pw_unsub_https_uri(struct pw_arena *arena, const char *base, const char *token,
		   const char **error_r)
{
	size_t blen = strlen(base);
	const char *sep;
	char *uri;

	if (pw_unsub_uri_check(base, blen) != PW_URI_HTTPS) {
		*error_r = "unsubscribe base URL is not an https URI";
		return NULL;
	}
	if (strchr(base, '#') != NULL) {
		*error_r = "unsubscribe base URL has a fragment";
		return NULL;
	}
	sep = strchr("/=?", base[blen - 1]) != NULL ? "" : "/";
	uri = pw_arena_printf(arena, "%s%s%s", base, sep, token);
	if (pw_unsub_uri_check(uri, strlen(uri)) != PW_URI_HTTPS) {
		*error_r = "token is not URL-safe";
		return NULL;
	}
	return uri;
}

char *
pw_unsub_mailto_uri(struct pw_arena *arena, const char *addr, const char *token,
		    const char **error_r)
{
	const char *at = strrchr(addr, '@');
	char *uri;

	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(addr, '@') != at || strchr(addr, '?') != NULL) {
		*error_r = "unsubscribe mailto address is not local@domain";
		return NULL;
	}
	if (token == NULL)
		uri = pw_arena_printf(arena, "mailto:%s?subject=unsubscribe",
				      addr);
	else
		uri = pw_arena_printf(arena,
				      "mailto:%.*s+%s%s?subject=unsubscribe",
				      (int)(at - addr), addr, token, at);
	if (pw_unsub_uri_check(uri, strlen(uri)) != PW_URI_MAILTO) {
		*error_r = "unsubscribe mailto address has bad characters";
		return NULL;
	}
	return uri;
}

char *
pw_unsub_build(struct pw_arena *arena, const char *https, const char *mailto,
	       const char **error_r)
{
	char *v;

	if (https == NULL && mailto == NULL) {
		*error_r = "no URI to put in List-Unsubscribe";
		return NULL;
	}
	if ((https != NULL &&
	     pw_unsub_uri_check(https, strlen(https)) != PW_URI_HTTPS) ||
	    (mailto != NULL &&
	     pw_unsub_uri_check(mailto, strlen(mailto)) != PW_URI_MAILTO)) {
		*error_r = "malformed unsubscribe URI";
		return NULL;
	}
	/* https first: clients use the leftmost method they support */
	if (https != NULL && mailto != NULL)
		v = pw_arena_printf(arena, "<%s>, <%s>", https, mailto);
	else
		v = pw_arena_printf(arena, "<%s>", https ? https : mailto);
	if (strlen(v) + sizeof("List-Unsubscribe: ") - 1 > MAX_LINE) {
		*error_r = "List-Unsubscribe would exceed 998 octets";
		return NULL;
	}
	return v;
}

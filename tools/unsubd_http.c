/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_http - request path and one-click body parsing for
 * postwarden-unsubd (unsubd_http.h).
 *
 * RFC 8058 §3.1: the receiver POSTs "List-Unsubscribe=One-Click" to the
 * https URI, as application/x-www-form-urlencoded or multipart/form-data,
 * and the sender must accept both.  Parsing is lenient where the RFCs are
 * (a trailing CRLF after the urlencoded body, transport padding after a
 * multipart delimiter, bare LF line ends) and strict about field names and
 * values, which RFC 8058 gives exactly.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "unsubd_http.h"

#define ONECLICK_NAME "List-Unsubscribe"
#define ONECLICK_VALUE "One-Click"
#define SCOPE_NAME "scope"
#define SCOPE_VALUE "all"
#define MAX_BOUNDARY 70 /* RFC 2046 §5.1.1 */
#define MAX_PARTS 32
#define MAX_PART_LINES 32
#define MAX_ORG 64

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "0123456789-_";
static const char orgchars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "0123456789._-";

/* span_ok - are all n bytes of s in set (and n in lo..hi)? */
static bool
span_ok(const char *s, size_t n, const char *set, size_t lo, size_t hi)
{
	size_t i;

	if (n < lo || n > hi)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

int
pw_unsubd_path_parse(const char *path, const char *base,
		     struct pw_unsubd_target *t)
{
	size_t blen = strlen(base);
	const char *p, *end, *slash;

	memset(t, 0, sizeof(*t));
	if (strncmp(path, base, blen) != 0 || path[blen] != '/')
		return -1;
	p = path + blen + 1;
	end = p + strlen(p);
	if (end > p && end[-1] == '/')
		end--;
	if ((slash = memchr(p, '/', (size_t)(end - p))) != NULL) {
		t->org = p;
		t->org_len = (size_t)(slash - p);
		p = slash + 1;
		if (!span_ok(t->org, t->org_len, orgchars, 1, MAX_ORG))
			return -1;
	}
	t->token = p;
	t->token_len = (size_t)(end - p);
	if (!span_ok(t->token, t->token_len, b64url, 1, PW_UNSUBD_MAX_TOKEN)) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	return 0;
}

/* ---- application/x-www-form-urlencoded ---------------------------------- */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* form_eq - does the urlencoded s[0..n) decode to want?  '+' is a space
   and a '%' not followed by two hex digits is literal (WHATWG URL §5.1,
   "percent-decode"). */
static bool
form_eq(const unsigned char *s, size_t n, const char *want)
{
	size_t i = 0, w = 0, wlen = strlen(want);
	int hi, lo, c;

	while (i < n) {
		c = s[i];
		if (c == '+') {
			c = ' ';
			i++;
		} else if (c == '%' && i + 2 < n &&
			   (hi = hexval(s[i + 1])) >= 0 &&
			   (lo = hexval(s[i + 2])) >= 0) {
			c = hi << 4 | lo;
			i += 3;
		} else {
			i++;
		}
		if (w >= wlen || (unsigned char)want[w] != (unsigned char)c)
			return false;
		w++;
	}
	return w == wlen;
}

static int
body_urlencoded(const unsigned char *b, size_t len)
{
	size_t pos = 0, end, eq;
	int flags = 0;
	const unsigned char *amp;

	/* Some clients end the body with CRLF; it is not part of a value. */
	while (len > 0 && strchr(" \t\r\n", b[len - 1]) != NULL && b[len - 1])
		len--;
	while (pos < len) {
		amp = memchr(b + pos, '&', len - pos);
		end = amp != NULL ? (size_t)(amp - b) : len;
		for (eq = pos; eq < end && b[eq] != '='; eq++)
			;
		if (eq < end) {
			if (form_eq(b + pos, eq - pos, ONECLICK_NAME) &&
			    form_eq(b + eq + 1, end - eq - 1, ONECLICK_VALUE))
				flags |= PW_UNSUBD_ONECLICK;
			else if (form_eq(b + pos, eq - pos, SCOPE_NAME) &&
				 form_eq(b + eq + 1, end - eq - 1, SCOPE_VALUE))
				flags |= PW_UNSUBD_SCOPE_ALL;
		}
		pos = end + 1;
	}
	return flags;
}

/* ---- header parameters (RFC 2045 §5.1, RFC 7231 §3.1.1.1) --------------- */

static bool
tchar(char c)
{
	return c != '\0' && (strchr("!#$%&'*+-.^_`|~", c) != NULL ||
			     (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			     (c >= 'A' && c <= 'Z'));
}

static size_t
skip_ows(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* type_is - is the value's leading type (before any ';') want? */
static bool
type_is(const char *s, size_t n, const char *want)
{
	size_t i = skip_ows(s, n, 0), start = i, wlen = strlen(want);

	while (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')
		i++;
	if (i - start != wlen || strncasecmp(s + start, want, wlen) != 0)
		return false;
	i = skip_ows(s, n, i);
	return i == n || s[i] == ';';
}

/* param_get - the value of parameter want (case-insensitive name) in the
   ";"-separated parameters after the leading type of s[0..n).  Unquotes
   a quoted-string.  1 found (*len_r is the full length; at most outsz-1
   bytes and a NUL are stored), 0 absent, -1 malformed. */
static int
param_get(const char *s, size_t n, const char *want, char *out, size_t outsz,
	  size_t *len_r)
{
	size_t i = 0, name, nlen, vlen, wlen = strlen(want);
	bool match, found = false;

	while (i < n && s[i] != ';')
		i++;
	while (i < n) {
		i = skip_ows(s, n, i + 1); /* past ';' */
		if (i == n)
			break; /* a trailing ';' */
		for (name = i; i < n && tchar(s[i]); i++)
			;
		nlen = i - name;
		i = skip_ows(s, n, i);
		if (nlen == 0 || i == n || s[i] != '=')
			return -1;
		i = skip_ows(s, n, i + 1);
		match = !found && nlen == wlen &&
			strncasecmp(s + name, want, wlen) == 0;
		vlen = 0;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (match && vlen + 1 < outsz)
					out[vlen] = s[i];
				vlen++;
			}
			if (i == n)
				return -1; /* unterminated */
			i++;
		} else {
			for (; i < n && tchar(s[i]); i++) {
				if (match && vlen + 1 < outsz)
					out[vlen] = s[i];
				vlen++;
			}
			if (vlen == 0)
				return -1;
		}
		i = skip_ows(s, n, i);
		if (i < n && s[i] != ';')
			return -1;
		if (match) {
			out[vlen < outsz ? vlen : outsz - 1] = '\0';
			*len_r = vlen;
			found = true;
		}
	}
	return found ? 1 : 0;
}

/* ---- multipart/form-data (RFC 7578; RFC 2046 §5.1.1) ------------------- */

/* find_delim - the next "--boundary" at the start of a line, at or after
   from, that is followed by "--", transport padding and a line end, or
   the end of the body.  Returns its offset, or len when there is none. */
static size_t
find_delim(const unsigned char *b, size_t len, size_t from, const char *bd,
	   size_t blen)
{
	size_t i, j;

	for (i = from; i + 2 + blen <= len; i++) {
		if ((i > 0 && b[i - 1] != '\n') || b[i] != '-' ||
		    b[i + 1] != '-' || memcmp(b + i + 2, bd, blen) != 0)
			continue;
		j = i + 2 + blen;
		if (j + 2 <= len && b[j] == '-' && b[j + 1] == '-')
			return i;
		while (j < len && (b[j] == ' ' || b[j] == '\t'))
			j++;
		if (j == len || b[j] == '\r' || b[j] == '\n')
			return i;
	}
	return len;
}

/* part_flags - one part: its Content-Disposition name and its content */
static int
part_flags(const unsigned char *p, size_t n)
{
	char name[sizeof(ONECLICK_NAME) + 1];
	const unsigned char *le, *body = NULL;
	const char *line, *v;
	size_t i = 0, ll, nlen = 0, blen;
	int lines = 0, r, have_name = 0;
	static const char cd[] = "content-disposition:";

	while (i < n) {
		if (++lines > MAX_PART_LINES)
			return 0;
		le = memchr(p + i, '\n', n - i);
		ll = (le != NULL ? (size_t)(le - p) : n) - i;
		line = (const char *)p + i;
		i += ll + (le != NULL);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			body = p + i;
			break;
		}
		if (ll < sizeof(cd) - 1 ||
		    strncasecmp(line, cd, sizeof(cd) - 1) != 0)
			continue;
		v = line + sizeof(cd) - 1;
		if (!type_is(v, ll - (sizeof(cd) - 1), "form-data"))
			continue;
		r = param_get(v, ll - (sizeof(cd) - 1), "name", name,
			      sizeof(name), &nlen);
		have_name = r == 1 && nlen < sizeof(name);
	}
	if (body == NULL || !have_name)
		return 0; /* no content, or no usable name: not ours */
	blen = n - (size_t)(body - p);
	if (strcmp(name, ONECLICK_NAME) == 0 &&
	    blen == sizeof(ONECLICK_VALUE) - 1 &&
	    memcmp(body, ONECLICK_VALUE, blen) == 0)
		return PW_UNSUBD_ONECLICK;
	if (strcmp(name, SCOPE_NAME) == 0 && blen == sizeof(SCOPE_VALUE) - 1 &&
	    memcmp(body, SCOPE_VALUE, blen) == 0)
		return PW_UNSUBD_SCOPE_ALL;
	return 0;
}

static int
body_multipart(const char *ct, const unsigned char *b, size_t len)
{
	char bd[MAX_BOUNDARY + 2];
	size_t blen = 0, pos, next, start, end, j;
	int flags = 0, parts = 0;

	if (param_get(ct, strlen(ct), "boundary", bd, sizeof(bd), &blen) != 1 ||
	    blen == 0 || blen > MAX_BOUNDARY)
		return -1;
	if ((pos = find_delim(b, len, 0, bd, blen)) == len)
		return -1; /* no first delimiter */
	for (;;) {
		j = pos + 2 + blen;
		if (j + 2 <= len && b[j] == '-' && b[j + 1] == '-')
			return flags; /* close-delimiter: the epilogue is
					 ignored */
		while (j < len && b[j] != '\n')
			j++;
		if (j == len)
			return -1; /* a delimiter without a line end */
		start = j + 1;
		if ((next = find_delim(b, len, start, bd, blen)) == len)
			return -1; /* no close-delimiter */
		/* The line end before a delimiter belongs to it. */
		end = next;
		if (end > start && b[end - 1] == '\n')
			end--;
		if (end > start && b[end - 1] == '\r')
			end--;
		if (++parts > MAX_PARTS)
			return -1;
		flags |= part_flags(b + start, end - start);
		pos = next;
	}
}

int
pw_unsubd_body_type(const char *content_type)
{
	size_t n;

	if (content_type == NULL || *content_type == '\0')
		return PW_UNSUBD_TYPE_NONE;
	n = strlen(content_type);
	if (type_is(content_type, n, "application/x-www-form-urlencoded"))
		return PW_UNSUBD_TYPE_URLENCODED;
	if (type_is(content_type, n, "multipart/form-data"))
		return PW_UNSUBD_TYPE_MULTIPART;
	return -1;
}

int
pw_unsubd_body_parse(const char *content_type, const unsigned char *body,
		     size_t len)
{
	switch (pw_unsubd_body_type(content_type)) {
	case PW_UNSUBD_TYPE_NONE:
	case PW_UNSUBD_TYPE_URLENCODED:
		return body_urlencoded(body, len);
	case PW_UNSUBD_TYPE_MULTIPART:
		return body_multipart(content_type, body, len);
	default:
		return -1;
	}
}

void
pw_unsubd_html_escape(struct pw_buf *b, const char *s)
{
	const char *rep;
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, "&<>\"'");
		pw_buf_add(b, s, run);
		s += run;
		if (*s == '\0')
			break;
		switch (*s++) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		default:
			rep = "&#39;";
			break;
		}
		pw_buf_puts(b, rep);
	}
}

void
pw_unsubd_html_sentence_end(struct pw_buf *b, const char *s)
{
	size_t n = strlen(s);

	pw_unsubd_html_escape(b, s);
	if (n == 0 || strchr(".!?", s[n - 1]) == NULL)
		pw_buf_puts(b, ".");
}

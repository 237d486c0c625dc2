/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authres - compose and read Authentication-Results (RFC 8601).
 *
 * Composition: "authserv-id; method=result [(comment)] [reason=value]
 * ptype.property=pvalue ...", resinfos separated by ";" and folded onto
 * their own lines.  pvalues are written as tokens, as addr-specs when
 * both halves are plain, or else as quoted-strings (RFC 8601 section
 * 2.2, RFC 2045 tokens).  Anything that came from the message (addresses,
 * domains, reasons) may contain any byte, so it is escaped here: a CR or
 * LF in a forged MAIL FROM must not start a new header.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/authres.h"

static const char tspecials[] = "()<>@,;:\\\"/[]?=";

const char *
pw_auth_result_name(enum pw_auth_result r)
{
	switch (r) {
	case PW_AUTH_NONE:
		return "none";
	case PW_AUTH_PASS:
		return "pass";
	case PW_AUTH_FAIL:
		return "fail";
	case PW_AUTH_SOFTFAIL:
		return "softfail";
	case PW_AUTH_NEUTRAL:
		return "neutral";
	case PW_AUTH_POLICY:
		return "policy";
	case PW_AUTH_TEMPERROR:
		return "temperror";
	case PW_AUTH_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

const char *
pw_dmarc_policy_name(enum pw_dmarc_policy p)
{
	switch (p) {
	case PW_DMARC_P_UNSET:
		return "unset";
	case PW_DMARC_P_NONE:
		return "none";
	case PW_DMARC_P_QUARANTINE:
		return "quarantine";
	case PW_DMARC_P_REJECT:
		return "reject";
	}
	return "unset";
}

/* is_token - an RFC 2045 token: printable ASCII, no tspecials */
static bool
is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr(tspecials, c) != NULL)
			return false;
	}
	return true;
}

/* is_dot_atom - RFC 5322 dot-atom: atext runs separated by single dots */
static bool
is_dot_atom(const char *s, size_t len)
{
	static const char atext_extra[] = "!#$%&'*+-/=?^_`{|}~";
	bool dot_ok = false;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (!dot_ok)
				return false;
			dot_ok = false;
		} else if (isalnum(c) || strchr(atext_extra, c) != NULL) {
			dot_ok = true;
		} else {
			return false;
		}
	}
	return dot_ok;
}

/* is_quoted_string - a well-formed RFC 5322 quoted-string, alone */
static bool
is_quoted_string(const char *s, size_t len)
{
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return false;
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == '\\') {
			if (++i == len - 1)
				return false;	/* escapes the closing quote */
			c = (unsigned char)s[i];
			/* quoted-pair is \ VCHAR or WSP: an escaped CR or LF
			   would end our header (found by fuzz_authres) */
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
		} else if (c == '"') {
			return false;
		}
	}
	return true;
}

/* put_quoted - a quoted-string; controls dropped, \ and " escaped */
static void
put_quoted(struct pw_buf *b, const char *s)
{
	pw_buf_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '"' || c == '\\')
			pw_buf_add(b, "\\", 1);
		pw_buf_add(b, s, 1);
	}
	pw_buf_puts(b, "\"");
}

/* put_value - pvalue: token, [local-part]@domain (the local-part a
   dot-atom or a quoted-string, as RFC 8601 section 2.2 allows), or the
   whole value as a quoted-string */
static void
put_value(struct pw_buf *b, const char *s)
{
	const char *at = strrchr(s, '@');
	size_t len = strlen(s), llen = at ? (size_t)(at - s) : 0;

	if (is_token(s, len) ||
	    (at != NULL && (llen == 0 || is_dot_atom(s, llen) ||
	    is_quoted_string(s, llen)) && is_dot_atom(at + 1, strlen(at + 1))))
		pw_buf_puts(b, s);
	else
		put_quoted(b, s);
}

/* put_comment - " (text)"; controls dropped, ( ) \ escaped */
static void
put_comment(struct pw_buf *b, const char *s)
{
	pw_buf_puts(b, " (");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == '(' || c == ')' || c == '\\')
			pw_buf_add(b, "\\", 1);
		pw_buf_add(b, s, 1);
	}
	pw_buf_puts(b, ")");
}

static void
put_prop(struct pw_buf *b, const char *prop, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	pw_buf_printf(b, " %s=", prop);
	put_value(b, value);
}

static void
start_resinfo(struct pw_buf *b, const char *method,
    enum pw_auth_result r)
{
	pw_buf_printf(b, ";\r\n\t%s=%s", method, pw_auth_result_name(r));
}

static void
put_spf(struct pw_buf *b, const struct pw_spf_res *s, bool helo_only)
{
	start_resinfo(b, "spf", s->result);
	if (s->reason != NULL && *s->reason != '\0')
		put_comment(b, s->reason);
	if (!helo_only && s->mailfrom != NULL && *s->mailfrom != '\0')
		put_prop(b, "smtp.mailfrom", s->mailfrom);
	else
		put_prop(b, "smtp.helo", s->helo);
}

static void
put_dkim(struct pw_buf *b, const struct pw_dkim_res *d)
{
	start_resinfo(b, "dkim", d->result);
	if (d->bits > 0)
		pw_buf_printf(b, " (%u-bit key)", d->bits);
	if (d->result != PW_AUTH_PASS && d->reason != NULL &&
	    *d->reason != '\0') {
		pw_buf_puts(b, " reason=");
		put_quoted(b, d->reason);
	}
	put_prop(b, "header.d", d->domain);
	put_prop(b, "header.s", d->selector);
	put_prop(b, "header.a", d->algorithm);
	/* RFC 6008: b= is base64, its '/' is a tspecial: always quoted. */
	if (d->b != NULL && *d->b != '\0') {
		pw_buf_puts(b, " header.b=");
		put_quoted(b, d->b);
	}
}

static void
put_dmarc(struct pw_buf *b, const struct pw_dmarc_res *d)
{
	start_resinfo(b, "dmarc", d->result);
	if (d->policy != PW_DMARC_P_UNSET)
		pw_buf_printf(b, " (p=%s dis=%s)",
		    pw_dmarc_policy_name(d->policy),
		    pw_dmarc_policy_name(d->disposition == PW_DMARC_P_UNSET ?
			PW_DMARC_P_NONE : d->disposition));
	else if (d->reason != NULL && *d->reason != '\0')
		put_comment(b, d->reason);
	put_prop(b, "header.from", d->from_domain);
	if (d->policy != PW_DMARC_P_UNSET)
		put_prop(b, "policy.dmarc", pw_dmarc_policy_name(d->policy));
}

char *
pw_authres_compose(struct pw_arena *arena, const char *id,
    const struct pw_auth *a)
{
	struct pw_buf b = {0};
	bool any = false;
	char *out;

	pw_buf_puts(&b, " ");
	put_value(&b, id);
	if (a->spf.done) {
		put_spf(&b, &a->spf, a->spf.mailfrom == NULL);
		any = true;
	}
	if (a->spf_helo.done) {
		put_spf(&b, &a->spf_helo, true);
		any = true;
	}
	if (a->dkim_done) {
		if (a->ndkim == 0)
			start_resinfo(&b, "dkim", PW_AUTH_NONE);
		for (size_t i = 0; i < a->ndkim && i < PW_MAX_SIGS; i++)
			put_dkim(&b, &a->dkim[i]);
		any = true;
	}
	if (a->dmarc.done) {
		put_dmarc(&b, &a->dmarc);
		any = true;
	}
	if (!any)
		pw_buf_puts(&b, "; none");	/* RFC 8601 no-result */
	out = pw_arena_strdup(arena, b.data);
	pw_buf_free(&b);
	return out;
}

/* --- reading the authserv-id ----------------------------------------- */

/* skip_cfws - white space, folding and nested comments; NULL if a
   comment is not closed */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (depth == 0 && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			continue;
		if (*p == '(') {
			depth++;
			continue;
		}
		if (depth == 0)
			return p;
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (*p == ')') {
			depth--;
		}
	}
	return depth == 0 ? p : NULL;
}

int
pw_authres_parse_id(const char *value, char **id_r, const char **error_r)
{
	struct pw_buf id = {0};
	const char *p = skip_cfws(value);

	*id_r = NULL;
	if (p == NULL) {
		*error_r = "unterminated comment";
		return -1;
	}
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				*error_r = "unterminated quoted string";
				goto fail;
			}
			if (*p == '\\' && p[1] != '\0')
				p++;
			if ((unsigned char)*p < 0x20 && *p != '\t') {
				*error_r = "control character in authserv-id";
				goto fail;
			}
			pw_buf_add(&id, p, 1);
		}
		p++;
	} else {
		const char *s = p;

		while (*p && is_token(p, 1))
			p++;
		if (p == s) {
			*error_r = "no authserv-id";
			return -1;
		}
		pw_buf_add(&id, s, (size_t)(p - s));
	}
	if (id.len == 0) {
		*error_r = "empty authserv-id";
		goto fail;
	}
	/* [CFWS authres-version] */
	if ((p = skip_cfws(p)) == NULL) {
		*error_r = "unterminated comment";
		goto fail;
	}
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
		if ((p = skip_cfws(p)) == NULL) {
			*error_r = "unterminated comment";
			goto fail;
		}
	}
	if (*p != ';') {
		*error_r = "authserv-id not followed by \";\"";
		goto fail;
	}
	*id_r = id.data;
	return 0;
fail:
	pw_buf_free(&id);
	return -1;
}

bool
pw_authres_claims(const char *value, const char *ours)
{
	const char *err, *p;
	char *id;
	size_t n = strlen(ours);
	bool claims;

	if (pw_authres_parse_id(value, &id, &err) == 0) {
		claims = pw_strcaseeq(id, ours);
		free(id);
		return claims;
	}
	/* Unparseable: remove it if it still reads as ours to a lenient
	   eye: first non-blank word, up to ';', space or '(' or end. */
	if ((p = skip_cfws(value)) == NULL)
		for (p = value; *p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'; p++)
			;
	if (*p == '"')
		p++;
	return pw_strncaseeq(p, ours, n) &&
	    strchr(" \t\r\n;(\"", p[n]) != NULL;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_record - RFC 7208 record syntax and the record handed to libspf2
 * (see spf_record.h).  The grammar is RFC 7208 section 12.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "parsers/spf_record.h"

#define DELIMS ".-+,/_="

bool
pw_spf_record_is_spf(const char *rec, size_t len)
{
	return len >= 6 && strncasecmp(rec, "v=spf1", 6) == 0 &&
	    (len == 6 || rec[6] == ' ');
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * macro_string - *( macro-expand / macro-literal ) over s[0..len).  Sets
 * *last_macro when the string ends with a macro-expand (domain-end may be
 * one).  explanation allows c, r and t (7.3: only in exp= text).
 */
static const char *
macro_string(const char *s, size_t len, bool explanation, bool *last_macro)
{
	size_t i = 0;

	*last_macro = false;
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];

		if (ch != '%') {
			/* macro-literal = %x21-24 / %x26-7E */
			if (ch < 0x21 || ch > 0x7e)
				return "a character outside macro-literal";
			*last_macro = false;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return "'%' at the end";
		ch = (unsigned char)s[i + 1];
		if (ch == '%' || ch == '_' || ch == '-') {
			*last_macro = true;
			i += 2;
			continue;
		}
		if (ch != '{')
			return "'%' not followed by {, %, _ or -";
		i += 2;
		if (i >= len)
			return "unterminated macro";
		ch = (unsigned char)tolower((unsigned char)s[i]);
		/* c, r and t only in an explanation (7.3) */
		if (ch == '\0' || (strchr("slodiphv", ch) == NULL &&
		    !(explanation && strchr("crt", ch) != NULL)))
			return "unknown macro letter";
		i++;
		while (i < len && is_digit(s[i]))
			i++;
		if (i < len && (s[i] == 'r' || s[i] == 'R'))
			i++;
		while (i < len && strchr(DELIMS, s[i]) != NULL && s[i] != '\0')
			i++;
		if (i >= len || s[i] != '}')
			return "bad macro transformer or delimiter";
		i++;
		*last_macro = true;
	}
	return NULL;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
              ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
toplabel_ok(const char *s, size_t len)
{
	bool alpha = false, hyphen = false;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (is_alpha(s[i]))
			alpha = true;
		else if (s[i] == '-')
			hyphen = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || hyphen;
}

const char *
pw_spf_domain_spec_check(const char *s, size_t len, bool explanation)
{
	const char *why;
	bool last_macro;
	size_t end = len, dot;

	if (len == 0)
		return "empty domain-spec";
	if ((why = macro_string(s, len, explanation, &last_macro)) != NULL)
		return why;
	if (last_macro)
		return NULL;		/* domain-end = macro-expand */
	/* domain-end = "." toplabel [ "." ] */
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0)
		return "domain-spec without a top label";
	if (!toplabel_ok(s + dot, end - dot))
		return "bad top label in domain-spec";
	/* a macro inside the top label ("%{d}x") is no toplabel either */
	return NULL;
}

/* cidr - "/" ( "0" / %x31-39 0*<maxd-1>DIGIT ), at most max; -1 if bad */
static int
cidr(const char *s, size_t len, int max)
{
	int v = 0;

	if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* ip4-network: four qnum, no leading zeros */
static bool
ip4_ok(const char *s, size_t len)
{
	int parts = 0;
	size_t i = 0;

	while (i <= len) {
		size_t st = i;
		int v = 0;

		while (i < len && is_digit(s[i]) && i - st < 4)
			v = v * 10 + (s[i++] - '0');
		if (i == st || i - st > 3 || (s[st] == '0' && i - st > 1) ||
		    v > 255)
			return false;
		parts++;
		if (i == len)
			break;
		if (s[i] != '.' || parts == 4)
			return false;
		i++;
	}
	return parts == 4;
}

struct term {
	char		 qual;		/* 0 or + - ? ~ */
	const char	*mech;		/* lower case name */
	const char	*dom;		/* domain-spec or NULL */
	size_t		 domlen;
	int		 c4, c6;	/* -1: none */
};

/* split_cidr - a dual-cidr-length at the end of v[0..*len): removes it */
static const char *
split_cidr(const char *v, size_t *len, int *c4, int *c6, bool dual)
{
	size_t n = *len, p;

	*c4 = *c6 = -1;
	/* a trailing "/" digits, possibly "//" digits */
	for (p = n; p > 0 && is_digit(v[p - 1]); p--)
		;
	if (p == n || p == 0 || v[p - 1] != '/')
		return NULL;
	if (dual && p >= 2 && v[p - 2] == '/') {
		if ((*c6 = cidr(v + p, n - p, 128)) < 0)
			return "bad IPv6 prefix length";
		n = p - 2;
		for (p = n; p > 0 && is_digit(v[p - 1]); p--)
			;
		if (p == n || p == 0 || v[p - 1] != '/') {
			*len = n;
			return NULL;
		}
	}
	if ((*c4 = cidr(v + p, n - p, 32)) < 0)
		return "bad IPv4 prefix length";
	*len = p - 1;
	return NULL;
}

/*
 * put_dom - a domain-spec with its literal parts in lower case.  libspf2
 * 1.2.10 compares a "ptr" target with the validated PTR name case-
 * sensitively (the suite's ptr-case-change: "ptr:example.Com" against
 * "mail.Example.com"); DNS names are not case-sensitive (RFC 4343).
 * Macro letters keep their case: upper case asks for URL escaping.
 */
static void
put_dom(struct pw_buf *o, const char *dom, size_t len)
{
	bool in_macro = false;

	for (size_t i = 0; i < len; i++) {
		char ch = dom[i];

		if (in_macro) {
			in_macro = ch != '}';
		} else if (ch == '%' && i + 1 < len) {
			pw_buf_add(o, dom + i, 2);
			in_macro = dom[++i] == '{';
			continue;
		} else {
			ch = (char)tolower((unsigned char)ch);
		}
		pw_buf_add(o, &ch, 1);
	}
}

static void
put_term(struct pw_buf *o, char qual, const char *mech, const char *dom,
    size_t domlen, bool any)
{
	pw_buf_add(o, " ", 1);
	if (qual)
		pw_buf_add(o, &qual, 1);
	pw_buf_puts(o, mech);
	if (any) {
		pw_buf_puts(o, ":" PW_SPF_ANY_LABEL ".");
		if (dom != NULL)
			put_dom(o, dom, domlen);
		else
			pw_buf_puts(o, "%{d}");
	} else if (dom != NULL) {
		pw_buf_add(o, ":", 1);
		put_dom(o, dom, domlen);
	}
}

/* directive - one mechanism term, checked, written to o */
static const char *
directive(const char *t, size_t len, int family, struct pw_buf *o,
    bool *has_all)
{
	static const char *const mechs[] = {"all", "include", "a", "mx",
	    "ptr", "ip4", "ip6", "exists", NULL};
	char qual = 0, name[8];
	size_t n = 0, vlen;
	const char *v, *why;
	int c4, c6, i;

	if (len > 0 && strchr("+-?~", t[0]) != NULL) {
		qual = t[0];
		t++;
		len--;
	}
	while (n < len && t[n] != ':' && t[n] != '/' && n < sizeof(name) - 1) {
		name[n] = (char)tolower((unsigned char)t[n]);
		n++;
	}
	name[n] = '\0';
	if (n < len && t[n] != ':' && t[n] != '/')
		return "unknown mechanism";
	for (i = 0; mechs[i] != NULL && strcmp(mechs[i], name) != 0; i++)
		;
	if (mechs[i] == NULL)
		return "unknown mechanism";
	v = t + n;
	vlen = len - n;
	if (strcmp(name, "all") == 0) {
		if (vlen != 0)
			return "\"all\" takes no argument";
		*has_all = true;
		put_term(o, qual, "all", NULL, 0, false);
		return NULL;
	}
	if (strcmp(name, "ip4") == 0 || strcmp(name, "ip6") == 0) {
		bool six = name[2] == '6';
		unsigned char a[16];
		char buf[64];
		size_t alen;
		int c;

		if (vlen < 2 || v[0] != ':')
			return "ip4/ip6 without an address";
		v++;
		vlen--;
		alen = vlen;
		c = -1;
		if (memchr(v, '/', vlen) != NULL) {
			const char *sl = memchr(v, '/', vlen);

			alen = (size_t)(sl - v);
			c = cidr(sl + 1, vlen - alen - 1, six ? 128 : 32);
			if (c < 0)
				return "bad prefix length";
		}
		if (alen == 0 || alen >= sizeof(buf))
			return "bad address";
		memcpy(buf, v, alen);
		buf[alen] = '\0';
		if (six ? inet_pton(AF_INET6, buf, a) != 1 : !ip4_ok(v, alen))
			return "bad address";
		if (c == 0) {
			/* libspf2 1.2.10 refuses a /0 prefix length, which
			   RFC 7208 5.6 allows: the two halves of the space
			   are the same network. */
			put_term(o, qual, six ? "ip6" : "ip4", six ? "::/1" :
			    "0.0.0.0/1", six ? 4 : 9, false);
			put_term(o, qual, six ? "ip6" : "ip4", six ?
			    "8000::/1" : "128.0.0.0/1", six ? 8 : 11, false);
			return NULL;
		}
		pw_buf_add(o, " ", 1);
		if (qual)
			pw_buf_add(o, &qual, 1);
		pw_buf_puts(o, name);
		pw_buf_add(o, v - 1, vlen + 1);
		return NULL;
	}
	/* include, a, mx, ptr, exists */
	c4 = c6 = -1;
	if (strcmp(name, "a") == 0 || strcmp(name, "mx") == 0) {
		if ((why = split_cidr(v, &vlen, &c4, &c6, true)) != NULL)
			return why;
	}
	if (vlen > 0 && v[0] != ':')
		return "bad mechanism argument";
	if (vlen > 0) {
		/* ":" domain-spec; an empty one is an error too */
		v++;
		vlen--;
		if ((why = pw_spf_domain_spec_check(v, vlen, false)) != NULL)
			return why;
	} else if (strcmp(name, "include") == 0 ||
	    strcmp(name, "exists") == 0) {
		return "include/exists without a domain-spec";
	}
	if (c4 >= 0 || c6 >= 0) {
		int mine = family == AF_INET6 ? c6 : c4;
		struct pw_buf cb = {0};

		/*
		 * libspf2 1.2.10 refuses /0 (RFC 7208 5.3, 5.4 allow it).
		 * Only the client's family's length matters to the match:
		 * keep that one; a /0 there means "any address of that
		 * family", which the DNS hook answers for names under
		 * PW_SPF_ANY_LABEL (dns_hooks.c).
		 */
		if (mine == 0) {
			put_term(o, qual, name, vlen ? v : NULL, vlen, true);
			return NULL;
		}
		put_term(o, qual, name, vlen ? v : NULL, vlen, false);
		if (mine > 0)
			pw_buf_printf(&cb, "%s%d", family == AF_INET6 ? "//" :
			    "/", mine);
		if (cb.len > 0)
			pw_buf_add(o, cb.data, cb.len);
		pw_buf_free(&cb);
		return NULL;
	}
	put_term(o, qual, name, vlen ? v : NULL, vlen, false);
	return NULL;
}

const char *
pw_spf_record_check(const char *rec, size_t len, int family, char **out_r)
{
	struct pw_buf o = {0}, mods = {0};
	bool has_all = false, seen_redirect = false, seen_exp = false;
	const char *redirect = NULL, *exp = NULL, *why = NULL;
	size_t redirect_len = 0, exp_len = 0, i;

	*out_r = NULL;
	if (!pw_spf_record_is_spf(rec, len))
		return "not an SPF record";
	/* 3.1: 7-bit ASCII; 4.6.1: terms are separated by spaces only. A
	   NUL would end the record early for libspf2 (a different policy). */
	for (i = 0; i < len; i++)
		if ((unsigned char)rec[i] < 0x20 ||
		    (unsigned char)rec[i] > 0x7e)
			return "a control or non-ASCII character in the record";
	pw_buf_puts(&o, "v=spf1");
	i = 6;
	while (i < len) {
		size_t st, tl, nl = 0;
		const char *t;

		while (i < len && rec[i] == ' ')
			i++;
		if (i >= len)
			break;
		st = i;
		while (i < len && rec[i] != ' ')
			i++;
		t = rec + st;
		tl = i - st;
		/* modifier: name "=" ..., name = ALPHA *( ALPHA / DIGIT /
		   "-" / "_" / "." ) */
		if (is_alpha(t[0]))
			for (nl = 1; nl < tl && (is_alpha(t[nl]) ||
			    is_digit(t[nl]) || strchr("-_.", t[nl])); nl++)
				;
		if (nl > 0 && nl < tl && t[nl] == '=') {
			const char *v = t + nl + 1;
			size_t vl = tl - nl - 1;
			bool last;

			if (nl == 8 && strncasecmp(t, "redirect", 8) == 0) {
				if (seen_redirect) {
					why = "redirect= twice";
					break;
				}
				seen_redirect = true;
				if ((why = pw_spf_domain_spec_check(v, vl,
				    false)) != NULL)
					break;
				redirect = v;
				redirect_len = vl;
			} else if (nl == 3 && strncasecmp(t, "exp", 3) == 0) {
				if (seen_exp) {
					why = "exp= twice";
					break;
				}
				seen_exp = true;
				if ((why = pw_spf_domain_spec_check(v, vl,
				    false)) != NULL)
					break;
				/* Rewritten below (spf_record.h): libspf2
				   1.2.10 would fetch the text and count a
				   failed fetch (6.2: ignore it). */
				exp = v;
				exp_len = vl;
			} else if ((why = macro_string(v, vl, false,
			    &last)) != NULL) {
				break;
			}
			/* Unknown modifiers are ignored (6): libspf2 1.2.10
			   refuses names with "." or "_" (the suite's
			   modifier-charset-good), so they are dropped. */
			continue;
		}
		if ((why = directive(t, tl, family, &o, &has_all)) != NULL)
			break;
	}
	if (why == NULL && redirect != NULL && !has_all) {
		/* 6.1: redirect= is ignored when the record has "all".
		   libspf2 1.2.10 gives permerror for both (the suite's
		   redirect-after-mechanisms tests), so it is left out. */
		pw_buf_puts(&mods, " redirect=");
		pw_buf_add(&mods, redirect, redirect_len);
		pw_buf_add(&o, mods.data, mods.len);
	}
	if (why == NULL && exp != NULL) {
		pw_buf_puts(&o, " exp=" PW_SPF_EXP_LABEL ".%{d}."
		    PW_SPF_EXP_SEP ".");
		put_dom(&o, exp, exp_len);
	}
	pw_buf_free(&mods);
	if (why != NULL) {
		pw_buf_free(&o);
		return why;
	}
	pw_buf_add(&o, "", 1);
	*out_r = o.data;
	return NULL;
}
